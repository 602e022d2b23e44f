"""The JSON answers of the invitation endpoints (INVITATIONS.md): explain, purchases, suppressions."""

import datetime as dt
from typing import Literal

import msgspec


class InvitationExplained(msgspec.Struct, frozen=True):
    """200: an order's invitation, whether and when it goes, and why, in sentences."""

    status: Literal[200]
    order_ref: str
    state: str
    reason: str | None
    send_at: dt.datetime | None
    sent_at: dt.datetime | None
    reminder_at: dt.datetime | None
    sandbox: bool
    explanation: tuple[str, ...]


class PurchaseLine(msgspec.Struct, frozen=True):
    """One item of one of the customer's orders, newest order first."""

    purchase_date: dt.date
    created_at: dt.datetime
    contacted_at: dt.datetime | None
    order_ref: str
    sku: str
    review_state: Literal["not_reviewed", "pending_moderation"]
    review_url: str | None


class SuppressionEntry(msgspec.Struct, frozen=True):
    """One suppressed address."""

    email: str
    reason: str
    created_at: dt.datetime


class Suppression(msgspec.Struct, frozen=True):
    """201 (added) or 200 (already there): the suppression."""

    status: int
    email: str
    reason: str
    created_at: dt.datetime


class Suppressions(msgspec.Struct, frozen=True):
    """200: a page of the organisation's suppressions and the cursor of the next (null at the end)."""

    status: Literal[200]
    suppressions: tuple[SuppressionEntry, ...]
    next: str | None
