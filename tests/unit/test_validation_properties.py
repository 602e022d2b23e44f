"""Properties of validate_order over open-ended input: it never raises, accepts valid orders, is deterministic."""

import json
import re
from decimal import Decimal
from typing import Any, Final

import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from order_intake.domain.answers import Invalid
from order_intake.domain.fields import plain_number
from order_intake.domain.order import Accepted, CustomerOrder, Rejected
from order_intake.domain.validation import validate_order
from order_intake.entrypoints.http.openapi import document
from tests.e2e.json_schema import Validator
from tests.strategies import (
    CUSTOMER_FIELDS,
    ITEM_FIELDS,
    ORDER_FIELDS,
    TRKREF,
    any_json,
    mutated_orders,
    valid_orders,
)

# Generous where examples are cheap, enough where each draws a whole order.
CI: Final = settings(max_examples=500, deadline=None)
ORDERS: Final = settings(max_examples=200, deadline=None)

_PATH: Final = (
    r"(?:trkref|order_ref|order_date|fulfilment_date|language|locale"
    r"|customer(?:\.(?:email|customer_ref|title|first_name|surname|postcode|country))?"
    r"|order_items(?:\[\d+\](?:\.(?:sku|price|currency|metadata(?:\..*)?))?)?)"
)
CONTRACT_ERROR: Final = re.compile(
    rf"{_PATH} cannot be blank|invalid {_PATH}|{_PATH} is too long \(maximum (?:255|1000) characters\)"
    r"|order_date or fulfilment_date must be present|fulfilment_date cannot be before order_date"
    r"|trkref does not match the organisation in the URL|order_items cannot be empty"
    r"|order_items has too many items \(maximum 1000\)|body must be a JSON object",
    re.DOTALL,
)


def _unknown_count(body: dict[str, Any]) -> int:
    """How many unknown fields a valid order has, at the three levels that are checked."""
    count = sum(key not in ORDER_FIELDS for key in body)
    count += sum(key not in CUSTOMER_FIELDS for key in body["customer"])
    return count + sum(key not in ITEM_FIELDS for item in body["order_items"] for key in item)


@CI
@given(any_json(), st.booleans())
@example(value=None, optional=False)
@example(value={"customer": {"email": "\x00"}, "order_items": [None] * 1001}, optional=False)
def test_validate_order_never_raises_for_any_json_value(value: object, optional: bool) -> None:
    """Whatever JSON arrives, the answer is an outcome, never an exception."""
    result = validate_order(value, trkref=TRKREF, trkref_optional=optional)
    assert isinstance(result, Accepted | Rejected)


@ORDERS
@given(mutated_orders(), st.booleans())
def test_validate_order_never_raises_for_mutated_valid_orders(body: dict[str, Any], optional: bool) -> None:
    """A valid order with any field, at any level, replaced by any JSON value gets an outcome."""
    result = validate_order(body, trkref=TRKREF, trkref_optional=optional)
    assert isinstance(result, Accepted | Rejected)


@ORDERS
@given(valid_orders())
def test_every_valid_order_is_accepted_with_a_warning_per_unknown_field(body: dict[str, Any]) -> None:
    """Valid orders are accepted for the URL's trkref, and each unknown field is warned about once."""
    result = validate_order(body, trkref=TRKREF)
    assert isinstance(result, Accepted), result
    assert result.order.trkref == TRKREF
    assert len(result.warnings) == _unknown_count(body)


@ORDERS
@given(valid_orders())
def test_valid_order_without_trkref_is_accepted_when_trkref_is_optional(body: dict[str, Any]) -> None:
    """A single-organisation batch element may leave trkref out."""
    del body["trkref"]
    result = validate_order(body, trkref="ABC-XYZ", trkref_optional=True)
    assert isinstance(result, Accepted)
    assert result.order.trkref == "ABC-XYZ"


@ORDERS
@given(mutated_orders() | any_json())
def test_validation_is_deterministic(value: object) -> None:
    """The same input always gets the same outcome."""
    first, second = validate_order(value, trkref=TRKREF), validate_order(value, trkref=TRKREF)
    assert first == second
    assert msgspec.json.encode(first) == msgspec.json.encode(second)


@ORDERS
@given(mutated_orders() | any_json())
def test_every_error_is_one_of_the_contracts_messages(value: object) -> None:
    """Errors only ever take the contract's forms, about the contract's fields."""
    result = validate_order(value, trkref=TRKREF)
    if isinstance(result, Rejected):
        assert result.message in {"No data provided", "Invalid customer order"}
        assert result.errors
        for error in result.errors:
            assert CONTRACT_ERROR.fullmatch(error), error
            assert "\x00" not in error


@ORDERS
@given(valid_orders() | mutated_orders())
def test_accepted_order_survives_the_round_trip_through_stored_json(body: dict[str, Any]) -> None:
    """The normalised order, written as JSON with exact numbers, reads back equal."""
    result = validate_order(body, trkref=TRKREF)
    if isinstance(result, Accepted):
        stored = msgspec.json.Encoder(decimal_format="number").encode(result.order)
        assert msgspec.json.Decoder(CustomerOrder, float_hook=Decimal).decode(stored) == result.order


_DOCUMENTED = Validator(msgspec.json.decode(document()))
_AS_SENT = msgspec.json.Encoder(decimal_format="number")  # how the HTTP layer and the stores write values


def _conforms(value: object, schema_name: str) -> None:
    """The value, written as JSON the way the service writes it, matches a schema of the OpenAPI document."""
    written = json.loads(_AS_SENT.encode(value), parse_float=Decimal)
    _DOCUMENTED.validate(written, {"$ref": f"#/components/schemas/{schema_name}"})


@ORDERS
@given(valid_orders() | mutated_orders() | any_json())
def test_every_outcome_matches_the_schema_documented_for_its_answer(value: object) -> None:
    """A rejection is a documented 422 body; an accepted order is the documented normalised order (GET shows it)."""
    result = validate_order(value, trkref=TRKREF)
    if isinstance(result, Rejected):
        _conforms(Invalid(status=422, message=result.message, errors=result.errors), "Invalid")
    else:
        _conforms(result.order, "CustomerOrder")


@st.composite
def _decimals(draw: st.DrawFn) -> Decimal:
    """Finite decimals whose exponents straddle the limits of plain_number."""
    digits = draw(st.lists(st.integers(0, 9), min_size=1, max_size=30))
    return Decimal((draw(st.integers(0, 1)), tuple(digits), draw(st.integers(-1100, 1100))))


@CI
@given(_decimals() | st.integers(-(10**1100), 10**1100), st.sampled_from([1, 255, 1000]))
def test_plain_number_is_the_plain_notation_within_the_limit(value: int | Decimal, maximum: int) -> None:
    """plain_number is format(value, "f") when that fits, and None otherwise."""
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    assert plain_number(value, maximum) == (text if len(text) <= maximum else None)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity")])
def test_plain_number_refuses_what_is_not_finite(value: Decimal) -> None:
    """Not-a-number and infinities have no plain notation."""
    assert plain_number(value, 1000) is None
