"""Per-well columns from a table a person keeps (condition, drug, concentration ...), matched to a plate's wells.

Screening labs keep the plate layout in a spreadsheet, with wells written ``B3``, ``B03``, ``b/3`` or as separate
row and column columns. This reads such a CSV, matches each line to a well of the plate, and reports the lines
that match nothing instead of dropping them silently. Lines that name the same well are kept too: each column
then shows their different values, comma-separated. The matching (:func:`match_wells`) also places the condition
tables ngio writes beside a plate (:mod:`ngffkit.tools.condition_columns`).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ngffkit.errors import InvalidArgument, NotFound
from ngffkit.reader.hcs import Plate

_WELL_NAME = re.compile(r"\s*([A-Za-z]+)\s*[/_\-\s]?\s*0*(\d+)\s*")
#: The largest table read (a 1536-well plate has 1536 lines; this leaves room for notes and repeats).
MAX_TABLE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class WellColumns:
    """The columns read for each well (well path -> column -> text), and the lines that matched no well."""

    columns: tuple[str, ...]
    values: dict[str, dict[str, str]]
    unmatched: tuple[str, ...]
    #: Where the columns come from (a CSV's path; the URLs of a plate's condition tables).
    sources: tuple[str, ...] = ()
    #: Tables that were not read, each with why (a parquet table; one that could not be read).
    skipped: tuple[str, ...] = ()


def _key(row: str, column: str) -> tuple[str, str]:
    column = column.strip()
    return row.strip().upper(), str(int(column)) if column.isdigit() else column.upper()


def _well_keys(plate: Plate) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for ref in plate.metadata.plate.wells if plate.metadata.plate else ():
        if ref.row_index < len(plate.rows) and ref.column_index < len(plate.columns):
            out[_key(plate.rows[ref.row_index], plate.columns[ref.column_index])] = ref.path
    return out


def _find(header: Sequence[str], *names: str) -> str | None:
    lowered = {h.strip().lower(): h for h in header}
    return next((lowered[n] for n in names if n in lowered), None)


def read_well_columns(path: str | os.PathLike[str], plate: Plate) -> WellColumns:
    """Read ``path`` (CSV with a header line) and match its lines to ``plate``'s wells.

    A line names its well in a ``well`` column (``B3``, ``B03``, ``B/3``) or in ``row`` and ``column`` columns;
    every other column becomes a column of the well table.
    """
    try:
        if os.path.getsize(path) > MAX_TABLE_BYTES:
            raise InvalidArgument(f"the table is larger than {MAX_TABLE_BYTES // 2**20} MiB", where=os.fspath(path))
        with open(path, newline="", encoding="utf-8-sig") as f:
            lines = list(csv.DictReader(f))
            header = tuple(lines[0].keys()) if lines else ()
    except FileNotFoundError as exc:
        raise NotFound("no such table", where=os.fspath(path)) from exc
    except UnicodeDecodeError as exc:
        raise InvalidArgument("the table is not text (CSV saved as UTF-8)", where=os.fspath(path)) from exc
    except (OSError, csv.Error) as exc:
        raise InvalidArgument(f"cannot read the table: {exc}", where=os.fspath(path)) from exc
    if not lines:
        raise InvalidArgument(
            "the table is empty (a header line and one line per well are needed)", where=os.fspath(path)
        )
    return match_wells(header, lines, plate, where=os.fspath(path))


#: Column names that say which well a line is about.
WELL_NAMES = ("well", "well name", "wellname", "well_id", "position")


def key_columns(header: Sequence[str]) -> tuple[str | None, str | None, str | None]:
    """The columns that name a line's well: ``(well, row, column)``, each None when absent."""
    return _find(header, *WELL_NAMES), _find(header, "row"), _find(header, "column", "col")


def match_wells(
    header: Sequence[str], lines: Sequence[Mapping[str, str | None]], plate: Plate, *, where: str
) -> WellColumns:
    """Match ``lines`` (column -> text, as :class:`csv.DictReader` gives them) to ``plate``'s wells by their
    ``well`` column (``B3``, ``B03``, ``B/3``) or their ``row`` and ``column`` columns; every other column of
    ``header`` becomes a column of the well table. :class:`~ngffkit.InvalidArgument` (naming ``where``) when no
    column names the well."""
    well_column, row_column, column_column = key_columns(header)
    if well_column is None and (row_column is None or column_column is None):
        raise InvalidArgument("the table needs a 'well' column, or 'row' and 'column' columns", where=where)
    used = {c for c in (well_column, row_column, column_column) if c is not None}
    columns = tuple(h for h in header if h not in used and h is not None)
    keys = _well_keys(plate)
    values: dict[str, dict[str, str]] = {}
    unmatched: list[str] = []
    for line in lines:
        if well_column is not None:
            match = _WELL_NAME.fullmatch(line.get(well_column) or "")
            key = _key(match.group(1), match.group(2)) if match else None
            shown = line.get(well_column) or ""
        else:
            key = _key(line.get(row_column or "") or "", line.get(column_column or "") or "")
            shown = f"{line.get(row_column or '')}{line.get(column_column or '')}"
        well = keys.get(key) if key is not None else None
        if well is None:
            unmatched.append(shown)
            continue
        merge_line(values.setdefault(well, {}), {c: (line.get(c) or "") for c in columns})
    return WellColumns(columns, values, tuple(unmatched), (where,))


def merge_line(cells: dict[str, str], line: Mapping[str, str]) -> None:
    """Add a line's values to a well's ``cells``: a value the well already shows for that column is not repeated,
    a different one is added after a comma (several lines about one well: every field, every treatment)."""
    for column, value in line.items():
        shown = cells.get(column)
        if shown is None:
            cells[column] = value
        elif value and value not in shown.split(", "):
            cells[column] = f"{shown}, {value}" if shown else value
