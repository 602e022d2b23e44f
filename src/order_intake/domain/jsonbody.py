"""Request bodies as JSON values: prices and other decimals exact, any malformation caught."""

import functools
import re
from decimal import Decimal
from typing import Any, Final

import msgspec

from order_intake.domain.membernames import repeats_a_name

# Floats become Decimal so that "10.10" keeps its digits; integers stay int (any size).
_decoder = msgspec.json.Decoder(float_hook=Decimal)


class Malformed(msgspec.Struct, frozen=True):
    """The body is not one valid JSON value."""

    detail: str


def _malformed(exc: Exception) -> Malformed:
    """What a decoding failure says about the body."""
    if isinstance(exc, UnicodeDecodeError):
        return Malformed("invalid UTF-8")
    if isinstance(exc, RecursionError):
        return Malformed("nested too deeply")
    if isinstance(exc, ArithmeticError):  # decimal.InvalidOperation: e.g. 1e1000000000000000000
        return Malformed("number out of range")
    return Malformed(str(exc))


# Everything decoding a body can raise on bad input.
_BAD_INPUT = (msgspec.DecodeError, UnicodeDecodeError, RecursionError, ArithmeticError)


def parse_body(body: bytes) -> object:
    """The JSON value of the body (None when empty: the contract treats it as `null`), or Malformed.

    An object naming a member twice, at any depth, is Malformed: the decoder keeps the last value,
    and the stored body would keep the other one where nothing reads it (an erasure could not find it).
    """
    if not body.strip():
        return None
    try:
        value = _decoder.decode(body)
    except _BAD_INPUT as exc:
        return _malformed(exc)
    if repeats_a_name(body, value):
        return Malformed("a member name repeated in one object")
    return value


class NotArray(msgspec.Struct, frozen=True):
    """The body is JSON, but not an array."""


class TooMany(msgspec.Struct, frozen=True):
    """An array with more elements than allowed (they are counted, not decoded)."""

    count: int


_elements = msgspec.json.Decoder(list[msgspec.Raw])
# A missing element: no JSON value is empty, so no element sent can be this (compared by identity).
_MISSING: Final = msgspec.Raw()


@functools.cache
def _first_elements(limit: int) -> msgspec.json.Decoder[Any]:
    """A decoder of an array's first `limit` elements, undecoded; the rest are checked but skipped.

    An array-like Struct keeps its fields and skips any elements past them without building anything,
    so an array of millions of tiny elements costs no memory (a list of msgspec.Raw would cost about
    60 bytes per element: 500 MB for a 16 MiB body).
    """
    fields = [(f"e{i}", msgspec.Raw, _MISSING) for i in range(limit)]
    return msgspec.json.Decoder(msgspec.defstruct("FirstElements", fields, array_like=True))


_one_value = msgspec.json.Decoder(msgspec.Raw)


def _not_array(body: bytes) -> NotArray | Malformed:
    """JSON that is not an array, or Malformed: checked without building the value (it may be 16 MiB).

    Skipping checks syntax, escapes and nesting but not UTF-8, so that is checked apart.
    """
    try:
        _one_value.decode(body)
        body.decode()
    except _BAD_INPUT as exc:
        return _malformed(exc)
    return NotArray()


def _first_elements_of(body: bytes, limit: int) -> list[msgspec.Raw] | NotArray | Malformed:
    """At most `limit` + 1 elements of the array, undecoded (slices of the body)."""
    try:
        if body.count(b",") < limit:  # too few commas for more than `limit` elements: the plain decoder is bounded
            return _elements.decode(body)
        first = msgspec.structs.astuple(_first_elements(limit + 1).decode(body))
    except msgspec.ValidationError:
        return _not_array(body)
    except _BAD_INPUT as exc:
        return _malformed(exc)
    return list(first[: first.index(_MISSING)] if _MISSING in first else first)


_NOT_STRUCTURE: Final = bytes(sorted(set(range(256)) - set(b'"[]{},')))
_TOKEN: Final = re.compile(rb'"[^"]*"|[\[{]+|[\]}]+|,+')


def count_elements(body: bytes) -> int:
    """How many elements a well-formed, non-empty JSON array has, in memory no larger than the body.

    Only the structure is kept: escaped backslashes and quotes go first (so that every quote left
    opens or closes a string), then every byte but quotes, brackets, braces and commas; strings
    without structure inside vanish, and so do empty containers, a few levels deep. The commas
    left outside any container separate the elements.
    """
    text = body.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    text = text[1:-1]  # the array's own brackets
    for _ in range(4):
        shorter = text.replace(b"[]", b"").replace(b"{}", b"")
        if len(shorter) == len(text):
            break
        text = shorter
    depth = commas = 0
    for token in _TOKEN.finditer(text):
        run = token[0]
        if run[0] in b"[{":
            depth += len(run)
        elif run[0] in b"]}":
            depth -= len(run)
        elif run[0] == ord(",") and depth == 0:
            commas += len(run)
    return commas + 1


def parse_batch(body: bytes, max_elements: int) -> list[msgspec.Raw] | NotArray | TooMany | Malformed:
    """Each element's exact bytes, undecoded; NotArray or Malformed otherwise (never raises).

    An empty body is `null`, as for single submissions: not an array. The syntax is checked, but
    what only decoding finds (invalid UTF-8, lone surrogates, numbers out of range) is left to
    parse_body of each element: the caller decodes one element at a time, so that the decoded
    values of a 16 MiB batch are never all held at once. Past `max_elements` elements the answer is
    TooMany, with the elements counted rather than sliced out.
    """
    if not body.strip():
        return NotArray()
    first = _first_elements_of(body, max_elements)
    if isinstance(first, list) and len(first) > max_elements:
        return TooMany(count_elements(body))
    return first
