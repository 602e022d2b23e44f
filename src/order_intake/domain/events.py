"""The event published when a canonical order changes: its JSON shape and its routing key."""

import datetime as dt
import inspect
from typing import Any, Final, Literal
from uuid import UUID

import msgspec

from order_intake.domain.order import CustomerOrder, decimals_as_numbers

# The topic exchange events go to unless ORDER_INTAKE_BROKER_EXCHANGE names another.
EXCHANGE: Final = "order-intake"
UPSERTED: Final = "customer_order.upserted"


def routing_key(trkref: str) -> str:
    """Topic routing key: consumers bind `customer_order.upserted.*` or one retailer's key."""
    return f"{UPSERTED}.{trkref}"


class CustomerOrderUpserted(msgspec.Struct, frozen=True, kw_only=True):
    """A canonical order's new version.

    `event_id` is stable across re-deliveries; `version` grows by one with every change of the
    order, so a consumer keeps the highest version it has seen.
    """

    event_id: UUID
    type: Literal["customer_order.upserted"] = UPSERTED
    occurred_at: dt.datetime
    trkref: str
    order_ref: str
    customer_order_id: UUID
    version: int
    # The canonical order's document as its row stores it, already encoded: written into the event as
    # it is, not encoded a second time (hot path; its schema is CustomerOrder's, set in event_schema).
    customer_order: msgspec.Raw
    # The submissions merged by the change that made this version.
    submission_ids: tuple[UUID, ...]


def event_schema() -> dict[str, Any]:
    """The event's JSON Schema, for the docs and for consumers (`order-intake events schema`)."""
    (event, _), components = msgspec.json.schema_components(
        [CustomerOrderUpserted, CustomerOrder], ref_template="#/$defs/{name}"
    )
    components["CustomerOrderUpserted"]["properties"]["customer_order"] = {"$ref": "#/$defs/CustomerOrder"}
    for component in components.values():
        # Older msgspec releases kept a docstring's indentation, newer ones remove it: one text for both.
        if "description" in component:
            component["description"] = inspect.cleandoc(component["description"])
    schema = decimals_as_numbers({**event, "$defs": components})
    assert isinstance(schema, dict)  # noqa: S101 - a dict maps to a dict
    return schema
