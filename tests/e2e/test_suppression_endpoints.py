"""A retailer's suppressions over HTTP: PUT, DELETE, GET one and GET the list; re-planning and the audit log."""

import datetime as dt
import json
import re
from typing import Any

import httpx
import pytest

from tests.conftest import Tenants
from tests.e2e.exchanges import (
    INVALID_TRKREF,
    NOT_FOUND,
    accepted_id,
    assert_answer,
    json_body,
    post_order,
    unique_ref,
)
from tests.e2e.test_invitations import explained, invitation_path
from tests.support.cli import Credentials, cli_ok, enabled_tenant
from tests.support.factories import an_order
from tests.support.invitations_db import plant_suppression

RETAILER = "suppressed_by_retailer"
INVALID_EMAIL = {"status": 422, "message": "Invalid suppression", "errors": ["invalid email"]}
BY_CUSTOMER = {"status": 409, "message": "Suppressed by the customer"}
UTC_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


class Shop:
    """An organisation of its own (enabled) and its key, so that its list holds only this test's suppressions."""

    def __init__(self, db_url: str) -> None:
        self.trkref = unique_ref("SUPP")
        self.key: Credentials = enabled_tenant(db_url, self.trkref, "Suppressing Shop")

    def path(self, email: str | None = None) -> str:
        """The list's path, or one address's."""
        base = f"/v4/organisations/{self.trkref}/suppressions"
        return base if email is None else f"{base}/{email}"


@pytest.fixture
def shop(db_url: str, server: object) -> Shop:
    """A fresh organisation on the shared server's database."""
    del server  # running
    return Shop(db_url)


def _address(prefix: str = "ann") -> str:
    return f"{prefix}-{unique_ref('x').lower()}@example.com"


def _listed(client: httpx.Client, shop: Shop, query: str = "") -> dict[str, Any]:
    answer = client.get(shop.path() + query, auth=shop.key.auth)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = json_body(answer)
    return body


def test_put_answers_201_then_200_with_the_same_suppression_and_ignores_a_body(
    client: httpx.Client, shop: Shop
) -> None:
    """The address as the validator stores it (domain lower-cased), suppressed_by_retailer, created_at in UTC."""
    local = unique_ref("Ann")
    first = client.put(shop.path(f"{local}@EXAMPLE.com"), auth=shop.key.auth)
    body = json_body(first)
    assert UTC_TIME.fullmatch(body["created_at"]), body
    expected = {"status": 201, "email": f"{local}@example.com", "reason": RETAILER, "created_at": body["created_at"]}
    assert_answer(first, 201, expected)
    again = client.put(shop.path(f"{local}@example.com"), auth=shop.key.auth, content=b'{"reason": "unsubscribed"}')
    assert_answer(again, 200, {**expected, "status": 200})
    assert_answer(client.get(shop.path(f"{local}@example.com"), auth=shop.key.auth), 200, {**expected, "status": 200})
    assert _listed(client, shop) == {
        "status": 200,
        "suppressions": [{"email": f"{local}@example.com", "reason": RETAILER, "created_at": body["created_at"]}],
        "next": None,
    }


def test_delete_answers_204_without_a_body_whether_or_not_the_address_was_suppressed(
    client: httpx.Client, shop: Shop
) -> None:
    """Lifted: no longer shown (404) nor listed; a second DELETE is 204 as well (idempotent)."""
    email = _address()
    assert client.put(shop.path(email), auth=shop.key.auth).status_code == 201
    for _ in range(2):
        lifted = client.delete(shop.path(email), auth=shop.key.auth)
        assert (lifted.status_code, lifted.content) == (204, b"")
        assert "content-type" not in lifted.headers
        assert lifted.headers.get("x-request-id")
    assert_answer(client.get(shop.path(email), auth=shop.key.auth), 404, NOT_FOUND)
    assert _listed(client, shop) == {"status": 200, "suppressions": [], "next": None}


@pytest.mark.parametrize("reason", ["unsubscribed", "bounced"])
def test_the_customers_own_suppression_cannot_be_deleted_and_put_answers_its_reason(
    client: httpx.Client, shop: Shop, db_url: str, reason: str
) -> None:
    """DELETE: 409 Suppressed by the customer, the suppression kept; PUT: 200 with the customer's reason."""
    email = _address()
    plant_suppression(db_url, trkref=shop.trkref, email=email, reason=reason)
    assert_answer(client.delete(shop.path(email), auth=shop.key.auth), 409, BY_CUSTOMER)
    put = client.put(shop.path(email), auth=shop.key.auth)
    assert (put.status_code, json_body(put)["reason"], json_body(put)["email"]) == (200, reason, email)
    assert [(s["email"], s["reason"]) for s in _listed(client, shop)["suppressions"]] == [(email, reason)]


def test_the_list_pages_oldest_first_with_an_opaque_cursor_until_next_is_null(client: httpx.Client, shop: Shop) -> None:
    """limit=2 over five: 2, 2, 1, each page after the last; together the whole list, in the same order."""
    emails = [_address(f"n{i}") for i in range(5)]
    for email in emails:
        assert client.put(shop.path(email), auth=shop.key.auth).status_code == 201
    whole = _listed(client, shop)
    assert [s["email"] for s in whole["suppressions"]] == emails
    assert whole["next"] is None
    pages, query = [], "?limit=2"
    while True:
        page = _listed(client, shop, query)
        pages.append(page["suppressions"])
        if page["next"] is None:
            break
        assert re.fullmatch("[A-Za-z0-9_-]+", page["next"]), page["next"]
        query = f"?limit=2&after={page['next']}"
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [s for p in pages for s in p] == whole["suppressions"]


def test_a_bad_limit_or_cursor_answers_422_naming_each(client: httpx.Client, shop: Shop) -> None:
    """limit: a whole number from 1 to 1000, given once; after: a cursor this API gave; both wrong: both named."""
    for query in ("limit=0", "limit=1001", "limit=ten", "limit=-1", "limit=", "limit=1&limit=2", "limit=1.5"):
        invalid = {"status": 422, "message": "Invalid query", "errors": ["invalid limit"]}
        assert_answer(client.get(f"{shop.path()}?{query}", auth=shop.key.auth), 422, invalid)
    for query in ("after=", "after=not-a-cursor", "after=%00", "after=" + "A" * 10_240):
        invalid = {"status": 422, "message": "Invalid query", "errors": ["invalid after"]}
        assert_answer(client.get(f"{shop.path()}?{query}", auth=shop.key.auth), 422, invalid)
    both = {"status": 422, "message": "Invalid query", "errors": ["invalid limit", "invalid after"]}
    assert_answer(client.get(f"{shop.path()}?limit=x&after=y", auth=shop.key.auth), 422, both)
    assert _listed(client, shop, "?limit=1000&unknown=1")["suppressions"] == []


def test_an_erased_address_is_not_listed_but_still_suppressed(client: httpx.Client, shop: Shop, db_url: str) -> None:
    """After `erase`, only the keyed hash stays: the list leaves it out; PUT of the address finds it (200)."""
    email = _address()
    assert client.put(shop.path(email), auth=shop.key.auth).status_code == 201
    cli_ok(db_url, "erase", "--trkref", shop.trkref, "--email", email)
    assert _listed(client, shop)["suppressions"] == []
    again = client.put(shop.path(email), auth=shop.key.auth)
    assert (again.status_code, json_body(again)["email"], json_body(again)["reason"]) == (200, email, RETAILER)


@pytest.mark.parametrize(
    "email",
    [
        "not-an-address",
        "a@b@c.com",
        "%20ann@example.com",
        "ann@example",
        "a%00b@x.com",
        "%FF@example.com",
        "a%C0%AF@x.com",
    ],
)
def test_an_invalid_address_answers_422_for_put_delete_and_get_and_changes_nothing(
    client: httpx.Client, shop: Shop, db_url: str, email: str
) -> None:
    """Invalid suppression, invalid email; nothing stored, nothing audited."""
    for method in ("PUT", "DELETE", "GET"):
        assert_answer(client.request(method, shop.path(email), auth=shop.key.auth), 422, INVALID_EMAIL)
    assert _listed(client, shop)["suppressions"] == []
    assert _audit_rows(db_url, shop.trkref) == []


def test_access_is_checked_first_as_on_every_organisation_endpoint(client: httpx.Client, tenants: Tenants) -> None:
    """401 without a key; 400 for another tenant's key (even with an invalid address); 403 without the permission."""
    paths = ("/v4/organisations/TRKREF123/suppressions", "/v4/organisations/TRKREF123/suppressions/ann@example.com")
    calls = [("GET", paths[0]), *((method, paths[1]) for method in ("GET", "PUT", "DELETE"))]
    for method, path in [*calls, ("PUT", paths[0] + "/not-an-address")]:
        assert client.request(method, path).status_code == 401
        assert_answer(client.request(method, path, auth=tenants.other.auth), 400, INVALID_TRKREF)
        denied = client.request(method, path, auth=tenants.no_permission.auth)
        assert_answer(denied, 403, {"status": 403, "error": "Access denied"})
    refused = client.post(paths[1], auth=tenants.main.auth)
    assert (refused.status_code, refused.headers["allow"]) == (405, "DELETE, GET, HEAD, PUT")


def test_a_suppression_suppresses_the_addresses_scheduled_invitation_and_lifting_it_schedules_it_again(
    client: httpx.Client, tenants: Tenants
) -> None:
    """An order processed today: scheduled; after PUT suppressed (suppressed_by_retailer); after DELETE scheduled."""
    ref, email = unique_ref("SUPPRESSED"), _address("buyer")
    today = dt.datetime.now(dt.UTC).date().strftime("%d-%m-%Y")
    order = an_order(order_ref=ref, order_date=today, fulfilment_date=today, customer={"email": email})
    accepted_id(post_order(client, tenants.main.auth, order))
    planned = explained(client, tenants, ref)
    assert planned["state"] == "scheduled"
    path = f"/v4/organisations/TRKREF123/suppressions/{email}"
    assert client.put(path, auth=tenants.main.auth).status_code == 201
    suppressed = json_body(client.get(invitation_path(ref), auth=tenants.main.auth))
    assert (suppressed["state"], suppressed["reason"], suppressed["send_at"]) == ("suppressed", RETAILER, None)
    assert client.delete(path, auth=tenants.main.auth).status_code == 204
    lifted = json_body(client.get(invitation_path(ref), auth=tenants.main.auth))
    assert (lifted["state"], lifted["reason"], lifted["send_at"]) == ("scheduled", None, planned["send_at"])


def test_a_suppression_changes_every_unsent_invitation_of_a_repeat_buyer_at_once(
    client: httpx.Client, tenants: Tenants
) -> None:
    """Two orders of one address (scheduled, and skipped in its cooldown): both suppressed, both planned again after."""
    email, refs = _address("repeat"), [unique_ref("REPEAT") for _ in range(2)]
    today = dt.datetime.now(dt.UTC).date()
    for ref, day in zip(refs, (today, today + dt.timedelta(days=1)), strict=True):
        when = day.strftime("%d-%m-%Y")
        order = an_order(order_ref=ref, order_date=when, fulfilment_date=when, customer={"email": email})
        accepted_id(post_order(client, tenants.main.auth, order))
    explained(client, tenants, refs[0])

    def states() -> list[tuple[str, str | None]]:
        bodies = [explained(client, tenants, ref) for ref in refs]
        return [(body["state"], body["reason"]) for body in bodies]

    assert states() == [("scheduled", None), ("skipped", "cooldown")]
    path = f"/v4/organisations/TRKREF123/suppressions/{email}"
    assert client.put(path, auth=tenants.main.auth).status_code == 201
    assert states() == [("suppressed", RETAILER), ("suppressed", RETAILER)]
    assert client.delete(path, auth=tenants.main.auth).status_code == 204
    assert states() == [("scheduled", None), ("skipped", "cooldown")]


def _audit_rows(db_url: str, trkref: str) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in cli_ok(db_url, "audit", "list", "--json").splitlines()]
    return [row for row in rows if row["target"] == trkref and row["action"].startswith("suppress.")]


def test_each_change_is_audited_with_the_keys_username_and_without_the_address(
    client: httpx.Client, shop: Shop, db_url: str
) -> None:
    """suppress.add (twice: changed, then not), suppress.remove; reads and refusals write nothing."""
    email, theirs = _address(), _address("gone")
    plant_suppression(db_url, trkref=shop.trkref, email=theirs, reason="unsubscribed")
    client.put(shop.path(email), auth=shop.key.auth)
    client.put(shop.path(email), auth=shop.key.auth)
    client.get(shop.path(email), auth=shop.key.auth)
    client.get(shop.path(), auth=shop.key.auth)
    assert client.delete(shop.path(theirs), auth=shop.key.auth).status_code == 409
    client.delete(shop.path(email), auth=shop.key.auth)
    rows = _audit_rows(db_url, shop.trkref)
    assert [(r["action"], r["actor"], r["details"]["changed"]) for r in rows] == [
        ("suppress.add", shop.key.username, True),
        ("suppress.add", shop.key.username, False),
        ("suppress.remove", shop.key.username, True),
    ]
    for row in rows:
        assert set(row["details"]) == {"email_hash", "changed", "invitations_replanned"}
        assert re.fullmatch("[0-9a-f]{12}", row["details"]["email_hash"])
        assert email not in json.dumps(row)
    assert len({row["details"]["email_hash"] for row in rows}) == 1


def test_a_put_during_paging_shows_on_a_later_page_and_never_twice(client: httpx.Client, shop: Shop) -> None:
    """The cursor is a position in the list's order, not an offset: a newer suppression comes after it."""
    first, second, later = _address("p1"), _address("p2"), _address("p3")
    for email in (first, second):
        client.put(shop.path(email), auth=shop.key.auth)
    page = _listed(client, shop, "?limit=1")
    client.delete(shop.path(first), auth=shop.key.auth)
    client.put(shop.path(later), auth=shop.key.auth)
    rest = _listed(client, shop, f"?after={page['next']}")
    assert [s["email"] for s in page["suppressions"]] == [first]
    assert [s["email"] for s in rest["suppressions"]] == [second, later]
