"""Plates and wells: fields of view opened concurrently, and lazy mosaics of them.

Opening a plate costs four sequential round trips whatever its size: the plate, all wells, the first field
of every well, and all arrays of those fields. Each well's field is found through *its own* well metadata
(never by assuming the first well's paths), and wells or fields that are missing become fill in the grid.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Literal

import dask.array as da
import numpy as np

from ngffkit.errors import InvalidMetadata, NGFFError, NGFFWarning, NotFound
from ngffkit.metadata import OMEMetadata, parse_attributes
from ngffkit.reader.image import Image, images_from
from ngffkit.reader.node import Node
from ngffkit.store import limits
from ngffkit.store.batch import read_many_or_errors
from ngffkit.store.location import Location
from ngffkit.store.nodes import NodeMetadata


def mosaic(tiles: Sequence[Sequence[da.Array | None]]) -> da.Array:
    """Tile arrays into one along their last two axes; smaller tiles are padded, missing ones filled with 0.

    All tiles get the largest shape found along every axis, so wells of different sizes line up.
    """
    present = [t for row in tiles for t in row if t is not None]
    if not present:
        raise NotFound("nothing to tile: every tile is missing")
    ndim = present[0].ndim
    if any(t.ndim != ndim for t in present):
        raise NGFFError("cannot tile images with different numbers of dimensions")
    shape = tuple(max(t.shape[i] for t in present) for i in range(ndim))
    dtype = np.result_type(*(t.dtype for t in present))
    chunks = present[0].chunksize

    def fit(t: da.Array | None) -> da.Array:
        if t is None:
            return da.zeros(shape, dtype=dtype, chunks=tuple(min(c, s) for c, s in zip(chunks, shape, strict=True)))
        t = t.astype(dtype) if t.dtype != dtype else t
        pad = [(0, s - n) for s, n in zip(shape, t.shape, strict=True)]
        return da.pad(t, pad, mode="constant") if any(p[1] for p in pad) else t

    return da.block([[fit(t) for t in row] for row in tiles])


class Well(Node):
    """A well: its fields of view (images), opened on demand and concurrently."""

    kind = "well"

    def __init__(
        self, location: Location, metadata: OMEMetadata, loaded: dict[int, Image | None] | None = None
    ) -> None:
        super().__init__(location, metadata)
        self._fields: dict[int, Image | None] = dict(loaded or {})

    @property
    def field_paths(self) -> tuple[str, ...]:
        paths = tuple(f.path for f in (self.metadata.well.images if self.metadata.well else ()))
        limits.check("max_fields", len(paths), what="fields in this well", where=self.url)
        return paths

    def field(self, index: int = 0) -> Image | None:
        """Field ``index`` (None when the well has no such field or it cannot be read)."""
        if index not in self._fields:
            self._load([index])
        return self._fields.get(index)

    def is_loaded(self, index: int) -> bool:
        """Whether field ``index`` has been opened (or found missing) already."""
        return index in self._fields

    def keep(self, index: int, image: Image | None) -> None:
        """Remember field ``index`` as opened elsewhere (a plate opens one field of every well in one batch)."""
        self._fields[index] = image

    def fields(self) -> list[Image | None]:
        self._load([i for i in range(len(self.field_paths)) if i not in self._fields])
        return [self._fields.get(i) for i in range(len(self.field_paths))]

    def _load(self, indices: Sequence[int]) -> None:
        wanted = [i for i in indices if i < len(self.field_paths)]
        for i, image in zip(wanted, load_fields([(self.location, self.field_paths[i]) for i in wanted]), strict=True):
            self._fields[i] = image
        for i in indices:
            self._fields.setdefault(i, None)

    def mosaic(self, level: int = 0) -> da.Array:
        """All fields side by side in a near-square grid, at ``level``."""
        tiled = square_mosaic([_level(img, level) for img in self.fields()])
        if tiled is None:
            raise NotFound(f"no field of this well has level {level}", where=self.url)
        return tiled


def mosaic_columns(count: int) -> int:
    """How many columns a near-square mosaic of ``count`` tiles has."""
    return max(1, math.ceil(math.sqrt(count)))


def square_mosaic(cells: Sequence[da.Array | None]) -> da.Array | None:
    """Cells in a near-square grid, row by row (None when every cell is missing): how a well's fields are
    laid out, the same for its images and its labels."""
    if not any(c is not None for c in cells):
        return None
    columns = mosaic_columns(len(cells))
    rows = [list(cells[i : i + columns]) for i in range(0, len(cells), columns)]
    rows[-1] += [None] * (columns - len(rows[-1]))
    return mosaic(rows)


def load_fields(targets: Sequence[tuple[Location, str]], *, missing_ok: bool = False) -> list[Image | None]:
    """Open field images ``(well location, field path)`` concurrently; broken ones become None + warning.

    Only the first field's ``labels`` group is read with them (a plate has hundreds of fields); the others
    read theirs when asked. ``missing_ok`` skips the warning for targets that do not exist (optional label images).
    """
    locations: list[Location | None] = []
    for well, path in targets:
        try:
            locations.append(well.child(path, key="well.images.path"))
        except NGFFError as exc:
            warnings.warn(str(exc), NGFFWarning, stacklevel=3)
            locations.append(None)
    present = [loc for loc in locations if loc is not None]
    nodes = dict(zip((loc.path for loc in present), read_many_or_errors(present, expect="group"), strict=True))
    entries: list[tuple[Location, OMEMetadata]] = []
    order: list[int] = []
    for i, loc in enumerate(locations):
        if loc is None:
            continue
        node = nodes[loc.path]
        if missing_ok and isinstance(node, NodeMetadata) and not node.exists:
            continue
        meta = _parse_or_warn(node, "field")
        if meta is not None:
            entries.append((loc, meta))
            order.append(i)
    images: list[Image | None] = [None] * len(targets)
    # Only the first field's labels group is read with the arrays (what a plate view lists); others on use.
    first_only = [k == 0 for k in range(len(entries))]
    for i, image in zip(order, images_from(entries, best_effort=True, read_labels=first_only), strict=True):
        images[i] = image
    return images


def _parse_or_warn(node: NodeMetadata | NGFFError, what: str) -> OMEMetadata | None:
    if isinstance(node, NGFFError):
        warnings.warn(f"skipping {what}: {node}", NGFFWarning, stacklevel=4)
        return None
    if not node.exists:
        warnings.warn(
            f"{node.location.url}: the {what} named in the metadata does not exist", NGFFWarning, stacklevel=4
        )
        return None
    try:
        return parse_attributes(node.attributes, where=node.document_url, zarr_format=node.zarr_format)
    except NGFFError as exc:
        warnings.warn(f"skipping {what}: {exc}", NGFFWarning, stacklevel=4)
        return None


class Plate(Node):
    """A plate: rows x columns of wells, each with fields; ``grid()`` stitches one field of every well."""

    kind = "plate"

    def __init__(self, location: Location, metadata: OMEMetadata, wells: dict[str, Well | None]) -> None:
        super().__init__(location, metadata)
        self._wells = wells
        self._grid_fields: dict[int, dict[str, Image | None]] = {}
        self._label_fields: dict[tuple[str, int], dict[str, Image | None]] = {}

    @property
    def rows(self) -> tuple[str, ...]:
        return self.metadata.plate.rows if self.metadata.plate else ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.metadata.plate.columns if self.metadata.plate else ()

    @property
    def name(self) -> str:
        plate = self.metadata.plate
        return (plate.name if plate and plate.name else None) or self.url.rstrip("/").rsplit("/", 1)[-1]

    @property
    def well_paths(self) -> tuple[str, ...]:
        return tuple(self._wells)

    @property
    def acquisitions(self) -> tuple:
        return self.metadata.plate.acquisitions if self.metadata.plate else ()

    def well(self, path: str) -> Well | None:
        """The well at ``path`` (``"B/3"``), or None when it is listed but missing."""
        if path not in self._wells:
            raise NotFound(f"the plate lists no well {path!r}", where=self.url)
        return self._wells[path]

    @property
    def field_count(self) -> int:
        return max((len(w.field_paths) for w in self._wells.values() if w is not None), default=0)

    def fields(self, field: int = 0) -> dict[str, Image | None]:
        """Field ``field`` of every well (opened concurrently the first time it is asked for)."""
        if field not in self._grid_fields:
            wells = [(p, w) for p, w in self._wells.items() if w is not None and field < len(w.field_paths)]
            missing = [(p, w) for p, w in wells if not w.is_loaded(field)]
            loaded = load_fields([(w.location, w.field_paths[field]) for _, w in missing])
            for (_, w), image in zip(missing, loaded, strict=True):
                w.keep(field, image)
            self._grid_fields[field] = {
                p: (w.field(field) if w is not None and field < len(w.field_paths) else None)
                for p, w in self._wells.items()
            }
        return self._grid_fields[field]

    def level_count(self, field: int = 0) -> int:
        """Levels available in every present field (the grid's pyramid depth)."""
        present = [img for img in self.fields(field).values() if img is not None]
        return min((len(img.levels) for img in present), default=0)

    def first_image(self, field: int = 0) -> Image | None:
        return next((img for img in self.fields(field).values() if img is not None), None)

    def label_names(self, field: int = 0) -> tuple[str, ...]:
        """Label names that the first readable field lists (the labels a plate view can stitch)."""
        first = self.first_image(field)
        return first.label_names if first is not None else ()

    def label_fields(self, name: str, field: int = 0) -> dict[str, Image | None]:
        """Label image ``name`` of field ``field`` of every well, opened concurrently (cached)."""
        key = (name, field)
        if key not in self._label_fields:
            images = self.fields(field)
            # Every present field may have it: look it up directly (one batch) rather than first reading
            # every field's labels group.
            owners = [(p, img) for p, img in images.items() if img is not None]
            loaded = load_fields([(img.location.child("labels"), name) for _, img in owners], missing_ok=True)
            found = dict(zip((p for p, _ in owners), loaded, strict=True))
            self._label_fields[key] = {p: found.get(p) for p in images}
        return self._label_fields[key]

    def label_grid(self, name: str, level: int = 0, field: int | Literal["all"] = 0) -> da.Array:
        """Like :meth:`grid`, for label image ``name`` of each well's field (0 where it is missing)."""
        if field == "all":
            return self._every_field({i: self.label_fields(name, i) for i in range(self.field_count)}, level)
        return self._tiles(self.label_fields(name, field), level)

    def grid(self, level: int = 0, field: int | Literal["all"] = 0) -> da.Array:
        """One lazy array tiling field ``field`` of every well into a rows x columns mosaic at ``level``.

        Each well contributes its own field; missing wells and fields are zero; wells smaller than the
        largest are padded. ``field="all"`` tiles every field of a well inside its cell (a near-square
        mosaic per well; all fields of all wells are opened in one batch per field index). No pixel is read
        until the array is computed.
        """
        if field == "all":  # one concurrent batch per field index, across all wells
            return self._every_field({i: self.fields(i) for i in range(self.field_count)}, level)
        return self._tiles(self.fields(field), level)

    def _every_field(self, per_field: dict[int, dict[str, Image | None]], level: int) -> da.Array:
        """Each well's fields in a near-square mosaic inside its cell (the layout depends only on the number of
        fields the well lists, so images and labels line up)."""
        cells = {
            path: square_mosaic([_level(per_field[i].get(path), level) for i in range(len(well.field_paths))])
            if well is not None else None
            for path, well in self._wells.items()
        }  # fmt: skip
        return self._tile_arrays(cells)

    def _tiles(self, images: dict[str, Image | None], level: int) -> da.Array:
        return self._tile_arrays({p: _level(img, level) for p, img in images.items()})

    def _tile_arrays(self, arrays: dict[str, da.Array | None]) -> da.Array:
        by_position: dict[tuple[int, int], da.Array | None] = {}
        plate = self.metadata.plate
        for ref in plate.wells if plate else ():
            by_position[(ref.row_index, ref.column_index)] = arrays.get(ref.path)
        tiles = [[by_position.get((r, c)) for c in range(len(self.columns))] for r in range(len(self.rows))]
        return mosaic(tiles)

    def tile_shape(self, level: int = 0, field: int = 0) -> tuple[int, ...]:
        """Shape of one well's tile in :meth:`grid` (the largest field at that level)."""
        present = [
            img.shapes[level] for img in self.fields(field).values() if img is not None and level < len(img.shapes)
        ]
        return tuple(max(s[i] for s in present) for i in range(len(present[0]))) if present else ()


def _level(image: Image | None, level: int) -> da.Array | None:
    return image.levels[level] if image is not None and level < len(image.levels) else None


def load_plate(location: Location, metadata: OMEMetadata) -> Plate:
    """Open a plate: all wells in one batch, then the first field of each well (groups, then arrays)."""
    plate = metadata.plate
    refs = plate.wells if plate else ()
    rows, columns = (len(plate.rows), len(plate.columns)) if plate else (0, 0)
    limits.check("max_wells", len(refs), what="wells in this plate", where=location.url)
    limits.check("max_plate_cells", rows * columns, what="rows x columns of this plate", where=location.url)
    locations: list[Location | None] = []
    for ref in refs:
        try:
            if not (0 <= ref.row_index < rows and 0 <= ref.column_index < columns):
                raise InvalidMetadata(
                    f"well {ref.path!r} sits at row {ref.row_index}, column {ref.column_index}: outside the "
                    f"{rows} x {columns} plate; skipping it", where=location.url, key="plate.wells",
                )  # fmt: skip
            locations.append(location.child(ref.path, key="plate.wells.path"))
        except NGFFError as exc:
            warnings.warn(str(exc), NGFFWarning, stacklevel=3)
            locations.append(None)
    present = [loc for loc in locations if loc is not None]
    nodes = iter(read_many_or_errors(present, expect="group"))
    wells: dict[str, Well | None] = {}
    for ref, loc in zip(refs, locations, strict=True):
        if loc is None:
            wells[ref.path] = None
            continue
        meta = _parse_or_warn(next(nodes), "well")
        wells[ref.path] = Well(loc, meta) if meta is not None and meta.well is not None else None
    result = Plate(location, metadata, wells)
    if result.first_image(0) is None:
        raise NotFound("no well of this plate has a readable field", where=location.url, key="plate.wells")
    return result


def load_well(location: Location, metadata: OMEMetadata) -> Well:
    well = Well(location, metadata)
    well.field(0)
    return well
