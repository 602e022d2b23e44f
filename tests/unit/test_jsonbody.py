"""Request bodies as JSON values: what counts as malformed, and how a batch is split."""

import json
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import given, reject
from hypothesis import strategies as st

from order_intake.domain.jsonbody import Malformed, NotArray, TooMany, count_elements, parse_batch, parse_body
from tests.strategies import any_json, json_texts

_encoder = msgspec.json.Encoder(decimal_format="number")


def test_floats_become_exact_decimals_and_integers_stay_integers() -> None:
    """10.10 keeps its digits; 10 stays an int."""
    assert parse_body(b'{"a": 10.10, "b": 10}') == {"a": Decimal("10.10"), "b": 10}


def test_an_exponent_too_large_for_a_decimal_is_malformed() -> None:
    """1e1000000000000000000 cannot be represented: Malformed, not an exception."""
    assert isinstance(parse_body(b'{"x": 1e1000000000000000000}'), Malformed)


def test_an_empty_body_is_null_and_not_an_array() -> None:
    """Empty or white space: None for a single order, NotArray for a batch."""
    assert parse_body(b"  \n") is None
    assert parse_batch(b"", 10) == NotArray()


def test_a_batch_over_the_limit_is_counted_without_decoding_its_elements() -> None:
    """11 elements against a limit of 10: TooMany(11), even when an element would not decode to a value."""
    assert parse_batch(b"[" + b",".join([b'{"x": 1e1000000000000000000}'] * 11) + b"]", 10) == TooMany(11)


def test_batch_elements_keep_their_exact_bytes() -> None:
    """Each element comes with the bytes it was sent as."""
    elements = parse_batch(b'[ {"a": 1.50} , 2 ]', 10)
    assert isinstance(elements, list)
    assert [bytes(e) for e in elements] == [b'{"a": 1.50}', b"2"]


@given(st.lists(any_json(), min_size=1, max_size=30), st.sampled_from([None, 0, 2]))
def test_an_array_is_counted_exactly_from_its_structure(elements: list[Any], indent: int | None) -> None:
    """Strings holding brackets, commas, quotes or backslashes, nested containers: the count is len()."""
    try:
        body = _encoder.encode(elements)
    except ValueError:  # an int past Python's 4300-digit limit for str(): it cannot be sent from here
        reject()
    if indent is not None:
        body = msgspec.json.format(body, indent=indent)
    assert count_elements(body) == len(elements)
    assert parse_batch(body, 0) == TooMany(len(elements))


def test_a_million_tiny_elements_are_counted_not_decoded() -> None:
    """1,000,000 empty objects (3 MB) against the batch limit: TooMany with the exact count."""
    body = b"[" + b",".join([b"{}"] * 1_000_000) + b"]"
    assert parse_batch(body, 10_000) == TooMany(1_000_000)


def test_tricky_strings_do_not_change_the_count() -> None:
    """Escaped quotes and backslashes, brackets and commas inside strings: 3 elements."""
    body = rb'["a\\", "[,{", "\"]\\\"", {"k\\\\": ["\\\\\"],"]}, 0]'.replace(b", 0]", b"]")
    assert json.loads(body) == ["a\\", "[,{", '"]\\"', {"k\\\\": ['\\\\"],']}]
    assert count_elements(body) == 4


def test_a_huge_value_that_is_not_an_array_is_refused_without_being_built() -> None:
    """An object of 16 MiB: NotArray; the same object cut short: Malformed."""
    body = b'{"junk": [' + b",".join([b"{}"] * 5_000_000) + b"]}"
    assert parse_batch(body, 10_000) == NotArray()
    assert isinstance(parse_batch(body[:-1], 10_000), Malformed)
    assert isinstance(parse_batch(b'{"a": "\xff"}', 10_000), Malformed)


def _names_a_member_twice(text: str) -> bool:
    """The independent reading: the standard library's decoder shows each object's pairs as sent."""
    repeated = False

    def pairs(members: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal repeated
        repeated = repeated or len({name for name, _ in members}) < len(members)
        return dict(members)

    json.loads(text, object_pairs_hook=pairs)
    return repeated


@given(json_texts())
def test_a_body_naming_a_member_twice_in_any_object_is_malformed(text: str) -> None:
    """At any depth, spelled alike or through escapes, colons and quotes in strings or not; otherwise the value."""
    parsed = parse_body(text.encode())
    if _names_a_member_twice(text):
        assert isinstance(parsed, Malformed), text
    else:
        assert parsed == json.loads(text), text


def test_names_spelled_through_escapes_are_the_same_name() -> None:
    r"""`"em\u0061il"` is `"email"`; `"\\u0061"` (a backslash, then u0061) is another name than `"a"`."""
    assert isinstance(parse_body(rb'{"customer": {"email": "a@b.c", "em\u0061il": "d@e.f"}}'), Malformed)
    assert isinstance(parse_body(rb'[{"x": [{"k:\"": 1, "k\u003a\u0022": 2}]}]'), Malformed)
    assert parse_body(rb'{"a": 1, "\\u0061": 2}') == {"a": 1, "\\u0061": 2}
    assert parse_body(b'{"a": "1:2:3", "b": {"c": ":"}}') == {"a": "1:2:3", "b": {"c": ":"}}
