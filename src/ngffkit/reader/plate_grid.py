"""A plate's stitched overview as one array that reads every well it shows in one concurrent batch.

Tiling wells with ``dask.array.block`` makes one dask task per well and chunk; dask runs them a few at a time
(one per core), so the overview of a 384-well plate over a network with 20 ms per answer took ~10 s of
sequential round trips, and building the graph cost ~1 ms per well before anything was read. Here a level of
the grid is a single array-like (:class:`GridLevel`): a read of any region finds the wells it covers, asks the
plate for their arrays (the plate reads the metadata of those it has not read yet: wells, then fields, then
arrays, each one batch) and then fetches all their chunks together. Opening a plate therefore reads only the
first well (its field defines the cell size), and the first view of the whole plate costs a few round trips
whatever the number of wells.

Each well is read through *its own* metadata, never by assuming the first well's paths: a well whose field is
smaller than the cell is padded with 0, one that is larger is cropped to the cell (with a warning naming it), a
missing one is 0.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dask.array as da
import numpy as np
import zarr

from ngffkit.errors import NGFFWarning
from ngffkit.reader.arrays import read_regions

#: Cells in the first page of a read in parts (:meth:`GridLevel.read`): a 24-well plate comes in one page.
FIRST_PAGE = 24
#: Well path -> its array at this level (None: missing or unreadable; the cell stays 0).
Resolver = Callable[[Sequence[str]], Mapping[str, tuple[zarr.Array[Any], str] | None]]


@dataclass
class GridLevel:
    """``rows x columns`` cells of ``tile`` shape (the last two axes tiled, leading axes shared), as a read-only
    array-like: ``shape``, ``dtype``, ``ndim`` and ``__getitem__`` with integers and slices."""

    positions: Mapping[tuple[int, int], str]
    rows: int
    columns: int
    tile: tuple[int, ...]
    dtype: np.dtype
    resolve: Resolver
    _warned: set[str] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def shape(self) -> tuple[int, ...]:
        return (*self.tile[:-2], self.rows * self.tile[-2], self.columns * self.tile[-1])

    @property
    def ndim(self) -> int:
        return len(self.tile)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self[(slice(None),) * self.ndim]
        return out if dtype is None else out.astype(dtype)

    def __getitem__(self, index: Any) -> np.ndarray:
        return self.read(index)

    def read(self, index: Any, on_part: Callable[[np.ndarray], None] | None = None) -> np.ndarray:
        """The pixels of ``index``. With ``on_part`` the wells come in pages, row by row (a first page of
        :data:`FIRST_PAGE` cells, each next one twice as large), and ``on_part`` is handed the picture after each
        page but the last -- the one array being filled, wells still to come at 0: a viewer shows the plate filling
        up (the first wells after a few round trips) instead of waiting for all of a large plate."""
        bounds, finish = _bounding_box(index, self.shape)
        out = np.zeros(tuple(hi - lo for lo, hi in bounds), dtype=self.dtype)
        cells = self._cells_in(bounds[-2], bounds[-1])
        pages = list(_pages(cells)) if on_part is not None else [cells]
        for number, page in enumerate(pages, 1):
            self._fill(out, bounds, page)
            if on_part is not None and number < len(pages):
                on_part(finish(out))
        return finish(out)

    def _fill(self, out: np.ndarray, bounds: Sequence[tuple[int, int]],
              cells: Sequence[tuple[tuple[int, int], str]]) -> None:  # fmt: skip
        """Read ``cells`` into ``out`` (which holds ``bounds``): their metadata, then all their chunks, in batches."""
        arrays = self.resolve([path for _, path in cells]) if cells else {}
        jobs: list[tuple[zarr.Array[Any], str, tuple[slice, ...]]] = []
        places: list[tuple[slice, ...]] = []
        for (r, c), path in cells:
            found = arrays.get(path)
            if found is None:
                continue
            array, url = found
            self._warn_if_larger(path, url, array.shape)
            picked = self._overlap(bounds, (r, c), array.shape)
            if picked is not None:
                jobs.append((array, url, picked[0]))
                places.append(picked[1])
        for place, data in zip(places, read_regions(jobs), strict=True):
            out[place] = data

    def _cells_in(self, ys: tuple[int, int], xs: tuple[int, int]) -> list[tuple[tuple[int, int], str]]:
        height, width = self.tile[-2], self.tile[-1]
        if ys[1] <= ys[0] or xs[1] <= xs[0] or not height or not width:
            return []
        rows = range(ys[0] // height, min(self.rows, math.ceil(ys[1] / height)))
        columns = range(xs[0] // width, min(self.columns, math.ceil(xs[1] / width)))
        return [((r, c), self.positions[(r, c)]) for r in rows for c in columns if (r, c) in self.positions]

    def _overlap(
        self, bounds: Sequence[tuple[int, int]], cell: tuple[int, int], stored: tuple[int, ...]
    ) -> tuple[tuple[slice, ...], tuple[slice, ...]] | None:
        """(selection in the well's array, place in the output) for the part of ``cell`` inside ``bounds``."""
        origin = (*(0 for _ in self.tile[:-2]), cell[0] * self.tile[-2], cell[1] * self.tile[-1])
        source, target = [], []
        for (lo, hi), start, size, have in zip(bounds, origin, self.tile, stored, strict=True):
            first, last = max(lo, start), min(hi, start + min(size, have))
            if last <= first:
                return None
            source.append(slice(first - start, last - start))
            target.append(slice(first - lo, last - lo))
        return tuple(source), tuple(target)

    def _warn_if_larger(self, path: str, url: str, stored: tuple[int, ...]) -> None:
        if len(stored) != len(self.tile) or all(s <= t for s, t in zip(stored, self.tile, strict=True)):
            return
        with self._lock:
            if path in self._warned:
                return
            self._warned.add(path)
        warnings.warn(
            f"{url}: well {path} is {stored}, larger than the plate's cells {self.tile} (sized by the first well); "
            "the overview shows its top-left part -- open the well to see all of it",
            NGFFWarning,
            stacklevel=3,
        )


def _pages(cells: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """``cells`` in pages of :data:`FIRST_PAGE`, then twice as many each time (log2 pages in all)."""
    start, size = 0, FIRST_PAGE
    while start < len(cells):
        yield cells[start : start + size]
        start, size = start + size, size * 2


def as_dask(level: GridLevel, name: str) -> da.Array:
    """The level as a dask array of one block: a slice of it reaches :meth:`GridLevel.__getitem__` as that slice
    (dask fuses slicing into the read), so any view is one batch, never one task per well."""
    meta = np.empty((0,) * level.ndim, dtype=level.dtype)
    return da.from_array(level, chunks=level.shape, name=name, asarray=False, fancy=True, lock=False,
                         inline_array=True, meta=meta)  # fmt: skip


def _bounding_box(
    index: Any, shape: tuple[int, ...]
) -> tuple[list[tuple[int, int]], Callable[[np.ndarray], np.ndarray]]:
    """The box of ``index`` (integers, slices, Ellipsis, and integer lists or arrays, which dask passes
    orthogonally) as (start, stop) per axis, and how to turn the box that was read into what the index asks for."""
    items = list(index) if isinstance(index, tuple) else [index]
    if any(item is Ellipsis for item in items):
        at = items.index(Ellipsis)
        items[at : at + 1] = [slice(None)] * (len(shape) - len(items) + 1)
    items += [slice(None)] * (len(shape) - len(items))
    if len(items) != len(shape):
        raise IndexError(f"too many indices for an array of {len(shape)} dimensions")
    bounds: list[tuple[int, int]] = []
    after: list[Any] = []
    for item, size in zip(items, shape, strict=True):
        if isinstance(item, slice):
            start, stop, step = item.indices(size)
            if step < 0:
                raise IndexError("negative steps are not supported")
            stop = max(start, stop)
            bounds.append((start, stop))
            after.append(slice(0, stop - start, step))
            continue
        picks = np.asarray(item, dtype=np.int64)
        picks = np.where(picks < 0, picks + size, picks)
        if picks.ndim > 1 or ((picks < 0) | (picks >= size)).any():
            raise IndexError(f"index {item} is out of bounds for an axis of size {size}")
        low = int(picks.min()) if picks.size else 0
        bounds.append((low, int(picks.max()) + 1 if picks.size else 0))
        after.append(int(picks) - low if picks.ndim == 0 else picks - low)
    return bounds, lambda box: _pick(box, after)


def _pick(box: np.ndarray, after: Sequence[Any]) -> np.ndarray:
    """Apply per-axis picks one axis at a time (orthogonal indexing: lists select along their own axis only)."""
    axis = 0
    for pick in after:
        if isinstance(pick, slice):
            box = box[(slice(None),) * axis + (pick,)]
            axis += 1
        elif isinstance(pick, int):
            box = np.take(box, pick, axis=axis)
        else:
            box = np.take(box, pick, axis=axis)
            axis += 1
    return box
