"""The metadata of an order item: free keys ([a-z0-9_]+) with JSON scalar values, stored as given."""

import functools
import re
from collections.abc import Callable
from typing import Final

from order_intake.domain.catalogue import invalid, too_long
from order_intake.domain.fields import FAILED, REMEMBERED, Errors, Kind, fail, is_number, plain_number, printable_key

__all__ = ["MAX_KEYS", "MAX_VALUE", "METADATA"]

MAX_KEYS: Final = 100
MAX_VALUE: Final = 1000
_KEY_PATTERN: Final = "[a-z0-9_]+"
_KEY: Final = re.compile(_KEY_PATTERN)


# Keys of at most this many characters are remembered (REMEMBERED of them at most): memory stays
# bounded whatever keys come; a longer key is checked every time.
_REMEMBERED_KEY: Final = 64


# hot path: remembered metadata keys (docs/hot-path.md)
@functools.lru_cache(maxsize=REMEMBERED)
def _valid_key(key: str) -> bool:
    """Whether a key has the allowed form; remembered, since the same few keys come in every order.

    A remembered answer costs about 70 ns, the pattern 180 (and many more instructions).
    """
    return _KEY.fullmatch(key) is not None


def _too_long(path: str) -> str:
    return too_long(path, MAX_VALUE)


# hot path: a text is tested for first (docs/hot-path.md)
def _problem(value: object) -> Callable[[str], str] | None:
    """Say what is wrong with one value (a message for its path), or None.

    A number's length is that of its plain notation, so that an accepted number always fits the
    database's numeric type (1E+2000 is a 2001-character number).
    """
    if isinstance(value, str):  # first: nearly every value is a text
        if "\x00" in value:
            return invalid
        return _too_long if len(value) > MAX_VALUE else None
    if value is None or isinstance(value, bool):
        return None
    if is_number(value):
        return None if plain_number(value, MAX_VALUE) is not None else _too_long
    return invalid


def _check_metadata(value: object, path: str, errors: Errors) -> object:
    if not isinstance(value, dict) or len(value) > MAX_KEYS:
        return fail(errors, invalid(path))
    count = errors.count
    for key, item in value.items():
        valid = isinstance(key, str) and (
            _valid_key(key) if len(key) <= _REMEMBERED_KEY else _valid_key.__wrapped__(key)
        )
        problem = _problem(item) if valid else invalid
        if problem is not None:
            errors.add(problem, f"{path}.{printable_key(key)}")
    # A copy: the order must not change if the caller later changes the body it decoded.
    return dict(value) if errors.count == count else FAILED


METADATA: Final = Kind(
    _check_metadata,
    {
        "type": "object",
        "propertyNames": {"pattern": f"^{_KEY_PATTERN}$"},
        "maxProperties": MAX_KEYS,
        "additionalProperties": {"type": ["string", "number", "boolean", "null"], "maxLength": MAX_VALUE},
    },
)
