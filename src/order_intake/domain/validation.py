"""Validating a customer order body: the field table, validate_order and the body's JSON Schema."""

import copy
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, Final

from order_intake.domain.access import TRKREF_PATTERN
from order_intake.domain.catalogue import (
    BODY_NOT_OBJECT,
    DATE_MISSING,
    DATES_OUT_OF_ORDER,
    INVALID_ORDER,
    MAX_ERRORS,
    MAX_WARNINGS,
    NO_DATA,
    TRKREF_MISMATCH,
    invalid,
    more_unknown_fields,
    unknown_field,
)
from order_intake.domain.codes import COUNTRY, CURRENCY, LANGUAGE, LOCALE
from order_intake.domain.fields import MAX_TEXT, Errors, Kind, fail, printable_key, text, text_or_number
from order_intake.domain.formats import DATE, EMAIL, PRICE
from order_intake.domain.metadata import METADATA
from order_intake.domain.objects import Field, check_fields, is_blank, items_kind, object_kind, object_schema
from order_intake.domain.order import Accepted, Customer, CustomerOrder, OrderItem, Rejected

__all__ = ["input_json_schema", "validate_order"]

_NAME: Final = text_or_number(MAX_TEXT)
_CUSTOMER_FIELDS: Final = (
    Field("email", EMAIL, required=True, description="Stored with the domain lowercased."),
    Field("customer_ref", _NAME, description="The unique identifier of the customer."),
    Field("title", _NAME, description="Mr, Ms, Doctor, ..."),
    Field("first_name", _NAME),
    Field("surname", _NAME),
    Field("postcode", _NAME),
    Field("country", COUNTRY, description="ISO 3166-1 alpha-2, case-insensitive, stored uppercase."),
)
_ITEM_FIELDS: Final = (
    Field("sku", text_or_number(MAX_TEXT), required=True, description="The product's identifier."),
    Field("price", PRICE, description='At least 0; a string may use "," or "." as decimal separator.'),
    Field("currency", CURRENCY, description="ISO 4217, case-insensitive, stored uppercase."),
    Field("metadata", METADATA, description="Any other fields of the item, as JSON scalars."),
)


def _check_trkref(value: object, path: str, errors: Errors) -> object:
    """Any string: validate_order then compares it with the URL's trkref."""
    return value if isinstance(value, str) else fail(errors, invalid(path))


_TRKREF: Final = Field(
    "trkref",
    Kind(_check_trkref, {"type": "string"}, TRKREF_PATTERN),
    required=True,
    description="The organisation's tracking reference: the one in the URL.",
)
_TRKREF_OPTIONAL: Final = replace(_TRKREF, required=False)
_HEAD: Final = (
    Field("order_ref", text(MAX_TEXT), required=True, description="The order's identifier in the shop."),
    Field("order_date", DATE, description="dd-mm-yyyy; optional if fulfilment_date is present."),
    Field("fulfilment_date", DATE, description="dd-mm-yyyy, not before order_date."),
)
_TAIL: Final = (
    Field("language", LANGUAGE, description="ISO 639-1, case-insensitive, stored lowercase."),
    Field("locale", LOCALE, description="ll-CC or ll_CC (ISO 639-1 and 3166-1), stored as en-GB."),
    Field("customer", object_kind(_CUSTOMER_FIELDS, Customer), required=True),
    Field("order_items", items_kind(object_kind(_ITEM_FIELDS, OrderItem)), required=True),
)
_ORDER_FIELDS: Final = (_TRKREF, *_HEAD, *_TAIL)
_ORDER_NAMES: Final = frozenset(field.name for field in _ORDER_FIELDS)
_CUSTOMER_NAMES: Final = frozenset(field.name for field in _CUSTOMER_FIELDS)
_ITEM_NAMES: Final = frozenset(field.name for field in _ITEM_FIELDS)


def validate_order(
    value: object, *, trkref: str, trkref_optional: bool = False, max_errors: int = MAX_ERRORS
) -> Accepted | Rejected:
    """Check a decoded body against every rule of the contract; never raises.

    The errors come in the reference table's order; the order's trkref is always `trkref`.
    With `trkref_optional`, a body without trkref belongs to `trkref`. Past `max_errors`, errors
    are counted, not listed.
    """
    body = {} if value is None else value
    if not isinstance(body, dict):
        return Rejected(INVALID_ORDER, (BODY_NOT_OBJECT,))
    errors = Errors(max_errors)
    got = check_fields(body, "", (_TRKREF_OPTIONAL if trkref_optional else _TRKREF,), errors)
    if got and body["trkref"] != trkref:  # compared as sent: " TRKREF123" is another trkref
        errors.append(TRKREF_MISMATCH)
    values = check_fields(body, "", _HEAD, errors)
    order_date, fulfilment_date = values.get("order_date"), values.get("fulfilment_date")
    if is_blank(body.get("order_date")) and is_blank(body.get("fulfilment_date")):
        errors.append(DATE_MISSING)
    elif order_date and fulfilment_date and fulfilment_date < order_date:
        errors.append(DATES_OUT_OF_ORDER)
    values.update(check_fields(body, "", _TAIL, errors))
    if errors:
        return Rejected(INVALID_ORDER if body else NO_DATA, errors.listed())
    return Accepted(order=CustomerOrder(trkref=trkref, **values), warnings=_unknown_fields(body))


# hot path: a key-set comparison skips the loops in the usual case (docs/hot-path.md)
def _unknown_keys(body: dict[Any, Any]) -> Iterator[tuple[str, Any]]:
    """(path prefix, key) of every unknown key, in body order (an accepted body's parts are objects)."""
    for key, value in body.items():
        if key == "customer":
            if not value.keys() <= _CUSTOMER_NAMES:  # the usual case skips the loop
                yield from (("customer.", k) for k in value if k not in _CUSTOMER_NAMES)
        elif key == "order_items":
            for index, item in enumerate(value):
                if not item.keys() <= _ITEM_NAMES:  # the usual case skips the inner loop
                    yield from ((f"order_items[{index}].", k) for k in item if k not in _ITEM_NAMES)
        elif key not in _ORDER_NAMES:
            yield "", key


def _unknown_fields(body: dict[Any, Any]) -> tuple[str, ...]:
    """A warning per unknown key, at most MAX_WARNINGS of them, then one that counts the rest."""
    warnings: list[str] = []
    unlisted = 0
    for prefix, key in _unknown_keys(body):
        if len(warnings) < MAX_WARNINGS:
            warnings.append(unknown_field(prefix + printable_key(key)))
        else:
            unlisted += 1
    return (*warnings, more_unknown_fields(unlisted)) if unlisted else tuple(warnings)


def input_json_schema() -> dict[str, Any]:
    """Describe the request body in JSON Schema (2020-12, as in OpenAPI 3.1), from the validator's table.

    It cannot say everything (that a code exists, that a date is on the calendar): the validator
    is the authority. Unknown fields are accepted, and reported as warnings.
    """
    schema = copy.deepcopy(object_schema(_ORDER_FIELDS))
    schema["title"] = "CustomerOrderInput"
    schema["description"] = (
        "A customer order. Strings are stripped of surrounding whitespace before they are checked; "
        "an optional field that is null or blank is treated as absent."
    )
    schema["anyOf"] = [
        {"required": [name], "properties": {name: {"type": "string", "pattern": r"\S"}}}
        for name in ("order_date", "fulfilment_date")
    ]
    return schema
