"""Suppressions: which form of an address a suppression is kept under, who may lift one, how a list pages."""

import base64
import binascii
import datetime as dt
from typing import Final, NamedTuple

from order_intake.domain.formats import library_email, plain_email
from order_intake.domain.invitations import Reason

__all__ = [
    "DEFAULT_PAGE",
    "MAX_PAGE",
    "RETAILER_REASON",
    "ListPosition",
    "cursor_of",
    "lifted_by_retailer",
    "page_size",
    "position_of",
    "suppression_address",
]

# As the validator: longer input is never an address, and is not worth the library's time.
_LONGEST_ADDRESS_INPUT: Final = 1024

# The reason of a suppression a retailer (or an operator for them) adds.
RETAILER_REASON: Final = Reason.SUPPRESSED_BY_RETAILER


def suppression_address(text: str) -> str | None:
    """The address as the validator stores it (so a suppression matches the orders' addresses), or None if invalid."""
    trimmed = text.strip()
    if not trimmed or len(trimmed) > _LONGEST_ADDRESS_INPUT:
        return None
    return plain_email(trimmed) or library_email(trimmed)


def lifted_by_retailer(reason: str) -> bool:
    """Whether a retailer may lift a suppression: only their own; an unsubscribe or a bounce stays."""
    return reason == RETAILER_REASON.value


# A list of suppressions comes in pages of this many unless the caller asks for another size up to MAX_PAGE.
DEFAULT_PAGE: Final = 100
MAX_PAGE: Final = 1000


class ListPosition(NamedTuple):
    """Where a page of suppressions ends, in the list's order: the last one's time, then its keyed hash."""

    created_at: dt.datetime
    email_hash: bytes


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_TIME_BYTES: Final = 8
_LONGEST_HASH: Final = 64
# Base64 of the longest position, unpadded: anything longer is not a cursor, and is not decoded.
_LONGEST_CURSOR: Final = (_TIME_BYTES + _LONGEST_HASH) * 4 // 3 + 1


def cursor_of(position: ListPosition) -> str:
    """The opaque cursor of a position: base64url of its time in microseconds since 1970, then its hash."""
    micros = (position.created_at - _EPOCH) // dt.timedelta(microseconds=1)
    raw = micros.to_bytes(_TIME_BYTES, "big", signed=True) + position.email_hash
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def position_of(cursor: str) -> ListPosition | None:
    """The position a cursor names, or None when no cursor_of gives this text (one written by hand)."""
    if not 0 < len(cursor) <= _LONGEST_CURSOR or not cursor.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at = _EPOCH + dt.timedelta(microseconds=int.from_bytes(raw[:_TIME_BYTES], "big", signed=True))
    except (binascii.Error, ValueError, OverflowError):
        return None
    position = ListPosition(created_at, raw[_TIME_BYTES:])
    if len(raw) <= _TIME_BYTES or cursor_of(position) != cursor:  # the one spelling cursor_of writes
        return None
    return position


def page_size(text: str) -> int | None:
    """A `limit` asked for: a whole number from 1 to MAX_PAGE written in decimal digits, else None."""
    if not 0 < len(text) <= len(str(MAX_PAGE)) or not (text.isascii() and text.isdigit()):
        return None
    size = int(text)
    return size if 1 <= size <= MAX_PAGE else None
