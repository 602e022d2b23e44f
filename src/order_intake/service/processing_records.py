"""The rows background processing reads and writes, shared by both backends."""

import datetime as dt
from uuid import UUID

import msgspec

# A canonical order's natural key: (organisation id, order_ref).
OrderKey = tuple[int, str]


class Claimed(msgspec.Struct, frozen=True):
    """An accepted submission taken by one processor; nobody else has it until that transaction ends."""

    id: UUID
    organisation_id: int
    trkref: str
    order_ref: str
    received_at: dt.datetime
    normalised: bytes
    sandbox: bool = False  # sent with a sandbox key: its order's invitation goes to the sandbox mailbox


class StoredCanonical(msgspec.Struct, frozen=True):
    """A canonical order as stored (document and stamps as JSON text)."""

    id: UUID
    organisation_id: int
    order_ref: str
    version: int
    document: bytes
    stamps: bytes
    created_at: dt.datetime
    updated_at: dt.datetime


class OutboxEvent(msgspec.Struct, frozen=True):
    """One event row: written with the change it announces, sent later by the relay."""

    event_id: UUID
    organisation_id: int
    canonical_id: UUID
    version: int
    routing_key: str
    payload: bytes
    created_at: dt.datetime


class OutboxRow(msgspec.Struct, frozen=True):
    """An outbox row as read back, with its position."""

    id: int
    event_id: UUID
    version: int
    routing_key: str
    payload: bytes


class Plan(msgspec.Struct, frozen=True):
    """What one processing transaction writes: changed orders, their events, the submissions done."""

    canonicals: tuple[StoredCanonical, ...]
    events: tuple[OutboxEvent, ...]
    processed: tuple[tuple[UUID, UUID], ...]  # (submission id, canonical id)
    processed_at: dt.datetime


class Pace(msgspec.Struct, frozen=True):
    """How a processor spaces its rounds on one backend (see processing.Processor).

    `batch` is the batch a round starts from; `busy_seconds` the pause after a round that found some
    work, but less than a full batch.
    """

    batch: int
    busy_seconds: float
