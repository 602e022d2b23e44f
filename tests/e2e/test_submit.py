"""202: accepted submissions, their answer, their Location, warnings and re-submissions."""

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Tenants
from tests.e2e.exchanges import (
    SUBMIT,
    accepted_id,
    encode,
    json_body,
    post_order,
    stored_body,
    submission_path,
    unique_ref,
)
from tests.support.factories import an_order, with_item
from tests.support.server import Server

# The reference page's example, byte for byte as printed (note the misspelt `cutomer_ref`); the
# README's try-it path posts the same file.
REFERENCE_TEXT = (Path(__file__).parents[2] / "docs" / "example-order.json").read_bytes()


def a_clean_order(**overrides: Any) -> dict[str, Any]:
    """The reference example without its typo, so that there is nothing to warn about."""
    order = an_order(**overrides)
    customer = order.get("customer")
    if isinstance(customer, dict) and "cutomer_ref" in customer:
        customer["customer_ref"] = customer.pop("cutomer_ref")
    return order


def clean_with_item(index: int, **changes: Any) -> dict[str, Any]:
    """A clean order with fields of one item replaced."""
    order = a_clean_order()
    order["order_items"][index].update(changes)
    return order


def test_the_reference_example_as_printed_is_accepted_with_a_warning_for_its_typo(
    client: httpx.Client, tenants: Tenants
) -> None:
    """The page's own example answers 202 and warns about `customer.cutomer_ref`."""
    answer = post_order(client, tenants.main.auth, content=REFERENCE_TEXT)
    submission_id = accepted_id(answer, warnings=["unknown field customer.cutomer_ref"])
    assert answer.headers["location"] == f"/v4/organisations/TRKREF123/customer_order/{submission_id}"


def test_the_exact_body_received_is_stored_with_the_submission(
    client: httpx.Client, tenants: Tenants, db_url: str
) -> None:
    """202 means the body, byte for byte (spacing, typo and all), is committed."""
    answer = post_order(client, tenants.main.auth, content=REFERENCE_TEXT)
    submission_id = accepted_id(answer, warnings=["unknown field customer.cutomer_ref"])
    assert stored_body(db_url, submission_id) == REFERENCE_TEXT


def test_an_order_with_nothing_to_say_has_no_warnings_key(client: httpx.Client, tenants: Tenants) -> None:
    """`warnings` is present only when there is something to say."""
    answer = post_order(client, tenants.main.auth, a_clean_order())
    assert "warnings" not in json_body(answer)
    accepted_id(answer)


def test_the_location_header_points_at_the_submission_which_can_be_read_back(
    client: httpx.Client, tenants: Tenants
) -> None:
    """Location is `/v4/organisations/{trkref}/customer_order/{id}`, and GET there answers 200."""
    submission_id = accepted_id(post_order(client, tenants.main.auth, a_clean_order()))
    answer = post_order(client, tenants.main.auth, a_clean_order())
    other_id = accepted_id(answer)
    assert answer.headers["location"] == submission_path(other_id)
    read = client.get(answer.headers["location"], auth=tenants.main.auth)
    assert (read.status_code, json_body(read)["id"]) == (200, other_id)
    assert submission_id != other_id


def test_each_submission_gets_a_fresh_random_version_4_uuid(client: httpx.Client, tenants: Tenants) -> None:
    """Ids are lowercase hyphenated v4 UUIDs, never reused (checked by accepted_id's pattern)."""
    ids = {accepted_id(post_order(client, tenants.main.auth, a_clean_order())) for _ in range(5)}
    assert len(ids) == 5


def test_resubmitting_the_same_order_ref_is_accepted_with_a_new_id(client: httpx.Client, tenants: Tenants) -> None:
    """The same order_ref sent again (e.g. once ordered, once fulfilled) is a new submission."""
    order_ref = unique_ref()
    first = accepted_id(post_order(client, tenants.main.auth, a_clean_order(order_ref=order_ref, fulfilment_date=...)))
    second = accepted_id(post_order(client, tenants.main.auth, a_clean_order(order_ref=order_ref)))
    assert first != second
    for submission_id in (first, second):
        read = client.get(submission_path(submission_id), auth=tenants.main.auth)
        assert (read.status_code, json_body(read)["order"]["order_ref"]) == (200, order_ref)


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/xml", "application/json; charset=utf-8"],
)
def test_the_body_is_parsed_as_json_whatever_the_content_type_says(
    client: httpx.Client, tenants: Tenants, content_type: str | None
) -> None:
    """Integrators forget the header or send a wrong one: the body is JSON all the same."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    answer = client.post(SUBMIT, content=encode(a_clean_order()), headers=headers, auth=tenants.main.auth)
    assert answer.request.headers.get("content-type") == content_type
    accepted_id(answer)


def test_a_key_linked_to_several_organisations_submits_for_each_enabled_one(
    client: httpx.Client, tenants: Tenants
) -> None:
    """The path's trkref picks the organisation; the other tenant's key submits to its own."""
    accepted_id(post_order(client, tenants.other.auth, a_clean_order(trkref="OTHER-ORG"), trkref="OTHER-ORG"))


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(a_clean_order(fulfilment_date=...), id="order_date only"),
        pytest.param(a_clean_order(order_date=...), id="fulfilment_date only"),
        pytest.param(a_clean_order(order_date=None, fulfilment_date="24-12-2014"), id="null order_date"),
        pytest.param(a_clean_order(order_date="", fulfilment_date="24-12-2014"), id="blank order_date"),
        pytest.param(a_clean_order(order_date="24-12-2014"), id="both dates the same day"),
        pytest.param(a_clean_order(order_date="29-02-2016", fulfilment_date=...), id="leap day"),
        pytest.param(a_clean_order(language=..., locale=...), id="no language nor locale"),
        pytest.param(a_clean_order(language="", locale="  "), id="blank optional strings"),
        pytest.param(a_clean_order(language=None, locale=None), id="null optional strings"),
        pytest.param(a_clean_order(language="EN", locale="fr_FR"), id="upper-case language and underscore locale"),
        pytest.param(a_clean_order(order_ref="x" * 255), id="order_ref of 255 characters"),
        pytest.param(a_clean_order(order_ref="  ABC123  "), id="order_ref with surrounding spaces"),
        pytest.param(a_clean_order(order_ref="\U0001f600" * 255), id="order_ref of 255 characters outside the BMP"),
        pytest.param(a_clean_order(customer={"email": "hello@example.com"}), id="customer with only an email"),
        pytest.param(
            a_clean_order(
                customer={
                    "email": "a@b.co",
                    "customer_ref": 77,
                    "postcode": 1122,
                    "title": "",
                    "first_name": None,
                    "surname": "  ",
                    "country": "",
                }
            ),
            id="numbers as strings and blank optional customer fields",
        ),
        pytest.param(a_clean_order(customer={"email": "x@example.com", "title": "t" * 255}), id="title of 255"),
        pytest.param(a_clean_order(order_items=[{"sku": "P"}]), id="item with only a sku"),
        pytest.param(a_clean_order(order_items=[{"sku": 12345}]), id="numeric sku"),
        pytest.param(a_clean_order(order_items=[{"sku": "s" * 255}]), id="sku of 255"),
        pytest.param(
            a_clean_order(order_items=[{"sku": "P", "price": "", "currency": None, "metadata": None}]),
            id="blank optional item fields",
        ),
        pytest.param(
            a_clean_order(order_items=[{"sku": "P", "price": p} for p in ("10", "10.5", "55,99", 0, 0.1, 12.75)]),
            id="prices in every accepted form",
        ),
        pytest.param(a_clean_order(order_items=[{"sku": "P", "currency": "gbp"}]), id="lower-case currency"),
        pytest.param(
            a_clean_order(
                order_items=[
                    {
                        "sku": "P",
                        "metadata": {
                            "field_1": "v",
                            "abc123": 1,
                            "flag": True,
                            "none": None,
                            "ratio": 0.5,
                            "long": "v" * 1000,
                        },
                    }
                ]
            ),
            id="metadata with every scalar type",
        ),
        pytest.param(
            a_clean_order(order_items=[{"sku": "P", "metadata": {f"k{i}": i for i in range(100)}}]),
            id="metadata with 100 keys",
        ),
        pytest.param(a_clean_order(order_items=[{"sku": f"P{i}"} for i in range(1000)]), id="1000 items"),
        pytest.param(a_clean_order(order_items=[{"sku": "P", "metadata": {}}]), id="empty metadata"),
    ],
)
def test_valid_orders_are_accepted(client: httpx.Client, tenants: Tenants, order: dict[str, Any]) -> None:
    """Every form the field rules allow answers 202 without warnings."""
    accepted_id(post_order(client, tenants.main.auth, order))


@pytest.mark.parametrize(
    ("order", "warnings"),
    [
        (a_clean_order(colour="red"), ["unknown field colour"]),
        (clean_with_item(1, colour="red"), ["unknown field order_items[1].colour"]),
        (an_order(), ["unknown field customer.cutomer_ref"]),
    ],
    ids=["top level", "in an item", "in the customer"],
)
def test_unknown_fields_are_accepted_and_reported_as_warnings(
    client: httpx.Client, tenants: Tenants, order: dict[str, Any], warnings: list[str]
) -> None:
    """An unknown field is never an error: 202, with a warning naming its path."""
    accepted_id(post_order(client, tenants.main.auth, order), warnings=warnings)


def test_several_unknown_fields_are_all_reported(client: httpx.Client, tenants: Tenants) -> None:
    """Every unknown field gets its own warning."""
    order = with_item(0, colour="red")
    order["extra"] = {"nested": 1}
    answer = post_order(client, tenants.main.auth, order)
    assert answer.status_code == 202, answer.text
    assert sorted(json_body(answer)["warnings"]) == [
        "unknown field customer.cutomer_ref",
        "unknown field extra",
        "unknown field order_items[0].colour",
    ]


def test_a_202_is_durable_even_if_the_server_is_killed_right_after(
    db_url: str, tenants: Tenants, run_dir: Path
) -> None:
    """202 means committed: after SIGKILL and a restart the submission is still there."""
    first = Server(db_url, run_dir / "durability-1.log").start()
    try:
        with httpx.Client(base_url=first.base_url, timeout=10) as c:
            submission_id = accepted_id(post_order(c, tenants.main.auth, a_clean_order()))
    finally:
        first.kill()
    second = Server(db_url, run_dir / "durability-2.log").start()
    try:
        with httpx.Client(base_url=second.base_url, timeout=10) as c:
            read = c.get(submission_path(submission_id), auth=tenants.main.auth)
    finally:
        second.stop()
    assert (read.status_code, json_body(read)["id"]) == (200, submission_id)
