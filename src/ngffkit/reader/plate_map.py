"""Where each well of a plate is, and what a person wants to know about it: the plate's map, GUI-free.

A plate viewer needs three answers that the metadata holds but does not spell out: a table of wells (row,
column, number of fields, acquisitions), the box each well occupies in the stitched grid (to draw its name and
to turn a click into a well), and the well under a point. They are computed here, from metadata already read,
so that the napari navigator stays a thin layer and every answer is testable without a window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ngffkit.reader.hcs import Plate
from ngffkit.reader.well import mosaic_columns


@dataclass(frozen=True)
class WellRow:
    """One row of the well table. ``present`` is False for a position the plate lists without a readable well
    and for positions of the rows x columns grid that hold no well at all."""

    path: str
    row: str
    column: str
    row_index: int
    column_index: int
    fields: int
    acquisitions: tuple[int, ...]
    present: bool
    #: Columns a person added (e.g. condition, drug, concentration from a CSV).
    extra: Mapping[str, str] = field(default_factory=dict)

    def value(self, column: str) -> Any:
        """The value shown in table column ``column``."""
        builtin = {"well": self.path, "row": self.row, "column": self.column, "fields": self.fields,
                   "acquisition": ", ".join(map(str, self.acquisitions))}  # fmt: skip
        return builtin[column] if column in builtin else self.extra.get(column, "")


#: The table's own columns, in order.
WELL_COLUMNS = ("well", "row", "column", "fields", "acquisition")


def well_table(plate: Plate, *, every_position: bool = False, read_wells: bool = True) -> list[WellRow]:
    """The plate's wells in row-major order. With ``every_position`` the empty positions of the grid come too.

    ``read_wells`` reads every well's metadata first (one batch); without it, a well not read yet counts as
    present with the plate's declared ``field_count`` (what opening a plate of thousands of wells can afford)."""
    if read_wells:
        plate.load_wells()
    declared = (plate.metadata.plate.field_count if plate.metadata.plate else None) or 0
    listed = {
        (ref.row_index, ref.column_index): ref for ref in (plate.metadata.plate.wells if plate.metadata.plate else ())
    }
    out: list[WellRow] = []
    for r, row in enumerate(plate.rows):
        for c, column in enumerate(plate.columns):
            ref = listed.get((r, c))
            if ref is None:
                if every_position:
                    out.append(WellRow(f"{row}/{column}", row, column, r, c, 0, (), present=False))
                continue
            if not plate.is_read(ref.path):
                out.append(WellRow(ref.path, row, column, r, c, declared, (), present=True))
                continue
            well = plate.well(ref.path)
            refs = well.metadata.well.images if well is not None and well.metadata.well else ()
            acquisitions = tuple(sorted({f.acquisition for f in refs if f.acquisition is not None}))
            out.append(WellRow(ref.path, row, column, r, c, len(refs), acquisitions, present=well is not None))
    return out


def with_columns(rows: Sequence[WellRow], values: Mapping[str, Mapping[str, str]]) -> list[WellRow]:
    """The rows with per-well columns added (``values``: well path -> column -> text)."""
    return [WellRow(r.path, r.row, r.column, r.row_index, r.column_index, r.fields, r.acquisitions, r.present,
                    {**r.extra, **values.get(r.path, {})}) for r in rows]  # fmt: skip


@dataclass(frozen=True)
class Cell:
    """A well's box in the stitched grid, in pixels of the grid's level 0: ``(y, x)`` of its top left corner
    and its height and width (every cell has the same size: tiles are padded to the largest)."""

    y: float
    x: float
    height: float
    width: float

    def corners(self) -> list[list[float]]:
        """The four corners, as a napari rectangle wants them."""
        y1, x1 = self.y + self.height, self.x + self.width
        return [[self.y, self.x], [self.y, x1], [y1, x1], [y1, self.x]]


def grid_cells(plate: Plate, grid_shape: Sequence[int]) -> dict[tuple[int, int], Cell]:
    """Every position of the grid (row index, column index) -> its cell, for a grid of ``grid_shape``."""
    rows, columns = max(1, len(plate.rows)), max(1, len(plate.columns))
    height, width = grid_shape[-2] / rows, grid_shape[-1] / columns
    return {(r, c): Cell(r * height, c * width, height, width) for r in range(rows) for c in range(columns)}


def well_at(plate: Plate, grid_shape: Sequence[int], y: float, x: float) -> str | None:
    """The path of the well whose cell holds grid pixel ``(y, x)``, or None (outside, or an empty position)."""
    rows, columns = len(plate.rows), len(plate.columns)
    if not rows or not columns or y < 0 or x < 0:
        return None
    r, c = int(y // (grid_shape[-2] / rows)), int(x // (grid_shape[-1] / columns))
    if r >= rows or c >= columns:
        return None
    for ref in plate.metadata.plate.wells if plate.metadata.plate else ():
        if (ref.row_index, ref.column_index) == (r, c):
            return ref.path
    return None


def field_offset(plate: Plate, well: str, field: int) -> tuple[int, int]:
    """Where field ``field`` sits inside its well's cell when every field is tiled (``Plate.grid(level, "all")``):
    ``(y, x)`` in level-0 pixels. The well's fields are laid out row by row in a near-square grid of tiles the
    size of its largest field."""
    found = plate.well(well)
    if found is None:
        return 0, 0
    shapes = [img.shapes[0][-2:] for img in found.fields() if img is not None]
    if not shapes:
        return 0, 0
    height, width = max(s[0] for s in shapes), max(s[1] for s in shapes)
    columns = mosaic_columns(len(found.field_paths))
    return (field // columns) * height, (field % columns) * width
