"""The review form's rules (domain/reviews.py), against an independent reading of them, for any answer."""

import re
import urllib.parse
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from order_intake.domain.reviews import (
    MAX_TEXT,
    NOTHING_RATED,
    RATING_INVALID,
    RATING_REQUIRED,
    TEXT_TOO_LONG,
    Entered,
    FormErrors,
    Item,
    Review,
    items_of,
    rating_field,
    read_form,
    text_field,
)
from tests.strategies import any_json, review_answers, review_items

Answers = dict[str, tuple[int | None, str]]


def _expected(
    items: tuple[Item, ...], answers: Answers
) -> tuple[tuple[Review, ...], dict[str, tuple[str, ...]], tuple[str, ...]]:
    """The rule as the contract words it: a rating for each comment, comments up to 5,000, one item rated at least.

    The reviews, the errors by sku, the form's own errors.
    """
    errors: dict[str, tuple[str, ...]] = {}
    for sku, (rating, text) in answers.items():
        wrong = [RATING_REQUIRED] if rating is None and text else []
        wrong += [TEXT_TOO_LONG] if len(text) > MAX_TEXT else []
        if wrong:
            errors[sku] = tuple(wrong)
    rated = tuple(Review(item.sku, r, t) for item in items for r, t in [answers[item.sku]] if r is not None)
    return rated, errors, (NOTHING_RATED,) if not errors and not rated else ()


def _form(draw: st.DrawFn, answers: Answers) -> bytes:
    """The answers as a browser sends them, fields in any order, an unrated item sent empty or left out."""
    pairs: list[tuple[str, str]] = []
    for sku, (rating, text) in answers.items():
        if rating is not None or draw(st.booleans()):
            pairs.append((rating_field(sku), "" if rating is None else str(rating)))
        if text or draw(st.booleans()):
            pairs.append((text_field(sku), text.replace("\n", "\r\n") if draw(st.booleans()) else text))
    pairs.append(("confirm", "1"))
    return urllib.parse.urlencode(draw(st.permutations(pairs))).encode()


@given(review_answers(), st.data())
def test_an_answer_is_read_as_the_rule_says(answered: tuple[tuple[Item, ...], Answers], data: st.DataObject) -> None:
    """Reviews of the rated items in the order's order, or exactly the errors the rule names, input kept."""
    items, answers = answered
    read = read_form(_form(data.draw, answers), items)
    rated, errors, form = _expected(items, answers)
    if not errors and not form:
        assert read == rated
    else:
        assert isinstance(read, FormErrors)
        assert (dict(read.by_sku), read.form) == (errors, form)
        assert {sku: e.text.replace("\r\n", "\n") for sku, e in read.entered.items()} == {
            sku: text for sku, (_, text) in answers.items()
        }


@given(review_items(), st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_body_is_read_into_sound_reviews_or_errors_without_failing(items: tuple[Item, ...], body: bytes) -> None:
    """Whatever is posted: reviews of the order's items rated 1 to 5 with storable comments, or errors by sku."""
    read = read_form(body, items)
    skus = {item.sku for item in items}
    if isinstance(read, FormErrors):
        assert set(read.by_sku) <= skus
        assert bool(read.by_sku) != bool(read.form)
        return
    assert read
    for review in read:
        assert review.sku in skus
        assert review.rating in {1, 2, 3, 4, 5}
        assert len(review.text) <= MAX_TEXT
        assert review.text == review.text.strip()
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f]", review.text)


def test_ratings_other_than_1_to_5_or_two_different_ones_are_invalid() -> None:
    """0, 6, 4.5, ' 4', 'five' and two different ratings for one item: invalid rating, the typed value kept."""
    items = (Item("A"),)
    for value in ("0", "6", "4.5", " 4", "five", "٤"):
        read = read_form(urllib.parse.urlencode({rating_field("A"): value}).encode(), items)
        assert read == FormErrors({"A": (RATING_INVALID,)}, (), {"A": Entered(value, "")}), value
    two = read_form(b"rating%3AA=4&rating%3AA=5", items)
    assert isinstance(two, FormErrors)
    assert two.by_sku == {"A": (RATING_INVALID,)}
    assert read_form(b"rating%3AA=4&rating%3AA=4", items) == (Review("A", 4, ""),)


def test_a_comment_of_5000_characters_is_taken_with_crlf_line_breaks_counted_once() -> None:
    """Browsers send line breaks as CRLF: a 5,000-character comment stays 5,000 (LF), one more is too long."""
    text = ("x" * 99 + "\n") * 50
    body = urllib.parse.urlencode({rating_field("A"): "5", text_field("A"): text.replace("\n", "\r\n")}).encode()
    assert read_form(body, (Item("A"),)) == (Review("A", 5, text.strip()),)
    longer = urllib.parse.urlencode({rating_field("A"): "5", text_field("A"): "y" * (MAX_TEXT + 1)}).encode()
    assert read_form(longer, (Item("A"),)) == FormErrors(
        {"A": (TEXT_TOO_LONG,)}, (), {"A": Entered("5", "y" * (MAX_TEXT + 1))}
    )


def test_control_characters_are_dropped_and_bytes_that_are_not_utf8_read_as_replacement_characters() -> None:
    """U+0000 cannot be stored and other controls are invisible: dropped; bad UTF-8 is shown as U+FFFD."""
    body = b"rating%3AA=3&text%3AA=%00a%07b%0D%0Ac%FF"
    assert read_form(body, (Item("A"),)) == (Review("A", 3, "ab\nc\ufffd"),)


def _line(sku: Any, metadata: Any = None) -> dict[str, Any]:
    return {"sku": sku} if metadata is None else {"sku": sku, "metadata": metadata}


def test_items_are_taken_once_per_sku_named_by_the_first_line_from_name_product_name_or_title() -> None:
    """Order kept, a repeated sku dropped, the name from `name`, else `product_name`, else `title`, else none."""
    document = {
        "order_items": [
            _line("A", {"product_name": "  Mug  ", "title": "ignored"}),
            _line("B", {"name": "", "title": "Tee"}),
            _line("A", {"name": "second line"}),
            _line("C", {"name": 12}),
            _line("D"),
        ]
    }
    assert items_of(document) == (Item("A", "Mug"), Item("B", "Tee"), Item("C"), Item("D"))


@given(any_json())
def test_any_document_gives_items_with_distinct_text_skus(document: Any) -> None:
    """Whatever a document holds, items_of never fails and names each sku once."""
    found = items_of({"order_items": document} if not isinstance(document, dict) else document)
    assert len({item.sku for item in found}) == len(found)
    assert all(isinstance(item.sku, str) for item in found)
