"""Reading back: one submission with its normalised order, and the organisations of a key."""

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.conftest import Tenants
from tests.e2e.exchanges import (
    NOT_FOUND,
    ORGANISATIONS,
    accepted_id,
    assert_answer,
    basic,
    encode,
    json_body,
    post_order,
    present,
    submission_path,
    unique_ref,
)
from tests.support.cli import cli_ok, create_key
from tests.support.factories import an_order


def read(client: httpx.Client, auth: tuple[str, str], submission_id: str, trkref: str = "TRKREF123") -> dict[str, Any]:
    """GET a submission that must exist; its answer, exactly checked apart from the order."""
    answer = client.get(submission_path(submission_id, trkref), auth=auth)
    body = json_body(answer)
    assert answer.status_code == 200, answer.text
    assert set(body) == {"status", "id", "state", "received_at", "order", "processed_at", "customer_order_id"}
    assert (body["status"], body["id"]) == (200, submission_id)
    # The server's own processor may or may not have merged it yet; either way the fields agree.
    processed = body["state"] == "processed"
    assert processed or body["state"] == "accepted", body["state"]
    assert (body["processed_at"] is not None, body["customer_order_id"] is not None) == (processed, processed)
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-request-id"]
    return body


def test_a_submission_reads_back_with_its_normalised_order(client: httpx.Client, tenants: Tenants) -> None:
    """Codes in canonical case, locale as en-GB, email domain lowercased, exact prices, ISO dates."""
    order = an_order(
        order_ref="  NORM-1  ",
        language="EN",
        locale="en_gb",
        customer={
            "email": "Hello.World@EXAMPLE.Com",
            "customer_ref": 1122,
            "title": "MR",
            "first_name": "  John ",
            "surname": "Brown",
            "postcode": 1122,
            "country": "gb",
        },
        order_items=[
            {"sku": "PROD1", "price": "55,99", "currency": "gbp", "metadata": {"field_1": "Value 1", "n": 7}},
            {"sku": 2, "price": 10, "currency": "Gbp"},
            {"sku": "PROD3", "price": 0.1},
            {"sku": "PROD4", "price": "10.50"},
        ],
    )
    submission_id = accepted_id(post_order(client, tenants.main.auth, order))
    body = read(client, tenants.main.auth, submission_id)
    assert present(body["order"]) == {
        "trkref": "TRKREF123",
        "order_ref": "NORM-1",
        "order_date": "2014-12-10",
        "fulfilment_date": "2014-12-24",
        "language": "en",
        "locale": "en-GB",
        "customer": {
            "email": "Hello.World@example.com",
            "customer_ref": "1122",
            "title": "MR",
            "first_name": "John",
            "surname": "Brown",
            "postcode": "1122",
            "country": "GB",
        },
        "order_items": [
            {"sku": "PROD1", "price": Decimal("55.99"), "currency": "GBP", "metadata": {"field_1": "Value 1", "n": 7}},
            {"sku": "2", "price": 10, "currency": "GBP"},
            {"sku": "PROD3", "price": Decimal("0.1")},
            {"sku": "PROD4", "price": Decimal("10.50")},
        ],
    }


def test_prices_are_shown_as_exact_json_numbers_never_floats_or_strings(client: httpx.Client, tenants: Tenants) -> None:
    """A price of "55,99" reads back as the JSON number 55.99, 0.1 as 0.1: the raw text has the exact digits."""
    order = an_order(
        order_items=[
            {"sku": "A", "price": "55,99"},
            {"sku": "B", "price": 0.1},
            {"sku": "C", "price": "LONG"},
        ]
    )
    body = encode(order).replace(b'"LONG"', b"123456789.123456789")
    submission_id = accepted_id(
        post_order(client, tenants.main.auth, content=body), ["unknown field customer.cutomer_ref"]
    )
    answer = client.get(submission_path(submission_id), auth=tenants.main.auth)
    prices = [item["price"] for item in json_body(answer)["order"]["order_items"]]
    assert prices == [Decimal("55.99"), Decimal("0.1"), Decimal("123456789.123456789")]
    assert all(isinstance(price, Decimal) for price in prices)
    assert '"55,99"' not in answer.text
    assert "0.1000" not in answer.text


def test_blank_optional_fields_are_absent_from_the_normalised_order(client: httpx.Client, tenants: Tenants) -> None:
    """Optional nulls and blank strings are treated as absent, not stored as values."""
    order = an_order(
        order_date="",
        language="",
        locale=None,
        customer={"email": "a@example.com", "title": " ", "country": ""},
        order_items=[{"sku": "P", "price": "", "currency": None, "metadata": None}],
    )
    submission_id = accepted_id(post_order(client, tenants.main.auth, order))
    assert present(read(client, tenants.main.auth, submission_id)["order"]) == {
        "trkref": "TRKREF123",
        "order_ref": "ABC123",
        "fulfilment_date": "2014-12-24",
        "customer": {"email": "a@example.com"},
        "order_items": [{"sku": "P"}],
    }


def test_unknown_fields_are_not_part_of_the_normalised_order(client: httpx.Client, tenants: Tenants) -> None:
    """The reference example's misspelt `cutomer_ref` is ignored, not stored as customer_ref."""
    submission_id = accepted_id(post_order(client, tenants.main.auth), ["unknown field customer.cutomer_ref"])
    customer = present(read(client, tenants.main.auth, submission_id)["order"]["customer"])
    assert customer == {
        "email": "hello@example.com",
        "title": "MR",
        "first_name": "John",
        "surname": "Brown",
        "postcode": "1122",
        "country": "GB",
    }


def test_received_at_is_an_aware_timestamp_of_the_submission(client: httpx.Client, tenants: Tenants) -> None:
    """received_at is an ISO 8601 timestamp with a zone, taken when the order arrived."""
    before = dt.datetime.now(dt.UTC)
    submission_id = accepted_id(post_order(client, tenants.main.auth), ["unknown field customer.cutomer_ref"])
    after = dt.datetime.now(dt.UTC)
    received = dt.datetime.fromisoformat(read(client, tenants.main.auth, submission_id)["received_at"])
    assert received.tzinfo is not None
    assert before - dt.timedelta(seconds=1) <= received <= after + dt.timedelta(seconds=1)


@pytest.mark.parametrize(
    "submission_id",
    [str(uuid.uuid4()), "not-a-uuid", "12345", str(uuid.uuid4()).upper() + "0", "%00"],
    ids=["unknown uuid", "not a uuid", "number", "too long", "NUL"],
)
def test_an_unknown_or_malformed_id_answers_404_not_found(
    client: httpx.Client, tenants: Tenants, submission_id: str
) -> None:
    """An id this organisation does not have answers 404."""
    assert_answer(client.get(submission_path(submission_id), auth=tenants.main.auth), 404, NOT_FOUND)


def test_another_organisations_submission_answers_404(client: httpx.Client, tenants: Tenants) -> None:
    """A submission of OTHER-ORG is not found through TRKREF123, even by id."""
    theirs = accepted_id(
        post_order(client, tenants.other.auth, an_order(trkref="OTHER-ORG"), trkref="OTHER-ORG"),
        ["unknown field customer.cutomer_ref"],
    )
    read(client, tenants.other.auth, theirs, "OTHER-ORG")
    assert_answer(client.get(submission_path(theirs), auth=tenants.main.auth), 404, NOT_FOUND)


def test_a_submission_is_readable_with_any_key_of_its_organisation(
    client: httpx.Client, tenants: Tenants, db_url: str
) -> None:
    """Submissions belong to the organisation, not to the key that sent them."""
    submission_id = accepted_id(post_order(client, tenants.main.auth), ["unknown field customer.cutomer_ref"])
    another = create_key(db_url, "--trkref", "TRKREF123")
    read(client, another.auth, submission_id)


def test_a_submission_of_a_disabled_organisation_answers_403(client: httpx.Client, db_url: str) -> None:
    """Reading runs the same 403 check: once the feature is off, its submissions are denied too."""
    trkref = unique_ref("READ")
    cli_ok(db_url, "org", "add", trkref, "--name", "Read Then Disable")
    cli_ok(db_url, "org", "enable", trkref)
    key = create_key(db_url, "--trkref", trkref)
    submission_id = accepted_id(
        post_order(client, key.auth, an_order(trkref=trkref), trkref=trkref), ["unknown field customer.cutomer_ref"]
    )
    cli_ok(db_url, "org", "disable", trkref)
    try:
        answer = client.get(submission_path(submission_id, trkref), auth=key.auth)
        assert_answer(answer, 403, {"status": 403, "error": "Access denied"})
    finally:
        cli_ok(db_url, "org", "enable", trkref)
    read(client, key.auth, submission_id, trkref)


def test_the_organisations_of_the_key_are_listed_sorted_by_trkref(client: httpx.Client, tenants: Tenants) -> None:
    """GET /v4/organisations lists the key's organisations with name and feature state."""
    assert_answer(
        client.get(ORGANISATIONS, auth=tenants.main.auth),
        200,
        {
            "status": 200,
            "organisations": [
                {"trkref": "DISABLED-ORG", "name": "Feature Off Ltd", "customer_order_enabled": False},
                {"trkref": "TRKREF123", "name": "Acme Retail", "customer_order_enabled": True},
            ],
        },
    )


def test_each_key_sees_only_its_own_organisations(client: httpx.Client, tenants: Tenants) -> None:
    """Another tenant's key lists only its organisation; a key without permission still lists its own."""
    assert_answer(
        client.get(ORGANISATIONS, auth=tenants.other.auth),
        200,
        {
            "status": 200,
            "organisations": [
                {"trkref": "OTHER-ORG", "name": "Other Shop", "customer_order_enabled": True},
            ],
        },
    )
    assert_answer(
        client.get(ORGANISATIONS, auth=tenants.no_permission.auth),
        200,
        {
            "status": 200,
            "organisations": [
                {"trkref": "TRKREF123", "name": "Acme Retail", "customer_order_enabled": True},
            ],
        },
    )


def test_organisations_are_sorted_by_trkref_whatever_order_they_were_linked_in(
    client: httpx.Client, db_url: str
) -> None:
    """Sorting is by trkref, not by creation or link order."""
    tag = unique_ref("S")
    trkrefs = [f"{tag}-Z", f"{tag}-A", f"{tag}-M9", f"{tag}-M10"]
    for trkref in trkrefs:
        cli_ok(db_url, "org", "add", trkref, "--name", f"Shop {trkref}")
    cli_ok(db_url, "org", "enable", f"{tag}-M9")
    key = create_key(db_url, *[arg for trkref in trkrefs for arg in ("--trkref", trkref)])
    assert_answer(
        client.get(ORGANISATIONS, auth=key.auth),
        200,
        {
            "status": 200,
            "organisations": [
                {"trkref": trkref, "name": f"Shop {trkref}", "customer_order_enabled": trkref.endswith("M9")}
                for trkref in sorted(trkrefs)
            ],
        },
    )


def test_listing_organisations_works_with_a_request_that_has_no_body(client: httpx.Client, tenants: Tenants) -> None:
    """Client libraries verify a key with a bare GET: no body, no Content-Type, no Content-Length."""
    request = client.build_request("GET", ORGANISATIONS, headers={"Authorization": basic(*tenants.main.auth)})
    assert "content-length" not in request.headers
    assert "content-type" not in request.headers
    answer = client.send(request)
    assert answer.status_code == 200
    assert json_body(answer)["status"] == 200


def test_a_new_organisation_link_shows_at_once_with_the_auth_cache_off(client: httpx.Client, db_url: str) -> None:
    """An organisation enabled by an administrator is listed as enabled on the next request."""
    trkref = unique_ref("LIST")
    cli_ok(db_url, "org", "add", trkref, "--name", "Later Enabled")
    key = create_key(db_url, "--trkref", trkref)
    entry = {"trkref": trkref, "name": "Later Enabled", "customer_order_enabled": False}
    assert_answer(client.get(ORGANISATIONS, auth=key.auth), 200, {"status": 200, "organisations": [entry]})
    cli_ok(db_url, "org", "enable", trkref)
    entry["customer_order_enabled"] = True
    assert_answer(client.get(ORGANISATIONS, auth=key.auth), 200, {"status": 200, "organisations": [entry]})
