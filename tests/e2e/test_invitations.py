"""Review invitations through the API: planned when an order is processed, explained, cancelled, listed."""

import datetime as dt
import time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from order_intake.domain.invitations import LATEST_DUE
from tests.conftest import Tenants
from tests.e2e.exchanges import NOT_FOUND, accepted_id, assert_answer, json_body, post_order, unique_ref
from tests.support.cli import cli_ok, create_key
from tests.support.factories import an_order
from tests.support.inspect_db import change_rows
from tests.support.polling import wait_until

DEADLINE = 30.0
WARNINGS = ["unknown field customer.cutomer_ref"]
TODAY = dt.datetime.now(dt.UTC).date()


def _dmy(day: dt.date) -> str:
    return day.strftime("%d-%m-%Y")


def invitation_path(order_ref: str) -> str:
    """The explain URL of an order of TRKREF123."""
    return f"/v4/organisations/TRKREF123/customer_orders/{order_ref}/invitation"


def _send(client: httpx.Client, tenants: Tenants, order_ref: str, day: dt.date, **customer: Any) -> None:
    person = {"email": f"{order_ref.lower()}@example.com", "country": "GB", **customer}
    order = an_order(order_ref=order_ref, order_date=_dmy(day), fulfilment_date=_dmy(day), customer=person)
    accepted_id(post_order(client, tenants.main.auth, order), None if "cutomer_ref" not in person else WARNINGS)


def explained(client: httpx.Client, tenants: Tenants, order_ref: str) -> dict[str, Any]:
    """The explain answer, once processing has planned the invitation (polls with a deadline)."""

    def planned() -> dict[str, Any] | None:
        answer = client.get(invitation_path(order_ref), auth=tenants.main.auth)
        return json_body(answer) if answer.status_code == 200 else None

    found = wait_until(planned, deadline=time.monotonic() + DEADLINE)
    assert found is not None, f"no invitation for {order_ref} within {DEADLINE} s"
    return found


def test_an_order_dated_at_the_end_of_the_calendar_is_planned_and_processing_goes_on(
    client: httpx.Client, tenants: Tenants
) -> None:
    """31-12-9999 is a real date: its invitation is planned for the latest day there is one; later orders flow."""
    last, after = unique_ref("END"), unique_ref("AFTER")
    _send(client, tenants, last, dt.date(9999, 12, 31))
    _send(client, tenants, after, TODAY)
    body = explained(client, tenants, last)
    assert (body["state"], body["send_at"]) == ("scheduled", _at_nine_in_london(LATEST_DUE))
    assert (
        body["explanation"][1]
        == f"plus 14 days: {LATEST_DUE.isoformat()} (the latest date invitations are planned for)"
    )
    assert explained(client, tenants, after)["state"] == "scheduled"


def _at_nine_in_london(day: dt.date) -> str:
    nine = dt.datetime.combine(day, dt.time(9), tzinfo=ZoneInfo("Europe/London"))
    return nine.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_order_fulfilled_today_is_scheduled_14_days_later_at_9_in_london_and_says_why(
    client: httpx.Client, tenants: Tenants
) -> None:
    """The contract's example: scheduled, send_at in UTC with Z, one sentence per rule."""
    ref = unique_ref("INV")
    _send(client, tenants, ref, TODAY)
    body = explained(client, tenants, ref)
    due = TODAY + dt.timedelta(days=14)
    assert body == {
        "status": 200,
        "order_ref": ref,
        "state": "scheduled",
        "reason": None,
        "send_at": _at_nine_in_london(due),
        "sent_at": None,
        "reminder_at": None,
        "sandbox": False,
        "explanation": [
            f"reference date {TODAY.isoformat()} (fulfilment_date)",
            f"plus 14 days: {due.isoformat()}",
            "send window 09:00-20:00 Europe/London",
            "not suppressed",
            "no other invitation to this customer within 30 days",
        ],
    }


def test_the_reference_pages_2014_example_is_skipped_as_too_old(client: httpx.Client, tenants: Tenants) -> None:
    """Its dates are years past the 180 days: skipped, too_old, and the explanation says so."""
    ref = unique_ref("OLD")
    accepted_id(post_order(client, tenants.main.auth, an_order(order_ref=ref)), WARNINGS)
    body = explained(client, tenants, ref)
    assert (body["state"], body["reason"], body["send_at"]) == ("skipped", "too_old", None)
    assert body["explanation"] == [
        "reference date 2014-12-24 (fulfilment_date)",
        f"older than 180 days on {dt.datetime.now(dt.UTC).date().isoformat()}: not sent",
    ]


def test_a_second_order_of_the_same_customer_within_30_days_is_skipped_and_freed_when_the_first_is_cancelled(
    client: httpx.Client, tenants: Tenants
) -> None:
    """Cooldown by customer: the earlier order takes the slot; cancelling it schedules the later one."""
    email = f"{unique_ref('twice').lower()}@example.com"
    first, second = unique_ref("FIRST"), unique_ref("SECOND")
    _send(client, tenants, first, TODAY, email=email)
    explained(client, tenants, first)
    _send(client, tenants, second, TODAY + dt.timedelta(days=3), email=email)
    later = explained(client, tenants, second)
    assert (later["state"], later["reason"]) == ("skipped", "cooldown")
    cancelled = client.post(invitation_path(first) + "/cancel", json={"reason": "refunded"}, auth=tenants.main.auth)
    assert cancelled.status_code == 200, cancelled.text
    assert (json_body(cancelled)["state"], json_body(cancelled)["reason"]) == ("cancelled", "refunded")
    freed = json_body(client.get(invitation_path(second), auth=tenants.main.auth))
    assert (freed["state"], freed["send_at"]) == ("scheduled", _at_nine_in_london(TODAY + dt.timedelta(days=17)))


def test_cancelling_is_idempotent_checks_the_reason_first_and_is_refused_once_sent(
    client: httpx.Client, tenants: Tenants, db_url: str
) -> None:
    """200 twice with the same body; 422 for another reason (even for an unknown order); 409 after sending."""
    ref = unique_ref("CANCEL")
    _send(client, tenants, ref, TODAY)
    explained(client, tenants, ref)
    cancel = invitation_path(ref) + "/cancel"
    first = client.post(cancel, json={"reason": "returned"}, auth=tenants.main.auth)
    again = client.post(cancel, json={"reason": "returned"}, auth=tenants.main.auth)
    assert first.status_code == again.status_code == 200
    assert json_body(first) == json_body(again)
    invalid = {"status": 422, "message": "Invalid cancellation", "errors": ["invalid reason"]}
    for path in (cancel, invitation_path("NO-SUCH-ORDER") + "/cancel"):
        for body in ({"reason": "changed my mind"}, {}, []):
            assert_answer(client.post(path, json=body, auth=tenants.main.auth), 422, invalid)
    unknown = client.post(invitation_path("NO-SUCH-ORDER") + "/cancel", json={"reason": "test"}, auth=tenants.main.auth)
    assert_answer(unknown, 404, NOT_FOUND)
    sent = unique_ref("SENT")
    _send(client, tenants, sent, TODAY)
    explained(client, tenants, sent)
    change_rows(db_url, "UPDATE invitations SET state = 'sent', send_at = NULL WHERE order_ref = ?", sent)
    refused = client.post(invitation_path(sent) + "/cancel", json={"reason": "test"}, auth=tenants.main.auth)
    assert_answer(refused, 409, {"status": 409, "message": "Invitation already sent"})


def test_purchases_list_each_item_of_the_customers_orders_newest_first_with_a_signed_review_link(
    client: httpx.Client, tenants: Tenants
) -> None:
    """A bare array: one line per item, the order's date, not_reviewed, PUBLIC_URL/r/{token} while scheduled."""
    email = f"{unique_ref('buyer').lower()}@example.com"
    older, newer = unique_ref("P1"), unique_ref("P2")
    # More than the 30 days' cooldown apart, so that both are scheduled (the older one from now).
    _send(client, tenants, older, TODAY - dt.timedelta(days=40), email=email)
    _send(client, tenants, newer, TODAY + dt.timedelta(days=20), email=email)
    explained(client, tenants, older)
    explained(client, tenants, newer)
    lines = json_body(client.get(f"/v4/organisations/TRKREF123/purchasers/{email}/purchases", auth=tenants.main.auth))
    assert [(line["order_ref"], line["sku"], line["review_state"]) for line in lines] == [
        (newer, "PROD1", "not_reviewed"),
        (newer, "PROD2", "not_reviewed"),
        (older, "PROD1", "not_reviewed"),
        (older, "PROD2", "not_reviewed"),
    ]
    assert lines[0]["purchase_date"] == (TODAY + dt.timedelta(days=20)).isoformat()
    assert lines[0]["contacted_at"] is None
    assert lines[0]["created_at"].endswith("Z")
    assert lines[0]["review_url"].startswith("http://127.0.0.1:8080/r/")
    assert lines[0]["review_url"] == lines[1]["review_url"] != lines[2]["review_url"]


def test_purchases_of_an_address_with_no_orders_are_empty_and_an_invalid_address_is_422(
    client: httpx.Client, tenants: Tenants
) -> None:
    """[] for a stranger; 422 Invalid purchaser for what cannot be an address (no query made)."""
    nobody = client.get("/v4/organisations/TRKREF123/purchasers/nobody@example.com/purchases", auth=tenants.main.auth)
    assert (nobody.status_code, json_body(nobody)) == (200, [])
    invalid = {"status": 422, "message": "Invalid purchaser", "errors": ["invalid email"]}
    for email in ("not-an-address", "a%00b@example.com", "x" * 400 + "@example.com"):
        answer = client.get(f"/v4/organisations/TRKREF123/purchasers/{email}/purchases", auth=tenants.main.auth)
        assert_answer(answer, 422, invalid)


@pytest.mark.parametrize("value", ["%00", "a%00b", "%ED%A0%80", "%FF", "A" * 10_240])
def test_a_hostile_order_ref_on_the_invitation_endpoints_is_404(
    client: httpx.Client, tenants: Tenants, value: str
) -> None:
    """Explain and cancel: the order_ref cannot exist, so not found, before any query."""
    assert_answer(client.get(invitation_path(value), auth=tenants.main.auth), 404, NOT_FOUND)
    cancel = client.post(invitation_path(value) + "/cancel", json={"reason": "test"}, auth=tenants.main.auth)
    assert_answer(cancel, 404, NOT_FOUND)


def test_another_tenants_key_sees_nothing_of_an_invitation(client: httpx.Client, tenants: Tenants) -> None:
    """The same access rules as customer orders: 400 Invalid TRKREF for a key not linked to the organisation."""
    ref = unique_ref("MINE")
    _send(client, tenants, ref, TODAY)
    explained(client, tenants, ref)
    invalid = {"status": 400, "message": "Invalid TRKREF supplied"}
    assert_answer(client.get(invitation_path(ref), auth=tenants.other.auth), 400, invalid)
    cancel = client.post(invitation_path(ref) + "/cancel", json={"reason": "test"}, auth=tenants.other.auth)
    assert_answer(cancel, 400, invalid)
    path = f"/v4/organisations/TRKREF123/purchasers/{ref.lower()}@example.com/purchases"
    assert_answer(client.get(path, auth=tenants.other.auth), 400, invalid)


def test_a_sandbox_keys_order_is_planned_like_any_other_and_explained_as_sandbox(
    client: httpx.Client, tenants: Tenants, db_url: str
) -> None:
    """`key create --sandbox`: the same plan, `"sandbox": true`; the other keys of the organisation see it."""
    sandbox = create_key(db_url, "--trkref", "TRKREF123", "--sandbox")
    ref = unique_ref("SANDBOX")
    order = an_order(order_ref=ref, order_date=_dmy(TODAY), fulfilment_date=_dmy(TODAY))
    accepted_id(post_order(client, sandbox.auth, order), WARNINGS)
    body = explained(client, tenants, ref)
    assert (body["state"], body["sandbox"]) == ("scheduled", True)
    assert "sandbox" in cli_ok(db_url, "key", "list", "--trkref", "TRKREF123")


_SCHEDULED_SERIES = 'order_intake_invitations_planned_total{reason="",state="scheduled"}'


def _scheduled_count(metrics: str) -> float:
    lines = [line for line in metrics.splitlines() if line.startswith(_SCHEDULED_SERIES)]
    return float(lines[0].split()[-1]) if lines else 0.0


def test_planned_invitations_are_counted_by_state_and_reason_in_metrics(client: httpx.Client, tenants: Tenants) -> None:
    """The worker's counter reaches /metrics, labelled by state and reason only, one count per invitation."""
    before = _scheduled_count(client.get("/metrics").text)
    refs = [unique_ref("COUNTED") for _ in range(3)]
    for ref in refs:  # sent back to back, mostly planned in one batch
        _send(client, tenants, ref, TODAY)
    for ref in refs:
        explained(client, tenants, ref)
    metrics = client.get("/metrics").text
    assert _SCHEDULED_SERIES in metrics
    # Other tests' orders may still be planned meanwhile: at least these three more.
    assert _scheduled_count(metrics) - before >= len(refs)
