"""Fields with a format: dates (dd-mm-yyyy), prices and email addresses."""

import datetime as dt
import functools
import re
from decimal import Decimal
from typing import Final

from email_validator import validate_email

from order_intake.domain.catalogue import invalid
from order_intake.domain.fields import MAX_TEXT, REMEMBERED, Errors, Kind, fail, is_number, plain_number

__all__ = ["DATE", "EMAIL", "PRICE", "library_email", "plain_email"]

# Longer input is never a valid address (254 octets at most); spares the library a megabyte.
_MAX_EMAIL_INPUT: Final = 1024

_DATE_PATTERN: Final = "[0-9]{2}-[0-9]{2}-[0-9]{4}"
_DATE: Final = re.compile(_DATE_PATTERN)


# hot path: remembered dates and prices (docs/hot-path.md).
# The same dates and prices come in order after order: the parsers below remember their answers
# (REMEMBERED of them each, short texts only, so memory stays bounded whatever comes), and a
# remembered answer skips the pattern and the conversion.
_DATE_LENGTH: Final = 10
_REMEMBERED_PRICE: Final = 32


@functools.lru_cache(maxsize=REMEMBERED)
def _date_from_text(value: str) -> dt.date | None:
    if _DATE.fullmatch(value):
        try:
            return dt.date(int(value[6:]), int(value[3:5]), int(value[:2]))
        except ValueError:  # not a calendar date: 31-02-2014, year 0000
            pass
    return None


def _check_date(value: object, path: str, errors: Errors) -> object:
    # dd-mm-yyyy is ten characters: nothing longer is remembered, or needs to be.
    if isinstance(value, str) and len(value) == _DATE_LENGTH:
        date = _date_from_text(value)
        if date is not None:
            return date
    return fail(errors, invalid(path))


DATE: Final = Kind(_check_date, {"type": "string"}, _DATE_PATTERN)

_PRICE_PATTERN: Final = "[0-9]+(?:[.,][0-9]+)?"
_PRICE: Final = re.compile(_PRICE_PATTERN)


@functools.lru_cache(maxsize=REMEMBERED)
def _price_from_text(value: str) -> Decimal | None:
    return Decimal(value.replace(",", ".")) if _PRICE.fullmatch(value) else None


def _check_price(value: object, path: str, errors: Errors) -> object:
    if isinstance(value, str):
        if len(value) <= MAX_TEXT:
            price = _price_from_text(value) if len(value) <= _REMEMBERED_PRICE else _price_from_text.__wrapped__(value)
            if price is not None:
                return price
    elif is_number(value) and value >= 0:
        # copy_abs turns -0.0 into 0.0 (abs() would round to the context's precision).
        plain = plain_number(value.copy_abs() if isinstance(value, Decimal) else value, MAX_TEXT)
        if plain is not None:
            return Decimal(plain)
    return fail(errors, invalid(path))


PRICE: Final = Kind(_check_price, {"type": ["number", "string"], "minimum": 0, "maxLength": MAX_TEXT}, _PRICE_PATTERN)


# hot path: the email fast path (docs/hot-path.md).
# The everyday address (plain ASCII, dot-atom local part, letters-only top-level domain) is
# recognised here in a microsecond; anything else goes to the library. A property test shows that
# every address this accepts, the library accepts too, and normalises the same way.
_PLAIN_EMAIL: Final = re.compile(
    r"(?P<local>[A-Za-z0-9_+-]{1,64}(?:\.[A-Za-z0-9_+-]+)*)@"
    r"(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
_SPECIAL_USE_TLDS: Final = frozenset({"arpa", "invalid", "local", "localhost", "onion", "test"})
_MAX_PLAIN_LOCAL: Final = 64
_MAX_PLAIN_ADDRESS: Final = 254


def plain_email(value: str) -> str | None:
    """The normalised form of an everyday ASCII address, or None to leave it to the library."""
    match = _PLAIN_EMAIL.fullmatch(value)
    if match is None or len(value) > _MAX_PLAIN_ADDRESS:
        return None
    local, domain = match.group("local"), match.group("domain").lower()
    if len(local) > _MAX_PLAIN_LOCAL or "--" in domain or domain.rsplit(".", 1)[1] in _SPECIAL_USE_TLDS:
        return None
    return f"{local}@{domain}"


def library_email(value: str) -> str | None:
    """The normalised form of an address as email-validator judges it (no DNS), or None.

    U+FFFD is refused: it stands for bytes that were not text (a URL's path arrives decoded with it in
    place of each byte that is not UTF-8), and no address is written with it.
    """
    if "\ufffd" in value:
        return None
    try:
        # Every option is explicit: the library's module-level defaults are mutable globals.
        email = validate_email(
            value,
            allow_smtputf8=True,
            allow_empty_local=False,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
            strict=False,
            check_deliverability=False,
            globally_deliverable=True,
            test_environment=False,
        )
    except Exception:  # noqa: BLE001 - whatever the library raises, the address is not one we accept
        return None
    return f"{email.local_part}@{email.domain.lower()}"


def _check_email(value: object, path: str, errors: Errors) -> object:
    if not isinstance(value, str) or len(value) > _MAX_EMAIL_INPUT:
        return fail(errors, invalid(path))
    normalised = plain_email(value) or library_email(value)
    return fail(errors, invalid(path)) if normalised is None else normalised


EMAIL: Final = Kind(_check_email, {"type": "string", "format": "email"})
