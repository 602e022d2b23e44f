"""A customer's reviews of an order's items: which items the review form asks about, and its answer read.

The form (pages/review.html) names its fields after each item's sku: `rating:<sku>` (one of 1 to 5,
or nothing) and `text:<sku>`. What the customer sent is read into one review per rated item, or
into the errors to show beside the fields, with what they typed kept so that nothing is lost.
"""

import dataclasses
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any, Final

from order_intake.domain.invitations import State

__all__ = [
    "MAX_TEXT",
    "NOTHING_RATED",
    "RATINGS",
    "RATING_INVALID",
    "RATING_REQUIRED",
    "REVIEWABLE",
    "TEXT_TOO_LONG",
    "Entered",
    "FormErrors",
    "Item",
    "Review",
    "items_of",
    "rating_field",
    "read_form",
    "text_field",
]

# The invitations whose review link works: those that are or will be e-mailed (purchases shows their link).
REVIEWABLE: Final = frozenset({State.SCHEDULED, State.SENT})
MAX_TEXT: Final = 5000
RATINGS: Final = (1, 2, 3, 4, 5)
# The item metadata keys that may carry a product's name, the first present one taken.
_NAME_KEYS: Final = ("name", "product_name", "title")
_RATING_VALUES: Final = {str(n): n for n in RATINGS}
# What a review's text keeps of the control characters: line breaks and tabs (U+0000 cannot even be stored).
_CONTROLS: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f]")

# What can be wrong with an answer: keys of the pages' translations (templates/translations/*.pages.toml).
RATING_INVALID: Final = "page_error_rating_invalid"
RATING_REQUIRED: Final = "page_error_rating_required"
TEXT_TOO_LONG: Final = "page_error_text_too_long"
NOTHING_RATED: Final = "page_error_nothing_rated"


@dataclasses.dataclass(frozen=True, slots=True)
class Item:
    """One product the customer is asked about: its sku, and its name when the retailer sent one."""

    sku: str
    name: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Review:
    """One item's review: a rating from 1 to 5 and a text (possibly empty)."""

    sku: str
    rating: int
    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class Entered:
    """What the customer sent for one item, as sent: shown again with the errors."""

    rating: str = ""
    text: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class FormErrors:
    """An answer that cannot be stored: the errors by sku, the form's own, and every item's input."""

    by_sku: Mapping[str, tuple[str, ...]]
    form: tuple[str, ...]
    entered: Mapping[str, Entered]


def rating_field(sku: str) -> str:
    """The form field of an item's rating."""
    return f"rating:{sku}"


def text_field(sku: str) -> str:
    """The form field of an item's text."""
    return f"text:{sku}"


def _name(item: Mapping[str, Any]) -> str | None:
    metadata = item.get("metadata")
    if not isinstance(metadata, Mapping):
        return None
    for key in _NAME_KEYS:
        value = metadata.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def items_of(document: Mapping[str, Any]) -> tuple[Item, ...]:
    """The order's items, once per sku (the first line of a sku names it), in the order's order."""
    found: dict[str, Item] = {}
    lines = document.get("order_items")
    for line in lines if isinstance(lines, list | tuple) else ():
        if isinstance(line, Mapping) and isinstance(line.get("sku"), str) and line["sku"] not in found:
            found[line["sku"]] = Item(line["sku"], _name(line))
    return tuple(found.values())


def _text(values: Sequence[str]) -> str:
    """An item's text as stored: line breaks as LF, no other control characters, no surrounding space."""
    given = values[0] if values else ""
    return _CONTROLS.sub("", given.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _rating(values: Sequence[str]) -> int | str | None:
    """An item's rating, None when not rated, RATING_INVALID when not one of 1 to 5 (or two different ones)."""
    given = {value for value in values if value}
    if not given:
        return None
    if len(given) > 1:
        return RATING_INVALID
    return _RATING_VALUES.get(given.pop(), RATING_INVALID)


def read_form(body: bytes, items: Sequence[Item]) -> tuple[Review, ...] | FormErrors:
    """A form-encoded answer read: one review per rated item (at least one), or every error found.

    A field that names no item of the order is ignored; a byte sequence that is not UTF-8 is read as
    U+FFFD, as browsers show it.
    """
    fields: dict[str, list[str]] = {}
    text = body.decode("utf-8", errors="replace")
    for name, value in urllib.parse.parse_qsl(text, keep_blank_values=True, errors="replace"):
        fields.setdefault(name, []).append(value)
    reviews: list[Review] = []
    by_sku: dict[str, tuple[str, ...]] = {}
    entered: dict[str, Entered] = {}
    for item in items:
        ratings, texts = fields.get(rating_field(item.sku), []), fields.get(text_field(item.sku), [])
        entered[item.sku] = Entered(next((r for r in ratings if r), ""), texts[0] if texts else "")
        rating, review_text = _rating(ratings), _text(texts)
        errors = [RATING_INVALID] if isinstance(rating, str) else []
        if rating is None and review_text:
            errors.append(RATING_REQUIRED)
        if len(review_text) > MAX_TEXT:
            errors.append(TEXT_TOO_LONG)
        if errors:
            by_sku[item.sku] = tuple(errors)
        elif isinstance(rating, int):
            reviews.append(Review(item.sku, rating, review_text))
    if by_sku or not reviews:
        return FormErrors(by_sku, () if by_sku or reviews else (NOTHING_RATED,), entered)
    return tuple(reviews)
