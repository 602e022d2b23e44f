"""The body checks: 413 too large, 400 malformed JSON, 422 no data / not an object / every rule at once."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import Tenants
from tests.e2e.exchanges import (
    ONE_MIB,
    SUBMIT,
    TOO_LARGE,
    accepted_id,
    assert_answer,
    encode,
    invalid,
    json_body,
    post_order,
    stored_submissions,
    unique_ref,
)
from tests.support.factories import an_order, with_customer, with_item

NO_DATA_ERRORS = [
    "trkref cannot be blank",
    "order_ref cannot be blank",
    "order_date or fulfilment_date must be present",
    "customer cannot be blank",
    "order_items cannot be blank",
]


def padded_to(size: int, order_ref: str) -> bytes:
    """A valid order whose JSON text is exactly `size` bytes (an unknown field carries the padding)."""
    empty = encode(an_order(order_ref=order_ref, padding=""))
    body = encode(an_order(order_ref=order_ref, padding="x" * (size - len(empty))))
    assert len(body) == size
    return body


def test_a_body_of_exactly_one_mib_is_accepted(client: httpx.Client, tenants: Tenants) -> None:
    """1 MiB is the limit itself, not over it."""
    answer = post_order(client, tenants.main.auth, content=padded_to(ONE_MIB, unique_ref()))
    accepted_id(answer, warnings=["unknown field customer.cutomer_ref", "unknown field padding"])


def test_a_body_over_one_mib_answers_413_and_stores_nothing(
    client: httpx.Client, tenants: Tenants, db_url: str
) -> None:
    """One byte over 1 MiB: 413 Payload too large, and no submission is stored."""
    order_ref = unique_ref()
    answer = post_order(client, tenants.main.auth, content=padded_to(ONE_MIB + 1, order_ref))
    assert_answer(answer, 413, TOO_LARGE)
    assert stored_submissions(db_url, order_ref) == 0


def test_a_chunked_body_over_one_mib_answers_413_and_stores_nothing(
    client: httpx.Client, tenants: Tenants, db_url: str
) -> None:
    """Without a Content-Length the limit holds all the same."""
    order_ref = unique_ref()
    body = padded_to(ONE_MIB + 64 * 1024, order_ref)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    answer = client.post(SUBMIT, content=chunks(), auth=tenants.main.auth)
    assert answer.request.headers.get("transfer-encoding") == "chunked"
    assert_answer(answer, 413, TOO_LARGE)
    assert stored_submissions(db_url, order_ref) == 0


def test_a_chunked_body_under_the_limit_is_accepted(client: httpx.Client, tenants: Tenants) -> None:
    """A chunked body is read whole and parsed like any other."""
    body = encode(an_order())
    answer = client.post(SUBMIT, content=iter([body[:10], body[10:]]), auth=tenants.main.auth)
    accepted_id(answer, warnings=["unknown field customer.cutomer_ref"])


VALID = encode(an_order())
MALFORMED_BODIES = {
    "truncated": VALID[:-1],
    "single quotes": b"{'trkref': 'TRKREF123'}",
    "trailing comma": VALID[:-1] + b",}",
    "bare word": b"hello",
    "invalid UTF-8 in a string": VALID.replace(b'"John"', b'"J\xffhn"'),
    "invalid UTF-8 overlong encoding": VALID.replace(b'"John"', b'"J\xc0\xafhn"'),
    "UTF-16 body": encode(an_order()).decode().encode("utf-16"),
    "lone high surrogate escape": VALID.replace(b'"John"', b'"J\\ud800hn"'),
    "lone low surrogate escape": VALID.replace(b'"John"', b'"\\udc00"'),
    "lone surrogate at the end of a string": VALID.replace(b'"John"', b'"John\\ud83d"'),
    "NaN": VALID.replace(b"10,", b"NaN,"),
    "Infinity": VALID.replace(b"10,", b"Infinity,"),
    "-Infinity": VALID.replace(b"10,", b"-Infinity,"),
    "trailing bytes": VALID + b" x",
    "a second value": VALID + VALID,
    "trailing NUL": VALID + b"\x00",
    "unescaped control character": VALID.replace(b'"John"', b'"Jo\x01hn"'),
}


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_a_body_that_is_not_valid_json_answers_400_malformed_json(
    client: httpx.Client, tenants: Tenants, body: bytes
) -> None:
    """Not JSON (bad syntax, bad UTF-8, lone surrogates, NaN, Infinity, trailing bytes): 400 Malformed JSON."""
    answer = post_order(client, tenants.main.auth, content=body)
    got = json_body(answer)
    assert (answer.status_code, set(got), got["status"]) == (400, {"status", "message"}, 400), answer.text
    message = got["message"]
    assert message == "Malformed JSON" or message.startswith("Malformed JSON: "), message
    assert len(message) <= 200, message
    assert "Traceback" not in message
    assert "\n" not in message
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-request-id"]


def named_twice(where: str, order: dict[str, Any]) -> bytes:
    """The order as JSON text but for one object naming a member twice, as an integrator could send it."""
    body = encode(order)
    match where:
        case "customer":
            return b'{"customer": {"email": "victim@example.com"}, ' + body.removeprefix(b"{")
        case "unknown field":
            return body.replace(b'"j"', b'"k"')
        case "escaped name":
            return body.replace(b'"cutomer_ref"', b'"em\\u0061il"')
        case _:
            return body.replace(b'"field_2"', b'"field_1"', 1)


@pytest.mark.parametrize("where", ["customer", "unknown field", "escaped name", "metadata"])
def test_a_member_named_twice_in_any_object_answers_400_malformed_json_and_stores_nothing(
    client: httpx.Client, tenants: Tenants, db_url: str, where: str
) -> None:
    r"""`customer` twice, a name twice deep in an unknown field's arrays, `"em\u0061il"` beside `"email"`: 400."""
    order = an_order(order_ref=unique_ref(), extra=[{"notes": [[{"k": 1, "j": 2}]]}])
    answer = post_order(client, tenants.main.auth, content=named_twice(where, order))
    assert_answer(answer, 400, {"status": 400, "message": "Malformed JSON"})
    assert stored_submissions(db_url, order["order_ref"]) == 0
    assert post_order(client, tenants.main.auth, order).status_code == 202  # the same order without the repeat


def test_a_deeply_nested_body_is_refused_without_a_server_error(client: httpx.Client, tenants: Tenants) -> None:
    """Nesting deep enough to exhaust a recursive parser answers 400 Malformed JSON or 422, never 500."""
    answer = post_order(client, tenants.main.auth, content=b"[" * 200_000 + b"]" * 200_000)
    assert answer.status_code in {400, 422}, answer.text
    expected = (
        {"status": 400, "message": json_body(answer)["message"]}
        if answer.status_code == 400
        else {"status": 422, "message": "Invalid customer order", "errors": ["body must be a JSON object"]}
    )
    assert_answer(answer, answer.status_code, expected)
    assert expected["message"].startswith("Malformed JSON")


@pytest.mark.parametrize("body", [b"", b"null", b"{}"], ids=["empty", "null", "empty object"])
def test_an_empty_body_null_or_an_empty_object_answers_422_no_data_provided(
    client: httpx.Client, tenants: Tenants, body: bytes
) -> None:
    """Nothing sent: 422 No data provided, listing every mandatory field that is missing."""
    invalid(post_order(client, tenants.main.auth, content=body), NO_DATA_ERRORS, message="No data provided")


@pytest.mark.parametrize("body", [b"[]", encode([an_order()]), b'"an order"', b"42", b"12.5", b"true", b"false"])
def test_a_json_value_that_is_not_an_object_answers_422_body_must_be_an_object(
    client: httpx.Client, tenants: Tenants, body: bytes
) -> None:
    """Arrays, strings, numbers and booleans: 422 Invalid customer order, body must be a JSON object."""
    invalid(post_order(client, tenants.main.auth, content=body), ["body must be a JSON object"])


def test_every_violation_is_returned_at_once_in_the_contractan_order(client: httpx.Client, tenants: Tenants) -> None:
    """Wrong formats, codes, lengths and types everywhere: all errors, in the reference table's order."""
    order = {
        "order_items": [
            {"sku": "A", "price": "55,99", "currency": "GBP"},
            {"price": -1, "currency": "ZZZ", "colour": "red"},
            {"sku": "B", "metadata": {"Field-1": "v", "ok": "fine"}},
        ],
        "customer": {"email": "not-an-email", "title": "t" * 256, "country": "ZZ", "postcode": 1122},
        "locale": "en-XX",
        "language": "xx",
        "fulfilment_date": "2014-12-24",
        "order_date": "31-02-2014",
        "order_ref": "r" * 256,
        "trkref": "OTHER-ORG",
    }
    invalid(
        post_order(client, tenants.main.auth, order),
        [
            "trkref does not match the organisation in the URL",
            "order_ref is too long (maximum 255 characters)",
            "invalid order_date",
            "invalid fulfilment_date",
            "invalid language",
            "invalid locale",
            "invalid customer.email",
            "customer.title is too long (maximum 255 characters)",
            "invalid customer.country",
            "order_items[1].sku cannot be blank",
            "invalid order_items[1].price",
            "invalid order_items[1].currency",
            "invalid order_items[2].metadata.Field-1",
        ],
    )


def test_blank_missing_and_wrongly_typed_fields_are_all_reported(client: httpx.Client, tenants: Tenants) -> None:
    """Blanks, a missing date, wrong types and bad items: all errors, items in array order."""
    order = {
        "trkref": "TRKREF123",
        "order_ref": "   ",
        "order_date": None,
        "fulfilment_date": "",
        "language": "",
        "locale": None,
        "customer": {"email": " ", "surname": True, "country": ""},
        "order_items": [
            {"sku": " "},
            "PROD",
            {"sku": "X", "price": "1,2,3", "metadata": {"ok": [1]}},
            {"sku": 12345, "price": 1.5, "metadata": "none"},
        ],
    }
    invalid(
        post_order(client, tenants.main.auth, order),
        [
            "order_ref cannot be blank",
            "order_date or fulfilment_date must be present",
            "customer.email cannot be blank",
            "invalid customer.surname",
            "order_items[0].sku cannot be blank",
            "invalid order_items[1]",
            "invalid order_items[2].price",
            "invalid order_items[2].metadata.ok",
            "invalid order_items[3].metadata",
        ],
    )


def test_whole_object_problems_are_reported_with_the_others(client: httpx.Client, tenants: Tenants) -> None:
    """Blank trkref, non-string order_ref, dates out of order, customer not an object, no items."""
    order = {
        "trkref": "",
        "order_ref": 123,
        "order_date": "24-12-2014",
        "fulfilment_date": "10-12-2014",
        "customer": "hello@example.com",
        "order_items": [],
    }
    invalid(
        post_order(client, tenants.main.auth, order),
        [
            "trkref cannot be blank",
            "invalid order_ref",
            "fulfilment_date cannot be before order_date",
            "invalid customer",
            "order_items cannot be empty",
        ],
    )


NUL = "J\u0000hn"
ONE_RULE_EACH: list[tuple[str, dict[str, Any], str]] = [
    ("missing trkref", an_order(trkref=...), "trkref cannot be blank"),
    ("null trkref", an_order(trkref=None), "trkref cannot be blank"),
    ("whitespace trkref", an_order(trkref=" \t "), "trkref cannot be blank"),
    ("numeric trkref", an_order(trkref=123), "invalid trkref"),
    ("lower-case trkref", an_order(trkref="trkref123"), "trkref does not match the organisation in the URL"),
    ("other tenant's trkref", an_order(trkref="OTHER-ORG"), "trkref does not match the organisation in the URL"),
    ("missing order_ref", an_order(order_ref=...), "order_ref cannot be blank"),
    ("empty order_ref", an_order(order_ref=""), "order_ref cannot be blank"),
    ("order_ref of 256", an_order(order_ref="r" * 256), "order_ref is too long (maximum 255 characters)"),
    (
        "order_ref of 256 non-ASCII",
        an_order(order_ref="\u00e9" * 256),
        "order_ref is too long (maximum 255 characters)",
    ),
    ("array order_ref", an_order(order_ref=["A"]), "invalid order_ref"),
    ("no dates", an_order(order_date=..., fulfilment_date=...), "order_date or fulfilment_date must be present"),
    ("blank dates", an_order(order_date=" ", fulfilment_date=None), "order_date or fulfilment_date must be present"),
    ("31 February", an_order(order_date="31-02-2014"), "invalid order_date"),
    ("29 February of a common year", an_order(order_date="29-02-2015", fulfilment_date=...), "invalid order_date"),
    ("ISO date", an_order(order_date="2014-12-10"), "invalid order_date"),
    ("month 13", an_order(fulfilment_date="24-13-2014"), "invalid fulfilment_date"),
    ("numeric date", an_order(order_date=10122014), "invalid order_date"),
    ("dates out of order", an_order(order_date="25-12-2014"), "fulfilment_date cannot be before order_date"),
    ("unknown language", an_order(language="xx"), "invalid language"),
    ("three-letter language", an_order(language="eng"), "invalid language"),
    ("numeric language", an_order(language=12), "invalid language"),
    ("unknown locale country", an_order(locale="en-XX"), "invalid locale"),
    ("unknown locale language", an_order(locale="xx-GB"), "invalid locale"),
    ("locale without country", an_order(locale="en"), "invalid locale"),
    ("locale without separator", an_order(locale="enGB"), "invalid locale"),
    ("missing customer", an_order(customer=...), "customer cannot be blank"),
    ("null customer", an_order(customer=None), "customer cannot be blank"),
    ("customer as a string", an_order(customer="hello@example.com"), "invalid customer"),
    ("customer as an array", an_order(customer=[]), "invalid customer"),
    ("empty customer", an_order(customer={}), "customer.email cannot be blank"),
    ("missing email", with_customer(email=...), "customer.email cannot be blank"),
    ("blank email", with_customer(email="   "), "customer.email cannot be blank"),
    ("email without @", with_customer(email="hello.example.com"), "invalid customer.email"),
    ("email without domain", with_customer(email="hello@"), "invalid customer.email"),
    ("email without local part", with_customer(email="@example.com"), "invalid customer.email"),
    ("email with a space", with_customer(email="hel lo@example.com"), "invalid customer.email"),
    ("numeric email", with_customer(email=42), "invalid customer.email"),
    ("title of 256", with_customer(title="t" * 256), "customer.title is too long (maximum 255 characters)"),
    ("postcode of 256", with_customer(postcode="1" * 256), "customer.postcode is too long (maximum 255 characters)"),
    (
        "customer_ref of 256",
        with_customer(customer_ref="c" * 256),
        "customer.customer_ref is too long (maximum 255 characters)",
    ),
    ("boolean first_name", with_customer(first_name=True), "invalid customer.first_name"),
    ("object surname", with_customer(surname={"a": 1}), "invalid customer.surname"),
    ("unknown country", with_customer(country="ZZ"), "invalid customer.country"),
    ("alpha-3 country", with_customer(country="GBR"), "invalid customer.country"),
    ("missing order_items", an_order(order_items=...), "order_items cannot be blank"),
    ("null order_items", an_order(order_items=None), "order_items cannot be blank"),
    ("empty order_items", an_order(order_items=[]), "order_items cannot be empty"),
    ("order_items as an object", an_order(order_items={"sku": "P"}), "invalid order_items"),
    (
        "1001 items",
        an_order(order_items=[{"sku": f"P{i}"} for i in range(1001)]),
        "order_items has too many items (maximum 1000)",
    ),
    ("item as a string", an_order(order_items=["PROD1"]), "invalid order_items[0]"),
    ("missing sku", with_item(sku=...), "order_items[0].sku cannot be blank"),
    ("null sku", with_item(sku=None), "order_items[0].sku cannot be blank"),
    ("sku of 256", with_item(sku="s" * 256), "order_items[0].sku is too long (maximum 255 characters)"),
    ("boolean sku", with_item(sku=False), "invalid order_items[0].sku"),
    ("negative price", with_item(price=-1), "invalid order_items[0].price"),
    ("negative price string", with_item(price="-1"), "invalid order_items[0].price"),
    ("two separators", with_item(price="1,2.3"), "invalid order_items[0].price"),
    ("price with letters", with_item(price="55,99 GBP"), "invalid order_items[0].price"),
    ("price in exponent form", with_item(price="1e3"), "invalid order_items[0].price"),
    ("boolean price", with_item(price=True), "invalid order_items[0].price"),
    ("unknown currency", with_item(currency="ZZZ"), "invalid order_items[0].currency"),
    ("two-letter currency", with_item(currency="GB"), "invalid order_items[0].currency"),
    ("numeric currency", with_item(currency=826), "invalid order_items[0].currency"),
    ("metadata as a string", with_item(metadata="field_1=Value 1"), "invalid order_items[0].metadata"),
    ("metadata as an array", with_item(metadata=[]), "invalid order_items[0].metadata"),
    ("upper-case metadata key", with_item(metadata={"Field1": "v"}), "invalid order_items[0].metadata.Field1"),
    ("metadata key with a dash", with_item(metadata={"field-1": "v"}), "invalid order_items[0].metadata.field-1"),
    ("metadata value an object", with_item(metadata={"field_1": {"a": 1}}), "invalid order_items[0].metadata.field_1"),
    ("metadata value an array", with_item(metadata={"field_1": [1]}), "invalid order_items[0].metadata.field_1"),
    (
        "metadata value of 1001",
        with_item(metadata={"field_1": "v" * 1001}),
        "order_items[0].metadata.field_1 is too long (maximum 1000 characters)",
    ),
    ("101 metadata keys", with_item(metadata={f"k{i}": i for i in range(101)}), "invalid order_items[0].metadata"),
    ("U+0000 in order_ref", an_order(order_ref="AB\u0000C"), "invalid order_ref"),
    ("U+0000 in a customer name", with_customer(first_name=NUL), "invalid customer.first_name"),
    ("U+0000 in a sku", with_item(sku=NUL), "invalid order_items[0].sku"),
    ("U+0000 in a metadata value", with_item(metadata={"field_1": NUL}), "invalid order_items[0].metadata.field_1"),
]


@pytest.mark.parametrize(
    ("order", "error"), [(order, error) for _, order, error in ONE_RULE_EACH], ids=[n for n, _, _ in ONE_RULE_EACH]
)
def test_each_field_rule_answers_422_with_its_exact_message(
    client: httpx.Client, tenants: Tenants, order: dict[str, Any], error: str
) -> None:
    """One broken rule, one exact message."""
    invalid(post_order(client, tenants.main.auth, order), [error])


def test_a_rejected_order_stores_nothing(client: httpx.Client, tenants: Tenants, db_url: str) -> None:
    """422 means nothing was kept."""
    order_ref = unique_ref()
    invalid(
        post_order(client, tenants.main.auth, an_order(order_ref=order_ref, order_items=[])),
        ["order_items cannot be empty"],
    )
    assert stored_submissions(db_url, order_ref) == 0
