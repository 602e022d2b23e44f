"""The OpenAPI operation of each endpoint: its parameters and documented answers (table.py pairs them)."""

from typing import Any, Final

from order_intake.domain import catalogue
from order_intake.domain.access import MAX_TRKREF

REF = "#/components/schemas/{name}"


def _json(ref: str, description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(name=ref)}}},
    }
    if headers:
        answer["headers"] = headers
    return answer


_STRING = {"schema": {"type": "string"}}
_UUID = {"schema": {"type": "string", "format": "uuid"}}
# The contract's form of a trkref: upper-case letters, digits and '-', at most 64 characters.
_TRKREF = {
    "name": "trkref",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": f"^[A-Z0-9-]{{1,{MAX_TRKREF}}}$"},
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
_REQUEST_ID = {"name": "X-Request-Id", "in": "header", "required": False, **_STRING}
_AUTH_FAILURES = {
    "401": _json("Message", "Missing or wrong credentials", {"WWW-Authenticate": _STRING}),
    "400": _json("Message", "Invalid TRKREF supplied (unknown, or not linked to this key)"),
    "403": _json("Forbidden", "Access denied: feature off for the organisation, or key lacks permission"),
}
# Every authenticated operation; limited keys get the RateLimit-Policy and RateLimit headers on
# their other answers too (rate 0 keys: none). docs/decisions.md maps the token bucket to q, w, r, t.
_RATE_LIMITED = {
    "429": _json(
        "Message",
        "Too many requests: this API key's token bucket is empty",
        {
            "Retry-After": {"schema": {"type": "integer", "minimum": 1}, "description": "Seconds until a token"},
            "RateLimit-Policy": {"schema": {"type": "string"}, "description": '"default";q=<burst>;w=<seconds>'},
            "RateLimit": {"schema": {"type": "string"}, "description": '"default";r=<remaining>;t=<seconds>'},
        },
    )
}
_FAILURES = {
    "500": _json("Message", "Internal server error"),
    "503": _json("Message", "Service unavailable (the database does not answer)"),
}


SUBMIT: Final[dict[str, Any]] = {
    "summary": "Submit one customer order",
    "operationId": "submitCustomerOrder",
    "security": [{"basic": []}],
    "parameters": [_TRKREF, _IDEMPOTENCY_KEY, _REQUEST_ID],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": REF.format(name="CustomerOrderRequest")}}},
    },
    "responses": {
        "202": _json("OrderAccepted", "Accepted and durably stored", {"Location": _STRING}),
        **_AUTH_FAILURES,
        "408": _json("Message", "Request timeout: the body did not arrive in time"),
        "409": _json("Message", "A request with this Idempotency-Key is in progress"),
        "413": _json("Message", f"Payload too large (over {catalogue.MAX_ORDER_BYTES // 2**20} MiB)"),
        "422": _json("Invalid", "Invalid customer order, or no data provided"),
        **_RATE_LIMITED,
        **_FAILURES,
    },
}
SHOW: Final[dict[str, Any]] = {
    "summary": "One accepted submission",
    "operationId": "getCustomerOrderSubmission",
    "security": [{"basic": []}],
    "parameters": [_TRKREF, {"name": "id", "in": "path", "required": True, **_UUID}, _REQUEST_ID],
    "responses": {
        "200": _json("Submission", "The submission and its normalised order"),
        **_AUTH_FAILURES,
        "404": _json("Message", "No such submission for this organisation"),
        **_RATE_LIMITED,
        **_FAILURES,
    },
}
SHOW_CANONICAL: Final[dict[str, Any]] = {
    "summary": "One canonical order: every processed submission of its order_ref merged",
    "operationId": "getCustomerOrder",
    "security": [{"basic": []}],
    "parameters": [_TRKREF, {"name": "order_ref", "in": "path", "required": True, **_STRING}, _REQUEST_ID],
    "responses": {
        "200": _json("CanonicalOrder", "The merged order and its version"),
        **_AUTH_FAILURES,
        "404": _json("Message", "No processed submission of this order_ref for this organisation"),
        **_RATE_LIMITED,
        **_FAILURES,
    },
}
ORGANISATIONS: Final[dict[str, Any]] = {
    "summary": "The organisations this API key is linked to",
    "operationId": "listOrganisations",
    "security": [{"basic": []}],
    "parameters": [_REQUEST_ID],
    "responses": {
        "200": _json("Organisations", "Sorted by trkref"),
        "401": _AUTH_FAILURES["401"],
        **_RATE_LIMITED,
        **_FAILURES,
    },
}
_BATCH_FAILURES: Final[dict[str, Any]] = {
    "401": _json("BatchUnauthorized", "Missing or wrong credentials", {"WWW-Authenticate": _STRING}),
    "403": _json("Forbidden", "The key lacks the customer_order permission"),
}
SUBMIT_BATCH: Final[dict[str, Any]] = {
    "summary": "Submit a batch of customer orders, possibly for several organisations",
    "operationId": "submitCustomerOrderBatch",
    "security": [{"basic": []}],
    "parameters": [_IDEMPOTENCY_KEY, _REQUEST_ID],
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
        "202": _json("BatchOutcome", "Batch Accepted: every element stored", {"Location": _STRING}),
        "206": _json("BatchOutcome", "Batch partially accepted", {"Location": _STRING}),
        "400": _json("Message", "Malformed JSON or invalid Idempotency-Key"),
        **_BATCH_FAILURES,
        "408": _json("Message", "Request timeout: the body did not arrive in time"),
        "409": _json("Message", "A request with this Idempotency-Key is in progress"),
        "413": _json("Message", f"Payload too large (over {catalogue.MAX_BATCH_BYTES // 2**20} MiB)"),
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
        **_RATE_LIMITED,
        **_FAILURES,
    },
}
SHOW_BATCH: Final[dict[str, Any]] = {
    "summary": "One batch's outcome",
    "operationId": "getCustomerOrderBatch",
    "security": [{"basic": []}],
    "parameters": [{"name": "batch_id", "in": "path", "required": True, **_UUID}, _REQUEST_ID],
    "responses": {
        "200": _json("Batch", "The batch's summary, ids and errors"),
        **_BATCH_FAILURES,
        "404": _json("Message", "No such batch for this key's organisations"),
        **_RATE_LIMITED,
        **_FAILURES,
    },
}
_PROBE: Final[dict[str, Any]] = {"responses": {"200": _json("Health", "OK"), "503": _json("Health", "Not ready")}}

HEALTH: Final[dict[str, Any]] = {
    "summary": "Liveness",
    "operationId": "health",
    "responses": {"200": _json("Health", "OK")},
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
