"""validate_order on the customer and the order items: email, names, country, sku, price, currency, metadata."""

from decimal import Decimal
from typing import Any

import pytest

from tests.support.factories import an_order, with_customer, with_item
from tests.unit.orders import decoded, errors_of, order_of

NAMES = ["customer_ref", "title", "first_name", "surname", "postcode"]


@pytest.mark.parametrize("value", [..., None, "", "  "])
def test_missing_or_blank_customer_cannot_be_blank(value: object) -> None:
    """The customer is mandatory."""
    assert errors_of(an_order(customer=value)) == ("customer cannot be blank",)


@pytest.mark.parametrize("value", [[], [{"email": "hello@example.com"}], "John", 1, True])
def test_customer_that_is_not_an_object_is_invalid(value: object) -> None:
    """The customer is an object."""
    assert errors_of(an_order(customer=value)) == ("invalid customer",)


def test_empty_customer_needs_an_email() -> None:
    """An empty customer object lacks its one mandatory field."""
    assert errors_of(an_order(customer={})) == ("customer.email cannot be blank",)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("hello@example.com", "hello@example.com"),
        (" Hello.World@ExAmple.COM\n", "Hello.World@example.com"),
        ("o'brien+shop@Mail.Example.co.uk", "o'brien+shop@mail.example.co.uk"),
        ("用户@例子.广告", "用户@例子.广告"),
        ("Ab.C@STRASSE.de", "Ab.C@strasse.de"),
    ],
)
def test_email_is_stored_with_the_domain_lowercased(value: str, stored: str) -> None:
    """The local part keeps its case (it may matter); the domain's does not."""
    assert order_of(with_customer(email=value)).customer.email == stored


@pytest.mark.parametrize(
    "value",
    [
        "hello",
        "hello@",
        "@example.com",
        "a@@example.com",
        "a b@example.com",
        "a@b",
        "a@localhost",
        "John <john@example.com>",
        "a..b@example.com",
        "x" * 5000 + "@example.com",
        "hello@exa mple.com",
        12,
        True,
        ["hello@example.com"],
    ],
)
def test_malformed_email_is_invalid(value: object) -> None:
    """Addresses are checked for syntax (never for deliverability)."""
    assert errors_of(with_customer(email=value)) == ("invalid customer.email",)


@pytest.mark.parametrize("value", [..., None, "", " "])
def test_missing_or_blank_email_cannot_be_blank(value: object) -> None:
    """The email is the customer's one mandatory field."""
    assert errors_of(with_customer(email=value)) == ("customer.email cannot be blank",)


@pytest.mark.parametrize("field", NAMES)
@pytest.mark.parametrize(
    ("value", "stored"),
    [(" Brown ", "Brown"), (1122, "1122"), (-5, "-5"), (Decimal("12.50"), "12.50"), (Decimal("1E+3"), "1E+3")],
)
def test_customer_text_fields_accept_strings_and_numbers(field: str, value: object, stored: str) -> None:
    """Strings are stripped; numbers (a postcode sent as 1122) are stored as their string form."""
    assert getattr(order_of(with_customer(**{field: value})).customer, field) == stored


@pytest.mark.parametrize("field", NAMES)
@pytest.mark.parametrize("value", [True, False, [], {}, ["Brown"]])
def test_customer_text_fields_reject_booleans_and_containers(field: str, value: object) -> None:
    """Booleans are not numbers here; arrays and objects are not text."""
    assert errors_of(with_customer(**{field: value})) == (f"invalid customer.{field}",)


@pytest.mark.parametrize("field", NAMES)
def test_customer_text_fields_hold_at_most_255_characters(field: str) -> None:
    """255 characters are accepted; 256, as text or as digits, are too long."""
    assert getattr(order_of(with_customer(**{field: "y" * 255})).customer, field) == "y" * 255
    too_long = (f"customer.{field} is too long (maximum 255 characters)",)
    for value in ("y" * 256, 10**255, 10**5000, -(10**300), Decimal("1." + "0" * 300)):
        assert errors_of(with_customer(**{field: value})) == too_long


@pytest.mark.parametrize(("value", "stored"), [("GB", "GB"), ("gb", "GB"), (" Fr ", "FR")])
def test_country_is_stored_uppercase(value: str, stored: str) -> None:
    """Any existing ISO 3166-1 alpha-2 code, in any case."""
    assert order_of(with_customer(country=value)).customer.country == stored


@pytest.mark.parametrize("value", ["UK", "GBR", "xx", "G", "England", "\uff27\uff22", 44, True])
def test_unknown_or_malformed_country_is_invalid(value: object) -> None:
    """UK is not an ISO 3166-1 code (GB is)."""
    assert errors_of(with_customer(country=value)) == ("invalid customer.country",)


@pytest.mark.parametrize("value", [..., None, "", "  "])
def test_missing_or_blank_order_items_cannot_be_blank(value: object) -> None:
    """order_items is mandatory."""
    assert errors_of(an_order(order_items=value)) == ("order_items cannot be blank",)


@pytest.mark.parametrize("value", [{"sku": "PROD1"}, "PROD1", 1, True])
def test_order_items_that_is_not_an_array_is_invalid(value: object) -> None:
    """order_items is an array."""
    assert errors_of(an_order(order_items=value)) == ("invalid order_items",)


def test_empty_order_items_cannot_be_empty() -> None:
    """An order has at least one item."""
    assert errors_of(an_order(order_items=[])) == ("order_items cannot be empty",)


def test_1000_items_are_accepted_and_1001_are_too_many() -> None:
    """Beyond 1000 items the order is refused whole, and its items are not looked at."""
    items = order_of(an_order(order_items=[{"sku": str(n)} for n in range(1000)])).order_items
    assert len(items) == 1000
    errors = errors_of(an_order(order_items=[{"sku": ""}] * 1001))
    assert errors == ("order_items has too many items (maximum 1000)",)


@pytest.mark.parametrize("value", [None, "PROD1", "", 1, True, [{"sku": "PROD1"}]])
def test_item_that_is_not_an_object_is_invalid(value: object) -> None:
    """Each item is an object; null or blank there is invalid, not blank."""
    body = an_order()
    body["order_items"].append(value)
    assert errors_of(body) == ("invalid order_items[2]",)


@pytest.mark.parametrize("value", [..., None, "", " "])
def test_missing_or_blank_sku_cannot_be_blank(value: object) -> None:
    """The sku is the item's one mandatory field."""
    assert errors_of(with_item(1, sku=value)) == ("order_items[1].sku cannot be blank",)


@pytest.mark.parametrize(("value", "stored"), [(" PROD1 ", "PROD1"), (12345, "12345"), (Decimal("1.50"), "1.50")])
def test_sku_is_a_string_or_a_number_stored_as_string(value: object, stored: str) -> None:
    """Numeric SKUs are common; they are stored as their string form."""
    assert order_of(with_item(sku=value)).order_items[0].sku == stored


@pytest.mark.parametrize("value", [True, [], {"id": 1}])
def test_sku_of_another_type_is_invalid(value: object) -> None:
    """Booleans, arrays and objects are not SKUs."""
    assert errors_of(with_item(sku=value)) == ("invalid order_items[0].sku",)


def test_sku_holds_at_most_255_characters() -> None:
    """As every reference, at most 255 characters."""
    assert order_of(with_item(sku="S" * 255)).order_items[0].sku == "S" * 255
    assert errors_of(with_item(sku="S" * 256)) == ("order_items[0].sku is too long (maximum 255 characters)",)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("55,99", "55.99"),
        ("10", "10"),
        ("10.5", "10.5"),
        (" 7,50 ", "7.50"),
        ("007", "7"),
        (10, "10"),
        (0, "0"),
        (Decimal("10.50"), "10.50"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1.5E-3"), "0.0015"),
        (Decimal("-0.0"), "0.0"),
        (10**200, "1" + "0" * 200),
    ],
)
def test_price_is_stored_as_an_exact_decimal_in_plain_notation(value: object, stored: str) -> None:
    """Strings with , or . and JSON numbers become exact decimals, never floats."""
    price = order_of(with_item(price=value)).order_items[0].price
    assert type(price) is Decimal
    assert str(price) == stored


def test_price_from_json_keeps_its_exact_digits() -> None:
    """A JSON number such as 19.99 arrives and is stored as exactly 19.99."""
    body = decoded(with_item(price=Decimal("19.99")))
    assert str(order_of(body).order_items[0].price) == "19.99"


@pytest.mark.parametrize(
    "value",
    [
        -1,
        Decimal("-0.01"),
        True,
        False,
        "abc",
        "-5",
        "+5",
        "1e3",
        ".5",
        "5.",
        "1.000,00",
        "1,5,0",
        "1 000",
        "£10",
        "\u0661\u0660",  # Arabic-Indic digits
        "1" * 256,
        [],
        {"amount": 1},
        Decimal("1E+999999999"),
        Decimal("1E-999999999"),
        pytest.param(10**5000, id="10^5000"),
        Decimal("NaN"),
        Decimal("Infinity"),
        1.5,
    ],
)
def test_price_that_is_not_a_non_negative_amount_is_invalid(value: object) -> None:
    """Negative amounts, other strings, booleans and absurd magnitudes are refused."""
    assert errors_of(with_item(price=value)) == ("invalid order_items[0].price",)


@pytest.mark.parametrize(("value", "stored"), [("GBP", "GBP"), ("eur", "EUR"), (" Usd ", "USD")])
def test_currency_is_stored_uppercase(value: str, stored: str) -> None:
    """Any existing ISO 4217 code, in any case."""
    assert order_of(with_item(currency=value)).order_items[0].currency == stored


@pytest.mark.parametrize("value", ["ABC", "GB", "GBPX", "£", "\uff27\uff22\uff30", 826, True])
def test_unknown_or_malformed_currency_is_invalid(value: object) -> None:
    """A currency is an existing three-letter ISO 4217 code."""
    assert errors_of(with_item(currency=value)) == ("invalid order_items[0].currency",)


def test_metadata_is_stored_as_given() -> None:
    """Keys and scalar values are kept as sent: strings not stripped, numbers exact."""
    metadata = {"a": " spaced ", "b": "", "n": Decimal("1.50"), "i": 7, "t": True, "z": None, "big": Decimal("1E+3")}
    assert order_of(with_item(metadata=metadata)).order_items[0].metadata == metadata


def test_empty_metadata_is_accepted() -> None:
    """An item may send an empty metadata object."""
    assert order_of(with_item(metadata={})).order_items[0].metadata == {}


@pytest.mark.parametrize("key", ["Field-1", "FIELD", "field 1", "clé", "", "a\n", "\uff41"])
def test_metadata_key_outside_lowercase_letters_digits_and_underscore_is_invalid(key: str) -> None:
    """Keys match [a-z0-9_]+ (ASCII); the error names the key."""
    assert errors_of(with_item(metadata={key: "v"})) == (f"invalid order_items[0].metadata.{key}",)


@pytest.mark.parametrize("value", [[], ["a"], {}, {"a": 1}, 1.5])
def test_metadata_value_that_is_not_a_json_scalar_is_invalid(value: object) -> None:
    """Values are strings, numbers, booleans or null."""
    assert errors_of(with_item(metadata={"field_1": value})) == ("invalid order_items[0].metadata.field_1",)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("v" * 1001, id="1001 letters"),
        pytest.param(10**1000, id="10^1000"),
        pytest.param(10**5000, id="10^5000"),
        Decimal("1E+1000"),
        Decimal("1E-999"),
    ],
)
def test_metadata_value_over_1000_characters_is_too_long(value: object) -> None:
    """A number's length is that of its plain notation, so that it always fits the database."""
    errors = errors_of(with_item(metadata={"field_1": value}))
    assert errors == ("order_items[0].metadata.field_1 is too long (maximum 1000 characters)",)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("v" * 1000, id="1000 letters"),
        pytest.param(10**999, id="10^999"),
        Decimal("1E+999"),
        Decimal("1E-998"),
    ],
)
def test_metadata_value_of_1000_characters_is_accepted(value: object) -> None:
    """The limit itself is allowed."""
    assert order_of(with_item(metadata={"field_1": value})).order_items[0].metadata == {"field_1": value}


def test_metadata_holds_at_most_100_keys() -> None:
    """100 keys are accepted; 101 make the metadata invalid as a whole."""
    keys = {f"k{n}": n for n in range(100)}
    assert order_of(with_item(metadata=keys)).order_items[0].metadata == keys
    assert errors_of(with_item(metadata={**keys, "one_more": 1})) == ("invalid order_items[0].metadata",)


@pytest.mark.parametrize("value", [[], ["a"], "field_1", 1, True])
def test_metadata_that_is_not_an_object_is_invalid(value: object) -> None:
    """The metadata is an object."""
    assert errors_of(with_item(metadata=value)) == ("invalid order_items[0].metadata",)


def test_metadata_errors_follow_the_keys_order() -> None:
    """Each bad key or value is reported, in the order of the keys."""
    errors = errors_of(with_item(1, metadata={"z": [], "ok": 1, "A": 1, "b": "\x00"}))
    assert errors == (
        "invalid order_items[1].metadata.z",
        "invalid order_items[1].metadata.A",
        "invalid order_items[1].metadata.b",
    )


def test_metadata_key_with_nul_is_named_without_it() -> None:
    """U+0000 cannot be stored, so it is replaced in the message."""
    assert errors_of(with_item(metadata={"a\x00": 1})) == ("invalid order_items[0].metadata.a\ufffd",)


def test_stored_metadata_is_a_copy_of_the_body() -> None:
    """Changing the decoded body afterwards does not change the order."""
    body = with_item(metadata={"field_1": "a"})
    order = order_of(body)
    body["order_items"][0]["metadata"]["field_1"] = "b"
    assert order.order_items[0].metadata == {"field_1": "a"}


def test_item_errors_come_in_array_then_field_order() -> None:
    """Items are reported in array order, each item's fields in table order."""
    body: dict[str, Any] = an_order(
        order_items=[{"sku": "A"}, {"currency": "X", "sku": None}, {"price": "-1", "sku": "B", "metadata": 1}]
    )
    assert errors_of(body) == (
        "order_items[1].sku cannot be blank",
        "invalid order_items[1].currency",
        "invalid order_items[2].price",
        "invalid order_items[2].metadata",
    )
