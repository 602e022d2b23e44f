"""Which stored emails are the erased customer's, and stored answers scrubbed of erased submissions."""

import sqlite3
import sys
from collections.abc import Iterator

import pytest
from hypothesis import assume, given

from order_intake.domain import erasure
from order_intake.domain.erasure import email_key, email_like_pattern, same_email, scrub_answer
from tests.strategies import address_and_case_variant


@pytest.fixture(scope="module")
def sqlite() -> Iterator[sqlite3.Connection]:
    """SQLite's own lower() and LIKE, the narrower of the two backends (ASCII-only case folding)."""
    conn = sqlite3.connect(":memory:")
    yield conn
    conn.close()


def _sqlite_like(conn: sqlite3.Connection, stored: str, pattern: str) -> bool:
    return bool(conn.execute("SELECT lower(?) LIKE ? ESCAPE '\\'", (stored, pattern)).fetchone()[0])


def test_email_key_is_the_validators_form_lower_cased_and_trimmed() -> None:
    """Surrounding spaces go, the domain's IDNA form becomes Unicode as stored, and case is ignored throughout."""
    assert email_key("  Ann.Lee@EXAMPLE.com ") == "ann.lee@example.com"
    assert email_key("user@xn--bcher-kva.de") == "user@bücher.de"
    assert email_key("JÜRGEN@BÜCHER.DE") == "jürgen@bücher.de"
    assert email_key(" not an address ") == "not an address"
    assert email_key("A" * 2000 + "@Example.com") == "a" * 2000 + "@example.com"  # too long to be checked


def test_same_email_compares_the_whole_address_without_regard_to_case() -> None:
    """The whole address, not a part of it; anything but a string is never a match."""
    key = email_key("ann@example.com")
    assert same_email(" Ann@Example.COM", key)
    assert not same_email("joann@example.com", key)
    assert not same_email("ann@example.com.evil", key)
    assert not same_email(None, key)


def test_like_pattern_escapes_the_characters_like_gives_a_meaning() -> None:
    """`%`, `_` and the escape itself match only themselves; letters beyond ASCII become `%`."""
    assert email_like_pattern("x_y%z\\w@example.com") == "%x\\_y\\%z\\\\w@example.com%"
    assert email_like_pattern("jürgen@bücher.de") == "%j%rgen@b%cher.de%"


def test_only_i_and_k_come_from_lower_casing_a_character_beyond_ascii() -> None:
    """The pattern lets `i` and `k` match any character because no other ASCII letter arises that way."""
    arising = {c for code in range(0x80, sys.maxunicode + 1) for c in chr(code).lower() if c.isascii()}
    assert arising == erasure._ASCII_FROM_BEYOND
    assert email_like_pattern("kim@x.io") == "%__m@x._o%"


@given(address_and_case_variant())
def test_every_case_variant_of_the_address_is_found_by_sqlite_and_kept(
    sqlite: sqlite3.Connection, pair: tuple[str, str]
) -> None:
    """Whatever the case of the stored address, SQLite's LIKE finds it and same_email confirms it."""
    address, stored = pair
    assume(stored.lower() == address.lower())
    key = email_key(address)
    assume(key == address.lower())  # addresses the validator does not rewrite
    assert _sqlite_like(sqlite, stored, email_like_pattern(key))
    assert same_email(stored, key)


def test_a_single_answer_loses_its_warnings_only_when_its_submission_is_erased() -> None:
    """202 answers: the id stays (it now answers 404); warnings name fields the sender chose."""
    answer = {"status": 202, "id": "a", "message": "Customer order accepted", "warnings": ["unknown field x"]}
    assert scrub_answer(answer, frozenset({"a"}), "e@x.com") == {
        "status": 202,
        "id": "a",
        "message": "Customer order accepted",
    }
    assert scrub_answer(answer, frozenset({"b"}), "e@x.com") == answer


def test_a_batch_answer_keeps_ids_and_loses_what_named_the_erased_elements() -> None:
    """Warnings of erased elements go; an order_ref holding the address becomes null; the rest stays."""
    answer = {
        "status": 206,
        "ids": ["a", "b", None],
        "warnings": [
            {"index": 0, "order_ref": "R0", "warnings": ["unknown field customer.e_x"]},
            {"index": 1, "order_ref": "R1", "warnings": ["unknown field notes"]},
        ],
        "errors": [{"index": 2, "order_ref": "Order of E@X.com", "errors": ["customer.email cannot be blank"]}],
    }
    scrubbed = scrub_answer(answer, frozenset({"a"}), "e@x.com")
    assert scrubbed == {
        "status": 206,
        "ids": ["a", "b", None],
        "warnings": [{"index": 1, "order_ref": "R1", "warnings": ["unknown field notes"]}],
        "errors": [{"index": 2, "order_ref": None, "errors": ["customer.email cannot be blank"]}],
    }
    assert "warnings" not in scrub_answer(answer, frozenset({"a", "b"}), "e@x.com")
