"""Tables beside an image, plate or well, as ngio (fractal) writes them: a ``tables`` group listing them.

ngio 1.1 keeps tables in a ``tables`` group whose attributes name them (``{"tables": ["image_roi", ...]}``); each
table is a group whose attributes give its ``type`` (roi_table, masking_roi_table, feature_table, condition_table,
generic_table) and ``backend`` (anndata by default, json, csv, parquet). They are not OME-NGFF metadata -- no
image names its ``tables`` group -- so they are read only when asked for (:func:`read_tables`), and only metadata is
read: the number of rows where zarr metadata gives it (an AnnData table's ``obs`` index array, a json table's
columns in its attributes); csv and parquet files are "not read" (that would need their parsers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ngffkit.errors import NGFFError
from ngffkit.store.batch import read_many_or_errors
from ngffkit.store.location import Location
from ngffkit.store.nodes import NodeMetadata

#: The backends whose number of rows is in zarr metadata.
COUNTED = ("anndata", "json")


@dataclass(frozen=True)
class TableInfo:
    """One table of a ``tables`` group: what it is and, where metadata tells, how many rows it has."""

    name: str
    #: As written ("roi_table", "feature_table", "condition_table" ...); None when the table states none.
    type: str | None
    #: "anndata", "json", "csv", "parquet" (None: none stated; ngio then means anndata).
    backend: str | None
    #: The number of rows; None when not read (csv, parquet) or not found.
    rows: int | None
    #: Why there is no number of rows (None when there is one).
    not_read: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "backend": self.backend, "rows": self.rows,
                "not_read": self.not_read}  # fmt: skip


def table_names(group: NodeMetadata) -> tuple[str, ...] | None:
    """The names a ``tables`` group lists, or None when it is no tables group."""
    listed = group.attributes.get("tables") if group.exists and group.is_group else None
    if not isinstance(listed, list):
        return None
    return tuple(name for name in listed if isinstance(name, str))


def read_tables(owner: Location) -> tuple[TableInfo, ...]:
    """The tables in ``owner``'s ``tables`` group (none when there is none): three concurrent batches of metadata
    reads, whatever the number of tables."""
    return read_tables_group(owner.child("tables"))


def read_tables_group(location: Location) -> tuple[TableInfo, ...]:
    """The tables of the ``tables`` group at ``location`` (none when it is no tables group)."""
    names = table_names(location.read(expect="group"))
    if not names:
        return ()
    safe: list[tuple[str, Location]] = []
    for name in names:
        try:
            safe.append((name, location.child(name, key="tables")))
        except NGFFError:
            continue  # an unsafe name is not followed
    groups = read_many_or_errors([loc for _, loc in safe], expect="group")
    described = [_described(name, group) for (name, _), group in zip(safe, groups, strict=True)]
    return tuple(_with_rows(described, [loc for _, loc in safe], groups))


def _described(name: str, group: NodeMetadata | NGFFError) -> TableInfo:
    if isinstance(group, NGFFError) or not group.exists:
        return TableInfo(name, None, None, None, "its group is missing or unreadable")
    attributes = group.attributes
    kind, backend = attributes.get("type"), attributes.get("backend")
    if backend is None and attributes.get("encoding-type") == "anndata":
        backend = "anndata"
    return TableInfo(name, kind if isinstance(kind, str) else None, backend if isinstance(backend, str) else None,
                     None)  # fmt: skip


def _with_rows(
    tables: list[TableInfo], locations: list[Location], groups: list[NodeMetadata | NGFFError]
) -> list[TableInfo]:
    """Each table with its number of rows where metadata gives it: the json backend's columns are in the attributes
    of its ``table`` group; AnnData's ``obs`` group names its index, whose array's shape is the count."""
    first = [_first_read(t, loc) for t, loc in zip(tables, locations, strict=True)]
    firsts = read_many_or_errors([loc for loc in first if loc is not None])
    answers = iter(firsts)
    out: list[TableInfo] = []
    second: list[tuple[int, Location]] = []
    for i, (table, loc) in enumerate(zip(tables, first, strict=True)):
        if loc is None:
            out.append(table if table.not_read else _not_read(table))
            continue
        node = next(answers)
        if isinstance(node, NGFFError) or not node.exists:
            out.append(_not_found(table))
        elif table.backend == "json":
            out.append(_rows(table, _json_rows(node.attributes)))
        else:
            index = node.attributes.get("_index")
            out.append(table)
            if isinstance(index, str):
                try:
                    second.append((i, loc.child(index, key="_index")))
                except NGFFError:
                    out[-1] = _not_found(table)
            else:
                out[-1] = _not_found(table)
    indexes = read_many_or_errors([loc for _, loc in second])
    for (i, _), node in zip(second, indexes, strict=True):
        out[i] = _rows(out[i], _index_rows(node))
    return out


def _first_read(table: TableInfo, location: Location) -> Location | None:
    if table.not_read is not None:
        return None
    if table.backend == "json":
        return location.child("table")
    if table.backend in (None, "anndata"):
        return location.child("obs")
    return None


def _not_read(table: TableInfo) -> TableInfo:
    return TableInfo(table.name, table.type, table.backend, None, f"{table.backend} tables are not read")


def _not_found(table: TableInfo) -> TableInfo:
    return TableInfo(table.name, table.type, table.backend, None, "its row count is not in its metadata")


def _rows(table: TableInfo, rows: int | None) -> TableInfo:
    return TableInfo(table.name, table.type, table.backend, rows, None) if rows is not None else _not_found(table)


def _json_rows(attributes: Mapping[str, Any]) -> int | None:
    """The length of the json backend's columns (each a list under its name), when they agree."""
    lengths = {len(v) for v in attributes.values() if isinstance(v, list)}
    return lengths.pop() if len(lengths) == 1 else None


def _index_rows(node: NodeMetadata | NGFFError) -> int | None:
    """The rows of an AnnData index: its array's first dimension, or for a nullable string array (a group, as
    anndata writes string indexes) its ``values`` array's (one more read, for such an index only)."""
    if isinstance(node, NGFFError) or not node.exists:
        return None
    if node.is_array:
        shape = node.shape
        return shape[0] if shape else None
    try:
        values = node.location.child("values").read(expect="array")
    except NGFFError:
        return None
    shape = values.shape if values.exists and values.is_array else None
    return shape[0] if shape else None
