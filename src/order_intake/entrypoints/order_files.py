"""Order files for `order-intake submit`, handed out one order at a time: JSON array, NDJSON, CSV (a row per item)."""

import csv
import io
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Self, TextIO, cast

import msgspec

from order_intake.domain.jsonbody import Malformed, parse_body
from order_intake.errors import OrderFileError

FORMATS = {".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv"}
ITEMS = "order_items"
_BOM = b"\xef\xbb\xbf"
_NEWLINE = b"\n"
_BYTE = re.compile(r"\(byte (\d+)\)")
_array = msgspec.json.Decoder(list[msgspec.Raw])


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


def json_array_orders(data: bytes, name: str) -> Iterator[msgspec.Raw]:
    """Each element of a JSON array, exactly as written (slices of `data`: no order is decoded ahead)."""
    data = data.removeprefix(_BOM)
    try:
        elements = _array.decode(data)
    except msgspec.ValidationError:
        raise OrderFileError(f"{name}: a .json file must hold a JSON array of orders") from None
    except msgspec.DecodeError as exc:
        at = _BYTE.search(str(exc))
        line = f" line {data.count(_NEWLINE, 0, int(at[1])) + 1}" if at else ""
        detail = _BYTE.sub("", str(exc).removeprefix("JSON is malformed: ")).strip()
        raise OrderFileError(f"{name}{line}: not valid JSON ({detail})") from None
    for number, element in enumerate(elements, 1):
        if isinstance(parse_body(bytes(element)), Malformed):  # what Raw does not check: nesting, surrogates
            raise OrderFileError(f"{name}: order {number} is not valid JSON")
        yield element


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
    """An order file open for reading: its orders, one at a time, and about how many of its bytes they used."""

    def __init__(self, path: Path) -> None:
        self.name = str(path)
        self.format = file_format(self.name)
        try:
            self._binary = path.open("rb")
        except OSError as exc:
            raise OrderFileError(f"cannot read {path}: {exc.strerror}") from None
        self.size = os.fstat(self._binary.fileno()).st_size
        self._text: TextIO | None = None  # kept: a wrapper that is collected would close the file
        self._json_used = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._binary.close()

    def position(self) -> int:
        """Bytes of the file read into orders so far (for a progress bar: CSV runs a buffer ahead)."""
        return self._json_used if self.format == "json" else self._binary.raw.tell()

    def orders(self) -> Iterator[msgspec.Raw]:
        """Each order's JSON, in file order."""
        try:
            if self.format == "json":
                for order in json_array_orders(self._binary.read(), self.name):
                    self._json_used += len(order) + 1
                    yield order
            elif self.format == "ndjson":
                yield from ndjson_orders(self._binary, self.name)
            else:
                self._text = io.TextIOWrapper(self._binary, encoding="utf-8-sig", newline="")
                yield from csv_orders(self._text, self.name)
        except UnicodeDecodeError:
            raise OrderFileError(f"{self.name}: not UTF-8 text") from None
        except csv.Error as exc:
            raise OrderFileError(f"{self.name}: {exc}") from None
