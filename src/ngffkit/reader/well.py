"""Wells: their fields of view, opened on demand and concurrently, and near-square mosaics of them.

A plate opens the fields of many wells at once (:func:`load_fields`: one batch for their groups, one for all
their arrays); a well alone opens only what is asked for.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import dask.array as da
import numpy as np

from ngffkit.errors import NGFFError, NGFFWarning, NotFound
from ngffkit.metadata import OMEMetadata, parse_attributes
from ngffkit.reader.image import Image, images_from
from ngffkit.reader.node import Node
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
    """A well: its fields of view (images), opened on demand and concurrently.

    Made by :func:`ngffkit.open`, a :class:`~ngffkit.Plate` and :func:`ngffkit.write_well`; the constructor does
    no I/O.

    :param location: where the well group is.
    :param metadata: the well's parsed OME metadata.
    :param loaded: fields opened already: field index -> its image (None: missing or unreadable); None: none.
    """

    kind = "well"

    def __init__(
        self, location: Location, metadata: OMEMetadata, loaded: dict[int, Image | None] | None = None
    ) -> None:
        super().__init__(location, metadata)
        self._fields: dict[int, Image | None] = dict(loaded or {})

    @property
    def field_paths(self) -> tuple[str, ...]:
        """The paths of the well's fields, as its metadata lists them (at most ``max_fields`` of the limits)."""
        paths = tuple(f.path for f in (self.metadata.well.images if self.metadata.well else ()))
        self.location.check_limit("max_fields", len(paths), what="fields in this well")
        return paths

    def field(self, index: int = 0) -> Image | None:
        """Field ``index`` (None when the well has no such field or it cannot be read).

        :param index: the field's position in :attr:`field_paths` (0, the default, is the first).
        """
        if index not in self._fields:
            self._load([index])
        return self._fields.get(index)

    def is_loaded(self, index: int) -> bool:
        """Whether field ``index`` has been opened (or found missing) already (no I/O).

        :param index: the field's position in :attr:`field_paths`.
        """
        return index in self._fields

    def keep(self, index: int, image: Image | None) -> None:
        """Remember field ``index`` as opened elsewhere (a plate opens one field of every well in one batch).

        :param index: the field's position in :attr:`field_paths`.
        :param image: the field's image, or None when it is missing or unreadable.
        """
        self._fields[index] = image

    def fields(self) -> list[Image | None]:
        """Every field, in the order of :attr:`field_paths`, opened concurrently (None where one cannot be read)."""
        self._load([i for i in range(len(self.field_paths)) if i not in self._fields])
        return [self._fields.get(i) for i in range(len(self.field_paths))]

    def _load(self, indices: Sequence[int]) -> None:
        wanted = [i for i in indices if i < len(self.field_paths)]
        for i, image in zip(wanted, load_fields([(self.location, self.field_paths[i]) for i in wanted]), strict=True):
            self._fields[i] = image
        for i in indices:
            self._fields.setdefault(i, None)

    def mosaic(self, level: int = 0) -> da.Array:
        """All fields side by side in a near-square grid, at ``level``.

        :param level: the pyramid level, 0 (the default) the highest resolution.
        :returns: a lazy dask array.
        """
        tiled = square_mosaic([level_of(img, level) for img in self.fields()])
        if tiled is None:
            raise NotFound(f"no field of this well has level {level}", where=self.url)
        return tiled

    def field_labels(self, name: str) -> list[Image | None]:
        """Label image ``name`` of every field (None where a field has none, or it cannot be read: a warning).

        :param name: the label image's name.
        """
        out: list[Image | None] = []
        for image in self.fields():
            label = None
            if image is not None and name in image.label_names:
                try:
                    label = image.label(name)
                except NGFFError as exc:
                    warnings.warn(f"{image.url}: label image {name!r} not shown: {exc}", NGFFWarning, stacklevel=2)
            out.append(label)
        return out

    def label_mosaic(self, name: str, level: int = 0) -> da.Array:
        """Label image ``name`` of every field in the places :meth:`mosaic` gives the fields (0 where a field has
        none), at ``level``.

        :param name: the label image's name.
        :param level: the pyramid level, 0 (the default) the highest resolution.
        """
        tiled = square_mosaic([level_of(label, level) for label in self.field_labels(name)])
        if tiled is None:
            raise NotFound(f"no field of this well has label image {name!r} at level {level}", where=self.url)
        return tiled

    def label_levels(self, name: str) -> tuple[Image, list[da.Array]] | None:
        """(the first label image ``name`` of the fields, its mosaic at every level all of them have), or None
        when no field has one.

        :param name: the label image's name.
        """
        labels = [label for label in self.field_labels(name) if label is not None]
        if not labels:
            return None
        return labels[0], [self.label_mosaic(name, k) for k in range(min(len(lab.levels) for lab in labels))]


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
        meta = parse_or_warn(node, "field")
        if meta is not None:
            entries.append((loc, meta))
            order.append(i)
    images: list[Image | None] = [None] * len(targets)
    # Only the first field's labels group is read with the arrays (what a plate view lists); others on use.
    first_only = [k == 0 for k in range(len(entries))]
    for i, image in zip(order, images_from(entries, best_effort=True, read_labels=first_only), strict=True):
        images[i] = image
    return images


def parse_or_warn(node: NodeMetadata | NGFFError, what: str) -> OMEMetadata | None:
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


def level_of(image: Image | None, level: int) -> da.Array | None:
    return image.levels[level] if image is not None and level < len(image.levels) else None


def load_well(location: Location, metadata: OMEMetadata) -> Well:
    well = Well(location, metadata)
    well.field(0)
    return well
