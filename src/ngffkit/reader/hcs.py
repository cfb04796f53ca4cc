"""Plates and wells: fields of view opened concurrently, and lazy mosaics of them.

Opening a plate reads the plate and its first readable well (well, field, arrays: four round trips and a
handful of requests, whatever the number of wells). The other wells are read when a view of the grid covers
them, many at once (see :mod:`ngffkit.reader.plate_grid`). Each well's field is found through *its own* well
metadata (never by assuming the first well's paths), and wells or fields that are missing become 0 in the grid.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import dask.array as da
import numpy as np
from dask.base import tokenize

from ngffkit.errors import InvalidMetadata, NGFFError, NGFFWarning, NotFound
from ngffkit.metadata import OMEMetadata
from ngffkit.metadata.hcs import Acquisition
from ngffkit.reader.image import Image
from ngffkit.reader.inflight import InFlight
from ngffkit.reader.node import Node
from ngffkit.reader.plate_grid import GridLevel, as_dask
from ngffkit.reader.well import Well, level_of, load_fields, mosaic, parse_or_warn, square_mosaic
from ngffkit.store.batch import read_many_or_errors
from ngffkit.store.location import Location


class Plate(Node):
    """A plate: rows x columns of wells, each with fields; ``grid()`` stitches one field of every well.

    Wells are read when first needed: opening reads the first readable well, whose field sizes the grid's cells;
    a view of the grid reads the wells it shows (see :mod:`ngffkit.reader.plate_grid`); :meth:`load_wells`,
    :meth:`fields` and :attr:`field_count` read all of them, one batch per depth. Made by :func:`ngffkit.open`
    and :func:`ngffkit.write_plate`; the constructor does no I/O.

    :param location: where the plate group is.
    :param metadata: the plate's parsed OME metadata.
    :param wells: every listed well's path -> its :class:`~ngffkit.Well` when read already, its location when
        not, None when it cannot be read (a path or position the metadata gets wrong).
    """

    kind = "plate"

    def __init__(self, location: Location, metadata: OMEMetadata, wells: Mapping[str, Well | Location | None]) -> None:
        super().__init__(location, metadata)
        self._places = {p: (w.location if isinstance(w, Well) else w) for p, w in wells.items()}
        self._wells: dict[str, Well | None] = {p: w for p, w in wells.items() if isinstance(w, Well)}
        self._wells.update({p: None for p, w in wells.items() if w is None})
        self._labels: dict[tuple[str, int], dict[str, Image | None]] = {}
        self._templates: dict[int, Image | None] = {}
        self._lock = threading.RLock()  # grids are read from several threads (dask, napari)
        self._reading: InFlight[tuple[str | int, ...]] = InFlight()  # what those threads are reading: each read once

    @property
    def rows(self) -> tuple[str, ...]:
        """The row names, top to bottom."""
        return self.metadata.plate.rows if self.metadata.plate else ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The column names, left to right."""
        return self.metadata.plate.columns if self.metadata.plate else ()

    @property
    def name(self) -> str:
        """The plate's ``name``, or the group's own name when it has none."""
        plate = self.metadata.plate
        return (plate.name if plate and plate.name else None) or self.url.rstrip("/").rsplit("/", 1)[-1]

    @property
    def well_paths(self) -> tuple[str, ...]:
        """The paths of the wells the plate lists (``"A/1"``), in its order."""
        return tuple(self._places)

    @property
    def acquisitions(self) -> tuple[Acquisition, ...]:
        """The plate's acquisitions, as its metadata lists them."""
        return self.metadata.plate.acquisitions if self.metadata.plate else ()

    def well(self, path: str) -> Well | None:
        """The well at ``path``, or None when it is listed but missing (read on first use).

        :param path: the well's path, as :attr:`well_paths` lists it (``"B/3"``).
        :raises NotFound: when the plate lists no such well.
        """
        if path not in self._places:
            raise NotFound(f"the plate lists no well {path!r}", where=self.url)
        self.load_wells([path])
        return self._wells[path]

    def is_read(self, path: str) -> bool:
        """Whether the metadata of well ``path`` has been read (or found unusable) already (no I/O).

        :param path: the well's path (``"B/3"``).
        """
        return path in self._wells

    def load_wells(self, paths: Sequence[str] | None = None) -> None:
        """Read the metadata of the wells ``paths`` (default: all) not read yet, in one concurrent batch.

        The lock is not held while the batch travels (all the wells of a remote plate take seconds): napari's
        drawing of the grid on its own thread must not wait for a worker thread reading wells meanwhile (the
        plate navigator opening one). A well read twice keeps its first reading, which the grid may already hold
        fields of.

        :param paths: the wells' paths; None (the default): every well.
        """
        wanted = self.well_paths if paths is None else paths

        def missing() -> list[tuple[str | int, ...]]:
            with self._lock:
                return [("well", p) for p in wanted if p not in self._wells]

        def read(keys: list[tuple[str | int, ...]]) -> None:
            todo = [str(key[1]) for key in keys]
            places = [self._places[p] for p in todo]
            nodes = iter(read_many_or_errors([loc for loc in places if loc is not None], expect="group"))
            found: dict[str, Well | None] = {}
            for path, loc in zip(todo, places, strict=True):
                meta = parse_or_warn(next(nodes), "well") if loc is not None else None
                found[path] = Well(loc, meta) if loc is not None and meta is not None and meta.well else None
            with self._lock:
                for path, well in found.items():
                    self._wells.setdefault(path, well)

        self._read_once(missing, read)

    def _read_once(
        self, missing: Callable[[], list[tuple[str | int, ...]]], read: Callable[[list[tuple[str | int, ...]]], None]
    ) -> None:
        """Read what ``missing()`` names, each key by one thread: the keys another thread is reading are waited
        for (and read here after all, should that thread have failed to)."""
        while keys := missing():
            with self._reading.claim(keys) as claimed:
                mine = [key for key in keys if key in claimed]
                if mine:
                    read(mine)

    @property
    def field_count(self) -> int:
        """The most fields any well has (reads every well's metadata)."""
        self.load_wells()
        with self._lock:
            return max((len(w.field_paths) for w in self._wells.values() if w is not None), default=0)

    def fields(self, field: int = 0) -> dict[str, Image | None]:
        """Field ``field`` of every well (every well's metadata and that field opened, one batch per depth).

        :param field: the field's index within each well (0, the default, is the first).
        :returns: each well's path -> its field's image, or None where the well has no readable such field.
        """
        return self._field_images(self.well_paths, field)

    def _field_images(self, paths: Sequence[str], field: int) -> dict[str, Image | None]:
        """Field ``field`` of the wells ``paths``, reading what was not read yet (wells, then fields) in batches."""
        self.load_wells(paths)
        with self._lock:  # held while deciding and keeping, never while a batch travels (see load_wells)
            wells = dict((p, self._wells[p]) for p in paths)

        def missing() -> list[tuple[str | int, ...]]:
            with self._lock:
                return [("field", p, field) for p, w in wells.items()
                        if w is not None and field < len(w.field_paths) and not w.is_loaded(field)]  # fmt: skip

        def read(keys: list[tuple[str | int, ...]]) -> None:
            todo = [w for key in keys if (w := wells[str(key[1])]) is not None]
            opened = load_fields([(w.location, w.field_paths[field]) for w in todo])
            with self._lock:
                for w, image in zip(todo, opened, strict=True):
                    w.keep(field, image)

        self._read_once(missing, read)
        with self._lock:
            return {
                p: w.field(field) if w is not None and field < len(w.field_paths) else None for p, w in wells.items()
            }

    def _opened(self, field: int) -> list[Image]:
        """Field ``field`` of the wells where it has been opened already (no I/O)."""
        with self._lock:
            wells = [w for w in self._wells.values() if w is not None and w.is_loaded(field)]
            return [img for w in wells if (img := w.field(field)) is not None]

    def first_image(self, field: int = 0) -> Image | None:
        """Field ``field`` of the first well that has it readable: the template of the grid's cells. Wells are
        tried in batches of growing size (1, 16, 256, ...), so a plate whose first well is fine costs one.

        :param field: the field's index within each well (0, the default, is the first).
        """
        with self._lock:
            if field in self._templates:
                return self._templates[field]
        paths, start, size, found = self.well_paths, 0, 1, None
        while found is None and start < len(paths):
            images = self._field_images(paths[start : start + size], field)
            found = next((img for img in images.values() if img is not None), None)
            start, size = start + size, size * 16
        with self._lock:
            return self._templates.setdefault(field, found)

    def level_count(self, field: int = 0) -> int:
        """The grid's pyramid depth: the levels of the first readable field (a well with fewer shows 0 below).

        :param field: the field's index within each well (0, the default, is the first).
        """
        first = self.first_image(field)
        return len(first.levels) if first is not None else 0

    def label_names(self, field: int = 0) -> tuple[str, ...]:
        """Label names that the first readable field lists (the labels a plate view can stitch).

        :param field: the field's index within each well (0, the default, is the first).
        """
        first = self.first_image(field)
        return first.label_names if first is not None else ()

    def label_fields(self, name: str, field: int = 0) -> dict[str, Image | None]:
        """Label image ``name`` of field ``field`` of every well (all read, one batch per depth).

        :param name: the label image's name (one of :meth:`label_names`).
        :param field: the field's index within each well (0, the default, is the first).
        :returns: each well's path -> the label image, or None where it is missing.
        """
        return self._label_images(self.well_paths, name, field)

    def first_label(self, name: str, field: int = 0) -> Image | None:
        """Label image ``name`` of the first readable field: the template of the label grid's cells.

        :param name: the label image's name.
        :param field: the field's index within each well (0, the default, is the first).
        """
        if self.first_image(field) is None:
            return None
        path = self._template_path(field)
        return self._label_images([path], name, field)[path]

    def labels_read(self, name: str, field: int = 0) -> bool:
        """Whether label image ``name`` of field ``field`` has been looked up in every well (no I/O).

        :param name: the label image's name.
        :param field: the field's index within each well (0, the default, is the first).
        """
        with self._lock:
            known = self._labels.get((name, field), {})
            wells = [(p, w) for p, w in self._wells.items() if w is not None and field < len(w.field_paths)]
            return len(self._wells) == len(self._places) and all(
                w.is_loaded(field) and (w.field(field) is None or p in known) for p, w in wells
            )

    def opened_labels(self, name: str, field: int = 0) -> list[Image]:
        """Label image ``name`` of the wells where it has been opened already (no I/O).

        :param name: the label image's name.
        :param field: the field's index within each well (0, the default, is the first).
        """
        with self._lock:
            return [lab for lab in self._labels.get((name, field), {}).values() if lab is not None]

    def _label_images(self, paths: Sequence[str], name: str, field: int) -> dict[str, Image | None]:
        images = self._field_images(paths, field)
        with self._lock:
            known = self._labels.setdefault((name, field), {})

        def missing() -> list[tuple[str | int, ...]]:
            with self._lock:
                return [("label", p, name, field) for p, img in images.items() if img is not None and p not in known]

        def read(keys: list[tuple[str | int, ...]]) -> None:
            owners = [(p, img) for key in keys if (img := images[p := str(key[1])]) is not None]
            # Look the label image up directly (one batch), rather than first reading every field's labels group.
            loaded = load_fields([(img.location.child("labels"), name) for _, img in owners], missing_ok=True)
            with self._lock:
                known.update(zip((p for p, _ in owners), loaded, strict=True))

        self._read_once(missing, read)
        with self._lock:
            return {p: known.get(p) for p in paths}

    def label_grid(self, name: str, level: int = 0, field: int | Literal["all"] = 0) -> da.Array:
        """Like :meth:`grid`, for label image ``name`` of each well's field (0 where it is missing).

        :param name: the label image's name (one of :meth:`label_names`).
        :param level: the pyramid level, 0 (the default) the highest resolution.
        :param field: the field's index within each well (0, the default), or ``"all"`` for every field.
        """
        if field == "all":
            return self._every_field({i: self.label_fields(name, i) for i in range(self.field_count)}, level)
        self.first_label(name, field)
        return self._lazy_grid(level, self.opened_labels(name, field),
                               lambda paths: self._label_images(paths, name, field), ("labels", name, field))  # fmt: skip

    def grid(self, level: int = 0, field: int | Literal["all"] = 0) -> da.Array:
        """One lazy array tiling field ``field`` of every well into a rows x columns mosaic at ``level``.

        Each well contributes its own field, read when a view first covers it; missing wells and fields are 0.
        Cells have the shape of the largest field opened so far (at first: the first readable well's); smaller
        fields are padded, larger ones cropped with a warning. ``field="all"`` tiles every field of a well inside
        its cell (a near-square mosaic per well; every well's fields are opened first, one batch per field index).
        No pixel is read until the array is computed.

        :param level: the pyramid level, 0 (the default) the highest resolution.
        :param field: the field's index within each well (0, the default), or ``"all"`` for every field.
        :returns: a lazy dask array, rows x columns cells along y and x.
        """
        if field == "all":  # one concurrent batch per field index, across all wells
            return self._every_field({i: self.fields(i) for i in range(self.field_count)}, level)
        self.first_image(field)
        return self._lazy_grid(level, self._opened(field), lambda paths: self._field_images(paths, field),
                               ("image", field))  # fmt: skip

    def _template_path(self, field: int) -> str:
        first = self.first_image(field)
        with self._lock:  # other threads add wells meanwhile
            return next(
                p for p, w in self._wells.items() if w is not None and w.is_loaded(field) and w.field(field) is first
            )

    def _lazy_grid(
        self, level: int, shown: Sequence[Image], images: Callable[[Sequence[str]], dict[str, Image | None]],
        what: tuple[Any, ...],
    ) -> da.Array:  # fmt: skip
        present = [img for img in shown if level < len(img.shapes)]
        if not present:
            raise NotFound(f"no well has level {level} of this {what[0]}", where=self.url)
        ndim = len(present[0].shapes[level])
        tile = tuple(
            max(img.shapes[level][i] for img in present if len(img.shapes[level]) == ndim) for i in range(ndim)
        )
        dtype = np.result_type(*(img.level_source(level)[0].dtype for img in present))

        def resolve(paths: Sequence[str]) -> dict[str, tuple[Any, str] | None]:
            found = images(paths)
            return {p: img.level_source(level) if img is not None and level < len(img.shapes) else None
                    for p, img in found.items()}  # fmt: skip

        plate = self.metadata.plate
        positions = {(ref.row_index, ref.column_index): ref.path for ref in (plate.wells if plate else ())
                     if self._places.get(ref.path) is not None}  # fmt: skip
        grid = GridLevel(positions, len(self.rows), len(self.columns), tile, np.dtype(dtype), resolve)
        return as_dask(grid, "ngffkit-plate-" + tokenize(self.url, level, what, tile, str(dtype)))

    def _every_field(self, per_field: dict[int, dict[str, Image | None]], level: int) -> da.Array:
        """Each well's fields in a near-square mosaic inside its cell (the layout depends only on the number of
        fields the well lists, so images and labels line up)."""
        self.load_wells()
        cells = {
            path: square_mosaic([level_of(per_field[i].get(path), level) for i in range(len(well.field_paths))])
            if (well := self._wells[path]) is not None else None
            for path in self.well_paths
        }  # fmt: skip
        return self._tile_arrays(cells)

    def _tile_arrays(self, arrays: dict[str, da.Array | None]) -> da.Array:
        by_position: dict[tuple[int, int], da.Array | None] = {}
        plate = self.metadata.plate
        for ref in plate.wells if plate else ():
            by_position[(ref.row_index, ref.column_index)] = arrays.get(ref.path)
        tiles = [[by_position.get((r, c)) for c in range(len(self.columns))] for r in range(len(self.rows))]
        return mosaic(tiles)

    def tile_shape(self, level: int = 0, field: int = 0) -> tuple[int, ...]:
        """Shape of one cell of :meth:`grid` (the largest field opened so far at that level).

        :param level: the pyramid level, 0 (the default) the highest resolution.
        :param field: the field's index within each well (0, the default, is the first).
        """
        self.first_image(field)
        present = [img.shapes[level] for img in self._opened(field) if level < len(img.shapes)]
        return tuple(max(s[i] for s in present) for i in range(len(present[0]))) if present else ()


def load_plate(location: Location, metadata: OMEMetadata) -> Plate:
    """Open a plate: its wells' places from the plate metadata, and the first readable well's first field (which
    sizes the grid's cells). The other wells are read when a view of the grid or a caller needs them."""
    plate = metadata.plate
    refs = plate.wells if plate else ()
    rows, columns = (len(plate.rows), len(plate.columns)) if plate else (0, 0)
    location.check_limit("max_wells", len(refs), what="wells in this plate")
    location.check_limit("max_plate_cells", rows * columns, what="rows x columns of this plate")
    places: dict[str, Location | None] = {}
    for ref in refs:
        try:
            if not (0 <= ref.row_index < rows and 0 <= ref.column_index < columns):
                raise InvalidMetadata(
                    f"well {ref.path!r} sits at row {ref.row_index}, column {ref.column_index}: outside the "
                    f"{rows} x {columns} plate; skipping it", where=location.url, key="plate.wells",
                )  # fmt: skip
            places[ref.path] = location.child(ref.path, key="plate.wells.path")
        except NGFFError as exc:
            warnings.warn(str(exc), NGFFWarning, stacklevel=3)
            places[ref.path] = None
    result = Plate(location, metadata, places)
    if result.first_image(0) is None:
        raise NotFound("no well of this plate has a readable field", where=location.url, key="plate.wells")
    return result
