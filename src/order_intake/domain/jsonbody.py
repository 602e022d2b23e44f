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
    except ArithmeticError:  # decimal.InvalidOperation: an exponent too large to represent, e.g. 1e1000000000000000000
        return Malformed("number out of range")


class NotArray(msgspec.Struct, frozen=True):
    """The body is JSON, but not an array."""


class TooMany(msgspec.Struct, frozen=True):
    """An array with more elements than allowed (they are counted, not decoded)."""

    count: int


_elements = msgspec.json.Decoder(list[msgspec.Raw])


def _raw_elements(body: bytes) -> list[msgspec.Raw] | NotArray | Malformed:
    """The array's elements, undecoded (cheap: nothing is built but slices of the body)."""
    if not body.strip():
        return NotArray()
    try:
        return _elements.decode(body)
    except msgspec.ValidationError:
        whole = parse_body(body)
        return whole if isinstance(whole, Malformed) else NotArray()
    except msgspec.DecodeError as exc:
        return Malformed(str(exc))
    except (UnicodeDecodeError, RecursionError):
        return Malformed("invalid UTF-8 or nested too deeply")


def parse_batch(body: bytes, max_elements: int) -> list[tuple[bytes, object]] | NotArray | TooMany | Malformed:
    """Each element's exact bytes and JSON value; NotArray or Malformed otherwise (never raises).

    An empty body is `null`, as for single submissions: not an array.
    """
    raws = _raw_elements(body)
    if not isinstance(raws, list):
        return raws
    if len(raws) > max_elements:
        return TooMany(len(raws))
    elements: list[tuple[bytes, object]] = []
    for raw in raws:
        exact = bytes(raw)
        value = parse_body(exact)
        if isinstance(value, Malformed):
            return value
        elements.append((exact, value))
    return elements
