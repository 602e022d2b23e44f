"""validate_order on the body as a whole and its top-level fields: trkref, order_ref, dates, language, locale."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from order_intake.domain.order import Customer, CustomerOrder, OrderItem
from order_intake.domain.validation import validate_order
from tests.strategies import TRKREF
from tests.support.factories import REFERENCE_EXAMPLE, an_order, with_customer, with_item
from tests.unit.orders import accepted, decoded, errors_of, order_of, rejected

MANDATORY_BLANKS = (
    "trkref cannot be blank",
    "order_ref cannot be blank",
    "order_date or fulfilment_date must be present",
    "customer cannot be blank",
    "order_items cannot be blank",
)
BLANKS = [..., None, "", "   ", "\t\n"]


def test_reference_example_is_accepted_exactly_as_printed() -> None:
    """The reference page's example, typo included, is accepted and normalised."""
    result = accepted(decoded(REFERENCE_EXAMPLE))
    assert result.warnings == ("unknown field customer.cutomer_ref",)
    assert result.order == CustomerOrder(
        trkref="TRKREF123",
        order_ref="ABC123",
        order_date=dt.date(2014, 12, 10),
        fulfilment_date=dt.date(2014, 12, 24),
        language="en",
        locale="en-GB",
        customer=Customer(
            email="hello@example.com",
            title="MR",
            first_name="John",
            surname="Brown",
            postcode="1122",
            country="GB",
        ),
        order_items=(
            OrderItem(
                sku="PROD1",
                price=Decimal("55.99"),
                currency="GBP",
                metadata={"field_1": "Value 1", "field_2": "Value 2"},
            ),
            OrderItem(
                sku="PROD2", price=Decimal(10), currency="GBP", metadata={"field_1": "Value 1", "field_2": "Value 2"}
            ),
        ),
    )


@pytest.mark.parametrize("body", [None, {}])
def test_empty_body_answers_no_data_with_every_mandatory_field(body: object) -> None:
    """An empty body, null or {} lists each mandatory field as blank."""
    result = rejected(body)
    assert result.message == "No data provided"
    assert result.errors == MANDATORY_BLANKS


def test_empty_body_omits_trkref_when_it_is_optional() -> None:
    """With an optional trkref, the empty body's errors do not ask for it."""
    assert errors_of({}, trkref_optional=True) == MANDATORY_BLANKS[1:]


@pytest.mark.parametrize("body", [[], [REFERENCE_EXAMPLE], "order", "", 0, 12, Decimal("1.5"), True, False])
def test_body_that_is_not_an_object_is_rejected(body: object) -> None:
    """Arrays, strings, numbers and booleans are not customer orders."""
    result = rejected(body)
    assert (result.message, result.errors) == ("Invalid customer order", ("body must be a JSON object",))


def test_body_with_fields_but_errors_is_an_invalid_customer_order() -> None:
    """A non-empty body with errors answers "Invalid customer order", even if it only has unknown fields."""
    assert rejected({"notes": "hi"}).message == "Invalid customer order"
    assert rejected({"notes": "hi"}).errors == MANDATORY_BLANKS


def test_every_violation_is_reported_in_the_reference_tables_order() -> None:
    """All errors at once: fields in table order, items in array order, cross-field errors in place."""
    body = {
        "order_items": [
            {"sku": "", "price": -1, "currency": "EUROS", "metadata": {"B": 1, "ok": [], "a": "x" * 1001}},
            "not an item",
            {"sku": True, "currency": 978},
        ],
        "customer": {"country": "England", "postcode": [], "title": "x" * 256, "email": "nobody"},
        "locale": "english",
        "language": "xx",
        "fulfilment_date": "01-01-2014",
        "order_date": "02-01-2014",
        "order_ref": 17,
        "trkref": "SOMEONE-ELSE",
    }
    assert errors_of(body) == (
        "trkref does not match the organisation in the URL",
        "invalid order_ref",
        "fulfilment_date cannot be before order_date",
        "invalid language",
        "invalid locale",
        "invalid customer.email",
        "customer.title is too long (maximum 255 characters)",
        "invalid customer.postcode",
        "invalid customer.country",
        "order_items[0].sku cannot be blank",
        "invalid order_items[0].price",
        "invalid order_items[0].currency",
        "invalid order_items[0].metadata.B",
        "invalid order_items[0].metadata.ok",
        "order_items[0].metadata.a is too long (maximum 1000 characters)",
        "invalid order_items[1]",
        "invalid order_items[2].sku",
        "invalid order_items[2].currency",
    )


@pytest.mark.parametrize("value", BLANKS)
def test_missing_or_blank_trkref_cannot_be_blank(value: object) -> None:
    """The trkref is mandatory."""
    assert errors_of(an_order(trkref=value)) == ("trkref cannot be blank",)


@pytest.mark.parametrize("value", [123, True, ["TRKREF123"], {"trkref": "TRKREF123"}, "TRKREF123\x00"])
def test_trkref_that_is_not_a_string_is_invalid(value: object) -> None:
    """The trkref must be a string, without U+0000."""
    assert errors_of(an_order(trkref=value)) == ("invalid trkref",)


@pytest.mark.parametrize("value", ["OTHER-ORG", "trkref123", "TRKREF1234", "TRKREF 123", "x" * 300])
def test_trkref_other_than_the_urls_does_not_match(value: str) -> None:
    """The body's trkref must be the URL's, compared exactly (case included)."""
    assert errors_of(an_order(trkref=value)) == ("trkref does not match the organisation in the URL",)


def test_body_trkref_is_compared_exactly_as_sent() -> None:
    """Surrounding spaces make another trkref: the mismatch message, not a silent strip."""
    assert errors_of(an_order(trkref=" TRKREF123\n")) == ("trkref does not match the organisation in the URL",)


@pytest.mark.parametrize("value", BLANKS)
def test_optional_trkref_may_be_missing_and_then_is_the_urls(value: object) -> None:
    """For the batch of a single-organisation key, an order without trkref belongs to the URL's."""
    assert order_of(an_order(trkref=value), trkref_optional=True).trkref == TRKREF


def test_optional_trkref_must_still_match_when_present() -> None:
    """An optional trkref that is sent must be the right one."""
    errors = errors_of(an_order(trkref="OTHER-ORG"), trkref_optional=True)
    assert errors == ("trkref does not match the organisation in the URL",)


def test_normalised_order_always_carries_the_given_trkref() -> None:
    """The order's trkref is the one validate_order was given."""
    result = validate_order(an_order(trkref="ABC-XYZ"), trkref="ABC-XYZ")
    assert result.order.trkref == "ABC-XYZ"  # type: ignore[union-attr]


@pytest.mark.parametrize("value", BLANKS)
def test_missing_or_blank_order_ref_cannot_be_blank(value: object) -> None:
    """order_ref is mandatory; whitespace alone is blank, not too long nor invalid."""
    assert errors_of(an_order(order_ref=value)) == ("order_ref cannot be blank",)


@pytest.mark.parametrize("value", [17, Decimal("1.5"), True, ["A"], {"ref": "A"}])
def test_order_ref_that_is_not_a_string_is_invalid(value: object) -> None:
    """order_ref is a string: numbers are not accepted for it."""
    assert errors_of(an_order(order_ref=value)) == ("invalid order_ref",)


def test_order_ref_is_stripped() -> None:
    """Surrounding whitespace is not part of the reference."""
    assert order_of(an_order(order_ref="  ABC 123\t")).order_ref == "ABC 123"


def test_order_ref_of_255_characters_is_accepted_and_256_is_too_long() -> None:
    """The limit counts characters after stripping, one per code point."""
    assert order_of(an_order(order_ref=f"  {'é' * 255}  ")).order_ref == "é" * 255
    assert order_of(an_order(order_ref="🛒" * 255)).order_ref == "🛒" * 255
    assert errors_of(an_order(order_ref="x" * 256)) == ("order_ref is too long (maximum 255 characters)",)


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (an_order(order_ref="A\x00B"), "order_ref"),
        (an_order(order_date="10-12-2014\x00"), "order_date"),
        (an_order(language="\x00"), "language"),
        (with_customer(email="a\x00@example.com"), "customer.email"),
        (with_customer(surname="Br\x00wn"), "customer.surname"),
        (with_item(sku="P\x00"), "order_items[0].sku"),
        (with_item(price="1\x00"), "order_items[0].price"),
        (with_item(metadata={"field_1": "V\x00"}), "order_items[0].metadata.field_1"),
    ],
)
def test_string_containing_nul_is_invalid(body: dict[str, Any], path: str) -> None:
    """U+0000 cannot be stored by PostgreSQL, so no field may contain it."""
    assert errors_of(body) == (f"invalid {path}",)


def test_dates_are_read_as_calendar_dates() -> None:
    """dd-mm-yyyy becomes a date; surrounding whitespace is ignored."""
    order = order_of(an_order(order_date=" 29-02-2016 ", fulfilment_date="01-03-2016"))
    assert (order.order_date, order.fulfilment_date) == (dt.date(2016, 2, 29), dt.date(2016, 3, 1))


@pytest.mark.parametrize(
    "value",
    [
        "2014-12-10",
        "10/12/2014",
        "1-12-2014",
        "10-12-14",
        "10-12-02014",
        "31-02-2014",
        "29-02-2015",
        "00-01-2014",
        "01-13-2014",
        "01-01-0000",
        "\u0661\u0660-\u0661\u0662-\u0662\u0660\u0661\u0664",  # Arabic-Indic digits
        "10-12-2014T00:00",
        10122014,
        True,
        {"day": 10},
    ],
)
def test_date_that_is_not_a_real_dd_mm_yyyy_date_is_invalid(value: object) -> None:
    """Only ASCII dd-mm-yyyy naming a day of the calendar is a date."""
    assert errors_of(an_order(order_date=value, fulfilment_date=...)) == ("invalid order_date",)
    assert errors_of(an_order(order_date=..., fulfilment_date=value)) == ("invalid fulfilment_date",)


@pytest.mark.parametrize("missing", ["order_date", "fulfilment_date"])
def test_either_date_alone_is_enough(missing: str) -> None:
    """One of the two dates is mandatory, not both."""
    order = order_of(an_order(**{missing: ...}))
    assert getattr(order, missing) is None


@pytest.mark.parametrize("order_date", BLANKS)
@pytest.mark.parametrize("fulfilment_date", [..., None, " "])
def test_both_dates_missing_or_blank_must_be_present(order_date: object, fulfilment_date: object) -> None:
    """Without any date, the order says that one of them must be present."""
    errors = errors_of(an_order(order_date=order_date, fulfilment_date=fulfilment_date))
    assert errors == ("order_date or fulfilment_date must be present",)


def test_invalid_date_alone_is_invalid_not_missing() -> None:
    """A date that is present but malformed is reported as invalid only."""
    assert errors_of(an_order(order_date="soon", fulfilment_date=...)) == ("invalid order_date",)


def test_fulfilment_before_order_date_is_out_of_order() -> None:
    """An order cannot be fulfilled before it was placed."""
    errors = errors_of(an_order(order_date="10-12-2014", fulfilment_date="09-12-2014"))
    assert errors == ("fulfilment_date cannot be before order_date",)


def test_fulfilment_on_the_order_day_is_accepted() -> None:
    """The same day is not before."""
    order = order_of(an_order(order_date="10-12-2014", fulfilment_date="10-12-2014"))
    assert order.fulfilment_date == order.order_date


@pytest.mark.parametrize(("value", "stored"), [("en", "en"), ("EN", "en"), (" Fr ", "fr"), ("zU", "zu")])
def test_language_is_stored_lowercase(value: str, stored: str) -> None:
    """Any existing ISO 639-1 code, in any case."""
    assert order_of(an_order(language=value)).language == stored


@pytest.mark.parametrize("value", ["xx", "eng", "e", "en-GB", "e n", "\u212aa", "\uff25\uff2e", 12, True, ["en"]])
def test_unknown_or_malformed_language_is_invalid(value: object) -> None:
    """Two ASCII letters naming an existing language, nothing else (the Kelvin sign is not a k)."""
    assert errors_of(an_order(language=value)) == ("invalid language",)


@pytest.mark.parametrize(
    ("value", "stored"), [("en-GB", "en-GB"), ("en_GB", "en-GB"), ("EN-gb", "en-GB"), (" fr_fr ", "fr-FR")]
)
def test_locale_is_stored_as_language_dash_country(value: str, stored: str) -> None:
    """Either separator and any case are accepted; the stored form is ll-CC."""
    assert order_of(an_order(locale=value)).locale == stored


@pytest.mark.parametrize(
    "value", ["en", "en-XX", "xx-GB", "eng-GB", "en-GBR", "en GB", "en--GB", "en-UK", "GB-en", 44, ["en", "GB"]]
)
def test_unknown_or_malformed_locale_is_invalid(value: object) -> None:
    """A locale is an existing language, - or _, and an existing country."""
    assert errors_of(an_order(locale=value)) == ("invalid locale",)


@pytest.mark.parametrize("value", [..., None, "", "   "])
@pytest.mark.parametrize(
    ("make", "field"),
    [
        (an_order, "language"),
        (an_order, "locale"),
        (with_customer, "customer_ref"),
        (with_customer, "title"),
        (with_customer, "first_name"),
        (with_customer, "surname"),
        (with_customer, "postcode"),
        (with_customer, "country"),
        (with_item, "price"),
        (with_item, "currency"),
        (with_item, "metadata"),
    ],
)
def test_blank_optional_field_is_treated_as_absent(make: Any, field: str, value: object) -> None:
    """Shop exports are full of "" and null: an optional field that is blank is simply not there."""
    order = order_of(make(**{field: value}))
    part = order if make is an_order else order.customer if make is with_customer else order.order_items[0]
    assert getattr(part, field) is None


def test_unknown_fields_are_warnings_in_body_order() -> None:
    """Unknown fields are ignored and reported at every level, in the order the body has them."""
    body = {"zeta": 1, **an_order(), "alpha": None}
    body["customer"] = {"nick": "JB", **body["customer"]}
    body["order_items"][1]["colour"] = "red"
    assert accepted(body).warnings == (
        "unknown field zeta",
        "unknown field customer.nick",
        "unknown field customer.cutomer_ref",
        "unknown field order_items[1].colour",
        "unknown field alpha",
    )


def test_metadata_keys_are_not_unknown_fields() -> None:
    """Metadata is free: its keys are never warned about."""
    body = with_item(metadata={"anything_at_all": 1})
    del body["customer"]["cutomer_ref"]
    assert accepted(body).warnings == ()


def test_unknown_field_with_nul_is_warned_without_it() -> None:
    """U+0000 cannot be stored, so it is replaced in the warning."""
    assert "unknown field a\ufffdb" in accepted(an_order(**{"a\x00b": 1})).warnings


def test_warnings_stop_at_100_and_count_the_rest() -> None:
    """An order with 150 unknown fields: 100 warnings, then one that says 50 more were not listed."""
    warnings = accepted(an_order(**{f"x{i}": i for i in range(149)})).warnings
    assert len(warnings) == 101
    assert warnings[-1] == "50 more unknown fields not listed"
