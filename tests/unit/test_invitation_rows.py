"""The invitation rows processing writes: new orders', changed facts' and plans'; not an order sent again as it was."""

import datetime as dt
import json
import uuid

from order_intake.service.invitation_records import InvitationRow
from order_intake.service.invitations import InvitationPlanning, fresh_row

_NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
_TODAY = "2026-12-07"  # as a canonical document holds dates


def _facts(email: str = "jane@example.com", country: str = "GB") -> InvitationRow:
    """An order's facts as processing reads them from its canonical document (a row not yet planned)."""
    document = {
        "trkref": "T1",
        "order_ref": "R1",
        "order_date": _TODAY,
        "fulfilment_date": _TODAY,
        "customer": {"email": email, "country": country},
        "order_items": [{"sku": "A"}],
    }
    canonical = uuid.UUID(int=7)
    return fresh_row(
        organisation_id=1, canonical_id=canonical, document=json.dumps(document).encode(), sandbox=False, now=_NOW
    )


def _assemble(planning: InvitationPlanning, target: InvitationRow, stored: list[InvitationRow]) -> list[InvitationRow]:
    return planning.assemble(
        targets=[target], existing=stored, customer_rows=stored, policies={1: None}, suppressions={}, now=_NOW
    )


def test_an_order_sent_again_with_the_same_facts_writes_nothing_and_counts_nothing() -> None:
    """Its stored row already holds those facts and that plan: no row to write, none counted as planned."""
    counted: list[InvitationRow] = []
    planning = InvitationPlanning(b"k" * 32, planned=counted.extend)
    (stored,) = _assemble(planning, _facts(), [])
    assert stored.state == "scheduled"
    counted.clear()
    assert _assemble(planning, _facts(), [stored]) == []
    assert counted == []


def test_an_order_sent_again_with_new_facts_writes_its_row_with_them() -> None:
    """A new address or country reaches the stored row (its id and history kept), and is counted."""
    counted: list[InvitationRow] = []
    planning = InvitationPlanning(b"k" * 32, planned=counted.extend)
    (stored,) = _assemble(planning, _facts(), [])
    counted.clear()
    (written,) = _assemble(planning, _facts(email="jane.new@example.com", country="FR"), [stored])
    assert (written.id, written.created_at) == (stored.id, stored.created_at)
    assert (written.email, written.country) == ("jane.new@example.com", "FR")
    assert written.send_at is not None
    assert counted == [written]
