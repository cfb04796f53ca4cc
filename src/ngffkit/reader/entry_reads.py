"""Regions of uncompressed arrays inside a zipped OME-Zarr (``.ozx``), read as whole entries in bulk.

zarr reads a region chunk by chunk: for every chunk a coroutine, a store call handed to a thread, the codec
pipeline and the copy into place -- 0.2-0.7 ms of Python per chunk. That is nothing for 64^3 chunks and everything
for tiny ones: a 450 x 450 level of one-byte chunks in a ``.ozx`` (202,500 entries) took napari 137 s to draw,
where opening the archive (reading its central directory) takes 8 s. Here such a region is one bulk read of its
entries into one array (:meth:`~ngffkit.store.ozx.OzxStore.read_fixed`: a read of the file per span of
neighbouring entries, each entry checked as ``zipfile`` checks it, with numpy a span at a time) and one numpy
reshape that puts every chunk in place -- ~1.6 µs a chunk, the archive's layout included.

Only what needs no codec is read this way: zarr v3 arrays whose codecs are ``bytes`` alone (no compressor, no
transpose, no sharding, no checksum) with a fixed-size data type and chunks of at most :data:`SLAB_BYTES`, sliced
with integers and step-1 slices. Anything else is zarr's, as before (:func:`region_reader` answers None).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import zarr
from zarr.codecs import BytesCodec

from ngffkit.errors import CorruptData
from ngffkit.store.ozx import OzxStore

#: Chunks of one dask block of such an array, at most. napari turns dask's fusion off while it slices, so it reads
#: the whole block that holds the plane it shows: a 32 MiB block (what other arrays get) of one-byte chunks would be
#: 33 million entries for one plane. 4,096 chunks cost ~20-40 ms to read here, next to dask's ~0.3 ms a block.
BLOCK_CHUNKS = 4096
#: A region read in one piece: more chunks than this are read a slab at a time (the keys and bytes of a slab are
#: Python objects, ~100 bytes a chunk).
SLAB_CHUNKS = 65_536
#: A slab holds at most this many bytes of chunks (every chunk it touches whole, at once), and an array whose chunk
#: is larger is zarr's: metadata declaring 10 GB chunks (none stored, the fill value) made a 2 x 2 region allocate
#: and fill 9.3 GiB here, where zarr fills only the region. Bulk reads are for small chunks, whose per-chunk cost
#: in zarr is the problem; a chunk of megabytes costs zarr little next to its bytes.
SLAB_BYTES = 64 * 2**20

Reader = Callable[[Any], np.ndarray | None]


def region_reader(array: zarr.Array[Any]) -> Reader | None:
    """A function reading ``array[index]`` in bulk (None for an index it does not take: zarr's then), or None when
    ``array`` is not one this module reads (see the module docstring)."""
    store = array.store_path.store
    if not isinstance(store, OzxStore):
        return None
    metadata = array.metadata
    if getattr(metadata, "zarr_format", None) != 3 or array.shards is not None:
        return None
    codecs = tuple(metadata.codecs)  # type: ignore[union-attr]
    if len(codecs) != 1 or not isinstance(codecs[0], BytesCodec):
        return None
    dtype = array.dtype
    if not isinstance(dtype, np.dtype) or dtype.hasobject or dtype.itemsize == 0 or dtype.kind in "OUSV":
        return None
    if math.prod(array.chunks) * dtype.itemsize > SLAB_BYTES:
        return None
    endian = getattr(codecs[0], "endian", None)
    named = str(getattr(endian, "value", endian))
    stored = (
        dtype.newbyteorder("<" if named == "little" else ">")
        if dtype.itemsize > 1 and named in ("little", "big")
        else dtype
    )
    return _Reader(array, store, stored)


class _Reader:
    def __init__(self, array: zarr.Array[Any], store: OzxStore, stored: np.dtype[Any]) -> None:
        self.array = array
        self.store = store
        self.stored = stored
        self.prefix = array.store_path.path.strip("/")
        self.chunks = tuple(array.chunks)
        self.chunk_bytes = math.prod(self.chunks) * stored.itemsize
        self.slab_chunks = max(1, min(SLAB_CHUNKS, SLAB_BYTES // max(1, self.chunk_bytes)))

    def __call__(self, index: Any) -> np.ndarray | None:
        box = _box(index, self.array.shape)
        if box is None:
            return None
        ranges, dropped = box
        out = np.empty(tuple(stop - start for start, stop in ranges), dtype=self.array.dtype)
        first = tuple(start // c for (start, _), c in zip(ranges, self.chunks, strict=True))
        last = tuple(-(-stop // c) for (_, stop), c in zip(ranges, self.chunks, strict=True))
        if out.size:
            for slab in _slabs(first, last, self.slab_chunks):
                self._read_slab(slab, ranges, out)
        return out[tuple(0 if axis in dropped else slice(None) for axis in range(out.ndim))]

    def _keys(self, slab: tuple[tuple[int, int], ...]) -> list[str]:
        """The store keys of the chunks of ``slab``, in C order. zarr's key encoding (one Python call per chunk)
        is asked for the first and last keys; when joining the indices with its separator after its prefix gives
        the same two, every key is made that way (one string concatenation a key, axis by axis), else each by
        zarr."""
        encode = self.array.metadata.encode_chunk_key
        base = f"{self.prefix}/" if self.prefix else ""
        corners = [tuple(start for start, _ in slab), tuple(stop - 1 for _, stop in slab)]
        separator = getattr(self.array.metadata.chunk_key_encoding, "separator", None)  # type: ignore[union-attr]
        for head in ("c" + str(separator), ""):
            if isinstance(separator, str) and all(encode(c) == head + separator.join(map(str, c)) for c in corners):
                keys = [base + head]
                for axis, (start, stop) in enumerate(slab):
                    tail = separator if axis < len(slab) - 1 else ""
                    parts = [f"{n}{tail}" for n in range(start, stop)]
                    keys = [key + part for key in keys for part in parts]
                return keys
        coords = itertools.product(*(range(start, stop) for start, stop in slab))
        return [base + encode(c) for c in coords]

    def _read_slab(self, slab: tuple[tuple[int, int], ...], ranges: list[tuple[int, int]], out: np.ndarray) -> None:
        """Chunks ``slab`` (a range of chunk indices per axis) read and put in place in ``out`` (region ``ranges``)."""
        counts = tuple(stop - start for start, stop in slab)
        keys = self._keys(slab)
        rows, lengths = self.store.read_fixed(keys, self.chunk_bytes)
        wrong = np.flatnonzero((lengths >= 0) & (lengths != self.chunk_bytes))
        if wrong.size:
            i = int(wrong[0])
            raise CorruptData(f"chunk holds {lengths[i]} bytes, not {self.chunk_bytes}",
                              where=f"{self.store.path}/{keys[i]}")  # fmt: skip
        missing = lengths < 0
        if missing.any():  # chunks never written: the fill value, as zarr reads them
            fill = np.full(self.chunks, self.array.fill_value, dtype=self.stored)
            rows[missing] = np.frombuffer(fill.tobytes(), dtype=np.uint8)
        grid = rows.reshape(-1).view(self.stored).reshape(counts + self.chunks)
        ndim = len(counts)
        # (chunk rows..., within-chunk rows...) -> rows interleaved per axis: the slab as one array
        whole = grid.transpose([k for axis in range(ndim) for k in (axis, ndim + axis)])
        whole = whole.reshape(tuple(n * c for n, c in zip(counts, self.chunks, strict=True)))
        source, target = [], []
        for (lo, hi), (start, stop), c in zip(slab, ranges, self.chunks, strict=True):
            a, b = max(start, lo * c), min(stop, hi * c)
            source.append(slice(a - lo * c, b - lo * c))
            target.append(slice(a - start, b - start))
        out[tuple(target)] = whole[tuple(source)]


def _box(index: Any, shape: tuple[int, ...]) -> tuple[list[tuple[int, int]], set[int]] | None:
    """The ranges ``index`` selects per axis and the axes an integer drops; None for anything but integers and
    step-1 slices (or an index that does not fit: zarr raises for it)."""
    items = list(index) if isinstance(index, tuple) else [index]
    if any(item is Ellipsis for item in items):
        if sum(item is Ellipsis for item in items) > 1:
            return None
        at = items.index(Ellipsis)
        items[at : at + 1] = [slice(None)] * (len(shape) - len(items) + 1)
    if len(items) > len(shape):
        return None
    items += [slice(None)] * (len(shape) - len(items))
    ranges, dropped = [], set()
    for axis, (item, size) in enumerate(zip(items, shape, strict=True)):
        if isinstance(item, int | np.integer) and not isinstance(item, bool):
            position = int(item) + (size if item < 0 else 0)
            if not 0 <= position < size:
                return None
            ranges.append((position, position + 1))
            dropped.add(axis)
        elif isinstance(item, slice):
            start, stop, step = item.indices(size)
            if step != 1:
                return None
            ranges.append((start, max(start, stop)))
        else:
            return None
    return ranges, dropped


def _slabs(first: tuple[int, ...], last: tuple[int, ...], limit: int) -> list[tuple[tuple[int, int], ...]]:
    """The chunk box ``[first, last)`` cut along its leading axes into slabs of at most ``limit`` chunks."""
    slabs: list[tuple[tuple[int, int], ...]] = [tuple(zip(first, last, strict=True))]
    for axis in range(len(first)):
        if math.prod(stop - start for start, stop in slabs[0]) <= limit:
            break
        inner = math.prod(stop - start for start, stop in slabs[0][axis + 1 :])
        step = max(1, limit // max(1, inner))
        slabs = [
            (*slab[:axis], (lo, min(lo + step, slab[axis][1])), *slab[axis + 1 :])
            for slab in slabs
            for lo in range(slab[axis][0], slab[axis][1], step)
        ]
    return slabs
