"""ISO code fields: language (639-1), locale, country (3166-1 alpha-2) and currency (4217)."""

import re
from collections.abc import Callable
from typing import Final

import pycountry

from order_intake.domain.catalogue import invalid
from order_intake.domain.fields import Errors, Kind, fail

__all__ = ["COUNTRIES", "COUNTRY", "CURRENCIES", "CURRENCY", "LANGUAGE", "LANGUAGES", "LOCALE"]

# hot path: read from pycountry once, at import: a set lookup per field (docs/hot-path.md)
LANGUAGES: Final = frozenset(
    language.alpha_2.lower() for language in pycountry.languages if hasattr(language, "alpha_2")
)
COUNTRIES: Final = frozenset(country.alpha_2.upper() for country in pycountry.countries)
CURRENCIES: Final = frozenset(currency.alpha_3.upper() for currency in pycountry.currencies)


def _code(codes: frozenset[str], case: Callable[[str], str], pattern: str) -> Kind:
    """Make the kind of a code of `codes`, matched case-insensitively, stored in their case."""

    def check(value: object, path: str, errors: Errors) -> object:
        # ASCII first: case mapping would turn the Kelvin sign into "k", "ß" into "SS".
        if isinstance(value, str) and value.isascii():
            code = case(value)
            if code in codes:
                return code
        return fail(errors, invalid(path))

    return Kind(check, {"type": "string"}, pattern)


LANGUAGE: Final = _code(LANGUAGES, str.lower, "[A-Za-z]{2}")
COUNTRY: Final = _code(COUNTRIES, str.upper, "[A-Za-z]{2}")
CURRENCY: Final = _code(CURRENCIES, str.upper, "[A-Za-z]{3}")

_LOCALE_PATTERN: Final = "[A-Za-z]{2}[-_][A-Za-z]{2}"
_LOCALE: Final = re.compile(_LOCALE_PATTERN)


def _check_locale(value: object, path: str, errors: Errors) -> object:
    if isinstance(value, str) and _LOCALE.fullmatch(value):
        language, country = value[:2].lower(), value[3:].upper()
        if language in LANGUAGES and country in COUNTRIES:
            return f"{language}-{country}"
    return fail(errors, invalid(path))


LOCALE: Final = Kind(_check_locale, {"type": "string"}, _LOCALE_PATTERN)
