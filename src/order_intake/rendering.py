"""What a customer reads: the e-mails' and pages' templates (Jinja2 files), in the customer's language.

Templates live in templates/mail and templates/pages; `.html` ones are autoescaped, so every value a
retailer or customer supplied is escaped in HTML. The words come from the files
templates/translations/LANG.PART.toml (`en.mail.toml`, `de.pages.toml`: English, and each other
language there); a template asks for them with `t("key", name=value)`.
Dates are written by Babel for the customer's locale (`date(value)`).
"""

import datetime as dt
import functools
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Final

import babel
import babel.dates
import jinja2

__all__ = ["DEFAULT_LANGUAGE", "Reader", "languages", "reader_of", "render"]

DEFAULT_LANGUAGE: Final = "en"
# The locale of a language's dates when the order names no locale (English: as the default zone, London's).
_DEFAULT_LOCALES: Final = {"en": "en_GB"}
_TRANSLATIONS: Final = resources.files("order_intake") / "templates" / "translations"


@functools.cache
def _catalogues() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for entry in _TRANSLATIONS.iterdir():
        language, _, part = entry.name.partition(".")
        if part.endswith(".toml"):
            found.setdefault(language, {}).update(tomllib.loads(entry.read_text(encoding="utf-8")))
    return found


def languages() -> tuple[str, ...]:
    """The languages the customer's e-mails and pages are written in (English first)."""
    return (DEFAULT_LANGUAGE, *sorted(set(_catalogues()) - {DEFAULT_LANGUAGE}))


class Reader:
    """Who reads a text: the language of its words and the locale of its dates."""

    __slots__ = ("language", "locale")

    def __init__(self, language: str, locale: babel.Locale) -> None:
        self.language = language
        self.locale = locale

    def t(self, key: str, **values: object) -> str:
        """One sentence of the catalogue, its `{name}` places filled (English where this language lacks it)."""
        catalogues = _catalogues()
        text = catalogues.get(self.language, {}).get(key) or catalogues[DEFAULT_LANGUAGE][key]
        return text.format(**values) if values else text

    def date(self, value: dt.date) -> str:
        """A calendar date as this reader's locale writes it in full (6 December 2026, 6. Dezember 2026)."""
        return babel.dates.format_date(value, format="long", locale=self.locale)


def reader_of(language: str | None, locale: str | None) -> Reader:
    """The reader of an order: its locale's language if we have it, else its language, else English.

    Both come validated from the order (`language` lower-case ISO 639-1, `locale` as `en-GB`).
    """
    wanted = [code for code in ((locale or "")[:2].lower(), (language or "").lower()) if code]
    words = next((code for code in wanted if code in _catalogues()), DEFAULT_LANGUAGE)
    fallback = babel.Locale.parse(_DEFAULT_LOCALES.get(words, words))
    try:
        dates = babel.Locale.parse(locale.replace("-", "_")) if locale else fallback
    except (ValueError, babel.UnknownLocaleError):
        dates = fallback
    # The words' language decides; the locale adds only its country's forms.
    return Reader(words, dates if dates.language == words else fallback)


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("order_intake", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(name: str, reader: Reader, values: Mapping[str, object]) -> str:
    """A template (`mail/invitation.html`, `pages/review.html`, ...) for this reader."""
    return _environment().get_template(name).render(values, t=reader.t, date=reader.date, lang=reader.language)
