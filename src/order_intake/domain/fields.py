"""Field kinds: how one JSON value is checked and normalised, and how it is described in JSON Schema."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, TypeGuard

from order_intake.domain.catalogue import MAX_ERRORS, invalid, more_errors, too_long

__all__ = [
    "FAILED",
    "MAX_TEXT",
    "REMEMBERED",
    "Check",
    "Errors",
    "Kind",
    "could_be_stored",
    "fail",
    "is_number",
    "plain_number",
    "printable_key",
    "text",
    "text_or_number",
]

FAILED: Final = object()
MAX_TEXT: Final = 255
# hot path: remembered texts (docs/hot-path.md). How many texts each remembering check keeps (an
# lru_cache of a pure function of the text, for short texts only, called inline: a wrapper's call
# would cost what the cache saves).
REMEMBERED: Final = 4096


def could_be_stored(text: str, maximum: int = MAX_TEXT) -> bool:
    """Whether a text from elsewhere (a URL's path) could equal a stored text field, without asking the store.

    Stored texts are stripped, at most `maximum` characters, and hold neither U+0000 (PostgreSQL
    cannot store it) nor a lone surrogate (not UTF-8): anything else is unknown before any query.
    """
    if not 0 < len(text) <= maximum or "\x00" in text or text.strip() != text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


# hot path: `count` is an attribute, read instead of len() (docs/hot-path.md)
class Errors:
    """The errors of one order in the order found: the first `limit` kept, the others only counted.

    `count` (and len()) counts them all, so that a check can tell whether it added any; a body built
    to produce millions of errors costs one counter, not millions of strings. The checks read `count`,
    an attribute: len() is a method call, and an order's checks ask a dozen times.
    """

    __slots__ = ("_kept", "_limit", "count")

    def __init__(self, limit: int = MAX_ERRORS) -> None:
        self._kept: list[str] = []
        self.count = 0
        self._limit = limit

    def append(self, message: str) -> None:
        """Record one error."""
        if self.count < self._limit:
            self._kept.append(message)
        self.count += 1

    def add(self, message: Callable[[str], str], path: str) -> None:
        """Record one error, writing its message only if it is kept."""
        if self.count < self._limit:
            self._kept.append(message(path))
        self.count += 1

    def __len__(self) -> int:
        return self.count

    def listed(self) -> tuple[str, ...]:
        """The kept errors, then one that counts the others if there are any."""
        unlisted = self.count - len(self._kept)
        return (*self._kept, more_errors(unlisted)) if unlisted else tuple(self._kept)


# A check receives a value that is not blank (strings already stripped and free of U+0000), its
# path and the error list; it returns the normalised value, or appends its errors and returns FAILED.
Check = Callable[[object, str, Errors], object]


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of field: its check and its JSON Schema fragment, kept side by side so they agree."""

    check: Check
    schema: Mapping[str, Any]
    # The accepted string form as an unanchored regex, valid in Python and ECMA-262 alike.
    pattern: str | None = None


def fail(errors: Errors, message: str) -> object:
    """Record one error and answer FAILED."""
    errors.append(message)
    return FAILED


def printable_key(key: object) -> str:
    """Write a body's key for a message, U+0000 (which cannot be stored) replaced."""
    return str(key).replace("\x00", "\ufffd")


def is_number(value: object) -> TypeGuard[int | Decimal]:
    """Tell whether a value is a JSON number: an int or a finite Decimal, never a boolean."""
    if isinstance(value, Decimal):
        return value.is_finite()
    return isinstance(value, int) and not isinstance(value, bool)


def plain_number(value: int | Decimal, maximum: int) -> str | None:
    """Write the number in plain notation (1E+3 as 1000) if at most `maximum` characters, else None.

    Bounds are checked before the text is built: the 11-byte JSON number 1e999999999 would
    otherwise expand to a gigabyte, and str() refuses ints of more than 4300 digits.
    """
    if isinstance(value, int):
        # A digit carries less than 4 bits, so more than 4 * maximum bits means too many digits.
        text = None if value.bit_length() > 4 * maximum else str(value)
    else:
        exponent = value.as_tuple().exponent
        if not isinstance(exponent, int) or exponent < -maximum or (value and value.adjusted() >= maximum):
            return None
        text = format(value, "f")
    return text if text is not None and len(text) <= maximum else None


def text(maximum: int) -> Kind:
    """Make the kind of a string of at most `maximum` characters."""

    def check(value: object, path: str, errors: Errors) -> object:
        if not isinstance(value, str):
            return fail(errors, invalid(path))
        if len(value) > maximum:
            return fail(errors, too_long(path, maximum))
        return value

    return Kind(check, {"type": "string", "maxLength": maximum})


def text_or_number(maximum: int) -> Kind:
    """Make the kind of a string, or a number stored as its string form, of `maximum` characters at most."""

    def check(value: object, path: str, errors: Errors) -> object:
        if isinstance(value, str):
            result = value
        elif not is_number(value):
            return fail(errors, invalid(path))
        elif isinstance(value, int) and value.bit_length() > 4 * maximum:
            return fail(errors, too_long(path, maximum))  # see plain_number
        else:
            result = str(value)
        return fail(errors, too_long(path, maximum)) if len(result) > maximum else result

    return Kind(check, {"type": ["string", "number"], "maxLength": maximum})
