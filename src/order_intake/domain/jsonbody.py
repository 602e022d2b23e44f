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


class NotArray(msgspec.Struct, frozen=True):
    """The body is JSON, but not an array."""


_elements = msgspec.json.Decoder(list[msgspec.Raw])


def parse_batch(body: bytes) -> list[tuple[bytes, object]] | NotArray | Malformed:
    """Each element's exact bytes and JSON value; NotArray or Malformed otherwise (never raises).

    An empty body is `null`, as for single submissions: not an array.
    """
    if not body.strip():
        return NotArray()
    try:
        raws = _elements.decode(body)
    except msgspec.ValidationError:
        whole = parse_body(body)
        return whole if isinstance(whole, Malformed) else NotArray()
    except msgspec.DecodeError as exc:
        return Malformed(str(exc))
    except (UnicodeDecodeError, RecursionError):
        return Malformed("invalid UTF-8 or nested too deeply")
    elements: list[tuple[bytes, object]] = []
    for raw in raws:
        exact = bytes(raw)
        value = parse_body(exact)
        if isinstance(value, Malformed):
            return value
        elements.append((exact, value))
    return elements
