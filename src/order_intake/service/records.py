"""The rows the stores read and write, as immutable values shared by both backends."""

import datetime as dt
from collections.abc import Iterable
from typing import Any
from uuid import UUID

import msgspec

from order_intake.domain.ratelimit import DEFAULT_BURST, DEFAULT_RATE


class Organisation(msgspec.Struct, frozen=True):
    """A retailer, identified by its trkref."""

    id: int
    trkref: str
    name: str
    customer_order_enabled: bool


class ApiKey(msgspec.Struct, frozen=True):
    """An API key with the organisations it is linked to (never the secret itself)."""

    id: int
    username: str
    secret_salt: bytes
    secret_hash: bytes
    customer_order: bool
    revoked: bool
    organisations: tuple[Organisation, ...]
    rate: float = DEFAULT_RATE  # token bucket: requests per second (0 = unlimited) ...
    burst: int = DEFAULT_BURST  # ... and how many may come at once


def keys_from_rows(rows: Iterable[Any]) -> list[ApiKey]:
    """Keys from the rows of both stores' SELECT_KEY and SELECT_KEYS, one per (key, organisation).

    The columns: the key's id, username, salt, hash, customer_order, revoked, then the organisation's
    id, trkref, name, customer_order_enabled (NULL for a key linked to none), then the key's rate
    and burst. A key's organisations come in the rows' order (by trkref); each organisation is made
    once and shared by its keys (a directory of every key holds thousands).
    """
    organisations: dict[int, Organisation] = {}
    firsts: dict[int, Any] = {}  # a row: a tuple (SQLite) or an asyncpg Record, read by position
    linked: dict[int, list[Organisation]] = {}
    for row in rows:
        key_id, org_id = row[0], row[6]
        if key_id not in firsts:
            firsts[key_id], linked[key_id] = row, []
        if org_id is not None:
            org = organisations.get(org_id)
            if org is None:
                org = organisations[org_id] = Organisation(
                    id=org_id, trkref=row[7], name=row[8], customer_order_enabled=bool(row[9])
                )
            linked[key_id].append(org)
    return [
        ApiKey(
            id=key_id,
            username=row[1],
            secret_salt=bytes(row[2]),
            secret_hash=bytes(row[3]),
            customer_order=bool(row[4]),
            revoked=bool(row[5]),
            organisations=tuple(linked[key_id]),
            rate=row[10],
            burst=row[11],
        )
        for key_id, row in firsts.items()
    ]


class KeySummary(msgspec.Struct, frozen=True):
    """What `key list` shows: everything but the secret."""

    username: str
    trkrefs: tuple[str, ...]
    customer_order: bool
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    rate: float = DEFAULT_RATE
    burst: int = DEFAULT_BURST
    sandbox: bool = False  # its orders' invitations go only to SANDBOX_MAIL_URL


class NewSubmission(msgspec.Struct, frozen=True):
    """One accepted order, ready to be stored."""

    id: UUID
    organisation_id: int
    api_key_id: int
    received_at: dt.datetime
    body: bytes
    normalised: bytes
    order_ref: str
    idempotency_key: str | None
    request_id: str | None
    batch_id: UUID | None = None


class StoredSubmission(msgspec.Struct, frozen=True):
    """An accepted submission as read back; processed_at and canonical_id once processing merged it."""

    id: UUID
    organisation_id: int
    received_at: dt.datetime
    normalised: bytes
    processed_at: dt.datetime | None = None
    canonical_id: UUID | None = None


class IdempotencyRecord(msgspec.Struct, frozen=True):
    """The answer given to the first request with an Idempotency-Key, kept for replays."""

    api_key_id: int
    key: str
    fingerprint: bytes
    status: int
    response: bytes
    created_at: dt.datetime


class NewBatch(msgspec.Struct, frozen=True):
    """A batch's answer, kept for GET /v4/customer_orders/{id}, and the organisations it touched."""

    id: UUID
    api_key_id: int
    received_at: dt.datetime
    answer: bytes
    organisation_ids: tuple[int, ...]


class StoredBatch(msgspec.Struct, frozen=True):
    """A batch as read back."""

    id: UUID
    received_at: dt.datetime
    answer: bytes


class WriteUnit(msgspec.Struct, frozen=True):
    """What one request stores, all or nothing: its submissions, its batch, its idempotency record."""

    submissions: tuple[NewSubmission, ...]
    idempotency: IdempotencyRecord | None = None
    batch: NewBatch | None = None


# What became of a unit: None when stored, or the record that another request stored first
# under the same Idempotency-Key (then the unit stored nothing).
UnitOutcome = IdempotencyRecord | None
