"""The OpenAPI 3.1 document, generated from the answer types and the validator's field table."""

from functools import cache

import msgspec

from order_intake import __version__
from order_intake.domain.answers import (
    Batch,
    BatchOutcome,
    BatchRefused,
    BatchUnauthorized,
    CanonicalOrder,
    Forbidden,
    Health,
    Invalid,
    Message,
    OrderAccepted,
    Organisations,
    Submission,
)
from order_intake.domain.invitation_answers import InvitationExplained, PurchaseLine, Suppression, Suppressions
from order_intake.domain.order import decimals_as_numbers
from order_intake.domain.validation import input_json_schema
from order_intake.entrypoints.http.operations import REF
from order_intake.entrypoints.http.table import openapi_paths

_ANSWERS = (
    InvitationExplained,
    PurchaseLine,
    Suppression,
    Suppressions,
    Message,
    Forbidden,
    Invalid,
    OrderAccepted,
    Submission,
    CanonicalOrder,
    Organisations,
    Health,
    BatchUnauthorized,
    BatchOutcome,
    BatchRefused,
    Batch,
)


@cache
def document() -> bytes:
    """The whole document, built once."""
    _, generated = msgspec.json.schema_components(_ANSWERS, ref_template=REF)
    schemas = decimals_as_numbers(generated)
    assert isinstance(schemas, dict)  # noqa: S101 - a dict maps to a dict
    schemas["CustomerOrderRequest"] = input_json_schema()
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "order-intake: customer order API", "version": __version__},
        "paths": openapi_paths(),
        "components": {"schemas": schemas, "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}}},
    }
    return msgspec.json.encode(doc)
