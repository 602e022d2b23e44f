"""The JSON answers of the API, as types: encoded by the HTTP layer and documented in OpenAPI."""

import datetime as dt
from typing import Literal
from uuid import UUID

import msgspec

from order_intake.domain.order import CustomerOrder


class Message(msgspec.Struct, frozen=True):
    """A status and a message: 400, 401, 404, 405, 409, 413, 429, 500, 503."""

    status: int
    message: str


class Forbidden(msgspec.Struct, frozen=True):
    """403: the contract's body says `error`, not `message`."""

    status: Literal[403]
    error: str


class Invalid(msgspec.Struct, frozen=True):
    """422: every violation at once (the first 100, then one that counts the others)."""

    status: Literal[422]
    message: str
    errors: tuple[str, ...]


class OrderAccepted(msgspec.Struct, frozen=True):
    """202: the submission's id; warnings only when there is something to say."""

    status: Literal[202]
    id: UUID
    message: str
    warnings: tuple[str, ...] | msgspec.UnsetType = msgspec.UNSET


class Submission(msgspec.Struct, frozen=True):
    """200: one accepted submission and its normalised order."""

    status: Literal[200]
    id: UUID
    state: str
    received_at: dt.datetime
    order: CustomerOrder
    # Set once background processing merged the submission into its canonical order.
    processed_at: dt.datetime | None
    customer_order_id: UUID | None


class CanonicalOrder(msgspec.Struct, frozen=True):
    """200: an order as the platform sees it, every submission of its order_ref merged."""

    status: Literal[200]
    id: UUID
    order_ref: str
    # Grows by one with every change; events carry the same number.
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    order: CustomerOrder


class OrganisationEntry(msgspec.Struct, frozen=True):
    """One organisation a key is linked to."""

    trkref: str
    name: str
    customer_order_enabled: bool


class Organisations(msgspec.Struct, frozen=True):
    """200: the organisations of the calling key, by trkref."""

    status: Literal[200]
    organisations: tuple[OrganisationEntry, ...]


class Health(msgspec.Struct, frozen=True):
    """200 or 503 from /health and /ready."""

    status: int
    message: str


class BatchUnauthorized(msgspec.Struct, frozen=True):
    """401 of the batch endpoints: the reference page's body says `errors`."""

    status: Literal[401]
    errors: str


class BatchSummary(msgspec.Struct, frozen=True):
    """How many elements were accepted and rejected."""

    accepted: int
    rejected: int


class ElementErrors(msgspec.Struct, frozen=True):
    """Why one element of a batch was rejected."""

    index: int
    order_ref: str | None
    errors: tuple[str, ...]


class ElementWarnings(msgspec.Struct, frozen=True):
    """What to say of one accepted element (unknown fields)."""

    index: int
    order_ref: str | None
    warnings: tuple[str, ...]


class BatchOutcome(msgspec.Struct, frozen=True):
    """202, 206 or 422 for a batch whose elements were each accepted or rejected."""

    status: int
    id: UUID
    message: str
    summary: BatchSummary
    ids: tuple[UUID | None, ...]
    errors: tuple[ElementErrors, ...] | msgspec.UnsetType = msgspec.UNSET
    warnings: tuple[ElementWarnings, ...] | msgspec.UnsetType = msgspec.UNSET


class BatchRefused(msgspec.Struct, frozen=True):
    """422 for a problem of the whole batch (not an array, empty, too many)."""

    status: Literal[422]
    id: UUID
    message: str
    summary: BatchSummary
    errors: tuple[str, ...]


class Batch(msgspec.Struct, frozen=True):
    """200: a stored batch, as GET /v4/customer_orders/{id} shows it."""

    status: Literal[200]
    id: UUID
    received_at: dt.datetime
    summary: BatchSummary
    ids: tuple[UUID | None, ...]
    errors: tuple[ElementErrors, ...]
    warnings: tuple[ElementWarnings, ...] | msgspec.UnsetType = msgspec.UNSET
