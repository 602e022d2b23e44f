"""The OpenAPI operations of the invitation endpoints (table.py pairs them with their routes)."""

from typing import Any, Final

from order_intake.entrypoints.http.operations import (
    AUTH_FAILURES,
    FAILURES,
    RATE_LIMITED,
    REF,
    REQUEST_ID,
    STRING,
    TRKREF,
    json_answer,
)

_ORDER_REF = {"name": "order_ref", "in": "path", "required": True, **STRING}
_EMAIL = {"name": "email", "in": "path", "required": True, "schema": {"type": "string", "format": "email"}}

EXPLAIN_INVITATION: Final[dict[str, Any]] = {
    "summary": "Whether and when the order's customer is invited to review it, and why",
    "operationId": "explainInvitation",
    "security": [{"basic": []}],
    "parameters": [TRKREF, _ORDER_REF, REQUEST_ID],
    "responses": {
        "200": json_answer("InvitationExplained", "The invitation's state, times and explanation"),
        **AUTH_FAILURES,
        "404": json_answer("Message", "No processed order with this order_ref for this organisation"),
        **RATE_LIMITED,
        **FAILURES,
    },
}
CANCEL_INVITATION: Final[dict[str, Any]] = {
    "summary": "Cancel the order's invitation (a refund, a return, a test order)",
    "operationId": "cancelInvitation",
    "security": [{"basic": []}],
    "parameters": [TRKREF, _ORDER_REF, REQUEST_ID],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"reason": {"enum": ["cancelled", "refunded", "returned", "test"]}},
                    "required": ["reason"],
                }
            }
        },
    },
    "responses": {
        "200": json_answer("InvitationExplained", "Cancelled (again: the same answer)"),
        **AUTH_FAILURES,
        "404": json_answer("Message", "No processed order with this order_ref for this organisation"),
        "409": json_answer("Message", "Invitation already sent"),
        "413": json_answer("Message", "Payload too large"),
        "422": json_answer("Invalid", "Invalid cancellation: the reason is not one of the four"),
        **RATE_LIMITED,
        **FAILURES,
    },
}
PURCHASES: Final[dict[str, Any]] = {
    "summary": "One line per item of each of this customer's orders, newest order first",
    "operationId": "listPurchases",
    "security": [{"basic": []}],
    "parameters": [TRKREF, _EMAIL, REQUEST_ID],
    "responses": {
        "200": {
            "description": "A bare JSON array ([] for an address with no orders)",
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"$ref": REF.format(name="PurchaseLine")}}}
            },
        },
        **AUTH_FAILURES,
        "422": json_answer("Invalid", "Invalid purchaser: not an e-mail address"),
        **RATE_LIMITED,
        **FAILURES,
    },
}
