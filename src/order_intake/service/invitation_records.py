"""The rows of review invitations and suppressions, as the stores read and write them (both backends)."""

import datetime as dt
import enum
from uuid import UUID

import msgspec

from order_intake.domain.suppressions import ListPosition


class InvitationRow(msgspec.Struct, frozen=True, kw_only=True):
    """One canonical order's invitation, with the order's facts that planning needs."""

    id: UUID
    organisation_id: int
    order_ref: str
    canonical_id: UUID
    customer_key: str
    email: str
    order_date: dt.date | None
    fulfilment_date: dt.date | None
    country: str | None
    sandbox: bool
    state: str
    reason: str | None
    send_at: dt.datetime | None
    sent_at: dt.datetime | None
    explanation: tuple[str, ...]
    created_at: dt.datetime
    updated_at: dt.datetime


class CustomerInvitations(msgspec.Struct, frozen=True):
    """What re-planning one customer needs: their invitations, the organisation's policy, their suppressions."""

    organisation_id: int
    customer_key: str
    rows: tuple[InvitationRow, ...]
    policy: dict[str, object] | None  # the organisation's stored settings (None: the defaults)
    suppressions: dict[str, str]  # suppression reason by address, for the addresses that have one


class InvitationView(msgspec.Struct, frozen=True):
    """An invitation, its organisation's stored policy settings, and its reminder's time once it was sent."""

    row: InvitationRow
    policy: dict[str, object] | None
    reminder_at: dt.datetime | None = None  # stored when sent (None: no reminder, or called off)


class PurchaseRow(msgspec.Struct, frozen=True):
    """One of a customer's invited orders: its invitation, its canonical order, the items already reviewed."""

    row: InvitationRow
    ordered_at: dt.datetime  # when the canonical order was first made
    document: bytes
    reviewed: tuple[str, ...]


class Cancellation(msgspec.Struct, frozen=True, kw_only=True):
    """A retailer's cancellation of one order's invitation, and who asked (for the audit row)."""

    organisation_id: int
    order_ref: str
    reason: str
    actor: str
    target: str  # the organisation's trkref
    at: dt.datetime


class SuppressionRow(msgspec.Struct, frozen=True):
    """One suppression as stored; `email` is None once the address was erased (its keyed hash stays)."""

    email: str | None
    reason: str
    created_at: dt.datetime


class SuppressionAdded(msgspec.Struct, frozen=True):
    """The suppression of an address there now, and whether this request made it."""

    suppression: SuppressionRow
    created: bool


class Removal(enum.Enum):
    """What lifting an address's suppression did."""

    REMOVED = enum.auto()
    ABSENT = enum.auto()  # there was none: nothing to do
    BY_CUSTOMER = enum.auto()  # unsubscribed or bounced: only the customer's side can lift it, nothing changed


class SuppressionPage(msgspec.Struct, frozen=True):
    """Suppressions in the list's order, and the last one's position when more follow (else None)."""

    rows: tuple[SuppressionRow, ...]
    more_after: ListPosition | None


class FactsCustomer(msgspec.Struct):
    """The order's customer, as far as planning needs them."""

    email: str = ""
    customer_ref: str | None = None
    country: str | None = None


class OrderFacts(msgspec.Struct):
    """What an invitation needs of a canonical order's document (the rest, items included, is skipped)."""

    order_ref: str
    customer: FactsCustomer
    order_date: dt.date | None = None
    fulfilment_date: dt.date | None = None
