"""The customer's pages' use cases: the invitation a link names, its reviews stored, its address unsubscribed.

The signed token in the link is the customer's only credential (no account, no cookie): a token
that does not verify, or names an invitation that no longer exists, finds nothing.
"""

import dataclasses
import datetime as dt
from typing import Any, Final
from uuid import UUID

import msgspec

from order_intake.domain import links
from order_intake.domain.invitations import Reason
from order_intake.domain.reviews import REVIEWABLE, FormErrors, Item, Review, items_of, read_form
from order_intake.service.ports import ProcessingStore, Suppressions
from order_intake.service.review_records import ReviewSubject

__all__ = ["MAX_REVIEW_FORM", "MAX_UNSUBSCRIBE_BODY", "Invited", "invited", "submit_reviews", "unsubscribe"]

# A review form holds a few items' texts of at most 5,000 characters each: more is refused unread.
MAX_REVIEW_FORM: Final = 1024 * 1024
# An unsubscribe carries nothing that is read (RFC 8058's `List-Unsubscribe=One-Click`, or the button).
MAX_UNSUBSCRIBE_BODY: Final = 16 * 1024
_decode = msgspec.json.Decoder(dict[str, Any]).decode


@dataclasses.dataclass(frozen=True, slots=True)
class Invited:
    """The invitation a verified link names, as the customer's pages show it."""

    invitation_id: UUID
    organisation_id: int
    organisation: str
    email: str
    order_ref: str
    order_date: dt.date | None
    customer_name: str | None
    language: str | None
    locale: str | None
    items: tuple[Item, ...]
    reviews: tuple[Review, ...]
    reviewable: bool


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _invited(subject: ReviewSubject) -> Invited:
    document = _decode(subject.document)
    customer = document.get("customer")
    day = _text(document.get("order_date")) or _text(document.get("fulfilment_date"))
    return Invited(
        invitation_id=subject.invitation_id,
        organisation_id=subject.organisation_id,
        organisation=subject.organisation_name,
        email=subject.email,
        order_ref=subject.order_ref,
        order_date=dt.date.fromisoformat(day) if day else None,
        customer_name=_text(customer.get("first_name")) if isinstance(customer, dict) else None,
        language=_text(document.get("language")),
        locale=_text(document.get("locale")),
        items=items_of(document),
        reviews=subject.reviews,
        reviewable=subject.state in REVIEWABLE,
    )


async def invited(*, store: ProcessingStore, secret: bytes, kind: links.Kind, token: str) -> Invited | None:
    """The invitation this link's token names, if it verifies and the invitation still exists."""
    invitation_id = links.verified(secret, kind, token)
    if invitation_id is None:
        return None
    subject = await store.review_subject(invitation_id)
    return None if subject is None else _invited(subject)


async def submit_reviews(
    *, store: ProcessingStore, invited: Invited, form: bytes, now: dt.datetime
) -> tuple[Review, ...] | FormErrors | None:
    """Store one review per rated item (replacing earlier ones), or say what is wrong; None if no longer reviewable.

    Storing also calls off the invitation's reminder, if it is not sent yet.
    """
    read = read_form(form, invited.items)
    if isinstance(read, FormErrors):
        return read
    saved = await store.save_reviews(invited.invitation_id, read, now)
    return read if saved else None


async def unsubscribe(*, suppressions: Suppressions, invited: Invited, now: dt.datetime) -> None:
    """The customer asks for no more review requests from this organisation (idempotent)."""
    await suppressions.by_customer(
        organisation_id=invited.organisation_id, email=invited.email, reason=Reason.UNSUBSCRIBED.value, now=now
    )
