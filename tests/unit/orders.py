"""Shortcuts for the validation tests: orders with one part changed, and outcomes unwrapped."""

import decimal
from typing import Any

import msgspec

from order_intake.domain.order import Accepted, CustomerOrder, Rejected
from order_intake.domain.validation import validate_order
from tests.strategies import TRKREF

_DECODER = msgspec.json.Decoder(float_hook=decimal.Decimal)


def decoded(body: object) -> Any:
    """The body as the HTTP layer hands it over: encoded to JSON and decoded with exact decimals."""
    return _DECODER.decode(msgspec.json.encode(body))


def rejected(body: object, *, trkref_optional: bool = False) -> Rejected:
    """Validate `body` for TRKREF, expecting a rejection."""
    result = validate_order(body, trkref=TRKREF, trkref_optional=trkref_optional)
    assert isinstance(result, Rejected), result
    return result


def errors_of(body: object, *, trkref_optional: bool = False) -> tuple[str, ...]:
    """The errors of a body that must be rejected."""
    return rejected(body, trkref_optional=trkref_optional).errors


def accepted(body: object, *, trkref_optional: bool = False) -> Accepted:
    """Validate `body` for TRKREF, expecting it accepted."""
    result = validate_order(body, trkref=TRKREF, trkref_optional=trkref_optional)
    assert isinstance(result, Accepted), result
    return result


def order_of(body: object, *, trkref_optional: bool = False) -> CustomerOrder:
    """The normalised order of a body that must be accepted."""
    return accepted(body, trkref_optional=trkref_optional).order
