"""Invitation delivery on the real stores: what recording a message sent leaves behind."""

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from order_intake.adapters.backend import backend_for
from order_intake.adapters.database_url import parse_database_url
from order_intake.domain.delivery import Kind
from order_intake.service.ports import DeliveryStore
from tests.support.inspect_db import change_rows, fetch_rows
from tests.support.invitations_db import plant_invitation
from tests.support.opened import run_opened
from tests.support.privacy_db import db_uuid, plant_canonical_order

T = TypeVar("T")
T0 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


def _due_invitation(url: str) -> str:
    """A scheduled invitation of ORG-A, due an hour before T0, with its canonical order."""
    ref = f"D-{uuid.uuid4().hex[:8]}"
    email = f"{ref.lower()}@example.com"
    canonical = plant_canonical_order(url, trkref="ORG-A", order_ref=ref, email=email, sent=[])
    return plant_invitation(
        url,
        trkref="ORG-A",
        order_ref=ref,
        email=email,
        fulfilment_date=T0.date(),
        send_at=T0 - dt.timedelta(hours=1),
        canonical_id=canonical,
    )


def _on_deliveries(url: str, scenario: Callable[[DeliveryStore], Awaitable[T]]) -> T:
    return run_opened(backend_for(parse_database_url(url)).deliveries(), scenario)


def _send(url: str, invitation_id: str, *, suppressed_meanwhile: bool) -> list[tuple[object, ...]]:
    """Claim the due invitation, optionally suppress it as an unsubscribe would, record it sent; its row after."""
    claimed = _on_deliveries(url, lambda store: store.claim(Kind.INVITATION, T0, T0 + dt.timedelta(minutes=5), 1000))
    (due,) = [d for d in claimed if str(d.id) == invitation_id]
    if suppressed_meanwhile:  # the customer unsubscribed while the message was on its way
        change_rows(
            url,
            "UPDATE invitations SET state = 'suppressed', reason = 'unsubscribed', send_at = NULL WHERE id = ?",
            db_uuid(url, invitation_id),
        )
    _on_deliveries(url, lambda store: store.sent(due, T0, T0 + dt.timedelta(days=3), ["invitation e-mail sent"]))
    query = "SELECT state, reminder_at IS NULL FROM invitations WHERE id = ?"
    return fetch_rows(url, query, db_uuid(url, invitation_id))


def test_an_invitation_sent_plans_its_reminder(store_url: str) -> None:
    """The reminder is stored as the sender asked."""
    assert _send(store_url, _due_invitation(store_url), suppressed_meanwhile=False) == [("sent", False)]


def test_an_invitation_suppressed_while_its_message_went_is_recorded_sent_without_a_reminder(store_url: str) -> None:
    """The suppression found no reminder to call off: recording the message sent plans none either."""
    assert _send(store_url, _due_invitation(store_url), suppressed_meanwhile=True) == [("sent", True)]
