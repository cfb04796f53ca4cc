"""A plate's condition tables as per-well columns, like a lab's CSV: what ngio (fractal) writes beside a plate.

ngio 1.1 keeps a plate's experimental conditions -- drug, dose, treatment -- in condition tables
(``type: condition_table``) of the plate's ``tables`` group: one line per well, naming it by ``row`` and ``column``
(or ``col``) or by ``well``. A well may keep its own in a ``tables`` group inside the well; those lines are about that
well whatever they say. Every column other than the well's name becomes a column of the well table, matched to the
wells exactly as a CSV's are (:func:`ngffkit.tools.well_columns.match_wells`).

Tables are read with zarr and numpy only (:mod:`ngffkit.reader.table_columns`: anndata, json and csv). A table that
cannot be read -- a parquet table, a broken or hostile one -- does not stop the others: it is listed in
``skipped`` with why.
"""

from __future__ import annotations

from collections.abc import Sequence

from ngffkit.errors import NGFFError, redact
from ngffkit.reader.hcs import Plate
from ngffkit.reader.plate_map import WELL_COLUMNS
from ngffkit.reader.table_columns import READ_BACKENDS, TableColumns, read_table_columns
from ngffkit.reader.tables import TableInfo, read_tables_group, table_names
from ngffkit.store.batch import read_many_or_errors
from ngffkit.store.location import Location
from ngffkit.tools.well_columns import WellColumns, key_columns, match_wells, merge_line

#: The table type ngio writes for conditions.
CONDITION_TABLE = "condition_table"


def read_condition_columns(plate: Plate, *, well_tables: bool = True) -> WellColumns:
    """The columns of ``plate``'s condition tables, by well (the structure
    :func:`~ngffkit.tools.well_columns.read_well_columns` returns for a CSV): the plate's own tables, then -- with
    ``well_tables`` -- each well's (one batch of reads finds which wells have a ``tables`` group). Lines that name
    no well of the plate are in ``unmatched``; tables that were not read, with why, in ``skipped``."""
    found: list[tuple[TableInfo, Location, str | None]] = [
        (info, location, None) for info, location in _condition_tables(plate.location.child("tables"))
    ]
    if well_tables:
        found += _well_condition_tables(plate)
    columns: list[str] = []
    values: dict[str, dict[str, str]] = {}
    unmatched: list[str] = []
    sources: list[str] = []
    skipped: list[str] = []
    for info, location, well in found:
        if info.backend not in (None, *READ_BACKENDS, "anndata_v1"):
            skipped.append(f"{info.name}: {info.backend} tables are not read -- in {redact(location.url)}")
            continue
        try:
            table = read_table_columns(location, info.backend, name=info.name)
            placed = _placed(table, plate, well)
        except NGFFError as exc:
            skipped.append(f"{info.name}: {exc}")
            continue
        renamed = {c: _column_name(c, info.name) for c in placed.columns}
        for c in placed.columns:
            if renamed[c] not in columns:
                columns.append(renamed[c])
        for path, cells in placed.values.items():
            merge_line(values.setdefault(path, {}), {renamed[c]: v for c, v in cells.items()})
        unmatched += placed.unmatched
        sources.append(location.url)
    return WellColumns(tuple(columns), values, tuple(unmatched), tuple(sources), tuple(skipped))


def _column_name(column: str, table: str) -> str:
    """A condition column as the well table shows it: its own name, unless the table has a column of that name
    already (fields, acquisition), then with its table's name."""
    return f"{column} ({table})" if column in WELL_COLUMNS else column


def _condition_tables(location: Location) -> list[tuple[TableInfo, Location]]:
    """The condition tables of the ``tables`` group at ``location``, each with its group's location."""
    out = []
    for info in read_tables_group(location):
        if info.type == CONDITION_TABLE:
            try:
                out.append((info, location.child(info.name, key="tables")))
            except NGFFError:
                continue  # an unsafe name is not followed (read_tables_group skipped it too)
    return out


def _well_condition_tables(plate: Plate) -> list[tuple[TableInfo, Location, str]]:
    """Each well's condition tables: one batch reads every well's ``tables`` group; only wells that have one are
    read further."""
    wells: list[tuple[str, Location]] = []
    for path in plate.well_paths:
        try:
            wells.append((path, plate.location.child(f"{path}/tables", key="wells")))
        except NGFFError:
            continue
    groups = read_many_or_errors([loc for _, loc in wells], expect="group")
    out: list[tuple[TableInfo, Location, str]] = []
    for (path, location), group in zip(wells, groups, strict=True):
        if isinstance(group, NGFFError) or not table_names(group):
            continue
        out += [(info, table, path) for info, table in _condition_tables(location)]
    return out


def _placed(table: TableColumns, plate: Plate, well: str | None) -> WellColumns:
    """The table's lines matched to wells: a plate's by what each line names, a well's all to that well."""
    if well is None:
        return match_wells(table.columns, table.lines(), plate, where=table.url)
    keys = set(key_columns(table.columns)) - {None}
    columns = tuple(c for c in table.columns if c not in keys)
    cells: dict[str, str] = {}
    for line in table.lines():
        merge_line(cells, {c: line[c] for c in columns})
    return WellColumns(columns, {well: cells} if table.rows else {}, (), (table.url,))


def condition_summary(found: WellColumns, plate_wells: Sequence[str]) -> str:
    """One line saying what the condition tables added (for a status line or a notification)."""
    wells = sum(1 for w in plate_wells if w in found.values)
    return f"{len(found.columns)} condition columns for {wells} of {len(plate_wells)} wells"
