"""Test data: the reference page's example and orders built from it with overrides."""

import copy
import datetime as dt
import uuid
from typing import Any

from order_intake.domain.delivery import Kind
from order_intake.service.delivery_records import Letter

REFERENCE_EXAMPLE: dict[str, Any] = {
    "trkref": "TRKREF123",
    "order_ref": "ABC123",
    "order_date": "10-12-2014",
    "fulfilment_date": "24-12-2014",
    "language": "en",
    "locale": "en-GB",
    "customer": {
        "email": "hello@example.com",
        "cutomer_ref": "1122",
        "title": "MR",
        "first_name": "John",
        "surname": "Brown",
        "postcode": "1122",
        "country": "GB",
    },
    "order_items": [
        {
            "sku": "PROD1",
            "price": "55,99",
            "currency": "GBP",
            "metadata": {"field_1": "Value 1", "field_2": "Value 2"},
        },
        {
            "sku": "PROD2",
            "price": 10,
            "currency": "GBP",
            "metadata": {"field_1": "Value 1", "field_2": "Value 2"},
        },
    ],
}


def an_order(**overrides: Any) -> dict[str, Any]:
    """The reference example with top-level fields replaced; a value of ... removes the field."""
    order = copy.deepcopy(REFERENCE_EXAMPLE)
    for name, value in overrides.items():
        if value is ...:
            order.pop(name, None)
        else:
            order[name] = value
    return order


def with_customer(**changes: Any) -> dict[str, Any]:
    """The reference example with customer fields replaced; a value of ... removes the field."""
    order = an_order()
    _apply(order["customer"], changes)
    return order


def with_item(index: int = 0, **changes: Any) -> dict[str, Any]:
    """The reference example with fields of one order item replaced; a value of ... removes the field."""
    order = an_order()
    _apply(order["order_items"][index], changes)
    return order


def _apply(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        if value is ...:
            target.pop(name, None)
        else:
            target[name] = copy.deepcopy(value)


LONG_LINK = "https://reviews.example/" + "x" * 150


def a_letter(**changes: object) -> Letter:
    """An invitation's letter with every field set (long links, values to escape), changed as given."""
    values: dict[str, object] = {
        "invitation_id": uuid.UUID(int=7),
        "kind": Kind.INVITATION,
        "to_address": "ann@example.com",
        "to_name": "Ann <Admin>",
        "sender": "Kettles & Co <reviews@kettles.example>",
        "organisation": "Kettles <b>& Co</b>",
        "order_ref": "A-1",
        "order_date": dt.date(2026, 12, 6),
        "items": ("Kettle <script>alert(1)</script>",),
        "language": None,
        "locale": None,
        "review_url": LONG_LINK + "/r",
        "unsubscribe_url": LONG_LINK + "/u",
        "message_id": "<7.invitation@reviews.example>",
    }
    values.update(changes)
    return Letter(**values)  # type: ignore[arg-type]
