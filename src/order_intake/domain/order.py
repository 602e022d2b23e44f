"""The normalised customer order: what validation produces and what is stored and shown."""

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from order_intake.domain.metadata import MAX_KEYS

# Metadata values are JSON scalars; numbers arrive as int or exact Decimal.
Metadata = Annotated[
    dict[str, Any],
    msgspec.Meta(
        extra_json_schema={
            "propertyNames": {"pattern": "^[a-z0-9_]+$"},
            "additionalProperties": {"type": ["string", "number", "boolean", "null"]},
            "maxProperties": MAX_KEYS,
        }
    ),
]


class Customer(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True, kw_only=True):
    """The ordering customer; optional fields absent when not sent."""

    email: str
    customer_ref: str | None = None
    title: str | None = None
    first_name: str | None = None
    surname: str | None = None
    postcode: str | None = None
    country: str | None = None


class OrderItem(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True, kw_only=True):
    """One product bought; price is an exact decimal, never a float."""

    sku: str
    price: Decimal | None = None
    currency: str | None = None
    metadata: Metadata | None = None


class CustomerOrder(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True, kw_only=True):
    """A validated, normalised customer order (dates as ISO 8601 calendar dates)."""

    trkref: str
    order_ref: str
    order_date: dt.date | None = None
    fulfilment_date: dt.date | None = None
    language: str | None = None
    locale: str | None = None
    customer: Customer
    order_items: tuple[OrderItem, ...]


class Accepted(msgspec.Struct, frozen=True):
    """Validation passed: the normalised order and the warnings to report (unknown fields)."""

    order: CustomerOrder
    warnings: tuple[str, ...] = ()


class Rejected(msgspec.Struct, frozen=True):
    """Validation failed: the answer's message and every violation, in the contract's order."""

    message: str
    errors: tuple[str, ...]


_DECIMAL_SCHEMA = {"type": "string", "format": "decimal"}


def decimals_as_numbers(schema: object) -> object:
    """A JSON Schema with Decimal as our encoder writes it: a number with exact digits (msgspec says string)."""
    if schema == _DECIMAL_SCHEMA:
        return {"type": "number"}
    if isinstance(schema, dict):
        return {k: decimals_as_numbers(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [decimals_as_numbers(v) for v in schema]
    return schema
