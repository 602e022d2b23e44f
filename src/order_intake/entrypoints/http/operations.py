"""The OpenAPI operation of each endpoint: its parameters and documented answers (table.py pairs them)."""

from typing import Any, Final

from order_intake.domain import catalogue
from order_intake.domain.access import TRKREF_PATTERN

REF = "#/components/schemas/{name}"


def json_answer(ref: str, description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """An answer with a JSON body of this component's schema."""
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(name=ref)}}},
    }
    if headers:
        answer["headers"] = headers
    return answer


STRING = {"schema": {"type": "string"}}
_UUID = {"schema": {"type": "string", "format": "uuid"}}
# The contract's form of a trkref: upper-case letters, digits and '-', at most 64 characters.
TRKREF = {
    "name": "trkref",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": f"^{TRKREF_PATTERN}$"},
    "description": "The organisation",
}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    # 1 to 255 printable ASCII characters, not all spaces (else 400 Invalid Idempotency-Key).
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": catalogue.MAX_IDEMPOTENCY_KEY,
        "pattern": "^[ -~]*[!-~][ -~]*$",
    },
}
REQUEST_ID = {"name": "X-Request-Id", "in": "header", "required": False, **STRING}
AUTH_FAILURES = {
    "401": json_answer("Message", "Missing or wrong credentials", {"WWW-Authenticate": STRING}),
    "400": json_answer("Message", "Invalid TRKREF supplied (unknown, or not linked to this key)"),
    "403": json_answer("Forbidden", "Access denied: feature off for the organisation, or key lacks permission"),
}
# Every authenticated operation; limited keys get the RateLimit-Policy and RateLimit headers on
# their other answers too (rate 0 keys: none). docs/decisions.md maps the token bucket to q, w, r, t.
RATE_LIMITED = {
    "429": json_answer(
        "Message",
        "Too many requests: this API key's token bucket is empty",
        {
            "Retry-After": {"schema": {"type": "integer", "minimum": 1}, "description": "Seconds until a token"},
            "RateLimit-Policy": {"schema": {"type": "string"}, "description": '"default";q=<burst>;w=<seconds>'},
            "RateLimit": {"schema": {"type": "string"}, "description": '"default";r=<remaining>;t=<seconds>'},
        },
    )
}
FAILURES = {
    "500": json_answer("Message", "Internal server error"),
    "503": json_answer(
        "Message",
        "Service unavailable: the database does not answer, or too many orders wait for it",
        {"Retry-After": {"schema": {"type": "integer", "minimum": 1}, "description": "Seconds to wait before a retry"}},
    ),
}


SUBMIT: Final[dict[str, Any]] = {
    "summary": "Submit one customer order",
    "operationId": "submitCustomerOrder",
    "security": [{"basic": []}],
    "parameters": [TRKREF, _IDEMPOTENCY_KEY, REQUEST_ID],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": REF.format(name="CustomerOrderRequest")}}},
    },
    "responses": {
        "202": json_answer("OrderAccepted", "Accepted and durably stored", {"Location": STRING}),
        **AUTH_FAILURES,
        "408": json_answer("Message", "Request timeout: the body did not arrive in time"),
        "409": json_answer("Message", "A request with this Idempotency-Key is in progress"),
        "413": json_answer("Message", f"Payload too large (over {catalogue.MAX_ORDER_BYTES // 2**20} MiB)"),
        "422": json_answer("Invalid", "Invalid customer order, or no data provided"),
        **RATE_LIMITED,
        **FAILURES,
    },
}
SHOW: Final[dict[str, Any]] = {
    "summary": "One accepted submission",
    "operationId": "getCustomerOrderSubmission",
    "security": [{"basic": []}],
    "parameters": [TRKREF, {"name": "id", "in": "path", "required": True, **_UUID}, REQUEST_ID],
    "responses": {
        "200": json_answer("Submission", "The submission and its normalised order"),
        **AUTH_FAILURES,
        "404": json_answer("Message", "No such submission for this organisation"),
        **RATE_LIMITED,
        **FAILURES,
    },
}
SHOW_CANONICAL: Final[dict[str, Any]] = {
    "summary": "One canonical order: every processed submission of its order_ref merged",
    "operationId": "getCustomerOrder",
    "security": [{"basic": []}],
    "parameters": [TRKREF, {"name": "order_ref", "in": "path", "required": True, **STRING}, REQUEST_ID],
    "responses": {
        "200": json_answer("CanonicalOrder", "The merged order and its version"),
        **AUTH_FAILURES,
        "404": json_answer("Message", "No processed submission of this order_ref for this organisation"),
        **RATE_LIMITED,
        **FAILURES,
    },
}
ORGANISATIONS: Final[dict[str, Any]] = {
    "summary": "The organisations this API key is linked to",
    "operationId": "listOrganisations",
    "security": [{"basic": []}],
    "parameters": [REQUEST_ID],
    "responses": {
        "200": json_answer("Organisations", "Sorted by trkref"),
        "401": AUTH_FAILURES["401"],
        **RATE_LIMITED,
        **FAILURES,
    },
}
_BATCH_FAILURES: Final[dict[str, Any]] = {
    "401": json_answer("BatchUnauthorized", "Missing or wrong credentials", {"WWW-Authenticate": STRING}),
    "403": json_answer("Forbidden", "The key lacks the customer_order permission"),
}
SUBMIT_BATCH: Final[dict[str, Any]] = {
    "summary": "Submit a batch of customer orders, possibly for several organisations",
    "operationId": "submitCustomerOrderBatch",
    "security": [{"basic": []}],
    "parameters": [_IDEMPOTENCY_KEY, REQUEST_ID],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": catalogue.MAX_BATCH,
                    "items": {"$ref": REF.format(name="CustomerOrderRequest")},
                }
            }
        },
    },
    "responses": {
        "202": json_answer("BatchOutcome", "Batch Accepted: every element stored", {"Location": STRING}),
        "206": json_answer("BatchOutcome", "Batch partially accepted", {"Location": STRING}),
        "400": json_answer("Message", "Malformed JSON or invalid Idempotency-Key"),
        **_BATCH_FAILURES,
        "408": json_answer("Message", "Request timeout: the body did not arrive in time"),
        "409": json_answer("Message", "A request with this Idempotency-Key is in progress"),
        "413": json_answer("Message", f"Payload too large (over {catalogue.MAX_BATCH_BYTES // 2**20} MiB)"),
        "422": {
            "description": (
                "Batch is invalid: no element accepted, or a problem of the whole batch;"
                " or an Idempotency-Key reused with a different body"
            ),
            "content": {
                "application/json": {
                    "schema": {
                        # anyOf, not oneOf: a BatchRefused answer also has the shape of Invalid.
                        "anyOf": [
                            {"$ref": REF.format(name="BatchOutcome")},
                            {"$ref": REF.format(name="BatchRefused")},
                            {"$ref": REF.format(name="Invalid")},
                        ]
                    }
                }
            },
        },
        **RATE_LIMITED,
        **FAILURES,
    },
}
SHOW_BATCH: Final[dict[str, Any]] = {
    "summary": "One batch's outcome",
    "operationId": "getCustomerOrderBatch",
    "security": [{"basic": []}],
    "parameters": [{"name": "batch_id", "in": "path", "required": True, **_UUID}, REQUEST_ID],
    "responses": {
        "200": json_answer("Batch", "The batch's summary, ids and errors"),
        **_BATCH_FAILURES,
        "404": json_answer("Message", "No such batch for this key's organisations"),
        **RATE_LIMITED,
        **FAILURES,
    },
}
_PROBE: Final[dict[str, Any]] = {
    "responses": {"200": json_answer("Health", "OK"), "503": json_answer("Health", "Not ready")}
}

HEALTH: Final[dict[str, Any]] = {
    "summary": "Liveness",
    "operationId": "health",
    "responses": {"200": json_answer("Health", "OK")},
}
READY: Final[dict[str, Any]] = {"summary": "Readiness: the database answers", "operationId": "ready", **_PROBE}
METRICS: Final[dict[str, Any]] = {
    "summary": "Prometheus metrics of every server process (no personal data, no per-customer labels)",
    "operationId": "metrics",
    "responses": {
        "200": {
            "description": "Prometheus text exposition format 0.0.4",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
}
OPENAPI: Final[dict[str, Any]] = {
    "summary": "This document",
    "operationId": "openapi",
    "responses": {
        "200": {
            "description": "OpenAPI 3.1 document",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
}
