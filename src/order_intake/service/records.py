"""The rows the stores read and write, as immutable values shared by both backends."""

import datetime as dt
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
    """An accepted submission as read back."""

    id: UUID
    organisation_id: int
    received_at: dt.datetime
    state: str
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
