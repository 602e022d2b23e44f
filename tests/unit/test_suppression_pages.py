"""A list of suppressions by pages: the cursor names one position and nothing else names it; the page size."""

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from order_intake.domain.suppressions import MAX_PAGE, ListPosition, cursor_of, page_size, position_of
from tests.strategies import instants

HASHES = st.binary(min_size=32, max_size=32)


@given(instants(), HASHES)
def test_a_cursor_names_its_position_again(at: dt.datetime, email_hash: bytes) -> None:
    """position_of(cursor_of(p)) == p, to the microsecond, in URL-safe characters only."""
    position = ListPosition(at, email_hash)
    cursor = cursor_of(position)
    assert position_of(cursor) == position
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@given(st.text(max_size=120))
def test_any_other_text_names_no_position_or_is_that_positions_own_cursor(text: str) -> None:
    """Whatever a caller writes is refused (None) unless it is exactly what cursor_of would write."""
    position = position_of(text)
    assert position is None or cursor_of(position) == text


def test_cursors_written_by_hand_are_refused() -> None:
    """Empty, padded, non-ASCII, too long, out of range or a lone time without a hash: None."""
    real = cursor_of(ListPosition(dt.datetime(2026, 12, 6, 9, tzinfo=dt.UTC), b"\x01" * 32))
    for text in ("", real + "=", "é" + real[1:], "A" * 10_240, "_" * 11, "AAAAAAAAAAA", real[:-1] + "?"):
        assert position_of(text) is None, text


def test_a_page_size_is_a_decimal_number_from_1_to_the_maximum() -> None:
    """1 and MAX_PAGE are sizes; 0, over the maximum, signs, spaces, other digits and decimals are not."""
    assert (page_size("1"), page_size("25"), page_size(str(MAX_PAGE))) == (1, 25, MAX_PAGE)
    for text in ("", "0", str(MAX_PAGE + 1), "-1", "+1", " 1", "1.0", "١٢", "1e3", "9" * 100):
        assert page_size(text) is None, text
