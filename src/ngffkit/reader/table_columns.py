"""A table's columns read whole, as text: ngio's anndata, json and csv tables (condition tables of plates and wells).

ngio 1.1 writes a table as a group of a ``tables`` group (see :mod:`ngffkit.reader.tables`), its data in one of
four backends:

* **anndata** (the default): AnnData's zarr layout. ``obs`` is a dataframe group -- its ``column-order`` names
  the text and integer columns, each an array, a ``categorical`` group (``codes`` into ``categories``) or a
  ``nullable-*`` group (``values`` and a ``mask``); its ``_index`` names the row index. ngio puts the floating-point
  columns in ``X`` (rows x columns), named by ``var``'s index.
* **json**: the attributes of the table's ``table`` group, one list per column.
* **csv**: ``table.csv`` beside the group's metadata, a header line and one line per row.
* **parquet**: ``table.parquet`` -- not read (it would need a parquet parser).

Only zarr and numpy read them, bounded like every read of strangers' data (docs/robustness.md): the number of rows
and columns is checked from metadata before anything is read (``max_table_cells``); the bytes decoded (whole
chunks, text included) count against ``max_table_bytes`` as they are read (text one chunk at a time: its size is in no
metadata). Every failure is one :class:`~ngffkit.NGFFError` naming the table's URL and the key inside it.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ngffkit.errors import CorruptData, InvalidArgument, InvalidMetadata, LimitExceeded, NGFFError, NotFound
from ngffkit.store import adapter
from ngffkit.store.arrays import zarr_array
from ngffkit.store.batch import read_many_or_errors
from ngffkit.store.bounded_codecs import variable_length
from ngffkit.store.location import Location
from ngffkit.store.nodes import NodeMetadata

#: The backends whose columns are read.
READ_BACKENDS = ("anndata", "json", "csv")
#: ngio's csv backend keeps its table in this file of the table's group.
CSV_FILE = "table.csv"
#: numpy kinds a column may have: booleans, integers, floating point, and text.
_NUMBER_KINDS = "biuf"
_TEXT_KINDS = "OTUS"
#: A line of a csv text with its ending (``\n``, ``\r\n`` or ``\r``), as ``open(newline="")`` gives it to csv.
_PHYSICAL_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


@dataclass(frozen=True)
class TableColumns:
    """A table's columns in order, each a tuple of its rows as text (numbers written shortest, a missing value
    empty)."""

    name: str
    url: str
    columns: tuple[str, ...]
    values: Mapping[str, tuple[str, ...]]
    rows: int

    def lines(self) -> list[dict[str, str]]:
        """The rows, each as column -> text (as a CSV reader gives them)."""
        return [{c: self.values[c][i] for c in self.columns} for i in range(self.rows)]


def read_table_columns(location: Location, backend: str | None, *, name: str | None = None) -> TableColumns:
    """The columns of the table whose group is at ``location``, written by ngio with ``backend`` (None: ngio's
    default, anndata). :class:`~ngffkit.InvalidArgument` for a backend that is not read (parquet); every other
    failure an :class:`~ngffkit.NGFFError` naming the table and the key."""
    label = name or location.path.rsplit("/", 1)[-1]
    budget = _Budget(location)
    if backend in (None, "anndata", "anndata_v1"):
        columns, rows = _anndata_columns(location, budget)
    elif backend == "json":
        columns, rows = _json_columns(location, budget)
    elif backend == "csv":
        columns, rows = _csv_columns(location, budget)
    else:
        raise InvalidArgument(f"{backend} tables are not read", where=location.url)
    return TableColumns(label, location.url, tuple(columns), columns, rows)


class _Budget:
    """What one table may cost: cells checked before reading, bytes counted while reading."""

    def __init__(self, location: Location) -> None:
        self.location = location
        self.limits = location.limits
        self.spent = 0

    def check_cells(self, rows: int, columns: int) -> None:
        self.location.check_limit("max_table_cells", rows * columns, what="cells (rows x columns) in a table")

    def spend(self, count: int, key: str) -> None:
        self.spent += count
        if self.spent > self.limits.max_table_bytes:
            raise LimitExceeded(
                f"the table holds more than {self.limits.max_table_bytes:g} bytes (max_table_bytes); raise it with "
                "NGFFKIT_MAX_TABLE_BYTES=...",
                where=self.location.url,
                key=key,
            )


# --- anndata -------------------------------------------------------------------------------------------------


def _anndata_columns(location: Location, budget: _Budget) -> tuple[dict[str, tuple[str, ...]], int]:
    obs, var, x = _nodes(location, ["obs", "var", "X"], key="anndata")
    if not obs.exists or not obs.is_group:
        raise NotFound("the AnnData table has no 'obs' group", where=location.url, key="obs")
    order = obs.attributes.get("column-order", [])
    index = obs.attributes.get("_index")
    if not isinstance(order, list) or not all(isinstance(c, str) for c in order):
        raise InvalidMetadata("'column-order' must be a list of column names", where=location.url, key="obs")
    if not isinstance(index, str):
        raise InvalidMetadata("the 'obs' dataframe names no '_index'", where=location.url, key="obs")
    budget.check_cells(1, len(order))  # before a read per column: a list of a million names is refused here
    keys = [f"obs/{index}", *(f"obs/{c}" for c in order)]
    x_index = _x_index(location, var, x)
    if x_index is not None:
        keys.append(f"var/{x_index}")
    columns = [_Column(location, k, node) for k, node in zip(keys, _nodes(location, keys, key="obs"), strict=True)]
    _load_parts(columns)
    rows = columns[0].length()
    x_shape = x.shape if x_index is not None else None
    x_columns = x_shape[1] if x_shape is not None and len(x_shape) == 2 else 0
    budget.check_cells(rows, len(order) + x_columns)
    out = {name: column.text(rows, budget) for name, column in zip(order, columns[1 : 1 + len(order)], strict=True)}
    if x_index is not None:
        if x_shape is None or len(x_shape) != 2 or x_shape[0] != rows:
            raise InvalidMetadata(f"X has shape {x_shape}; the table has {rows} rows", where=location.url, key="X")
        names = columns[-1].text(x_columns, budget)
        for name, values in zip(names, _matrix_columns(location, x, budget), strict=True):
            out.setdefault(name, values)
    return out, rows


def _x_index(location: Location, var: NodeMetadata, x: NodeMetadata) -> str | None:
    """The name of ``var``'s index (which names X's columns), or None when there is no X."""
    if not x.exists:
        return None
    if not x.is_array:
        raise InvalidMetadata("'X' is not a dense array (a sparse X is not read)", where=location.url, key="X")
    index = var.attributes.get("_index") if var.exists else None
    if not isinstance(index, str):
        raise InvalidMetadata("the 'var' dataframe names no '_index' for X's columns", where=location.url, key="var")
    return index


def _nodes(location: Location, keys: Sequence[str], *, key: str) -> list[NodeMetadata]:
    """The nodes at ``keys`` below ``location`` (one batch); an unsafe or unreadable one is an error naming it."""
    targets = []
    for k in keys:
        targets.append(location.child(k, key=key))
    found = read_many_or_errors(targets)
    for k, node in zip(keys, found, strict=True):
        if isinstance(node, NGFFError):
            raise type(node)(node.message, where=node.where or location.url, key=k)
    return [n for n in found if isinstance(n, NodeMetadata)]


class _Column:
    """One dataframe column of AnnData: an array, or a group of arrays by its ``encoding-type``."""

    def __init__(self, table: Location, key: str, node: NodeMetadata) -> None:
        self.table, self.key, self.node = table, key, node
        self.parts: dict[str, NodeMetadata] = {}

    @property
    def encoding(self) -> str | None:
        value = self.node.attributes.get("encoding-type")
        return value if isinstance(value, str) else None

    def part_names(self) -> tuple[str, ...]:
        """The arrays a group column is made of (none for an array column)."""
        if not self.node.exists:
            raise NotFound("the column is missing", where=self.table.url, key=self.key)
        if self.node.is_array:
            return ()
        if self.encoding == "categorical":
            return ("codes", "categories")
        if self.encoding in ("nullable-integer", "nullable-boolean", "nullable-string-array"):
            return ("values", "mask")
        raise InvalidMetadata(f"a column encoded as {self.encoding!r} is not read", where=self.table.url,
                              key=self.key)  # fmt: skip

    def length(self) -> int:
        """The number of rows, from metadata (before any data is read)."""
        _load_parts([self])
        array = self.parts.get("values") or self.parts.get("codes") or self.node
        shape = array.shape
        if shape is None or len(shape) != 1:
            raise InvalidMetadata(f"the column has shape {shape}, not one value per row", where=self.table.url,
                                  key=self.key)  # fmt: skip
        return shape[0]

    def text(self, rows: int, budget: _Budget) -> tuple[str, ...]:
        if self.node.is_array:
            return _as_text(_read_1d(self.node, f"{self.key}", rows, budget, self.table))
        if self.encoding == "categorical":
            codes = _read_1d(self.parts["codes"], f"{self.key}/codes", rows, budget, self.table)
            categories = self.parts["categories"]
            count = categories.shape[0] if categories.shape and len(categories.shape) == 1 else -1
            budget.check_cells(count, 1)  # categories are read whole too: no more of them than a table has cells
            names = _as_text(_read_1d(categories, f"{self.key}/categories", count, budget, self.table))
            if codes.dtype.kind not in "iu":
                raise InvalidMetadata(f"categorical codes must be integers, not {codes.dtype}", where=self.table.url,
                                      key=f"{self.key}/codes")  # fmt: skip
            if codes.size and (codes.min() < -1 or codes.max() >= len(names)):
                raise CorruptData(f"categorical codes outside -1..{len(names) - 1}", where=self.table.url,
                                  key=f"{self.key}/codes")  # fmt: skip
            return tuple("" if c < 0 else names[c] for c in codes.tolist())
        values = _as_text(_read_1d(self.parts["values"], f"{self.key}/values", rows, budget, self.table))
        mask = _read_1d(self.parts["mask"], f"{self.key}/mask", rows, budget, self.table)
        return tuple("" if missing else value for value, missing in zip(values, mask.tolist(), strict=True))


def _load_parts(columns: Sequence[_Column]) -> None:
    """The arrays of every group column, in one batch."""
    wanted = [(c, part) for c in columns if not c.parts for part in c.part_names()]
    if not wanted:
        return
    found = _nodes(columns[0].table, [f"{c.key}/{part}" for c, part in wanted], key="obs")
    for (column, part), node in zip(wanted, found, strict=True):
        if not node.is_array:
            raise NotFound(f"the column's {part!r} array is missing", where=column.table.url, key=column.key)
        column.parts[part] = node


def _checked_array(node: NodeMetadata, key: str, table: Location) -> Any:
    if not node.exists or not node.is_array:
        raise NotFound("no array here", where=table.url, key=key)
    array = zarr_array(node)
    kind = array.dtype.kind
    if kind not in _NUMBER_KINDS + _TEXT_KINDS:
        raise InvalidMetadata(f"a table column cannot hold {array.dtype} values", where=table.url, key=key)
    return array


def _read_1d(node: NodeMetadata, key: str, rows: int, budget: _Budget, table: Location) -> np.ndarray:
    """The values of a one-dimensional array of ``rows`` values (bounded: see the module's docstring)."""
    array = _checked_array(node, key, table)
    if array.ndim != 1 or array.shape[0] != rows:
        raise InvalidMetadata(f"the column has shape {array.shape}; the table has {rows} rows", where=table.url,
                              key=key)  # fmt: skip
    if not variable_length(array.dtype):
        budget.spend(_decoded_bytes(array), key)
        return _read(array, slice(None), key, table)
    step = max(1, array.chunks[0])
    pieces = []
    for start in range(0, rows, step):  # text: one chunk at a time, counted as it comes
        piece = _read(array, slice(start, start + step), key, table)
        budget.spend(sum(len(v) for v in piece.tolist() if isinstance(v, str | bytes)), key)
        pieces.append(piece)
    return np.concatenate(pieces) if pieces else np.asarray([], dtype=object)


def _decoded_bytes(array: Any) -> int:
    """The bytes decoding the whole of a fixed-size array takes: whole chunks, so a 3-row column stored as one
    chunk of 2^27 values costs a GiB, not 24 bytes (its chunk shape is in its metadata, like its shape)."""
    padded = (-(-size // chunk) * chunk for size, chunk in zip(array.shape, array.chunks, strict=True))
    return math.prod(padded) * array.dtype.itemsize


def _read(array: Any, selection: Any, key: str, table: Location) -> np.ndarray:
    try:
        return np.asarray(array[selection])
    except NGFFError as exc:
        raise type(exc)(exc.message, where=exc.where or table.url, key=key) from None
    except (ValueError, RuntimeError, OverflowError) as exc:  # what numcodecs and zarr raise for bad chunks
        raise CorruptData(f"cannot read the column: {exc}", where=table.url, key=key) from None


def _matrix_columns(table: Location, node: NodeMetadata, budget: _Budget) -> list[tuple[str, ...]]:
    """AnnData's X (rows x columns of numbers) as text columns."""
    array = _checked_array(node, "X", table)
    if array.dtype.kind not in _NUMBER_KINDS:
        raise InvalidMetadata(f"X must hold numbers, not {array.dtype}", where=table.url, key="X")
    budget.spend(_decoded_bytes(array), "X")
    matrix = _read(array, slice(None), "X", table)
    return [_as_text(matrix[:, j]) for j in range(matrix.shape[1])]


def _as_text(values: np.ndarray) -> tuple[str, ...]:
    """Values as table text: numbers shortest (``1.5``, ``0``, ``1e-05``), NaN and None empty, bytes as UTF-8."""
    kind = values.dtype.kind
    if kind == "f":
        return tuple("" if math.isnan(v) else f"{v:.15g}" for v in values.tolist())
    return tuple(_cell(v) for v in values.tolist())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.15g}"
    return str(value)


# --- json and csv ------------------------------------------------------------------------------------------------


def _json_columns(location: Location, budget: _Budget) -> tuple[dict[str, tuple[str, ...]], int]:
    """The json backend: the ``table`` group's attributes, one list per column (bounded as a metadata document)."""
    (node,) = _nodes(location, ["table"], key="table")
    if not node.exists or not node.is_group:
        raise NotFound("the json table has no 'table' group", where=location.url, key="table")
    lists = {k: v for k, v in node.attributes.items() if isinstance(v, list)}
    if len(lists) != len(node.attributes):
        odd = next(k for k in node.attributes if k not in lists)
        raise InvalidMetadata("every column must be a list of values", where=location.url, key=f"table.{odd}")
    lengths = {len(v) for v in lists.values()}
    if len(lengths) > 1:
        raise InvalidMetadata(f"the columns have different lengths ({sorted(lengths)})", where=location.url,
                              key="table")  # fmt: skip
    rows = lengths.pop() if lengths else 0
    budget.check_cells(rows, len(lists))
    out: dict[str, tuple[str, ...]] = {}
    for name, values in lists.items():
        if not all(v is None or isinstance(v, str | int | float) for v in values):
            raise InvalidMetadata("a column's values must be text, numbers or null", where=location.url,
                                  key=f"table.{name}")  # fmt: skip
        out[name] = tuple(_cell(v) for v in values)
    return out, rows


def _csv_columns(location: Location, budget: _Budget) -> tuple[dict[str, tuple[str, ...]], int]:
    """The csv backend: ``table.csv`` (UTF-8, a header line), read whole within ``max_table_bytes``."""
    data = adapter.sync(location.read_bytes(CSV_FILE))
    if data is None:
        raise NotFound(f"the csv table has no {CSV_FILE}", where=location.url, key=CSV_FILE)
    budget.spend(len(data), CSV_FILE)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidMetadata("the table is not UTF-8 text", where=location.url, key=CSV_FILE) from None
    try:
        lines = _csv_records(text, budget)
    except csv.Error as exc:
        raise InvalidMetadata(f"cannot read the table: {exc}", where=location.url, key=CSV_FILE) from None
    if not lines:
        return {}, 0
    header, body = lines[0], lines[1:]
    budget.check_cells(len(body), len(header))
    for number, line in enumerate(body, start=2):
        if len(line) != len(header):
            raise InvalidMetadata(f"line {number} has {len(line)} values; the header names {len(header)}",
                                  where=location.url, key=CSV_FILE)  # fmt: skip
    return {name: tuple(line[j] for line in body) for j, name in enumerate(header)}, len(body)


def _csv_records(text: str, budget: _Budget) -> list[list[str]]:
    """The records of a csv text, its cells counted against ``max_table_cells`` as they are parsed: a 64 MB line of
    commas is 67 million empty cells (half a GiB of list) if it is parsed before it is counted. A line holding more
    separators than a table may have cells is refused before it is parsed; the records so far are counted at each
    record."""
    limit = budget.limits.max_table_cells

    def physical_lines() -> Iterator[str]:
        for match in _PHYSICAL_LINE.finditer(text):  # as open(newline="") splits (io.StringIO copies to UCS-4)
            line = match.group()
            separators = line.count(",")
            if separators >= limit:
                budget.check_cells(1, separators + 1)
            yield line

    records: list[list[str]] = []
    width = 0
    for record in csv.reader(physical_lines()):
        records.append(record)
        width = width or len(record)
        if (len(records) - 1) * width > limit:
            budget.check_cells(len(records) - 1, width)
    return records
