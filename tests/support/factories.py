"""Test data: the reference page's example and orders built from it with overrides."""

import copy
from typing import Any

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
