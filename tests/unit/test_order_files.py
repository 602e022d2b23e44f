"""The order-file readers of `order-intake submit`: CSV grouping, NDJSON lines, JSON arrays, formats."""

import io
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, reject
from hypothesis import strategies as st

from order_intake.domain.jsonbody import parse_body
from order_intake.entrypoints.order_files import (
    OrderFile,
    OrderFileError,
    csv_orders,
    file_format,
    json_array_orders,
    ndjson_orders,
)
from tests.strategies import any_json

HEADER = "trkref,order_ref,order_date,customer.email,order_items.sku,order_items.price,order_items.metadata.colour\n"
ENCODER = msgspec.json.Encoder(decimal_format="number")


def _values(raws: list[msgspec.Raw]) -> list[Any]:
    return [parse_body(bytes(raw)) for raw in raws]


def _csv(text: str) -> list[Any]:
    return _values(list(csv_orders(io.StringIO(text, newline=""), "orders.csv")))


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.json", "json"), ("A.JSON", "json"), ("a.ndjson", "ndjson"), ("x/a.jsonl", "ndjson"), ("a.b.csv", "csv")],
)
def test_the_format_comes_from_the_extension(name: str, expected: str) -> None:
    """.json, .ndjson/.jsonl and .csv, in any case."""
    assert file_format(name) == expected


@pytest.mark.parametrize("name", ["-", "orders.txt", "orders", "orders.json.gz"])
def test_other_names_are_refused_with_the_formats_to_use(name: str) -> None:
    """Standard input and other extensions: one message naming the file and the formats."""
    with pytest.raises(OrderFileError) as caught:
        file_format(name)
    assert str(caught.value) == f"cannot tell the format of {name}; use .json, .ndjson or .csv"


def test_consecutive_csv_rows_of_one_order_make_one_order_with_an_item_each() -> None:
    """Order fields from the first row, one item per row, metadata nested, blank cells left out."""
    orders = _csv(
        HEADER + 'T1,A-1,10-12-2014,a@example.com,P1,"55,99",blue\n'
        "T1,A-1,,,P2,10,\n"
        "T1,A-2,11-12-2014,b@example.com,P3,,red\n"
    )
    assert orders == [
        {
            "trkref": "T1",
            "order_ref": "A-1",
            "order_date": "10-12-2014",
            "customer": {"email": "a@example.com"},
            "order_items": [
                {"sku": "P1", "price": "55,99", "metadata": {"colour": "blue"}},
                {"sku": "P2", "price": "10"},
            ],
        },
        {
            "trkref": "T1",
            "order_ref": "A-2",
            "order_date": "11-12-2014",
            "customer": {"email": "b@example.com"},
            "order_items": [{"sku": "P3", "metadata": {"colour": "red"}}],
        },
    ]


def test_order_fields_of_later_rows_of_an_order_are_ignored() -> None:
    """The first row of a group speaks for the order; later rows only add items."""
    orders = _csv(HEADER + "T1,A-1,10-12-2014,a@example.com,P1,,\nT1,A-1,01-01-2015,z@example.com,P2,,\n")
    assert [(o["order_date"], o["customer"]["email"], len(o["order_items"])) for o in orders] == [
        ("10-12-2014", "a@example.com", 2)
    ]


def test_a_change_of_trkref_or_a_missing_order_ref_starts_a_new_order() -> None:
    """Same order_ref under another trkref, rows without order_ref, and non-consecutive rows are separate orders."""
    orders = _csv(HEADER + "T1,A-1,,,P1,,\nT2,A-1,,,P2,,\n,,,,P3,,\n,,,,P4,,\nT1,A-1,,,P5,,\n")
    assert [(o.get("trkref"), o.get("order_ref"), [i["sku"] for i in o["order_items"]]) for o in orders] == [
        ("T1", "A-1", ["P1"]),
        ("T2", "A-1", ["P2"]),
        (None, None, ["P3"]),
        (None, None, ["P4"]),
        ("T1", "A-1", ["P5"]),
    ]


def test_csv_values_are_strings_as_written_and_unknown_columns_go_to_their_path() -> None:
    """No type guessing; a typo'd column is sent where its path says (the server warns about it)."""
    text = "order_ref,customer.cutomer_ref,notes,order_items.sku, order_items.metadata.field_1 \nA-1,0012,x,007, v \n"
    assert _csv(text) == [
        {
            "order_ref": "A-1",
            "customer": {"cutomer_ref": "0012"},
            "notes": "x",
            "order_items": [{"sku": "007", "metadata": {"field_1": " v "}}],
        }
    ]


def test_csv_blank_lines_are_skipped_and_a_row_without_items_has_no_order_items() -> None:
    """An empty line is nothing; an order whose item cells are all blank is sent without order_items."""
    assert _csv(HEADER + "\n,,,,,,\nT1,A-1,,a@example.com,,,\n") == [
        {"trkref": "T1", "order_ref": "A-1", "customer": {"email": "a@example.com"}}
    ]


def test_a_csv_with_only_a_header_or_nothing_has_no_orders() -> None:
    """No rows, no orders."""
    assert _csv(HEADER) == []
    assert _csv("") == []


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("order_ref,,order_items.sku", "column '' is not a field path such as customer.email"),
        ("order_ref,customer..email", "column 'customer..email' is not a field path such as customer.email"),
        ("order_ref,order_items", "column 'order_items' is not a field path such as customer.email"),
        ("order_ref,customer.email,customer.email", "column 'customer.email' appears twice"),
        ("order_ref,customer,customer.email", "column 'customer' clashes with column 'customer.email'"),
    ],
)
def test_csv_headers_that_cannot_make_an_order_are_refused(header: str, message: str) -> None:
    """Refused before any row is read, with the column named."""
    with pytest.raises(OrderFileError) as caught:
        _csv(header + "\nA-1,x,y\n")
    assert str(caught.value) == f"orders.csv: {message}"


def test_a_csv_row_longer_than_the_header_stops_with_its_line() -> None:
    """A shifted row would put values under the wrong fields: refused, with its line number."""
    with pytest.raises(OrderFileError) as caught:
        _csv("order_ref,order_items.sku\nA-1,P1\nA-2,P2,extra\n")
    assert str(caught.value) == "orders.csv line 3: more cells than the header has columns"


def test_ndjson_orders_are_each_line_exactly_as_written() -> None:
    """Bytes kept as they are (decimals too); blank lines and a leading byte-order mark skipped."""
    lines = [b'\xef\xbb\xbf{"order_ref": "A", "p": 10.50}\r\n', b"\n", b"  \n", b'{"order_ref":"B"}']
    assert [bytes(raw) for raw in ndjson_orders(lines, "o.ndjson")] == [
        b'{"order_ref": "A", "p": 10.50}',
        b'{"order_ref":"B"}',
    ]


@pytest.mark.parametrize("bad", [b"{", b'{"a": NaN}', b"[1] 2", b'{"a": "\\ud800"}', b'{"c": {"a": 1, "a": 2}}'])
def test_an_ndjson_line_that_is_not_json_stops_with_its_line_number(bad: bytes) -> None:
    """What the server would call malformed is refused here, naming the line."""
    reader = ndjson_orders([b'{"order_ref": "A"}\n', b"\n", bad + b"\n"], "o.ndjson")
    assert bytes(next(reader)) == b'{"order_ref": "A"}'
    with pytest.raises(OrderFileError) as caught:
        next(reader)
    assert str(caught.value) == "o.ndjson line 3: not valid JSON"


def test_json_array_elements_are_kept_exactly_as_written() -> None:
    """Each element's own bytes (pretty-printing and decimals included), whatever each element is."""
    data = b'\xef\xbb\xbf[\n  {"order_ref": "A",\n   "price": 10.50},\n  "not an order", null\n]\n'
    assert [bytes(raw) for raw in json_array_orders(data, "o.json")] == [
        b'{"order_ref": "A",\n   "price": 10.50}',
        b'"not an order"',
        b"null",
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"order_ref": "A"}', "o.json: a .json file must hold a JSON array of orders"),
        (b"", "o.json: not valid JSON (Input data was truncated)"),
        (b'[\n{"a": 1},\n{"a": NaN}\n]', "o.json line 3: not valid JSON (invalid character)"),
        (b"[1]\n[2]", "o.json line 2: not valid JSON (trailing characters)"),
    ],
)
def test_a_json_file_that_is_not_one_array_is_refused(data: bytes, message: str) -> None:
    """An object, nothing, broken JSON or two arrays: refused before any order is sent."""
    with pytest.raises(OrderFileError) as caught:
        list(json_array_orders(data, "o.json"))
    assert str(caught.value) == message


def test_a_json_array_element_naming_a_member_twice_is_refused() -> None:
    """The server would answer 400 Malformed JSON for the whole batch: refused before any order is sent."""
    with pytest.raises(OrderFileError) as caught:
        list(json_array_orders(b'[{"order_ref": "A"}, {"order_ref": "B", "order_ref": "C"}]', "o.json"))
    assert str(caught.value) == "o.json: order 2 is not valid JSON"


@given(st.lists(any_json(), max_size=8), st.sampled_from([None, 1, 2]))
def test_json_array_and_ndjson_readers_give_back_every_value(values: list[Any], indent: int | None) -> None:
    """Whatever JSON values a file holds, each comes back equal, in order (pretty-printed or not)."""
    try:
        array = ENCODER.encode(values)
    except ValueError:  # an int past Python's 4300-digit limit for str(): no file can be written with it here
        reject()
    if indent is not None:
        array = msgspec.json.format(array, indent=indent)
    assert _values(list(json_array_orders(array, "o.json"))) == values
    lines = [ENCODER.encode(value) + b"\n" for value in values]
    assert _values(list(ndjson_orders(lines, "o.ndjson"))) == values


def test_an_order_file_reads_each_format_and_reports_its_progress(tmp_path: Path) -> None:
    """The same orders from .json, .ndjson and .csv; position ends at the file's size."""
    order = {"order_ref": "A-1", "customer": {"email": "a@example.com"}, "order_items": [{"sku": "P1"}]}
    files = {
        "o.json": ENCODER.encode([order, order]),
        "o.ndjson": ENCODER.encode(order) + b"\n" + ENCODER.encode(order) + b"\n",
        "o.csv": b"order_ref,customer.email,order_items.sku\nA-1,a@example.com,P1\nB-1,,\nA-1,a@example.com,P1\n",
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
        with OrderFile(tmp_path / name) as source:
            assert source.position() == 0
            orders = _values(list(source.orders()))
            assert source.position() >= source.size - 2
        assert orders[0] == order, name
        assert orders[-1] == order, name


def test_an_order_file_that_is_missing_or_not_utf8_is_refused(tmp_path: Path) -> None:
    """One line naming the file."""
    with pytest.raises(OrderFileError) as missing:
        OrderFile(tmp_path / "missing.csv")
    assert str(missing.value) == f"cannot read {tmp_path / 'missing.csv'}: No such file or directory"
    (tmp_path / "latin1.csv").write_bytes("order_ref\nCafé\n".encode("latin-1"))
    with OrderFile(tmp_path / "latin1.csv") as source, pytest.raises(OrderFileError) as caught:
        list(source.orders())
    assert str(caught.value) == f"{tmp_path / 'latin1.csv'}: not UTF-8 text"
