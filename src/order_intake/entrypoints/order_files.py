"""Order files for `order-intake submit`, read one order at a time: a JSON array, NDJSON, or CSV (a row per item)."""

import csv
import io
import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TextIO, cast

import msgspec

from order_intake.domain.jsonbody import Malformed, parse_body
from order_intake.errors import OrderIntakeError

FORMATS = {".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv"}
ITEMS = "order_items"
_BOM = b"\xef\xbb\xbf"
_NOT_SPACE = re.compile(r"[^ \t\r\n]")
_MAX_ORDER = 16 * 1024 * 1024  # the server's limit for a whole batch: a longer "order" is a broken file
# Only finds where a value ends (the server's own parser, parse_body, judges it): keeps no numbers.
_bounds = json.JSONDecoder(strict=False, parse_int=str, parse_float=str, parse_constant=str)


class OrderFileError(OrderIntakeError, ValueError):
    """The file cannot be read as orders; the message names the file and, where known, the line."""


def file_format(name: str) -> str:
    """`json`, `ndjson` or `csv`, from the file name's extension."""
    found = FORMATS.get(Path(name).suffix.lower()) if name != "-" else None
    if found is None:
        raise OrderFileError(f"cannot tell the format of {name}; use .json, .ndjson or .csv")
    return found


def _checked(text: bytes, name: str, line: int) -> msgspec.Raw:
    if isinstance(parse_body(text), Malformed):
        raise OrderFileError(f"{name} line {line}: not valid JSON")
    return msgspec.Raw(text)


def ndjson_orders(lines: Iterable[bytes], name: str) -> Iterator[msgspec.Raw]:
    """One order per line, exactly as written; blank lines are skipped."""
    for number, line in enumerate(lines, 1):
        text = (line.removeprefix(_BOM) if number == 1 else line).strip()
        if text:
            yield _checked(text, name, number)


class _Scanner:
    """JSON text read in chunks: where each value starts and ends, and on which line."""

    def __init__(self, text: TextIO, chunk: int) -> None:
        self._text, self._chunk = text, chunk
        self.buf, self.pos, self._lines_before = "", 0, 0

    def _fill(self) -> bool:
        """Read at least as much again as is pending (a long value costs few re-scans); False at the end."""
        more = self._text.read(max(self._chunk, len(self.buf) - self.pos))
        self._lines_before += self.buf.count("\n", 0, self.pos)
        self.buf, self.pos = self.buf[self.pos :] + more, 0
        return more != ""

    def line(self, at: int | None = None) -> int:
        return self._lines_before + self.buf.count("\n", 0, self.pos if at is None else at) + 1

    def peek(self) -> str:
        """The next character that is not white space; "" at the end."""
        while True:
            found = _NOT_SPACE.search(self.buf, self.pos)
            self.pos = found.start() if found else len(self.buf)
            if found or not self._fill():
                return self.buf[self.pos : self.pos + 1]

    def value(self, name: str) -> str:
        """The text of the JSON value that starts here."""
        while True:
            try:
                end = _bounds.raw_decode(self.buf, self.pos)[1]
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos <= _MAX_ORDER and self._fill():
                    continue
                raise OrderFileError(f"{name} line {self.line(exc.pos)}: not valid JSON") from None
            except RecursionError:
                raise OrderFileError(f"{name} line {self.line()}: nested too deeply") from None
            if end < len(self.buf) or not self._fill():  # a number may go on in the next chunk
                text, self.pos = self.buf[self.pos : end], end
                return text


def json_array_orders(text: TextIO, name: str, chunk: int = 1 << 16) -> Iterator[msgspec.Raw]:
    """Each element of a JSON array, exactly as written, without holding the whole array."""
    scan = _Scanner(text, chunk)
    if scan.peek() != "[":
        raise OrderFileError(f"{name}: a .json file must hold a JSON array of orders")
    scan.pos += 1
    separator = scan.peek()
    if separator == "]":
        scan.pos += 1
    while separator != "]":
        scan.peek()
        line = scan.line()
        yield _checked(scan.value(name).encode(), name, line)
        separator = scan.peek()
        if separator not in {",", "]"}:
            raise OrderFileError(f"{name} line {scan.line()}: expected , or ] after an order")
        scan.pos += 1
    if scan.peek():
        raise OrderFileError(f"{name} line {scan.line()}: unexpected text after the array")


def _paths(header: list[str], name: str) -> list[tuple[str, ...]]:
    """Each column's JSON path, refusing names that cannot make one order."""
    paths = [tuple(column.strip().split(".")) for column in header]
    for column, path in zip(header, paths, strict=True):
        if "" in path or path == (ITEMS,):
            raise OrderFileError(f"{name}: column {column!r} is not a field path such as customer.email")
        if paths.count(path) > 1:
            raise OrderFileError(f"{name}: column {column!r} appears twice")
        clash = next((other for other in paths if other != path and other[: len(path)] == path), None)
        if clash is not None:
            raise OrderFileError(f"{name}: column {column!r} clashes with column {'.'.join(clash)!r}")
    return paths


def _put(tree: dict[str, object], path: tuple[str, ...], value: str) -> None:
    for part in path[:-1]:
        tree = cast("dict[str, object]", tree.setdefault(part, {}))  # _paths rules out clashes
    tree[path[-1]] = value


def _order(paths: list[tuple[str, ...]], rows: list[list[str]]) -> msgspec.Raw:
    """One order from its rows: order fields from the first row, an item from each; blank cells left out."""
    order: dict[str, object] = {}
    items: list[dict[str, object]] = []
    for number, row in enumerate(rows):
        item: dict[str, object] = {}
        for path, cell in zip(paths, row, strict=False):
            if cell.strip() and path[0] == ITEMS:
                _put(item, path[1:], cell)
            elif cell.strip() and number == 0:
                _put(order, path, cell)
        if item:
            items.append(item)
    if items:
        order[ITEMS] = items
    return msgspec.Raw(msgspec.json.encode(order))


def csv_orders(text: TextIO, name: str) -> Iterator[msgspec.Raw]:
    """Orders from rows of items: consecutive rows with the same trkref and order_ref make one order."""
    rows = csv.reader(text)
    paths = _paths(next(rows, []), name)
    keys = [paths.index((field,)) if (field,) in paths else None for field in ("trkref", "order_ref")]
    group: list[list[str]] = []
    group_key: tuple[str, ...] = ()
    for row in rows:
        if len(row) > len(paths):
            raise OrderFileError(f"{name} line {rows.line_num}: more cells than the header has columns")
        key = tuple(row[k].strip() if k is not None and k < len(row) else "" for k in keys)
        if not any(cell.strip() for cell in row):
            continue
        if group and (key != group_key or not key[1]):  # an order without order_ref stands alone
            yield _order(paths, group)
            group = []
        group.append(row)
        group_key = key
    if group:
        yield _order(paths, group)


class OrderFile:
    """An order file open for reading: its orders, one at a time, and how many of its bytes are read."""

    def __init__(self, path: Path) -> None:
        self.name = str(path)
        self.format = file_format(self.name)
        try:
            self._binary = path.open("rb")
        except OSError as exc:
            raise OrderFileError(f"cannot read {path}: {exc.strerror}") from None
        self.size = os.fstat(self._binary.fileno()).st_size

    def __enter__(self) -> "OrderFile":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._binary.close()

    def position(self) -> int:
        """Bytes read from the file so far (a little ahead of the orders handed out)."""
        return self._binary.raw.tell()

    def orders(self) -> Iterator[msgspec.Raw]:
        """Each order's JSON, in file order."""
        try:
            if self.format == "ndjson":
                yield from ndjson_orders(self._binary, self.name)
                return
            # Kept on self: a wrapper that is collected closes the file under position().
            self._text = io.TextIOWrapper(self._binary, encoding="utf-8-sig", newline="")
            yield from (csv_orders if self.format == "csv" else json_array_orders)(self._text, self.name)
        except UnicodeDecodeError:
            raise OrderFileError(f"{self.name}: not UTF-8 text") from None
        except csv.Error as exc:
            raise OrderFileError(f"{self.name}: {exc}") from None
