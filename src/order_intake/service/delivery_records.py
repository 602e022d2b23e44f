"""The rows and messages of invitation delivery, as the stores and the mailers exchange them."""

import datetime as dt
from uuid import UUID

import msgspec

from order_intake.domain.delivery import Kind


class Due(msgspec.Struct, frozen=True, kw_only=True):
    """An invitation (or its reminder) a sender has claimed: what the message needs, and how it has gone so far."""

    id: UUID
    kind: Kind
    organisation_id: int
    organisation: str  # the organisation's name, as the customer knows the shop
    order_ref: str
    customer_key: str
    email: str
    sandbox: bool
    attempts: int  # temporary failures so far
    explanation: tuple[str, ...]
    policy: dict[str, object] | None  # the organisation's stored policy settings (None: the defaults)
    document: bytes  # the canonical order, as JSON
    reviewed: bool  # the customer has reviewed at least one item of the order


class Letter(msgspec.Struct, frozen=True, kw_only=True):
    """One message to write and hand over: who to, from whom, about which order, with which links."""

    invitation_id: UUID
    kind: Kind
    to_address: str
    to_name: str | None
    sender: str  # the From header's value (may carry a display name)
    organisation: str
    order_ref: str
    order_date: dt.date | None
    items: tuple[str, ...]
    language: str | None
    locale: str | None
    review_url: str
    unsubscribe_url: str
    message_id: str
