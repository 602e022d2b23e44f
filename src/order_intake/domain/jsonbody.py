"""Request bodies as JSON values: prices and other decimals exact, any malformation caught."""

from decimal import Decimal

import msgspec

# Floats become Decimal so that "10.10" keeps its digits; integers stay int (any size).
_decoder = msgspec.json.Decoder(float_hook=Decimal)


class Malformed(msgspec.Struct, frozen=True):
    """The body is not one valid JSON value."""

    detail: str


def parse_body(body: bytes) -> object:
    """The JSON value of the body (None when empty: the contract treats it as `null`), or Malformed."""
    if not body.strip():
        return None
    try:
        return _decoder.decode(body)
    except msgspec.DecodeError as exc:
        return Malformed(str(exc))
    except UnicodeDecodeError:
        return Malformed("invalid UTF-8")
    except RecursionError:
        return Malformed("nested too deeply")
