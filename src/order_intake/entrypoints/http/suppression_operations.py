"""The OpenAPI operations of the suppression endpoints (table.py pairs them with their routes)."""

from typing import Any, Final

from order_intake.domain.suppressions import DEFAULT_PAGE, MAX_PAGE
from order_intake.entrypoints.http.operations import (
    AUTH_FAILURES,
    FAILURES,
    RATE_LIMITED,
    REQUEST_ID,
    TRKREF,
    json_answer,
)

_EMAIL = {
    "name": "email",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "format": "email"},
    "description": "Compared as the validator stores an order's e-mail: the domain lower-cased, the local part as sent",
}
_INVALID_EMAIL = {"422": json_answer("Invalid", "Invalid suppression: not an e-mail address (no query made)")}
_LIMIT = {
    "name": "limit",
    "in": "query",
    "required": False,
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE},
    "description": "How many suppressions at most",
}
_AFTER = {
    "name": "after",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
    "description": "The `next` cursor of the previous page (opaque; only one this API gave is valid)",
}

LIST_SUPPRESSIONS: Final[dict[str, Any]] = {
    "summary": "The organisation's suppressed addresses, oldest first, a page at a time",
    "operationId": "listSuppressions",
    "security": [{"basic": []}],
    "parameters": [TRKREF, _LIMIT, _AFTER, REQUEST_ID],
    "responses": {
        "200": json_answer("Suppressions", "A page, and the next one's cursor (null: the last page)"),
        **AUTH_FAILURES,
        "422": json_answer("Invalid", "Invalid query: limit not 1 to 1000, or a cursor this API did not give"),
        **RATE_LIMITED,
        **FAILURES,
    },
}
SHOW_SUPPRESSION: Final[dict[str, Any]] = {
    "summary": "One address's suppression, whatever its reason",
    "operationId": "getSuppression",
    "security": [{"basic": []}],
    "parameters": [TRKREF, _EMAIL, REQUEST_ID],
    "responses": {
        "200": json_answer("Suppression", "The address is suppressed: why, since when"),
        **AUTH_FAILURES,
        "404": json_answer("Message", "The address is not suppressed"),
        **_INVALID_EMAIL,
        **RATE_LIMITED,
        **FAILURES,
    },
}
SUPPRESS: Final[dict[str, Any]] = {
    "summary": "Never invite this address at this organisation (reason suppressed_by_retailer); no body",
    "operationId": "putSuppression",
    "security": [{"basic": []}],
    "parameters": [TRKREF, _EMAIL, REQUEST_ID],
    "responses": {
        "200": json_answer("Suppression", "Already suppressed: its reason and date, unchanged"),
        "201": json_answer("Suppression", "Suppressed; the address's scheduled invitations are now suppressed"),
        **AUTH_FAILURES,
        **_INVALID_EMAIL,
        **RATE_LIMITED,
        **FAILURES,
    },
}
LIFT_SUPPRESSION: Final[dict[str, Any]] = {
    "summary": "Lift the retailer's suppression of this address; its unsent invitations are planned again",
    "operationId": "deleteSuppression",
    "security": [{"basic": []}],
    "parameters": [TRKREF, _EMAIL, REQUEST_ID],
    "responses": {
        "204": {"description": "Lifted, or the address was not suppressed"},
        **AUTH_FAILURES,
        "409": json_answer("Message", "Suppressed by the customer: unsubscribed or bounced, only they can undo it"),
        **_INVALID_EMAIL,
        **RATE_LIMITED,
        **FAILURES,
    },
}
