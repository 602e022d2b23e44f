"""The invitation endpoints' use cases: explain one, cancel one, list a customer's purchases."""

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec

from order_intake.domain import links
from order_intake.domain.fields import could_be_stored
from order_intake.domain.formats import library_email, plain_email
from order_intake.domain.invitation_answers import InvitationExplained, PurchaseLine
from order_intake.domain.invitations import CANCEL_REASONS, Invitation, Reason, State, reminder_at
from order_intake.domain.jsonbody import Malformed, parse_body
from order_intake.domain.reviews import REVIEWABLE
from order_intake.service.invitation_records import (
    Cancellation,
    CustomerInvitations,
    InvitationRow,
    InvitationView,
    PurchaseRow,
)
from order_intake.service.invitations import InvitationPlanning, policy_of, suppressions_of
from order_intake.service.invitations import cancel as cancelled
from order_intake.service.ports import ProcessingStore
from order_intake.service.records import Organisation

_MAX_EMAIL = 320
_decode = msgspec.json.Decoder(dict[str, Any], float_hook=Decimal).decode
# A cancellation's body is one small object: anything larger is refused unread.
MAX_CANCEL_BODY = 16 * 1024


def stored_email(text: str) -> str | None:
    """A URL's address as the validator stores it (domain lower-cased); None if it cannot be one."""
    if not could_be_stored(text, _MAX_EMAIL):
        return None
    return plain_email(text) or library_email(text)


def explained(view: InvitationView) -> InvitationExplained:
    """The explain answer of an invitation."""
    row = view.row
    current = Invitation(row.order_ref, State(row.state), None, row.send_at, row.sent_at)
    # Sent: the reminder as stored then (None once called off); otherwise as the policy would place it.
    sent = current.state is State.SENT
    reminder = view.reminder_at if sent else reminder_at(current, policy_of(view.policy).reminder_days)
    return InvitationExplained(
        status=200,
        order_ref=row.order_ref,
        state=row.state,
        reason=row.reason,
        send_at=row.send_at,
        sent_at=row.sent_at,
        reminder_at=reminder,
        sandbox=row.sandbox,
        explanation=row.explanation,
    )


async def explain(*, store: ProcessingStore, organisation: Organisation, order_ref: str) -> InvitationExplained | None:
    """The invitation of the organisation's order; None when the order is unknown or not processed yet."""
    if not could_be_stored(order_ref):
        return None
    view = await store.invitation(organisation.id, order_ref)
    return None if view is None else explained(view)


def cancellation_rows(
    planning: InvitationPlanning,
    view: InvitationView,
    customer_rows: Sequence[InvitationRow],
    found: Mapping[tuple[int, bytes], str],
    cancellation: Cancellation,
) -> tuple[list[InvitationRow], str]:
    """What a cancellation writes (both stores): the rows, the order's first, and its audit row's details."""
    customer = CustomerInvitations(
        cancellation.organisation_id,
        view.row.customer_key,
        tuple(customer_rows),
        view.policy,
        suppressions_of(planning, customer_rows, found),
    )
    written = cancelled(view.row, customer, Reason(cancellation.reason), cancellation.at)
    details = msgspec.json.encode({"order_ref": cancellation.order_ref, "reason": cancellation.reason}).decode()
    return written, details


class Cancelled(msgspec.Struct, frozen=True):
    """The cancellation's outcome: the explain answer, or why not."""

    answer: InvitationExplained | None = None
    malformed: bool = False
    invalid_reason: bool = False
    already_sent: bool = False


def _reason(body: bytes) -> Reason | Malformed | None:
    value = parse_body(body)
    if isinstance(value, Malformed):
        return value
    reason = value.get("reason") if isinstance(value, dict) else None
    return Reason(reason) if isinstance(reason, str) and reason in CANCEL_REASONS else None


async def cancel(  # noqa: PLR0913 - the request's parts
    *,
    store: ProcessingStore,
    planning: InvitationPlanning,
    organisation: Organisation,
    order_ref: str,
    body: bytes,
    actor: str,
) -> Cancelled:
    """The retailer cancels an order's invitation: the reason is checked first, whatever the state."""
    reason = _reason(body)
    if isinstance(reason, Malformed):
        return Cancelled(malformed=True)
    if reason is None:
        return Cancelled(invalid_reason=True)
    if not could_be_stored(order_ref):
        return Cancelled()
    cancellation = Cancellation(
        organisation_id=organisation.id,
        order_ref=order_ref,
        reason=reason.value,
        actor=actor,
        target=organisation.trkref,
        at=dt.datetime.now(dt.UTC),
    )
    outcome = await store.cancel_invitation(planning, cancellation)
    if outcome is None:
        return Cancelled()
    if isinstance(outcome, State):
        return Cancelled(already_sent=True)
    return Cancelled(answer=explained(outcome))


def _lines(purchase: PurchaseRow, review_url: Callable[[PurchaseRow], str | None]) -> list[PurchaseLine]:
    document = _decode(purchase.document)
    row = purchase.row
    day = row.order_date or row.fulfilment_date
    assert day is not None  # noqa: S101 - a canonical order has one of the two dates
    url = review_url(purchase)
    return [
        PurchaseLine(
            purchase_date=day,
            created_at=purchase.ordered_at,
            contacted_at=row.sent_at,
            order_ref=row.order_ref,
            sku=str(item["sku"]),
            review_state="pending_moderation" if str(item["sku"]) in purchase.reviewed else "not_reviewed",
            review_url=url,
        )
        for item in document.get("order_items", ())
    ]


async def purchases(
    *,
    store: ProcessingStore,
    organisation: Organisation,
    email: str,
    secret: bytes,
    public_url: str,
) -> list[PurchaseLine] | None:
    """One line per item of each of the address's orders, newest order first; None for an invalid address."""
    address = stored_email(email)
    if address is None:
        return None

    def review_url(purchase: PurchaseRow) -> str | None:
        if purchase.row.state not in REVIEWABLE:
            return None
        return links.link(public_url, links.REVIEW, secret, purchase.row.id)

    found = await store.purchases(organisation.id, address)
    found.sort(key=lambda p: (p.row.order_date or p.row.fulfilment_date, p.ordered_at, p.row.order_ref), reverse=True)
    return [line for purchase in found for line in _lines(purchase, review_url)]


__all__ = ["MAX_CANCEL_BODY", "Cancelled", "cancel", "cancellation_rows", "explain", "purchases", "stored_email"]
