"""input_json_schema: valid JSON Schema 2020-12 that every accepted order conforms to."""

import re
from typing import Any, Final

import msgspec
import pytest
from hypothesis import given, settings

from order_intake.domain.validation import input_json_schema
from tests.e2e.json_schema import SchemaError, Validator
from tests.strategies import valid_orders
from tests.support.factories import REFERENCE_EXAMPLE, an_order, with_customer, with_item
from tests.unit.orders import decoded

# The keywords the schema may use: 2020-12 core, applicator, validation and annotation vocabularies.
KEYWORDS: Final = {
    "type", "properties", "required", "items", "anyOf", "propertyNames", "additionalProperties",
    "pattern", "minLength", "maxLength", "minimum", "minItems", "maxItems", "maxProperties",
    "format", "title", "description",
}  # fmt: skip


def conforms(value: object, schema: dict[str, Any]) -> bool:
    """Whether `value` conforms, by the suite's one JSON Schema validator (the one the e2e tests use)."""
    try:
        Validator({}).validate(value, schema)
    except SchemaError as error:
        assert "does not know the keyword" not in str(error), error  # noqa: PT017 - a schema it cannot judge
        return False
    return True


def _schemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema and every schema nested in it."""
    nested = [*schema.get("properties", {}).values(), *schema.get("anyOf", [])]
    nested += [schema[key] for key in ("items", "propertyNames", "additionalProperties") if key in schema]
    return [schema, *(inner for child in nested for inner in _schemas(child))]


SCHEMA: Final = input_json_schema()


def test_schema_uses_only_json_schema_2020_12_keywords() -> None:
    """Every keyword is one of the standard vocabularies', so any 2020-12 tool reads it."""
    for schema in _schemas(SCHEMA):
        assert set(schema) <= KEYWORDS, set(schema) - KEYWORDS


def test_schema_patterns_are_plain_enough_for_ecma_262_and_python() -> None:
    r"""Patterns use only ASCII classes, \s, \S, groups and counts, which both dialects read alike."""
    for schema in _schemas(SCHEMA):
        if "pattern" in schema:
            re.compile(schema["pattern"])
            assert re.fullmatch(r"[\^$\\sSA-Za-z0-9\[\]\-_(){},.?:*+|]*", schema["pattern"]), schema["pattern"]


def test_schema_encodes_as_json() -> None:
    """The schema goes into the OpenAPI document as plain JSON."""
    assert msgspec.json.decode(msgspec.json.encode(SCHEMA)) == SCHEMA


def test_schema_is_a_fresh_copy_at_each_call() -> None:
    """A caller that edits its copy (e.g. to make trkref optional) changes nothing for others."""
    mine = input_json_schema()
    mine["required"].remove("trkref")
    mine["properties"]["customer"]["properties"].clear()
    assert input_json_schema() == SCHEMA


def test_schema_requires_the_mandatory_fields_and_one_date() -> None:
    """trkref, order_ref, customer(email), order_items(sku), and order_date or fulfilment_date."""
    assert SCHEMA["required"] == ["trkref", "order_ref", "customer", "order_items"]
    assert SCHEMA["properties"]["customer"]["required"] == ["email"]
    assert SCHEMA["properties"]["order_items"]["items"]["required"] == ["sku"]
    assert [option["required"] for option in SCHEMA["anyOf"]] == [["order_date"], ["fulfilment_date"]]


def test_schema_limits_order_items_to_1_to_1000() -> None:
    """The array's bounds are the validator's."""
    items = SCHEMA["properties"]["order_items"]
    assert (items["type"], items["minItems"], items["maxItems"]) == ("array", 1, 1000)


def test_schema_accepts_unknown_fields() -> None:
    """Unknown fields are accepted and ignored, never forbidden."""
    for schema in _schemas(SCHEMA):
        assert schema.get("additionalProperties", True) is not False
    assert conforms(decoded(REFERENCE_EXAMPLE), SCHEMA)


@settings(max_examples=200, deadline=None)
@given(valid_orders())
def test_every_valid_order_conforms_to_the_schema(body: dict[str, Any]) -> None:
    """The documented schema never forbids what the validator accepts."""
    assert conforms(body, SCHEMA)


@pytest.mark.parametrize(
    "body",
    [
        an_order(order_ref=...),
        an_order(order_ref="x" * 256),
        an_order(order_date=..., fulfilment_date=...),
        an_order(order_date=None, fulfilment_date=" "),
        an_order(order_date="2014-12-10"),
        an_order(language="eng"),
        an_order(locale="en"),
        an_order(customer=[]),
        with_customer(email=...),
        with_customer(postcode=True),
        with_customer(country="GBR"),
        an_order(order_items=[]),
        an_order(order_items=[{"sku": str(n)} for n in range(1001)]),
        with_item(sku=...),
        with_item(price=-1),
        with_item(price="1.000,00"),
        with_item(currency="GB"),
        with_item(metadata={"Field-1": "x"}),
        with_item(metadata={"field_1": []}),
        with_item(metadata={"field_1": "x" * 1001}),
        with_item(metadata={f"k{n}": n for n in range(101)}),
    ],
)
def test_schema_describes_the_rules_it_can_express(body: dict[str, Any]) -> None:
    """Bodies the validator refuses for a reason a schema can say are refused by the schema too."""
    assert not conforms(body, SCHEMA)
