"""POST /v4/customer_orders and GET /v4/customer_orders/{id}, over a real socket, on both databases."""

import copy
import json
import uuid
from typing import Any

import httpx

from tests.conftest import Tenants
from tests.e2e.exchanges import stored_submissions, unique_ref
from tests.support.cli import cli_ok, create_key
from tests.support.factories import an_order

BATCH = "/v4/customer_orders"

# The batch reference page's example element: the single page's example without trkref, prices 25 and 10.
REFERENCE_ELEMENT: dict[str, Any] = an_order(trkref=...)
REFERENCE_ELEMENT["order_items"][0]["price"] = 25


def _is_uuid4(value: object) -> bool:
    return isinstance(value, str) and str(uuid.UUID(value)) == value and uuid.UUID(value).version == 4


def test_reference_example_from_a_one_organisation_key_is_accepted(client: httpx.Client, tenants: Tenants) -> None:
    """Elements without trkref belong to the key's only organisation: 202 Batch Accepted."""
    answer = client.post(BATCH, json=[REFERENCE_ELEMENT, REFERENCE_ELEMENT], auth=tenants.other.auth)
    assert answer.status_code == 202
    body = answer.json()
    assert set(body) == {"status", "id", "message", "summary", "ids", "warnings"}
    assert (body["status"], body["message"], body["summary"]) == (202, "Batch Accepted", {"accepted": 2, "rejected": 0})
    assert _is_uuid4(body["id"])
    assert all(_is_uuid4(i) for i in body["ids"])
    assert len(set(body["ids"])) == 2
    assert body["warnings"] == [
        {"index": 0, "order_ref": "ABC123", "warnings": ["unknown field customer.cutomer_ref"]},
        {"index": 1, "order_ref": "ABC123", "warnings": ["unknown field customer.cutomer_ref"]},
    ]
    assert answer.headers["location"] == f"/v4/customer_orders/{body['id']}"
    assert answer.headers["content-type"] == "application/json"
    for submission_id in body["ids"]:
        found = client.get(f"/v4/organisations/OTHER-ORG/customer_order/{submission_id}", auth=tenants.other.auth)
        assert found.status_code == 200
        assert found.json()["order"]["trkref"] == "OTHER-ORG"


def test_mixed_batch_accepts_each_valid_element_and_explains_each_rejection(
    client: httpx.Client, tenants: Tenants
) -> None:
    """206: valid, invalid, other tenant, feature off, unknown trkref, missing trkref with a two-organisation key."""
    missing_trkref = copy.deepcopy(REFERENCE_ELEMENT)
    elements = [
        an_order(order_ref="OK-1"),
        an_order(order_ref="BAD-1", customer={"email": "not-an-email"}),
        an_order(order_ref="OTHER-1", trkref="OTHER-ORG"),
        an_order(order_ref="OFF-1", trkref="DISABLED-ORG"),
        an_order(order_ref="NOPE-1", trkref="NO-SUCH-ORG"),
        missing_trkref,
        "not an object",
        an_order(order_ref="OK-2"),
    ]
    answer = client.post(BATCH, json=elements, auth=tenants.main.auth)
    assert answer.status_code == 206
    body = answer.json()
    assert (body["status"], body["message"], body["summary"]) == (
        206,
        "Batch partially accepted",
        {"accepted": 2, "rejected": 6},
    )
    assert [i is not None for i in body["ids"]] == [True, False, False, False, False, False, False, True]
    assert body["errors"] == [
        {"index": 1, "order_ref": "BAD-1", "errors": ["invalid customer.email"]},
        {"index": 2, "order_ref": "OTHER-1", "errors": ["Invalid TRKREF supplied"]},
        {"index": 3, "order_ref": "OFF-1", "errors": ["Access denied"]},
        {"index": 4, "order_ref": "NOPE-1", "errors": ["Invalid TRKREF supplied"]},
        {"index": 5, "order_ref": "ABC123", "errors": ["trkref cannot be blank"]},
        {"index": 6, "order_ref": None, "errors": ["body must be a JSON object"]},
    ]
    for index in (0, 7):
        found = client.get(f"/v4/organisations/TRKREF123/customer_order/{body['ids'][index]}", auth=tenants.main.auth)
        assert found.status_code == 200
        assert found.json()["order"]["order_ref"] == f"OK-{1 if index == 0 else 2}"


def test_batch_with_no_valid_element_answers_422_with_ids_and_errors(client: httpx.Client, tenants: Tenants) -> None:
    """None accepted: 422 Batch is invalid, every id null, one error object per element."""
    answer = client.post(BATCH, json=[{"order_ref": "X"}, None], auth=tenants.other.auth)
    assert answer.status_code == 422
    body = answer.json()
    assert (body["message"], body["summary"], body["ids"]) == (
        "Batch is invalid",
        {"accepted": 0, "rejected": 2},
        [None, None],
    )
    assert body["errors"][0]["index"] == 0
    assert body["errors"][0]["order_ref"] == "X"
    assert "customer cannot be blank" in body["errors"][0]["errors"]
    assert body["errors"][1] == {
        "index": 1,
        "order_ref": None,
        "errors": [
            "order_ref cannot be blank",
            "order_date or fulfilment_date must be present",
            "customer cannot be blank",
            "order_items cannot be blank",
        ],
    }


def test_whole_batch_problems_answer_422_with_one_error(client: httpx.Client, tenants: Tenants) -> None:
    """Not an array, empty, or over 10,000 elements: 422 Batch is invalid, nothing stored."""
    cases = [
        (b'{"order_ref": "A"}', "body must be a JSON array", 0),
        (b"[]", "batch cannot be empty", 0),
        (json.dumps([0] * 10_001).encode(), "batch has too many customer orders (maximum 10000)", 10_001),
    ]
    for content, error, rejected in cases:
        answer = client.post(BATCH, content=content, auth=tenants.main.auth)
        assert answer.status_code == 422, content[:20]
        body = answer.json()
        assert set(body) == {"status", "id", "message", "summary", "errors"}
        assert (body["status"], body["message"], body["errors"]) == (422, "Batch is invalid", [error])
        assert body["summary"] == {"accepted": 0, "rejected": rejected}
        assert _is_uuid4(body["id"])


def test_batch_of_10001_valid_orders_is_rejected_whole(client: httpx.Client, tenants: Tenants) -> None:
    """10,001 valid orders: 422 and not one of them stored (no ids in the answer)."""
    answer = client.post(BATCH, json=[an_order(order_ref=f"BIG-{i}") for i in range(10_001)], auth=tenants.main.auth)
    assert answer.status_code == 422
    assert answer.json()["errors"] == ["batch has too many customer orders (maximum 10000)"]
    assert "ids" not in answer.json()


def test_batch_of_10000_orders_is_accepted_and_each_is_findable(client: httpx.Client, tenants: Tenants) -> None:
    """10,000 elements: 202 with 10,000 distinct ids; a sample is found through the single GET endpoint."""
    elements = [an_order(order_ref=f"TENK-{i}") for i in range(10_000)]
    answer = client.post(BATCH, json=elements, auth=tenants.main.auth, timeout=60)
    assert answer.status_code == 202
    body = answer.json()
    assert body["summary"] == {"accepted": 10_000, "rejected": 0}
    assert len(set(body["ids"])) == 10_000
    for index in (0, 4_999, 9_999):
        found = client.get(f"/v4/organisations/TRKREF123/customer_order/{body['ids'][index]}", auth=tenants.main.auth)
        assert found.json()["order"]["order_ref"] == f"TENK-{index}"


def test_stored_batch_is_shown_by_its_id_to_keys_of_its_organisations(client: httpx.Client, tenants: Tenants) -> None:
    """GET answers 200 with id, received_at, summary, ids and errors; 404 to another tenant and for unknown ids."""
    posted = client.post(BATCH, json=[an_order(order_ref="G-1"), {"x": 1}], auth=tenants.main.auth).json()
    shown = client.get(f"{BATCH}/{posted['id']}", auth=tenants.main.auth)
    assert shown.status_code == 200
    body = shown.json()
    assert (body["status"], body["id"], body["summary"], body["ids"], body["errors"]) == (
        200,
        posted["id"],
        posted["summary"],
        posted["ids"],
        posted["errors"],
    )
    assert body["received_at"].endswith("Z")
    assert client.get(f"{BATCH}/{posted['id']}", auth=tenants.other.auth).json() == {
        "status": 404,
        "message": "Not found",
    }
    assert client.get(f"{BATCH}/{uuid.uuid4()}", auth=tenants.main.auth).status_code == 404
    assert client.get(f"{BATCH}/not-a-uuid", auth=tenants.main.auth).status_code == 404


def test_batch_endpoints_answer_401_with_errors_field(client: httpx.Client, tenants: Tenants) -> None:
    """Bad credentials: 401 {"status": 401, "errors": "Unauthorized"} with WWW-Authenticate, on POST and GET."""
    for answer in (
        client.post(BATCH, json=[an_order()]),
        client.post(BATCH, json=[an_order()], auth=(tenants.main.username, "wrong")),
        client.post(BATCH, json=[an_order()], auth=tenants.revoked.auth),
        client.get(f"{BATCH}/{uuid.uuid4()}"),
    ):
        assert answer.status_code == 401
        assert answer.json() == {"status": 401, "errors": "Unauthorized"}
        assert answer.headers["www-authenticate"].startswith("Basic realm=")


def test_key_without_permission_gets_403_for_the_whole_batch(client: httpx.Client, tenants: Tenants) -> None:
    """A key lacking customer_order: 403 Access denied, even for a valid batch."""
    answer = client.post(BATCH, json=[an_order()], auth=tenants.no_permission.auth)
    assert answer.status_code == 403
    assert answer.json() == {"status": 403, "error": "Access denied"}


def test_batch_body_over_16_mib_answers_413(client: httpx.Client, tenants: Tenants) -> None:
    """A body past 16 MiB: 413 Payload too large."""
    answer = client.post(BATCH, content=b"[" + b" " * (16 * 1024 * 1024) + b"]", auth=tenants.main.auth)
    assert answer.status_code == 413
    assert answer.json() == {"status": 413, "message": "Payload too large"}


def test_malformed_batch_answers_400(client: httpx.Client, tenants: Tenants) -> None:
    """Not JSON: 400 Malformed JSON."""
    answer = client.post(BATCH, content=b'[{"order_ref": ', auth=tenants.main.auth)
    assert answer.status_code == 400
    assert answer.json() == {"status": 400, "message": "Malformed JSON"}


def test_a_batch_with_an_element_naming_a_member_twice_answers_400_and_stores_nothing(
    client: httpx.Client, tenants: Tenants, db_url: str
) -> None:
    """One element sends `customer` twice: 400 Malformed JSON for the whole batch; not even the valid one is stored."""
    valid, twice = an_order(order_ref=unique_ref()), an_order(order_ref=unique_ref())
    shadowing = b'{"customer": {"email": "victim@example.com"}, ' + json.dumps(twice).encode().removeprefix(b"{")
    content = b"[" + json.dumps(valid).encode() + b", " + shadowing + b"]"
    answer = client.post(BATCH, content=content, auth=tenants.main.auth)
    assert (answer.status_code, answer.json()) == (400, {"status": 400, "message": "Malformed JSON"})
    assert (stored_submissions(db_url, valid["order_ref"]), stored_submissions(db_url, twice["order_ref"])) == (0, 0)


def test_batch_retry_with_idempotency_key_replays_the_original_answer(client: httpx.Client, tenants: Tenants) -> None:
    """Same key and body: the same answer again, Idempotent-Replayed, nothing new stored; other body: 422."""
    key = {"Idempotency-Key": f"batch-{uuid.uuid4()}"}
    content = json.dumps([an_order(order_ref="IDEM-1"), {"bad": True}]).encode()
    first = client.post(BATCH, content=content, headers=key, auth=tenants.main.auth)
    again = client.post(BATCH, content=content, headers=key, auth=tenants.main.auth)
    assert first.status_code == again.status_code == 206
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    other = client.post(BATCH, json=[an_order(order_ref="IDEM-2")], headers=key, auth=tenants.main.auth)
    assert other.status_code == 422
    assert other.json()["message"] == "Idempotency-Key reused with a different body"


def _two_organisations(db_url: str) -> tuple[str, str]:
    """Two fresh organisations with the feature on."""
    trkrefs = (unique_ref("ALPHA"), unique_ref("BETA"))
    for trkref in trkrefs:
        cli_ok(db_url, "org", "add", trkref, "--name", "Batch Reader Shop")
        cli_ok(db_url, "org", "enable", trkref)
    return trkrefs


def test_a_batch_is_shown_only_to_keys_holding_every_organisation_it_touched(client: httpx.Client, db_url: str) -> None:
    """A batch for ALPHA and BETA: 200 to its sender and any key holding both; 404 (as unknown) to one holding one."""
    alpha, beta = _two_organisations(db_url)
    sender = create_key(db_url, "--trkref", alpha, "--trkref", beta)
    elements = [an_order(trkref=alpha, order_ref="A-1"), an_order(trkref=beta, order_ref="B-1")]
    posted = client.post(BATCH, json=elements, auth=sender.auth).json()
    assert posted["status"] == 202, posted
    path = f"{BATCH}/{posted['id']}"

    for holder in (sender, create_key(db_url, "--trkref", beta, "--trkref", alpha)):
        shown = client.get(path, auth=holder.auth)
        assert (shown.status_code, shown.json()["ids"]) == (200, posted["ids"])
    unknown = client.get(f"{BATCH}/{uuid.uuid4()}", auth=sender.auth)
    for partial in (create_key(db_url, "--trkref", alpha), create_key(db_url, "--trkref", beta)):
        hidden = client.get(path, auth=partial.auth)
        assert (hidden.status_code, hidden.json()) == (404, {"status": 404, "message": "Not found"})
        assert (hidden.content, hidden.headers["content-type"]) == (unknown.content, unknown.headers["content-type"])


def test_a_batch_that_touched_no_organisation_is_shown_only_to_the_key_that_sent_it(
    client: httpx.Client, db_url: str
) -> None:
    """Every element naming an unknown trkref: 200 to its sender, 404 to another key of the same organisations."""
    alpha, beta = _two_organisations(db_url)
    sender = create_key(db_url, "--trkref", alpha, "--trkref", beta)
    posted = client.post(BATCH, json=[an_order(trkref="NO-SUCH-ORG")], auth=sender.auth).json()
    assert (posted["status"], posted["ids"]) == (422, [None])
    path = f"{BATCH}/{posted['id']}"

    assert client.get(path, auth=sender.auth).status_code == 200
    twin = create_key(db_url, "--trkref", alpha, "--trkref", beta)
    assert client.get(path, auth=twin.auth).json() == {"status": 404, "message": "Not found"}
