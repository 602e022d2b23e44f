"""Request bodies as JSON values: what counts as malformed, and how a batch is split."""

from decimal import Decimal

from order_intake.domain.jsonbody import Malformed, NotArray, TooMany, parse_batch, parse_body


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
    assert parse_batch(b'[ {"a": 1.50} , 2 ]', 10) == [(b'{"a": 1.50}', {"a": Decimal("1.50")}), (b"2", 2)]
