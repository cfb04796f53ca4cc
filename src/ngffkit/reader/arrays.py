"""Pixels of array nodes whose metadata has already been read: lazy dask arrays, and direct reads into numpy.

The reader fetches every level's array metadata in one concurrent batch; building the zarr array from that
document (instead of ``zarr.open_array``, which would fetch it again) keeps a plate of hundreds of fields at
one round trip for all of its arrays.

**Blocks of many chunks.** A dask task per zarr chunk made reading a level 2.6-3.6x slower than zarr itself: each
task crossed into zarr's event loop for one chunk, two at a time on two cores, and paid dask's scheduling on top
(4,096 tasks for a 512 MiB level of 64^3 chunks). A dask block here holds whole zarr chunks (or shards), as many as
fit in :data:`BLOCK_BYTES`, and is read with one zarr call that fetches and decodes all of its chunks concurrently.
Slicing still reads only the chunks that hold the slice: dask fuses a slice of a block into that block's read
(``fancy=True``), so ``level[5]`` asks zarr for plane 5 alone. A level's own ``compute()`` (and a plain slice's)
reads with one zarr call, without dask's copy of every block into the result (:mod:`ngffkit.reader.direct_compute`).

**Named failures.** A chunk that does not decode raises whatever its codec raises (``RuntimeError`` from blosc or
zstd, ``ValueError`` from a reshape or a checksum, ``OSError`` from gzip, ...) deep inside a computation; here
it becomes an :class:`~ngffkit.NGFFError` naming the array, with the codec's exception as its cause. Everything
else -- a programming error, a bad index, ``MemoryError`` -- propagates as it was raised.
"""

from __future__ import annotations

import lzma
import math
import struct
import zipfile
import zlib
from collections.abc import Sequence
from typing import Any

import dask.array as da
import numpy as np
import zarr
from dask.base import tokenize

from ngffkit.errors import CorruptData, LocationError, NGFFError
from ngffkit.reader import entry_reads
from ngffkit.reader.direct_compute import lazy_level
from ngffkit.store import adapter
from ngffkit.store.arrays import zarr_array
from ngffkit.store.nodes import NodeMetadata, gather_all

#: Bytes of one dask block, at most (unless one stored chunk or shard is larger: a block is never less than one).
#: Large enough that a block's read keeps zarr's concurrent fetches busy and dask's per-task cost (~0.3 ms)
#: disappears; small enough that a computation streaming a level (a sum, a write) holds a few blocks at a time, and
#: that code which cannot fuse its slicing into the read (a transposed level) reads little more than it needs.
BLOCK_BYTES = 32 * 2**20

#: dask keeps one Python int per block along each axis; beyond this many, blocks span more chunks than BLOCK_BYTES.
MAX_BLOCKS_PER_AXIS = 100_000


def dask_array(node: NodeMetadata) -> da.Array:
    """A lazy dask array over an array node: blocks of whole zarr chunks (or shards), see the module docstring."""
    array = zarr_array(node)
    adapter.settle_at_exit()
    stored, itemsize = array.shards or array.chunks, _itemsize(array)
    if entry_reads.region_reader(array) is not None:
        chunks = plane_blocks(array.shape, stored, itemsize, entry_reads.BLOCK_CHUNKS)
    else:
        chunks = block_shape(array.shape, stored, itemsize)
    name = "ngffkit-" + tokenize(node.location.url, array.shape, str(array.dtype), chunks)
    meta = np.empty((0,) * array.ndim, dtype=array.dtype)  # so dask does not probe the array to learn its type
    # fancy=True lets dask fuse a slice of a block into the block's read, so that a plane or a window of a block
    # reads only the chunks that hold it. inline_array=True puts the array object itself in the graph's one
    # Blockwise layer, where ngffkit's writer (whose input it may be) and napari reader look for it.
    guarded = GuardedArray(array, node.location.url)
    lazy = da.from_array(
        guarded, chunks=chunks, name=name, asarray=False, fancy=True, lock=False, inline_array=True, meta=meta
    )
    # C order, as dask's concatenation of blocks gives it (zarr returns a v2 array stored with order F
    # column-major: copied then)
    return lazy_level(lazy, lambda selection: np.asarray(guarded[selection], order="C"))


def read_now(node: NodeMetadata, selection: tuple[int | slice, ...]) -> np.ndarray:
    """The pixels of ``selection`` (checked: :func:`ngffkit.reader.regions.selection`) of an array node, read at
    once with one zarr call -- every chunk fetched and decoded concurrently, straight into the result (no dask
    graph, no second copy). Failures are NGFFErrors naming the array (:func:`read_failure`)."""
    return np.asarray(GuardedArray(zarr_array(node), node.location.url)[selection])


def block_shape(
    shape: tuple[int, ...], stored: tuple[int, ...], itemsize: int, limit: int = BLOCK_BYTES, max_units: int = 0
) -> tuple[int, ...]:
    """The dask block shape for an array of ``shape`` stored in chunks (or shards) of ``stored``.

    A block starts as one stored unit and doubles along the axis it spans least (in elements), so that blocks
    stay about as deep as they are wide; it stops before passing ``limit`` bytes, or when it holds the whole
    array, or (``max_units``, when given) before it would hold more than that many stored units. Its edges always
    fall on the edges of stored units. Along an axis that would still have more than
    :data:`MAX_BLOCKS_PER_AXIS` blocks, a block spans as many units as it takes (an array of 10^12 elements in a
    row with 1-element chunks is valid zarr; as 10^12 dask blocks it would exhaust memory before the first read).
    """
    unit = [c if c > 0 else max(1, s) for s, c in zip(shape, stored, strict=True)]
    block = [min(u, max(1, s)) for u, s in zip(unit, shape, strict=True)]
    size = math.prod(block) * max(1, itemsize)
    while True:
        growable = [i for i, n in enumerate(block) if n < shape[i]]
        if not growable:
            break
        axis = min(growable, key=lambda i: block[i])
        wider = min(block[axis] * 2, _whole_units(shape[axis], unit[axis]))
        grown = size // block[axis] * wider
        units = math.prod(-(-n // u) for n, u in zip(block, unit, strict=True)) // -(-block[axis] // unit[axis])
        if grown > limit or (max_units and units * -(-wider // unit[axis]) > max_units):
            break
        block[axis], size = wider, grown
    return tuple(
        b * max(1, math.ceil(math.ceil(s / b) / MAX_BLOCKS_PER_AXIS)) if s > 0 else b
        for s, b in zip(shape, block, strict=True)
    )


def plane_blocks(shape: tuple[int, ...], stored: tuple[int, ...], itemsize: int, max_units: int) -> tuple[int, ...]:
    """Blocks of at most ``max_units`` stored units grown within a plane (the last two axes) first, one unit deep
    along the others until a block holds a whole plane. napari slices with dask's fusion off, so it reads every
    block that holds the plane it shows: blocks as deep as wide made it read every plane of a volume of tiny chunks
    (8 planes in blocks 8 deep) to show one."""
    lead = max(0, len(shape) - 2)
    inner = block_shape(shape[lead:], stored[lead:], itemsize, max_units=max_units)
    block = [min(u, max(1, s)) if u > 0 else max(1, s) for s, u in zip(shape[:lead], stored[:lead], strict=True)]
    in_plane = math.prod(-(-b // u) for b, u in zip(inner, stored[lead:], strict=True) if u > 0)
    if lead and all(b >= s for b, s in zip(inner, shape[lead:], strict=True)):  # whole planes: stack a few
        deeper = max(1, max_units // max(1, in_plane)) * block[-1]
        block[-1] = min(deeper, _whole_units(shape[lead - 1], block[-1]))
    full = (*block, *inner)
    return tuple(
        b * max(1, math.ceil(math.ceil(s / b) / MAX_BLOCKS_PER_AXIS)) if s > 0 else b
        for s, b in zip(shape, full, strict=True)
    )


def _whole_units(extent: int, unit: int) -> int:
    """``extent`` rounded up to whole units (a block reaching the array's end spans its last, partial unit)."""
    return math.ceil(extent / unit) * unit


def _itemsize(array: zarr.Array[Any]) -> int:
    try:
        return int(array.dtype.itemsize)
    except (TypeError, AttributeError):  # a data type zarr knows and numpy does not size
        return 8


class GuardedArray:
    """A zarr array seen only through slicing, whose read failures are :class:`~ngffkit.NGFFError` naming it
    (see :func:`read_failure`). One ``[...]`` reads every chunk it needs concurrently (one zarr call)."""

    def __init__(self, array: zarr.Array[Any], url: str) -> None:
        self.array = array
        self.url = url
        self.shape = array.shape
        self.dtype = array.dtype
        self.ndim = array.ndim
        #: Uncompressed arrays in a .ozx: regions read as whole archive entries in bulk (entry_reads), not by zarr.
        self.in_bulk = entry_reads.region_reader(array)

    def __getitem__(self, index: Any) -> Any:
        _check_steps(index)  # outside the guard below: a caller's bad index is theirs, raised as Python raises it
        try:
            if self.in_bulk is not None:
                pixels = self.in_bulk(index)
                if pixels is not None:
                    return pixels
            return self._read(index)
        except Exception as exc:
            failure = read_failure(exc, self.url)
            if failure is None:
                raise
            raise failure from exc

    def _read(self, index: Any) -> Any:
        """One zarr read of ``index``; if it fails, the chunk reads it started that are still going on are
        cancelled. zarr raises at the first chunk that fails and leaves the others running: a whole level's
        hundreds of fetches and decodes would go on for nobody, and a program that reports the error and ends
        would print each of their failures as Python shuts its thread pools down under them."""
        if _is_fancy(index):  # dask passes list/array indices orthogonally
            fetch = self.array.async_array.oindex.getitem(index)
        else:
            fetch = self.array.async_array.getitem(index)
        job = adapter.OwnTasks()
        try:
            return job.run(fetch)
        except BaseException:
            job.cancel()
            raise


#: What zarr's codecs and ngffkit's stores raise for stored bytes they cannot use (measured on zarr 3.1 and 3.4
#: with truncated, empty, random and bit-flipped chunks of every codec, and hostile shard indexes): blosc, zstd and
#: lz4 raise RuntimeError; a reshape of too few bytes, a checksum mismatch or a short shard ValueError; gzip
#: BadGzipFile (an OSError) or EOFError; bz2 OSError; zlib zlib.error; lzma LZMAError; a zip archive BadZipFile.
UNUSABLE_BYTES: tuple[type[Exception], ...] = (
    ValueError, RuntimeError, EOFError, OSError, zlib.error, lzma.LZMAError, struct.error, zipfile.BadZipFile,
)  # fmt: skip


def read_failure(exc: Exception, url: str) -> NGFFError | None:
    """The :class:`~ngffkit.NGFFError` a failed read of array ``url`` is, or None when ``exc`` is not about the
    data (a programming error, a bad index, ``MemoryError``): that one propagates as it was raised.

    An NGFFError a store or codec raised without knowing the array gets its name; an operating system's failure to
    read (a permission, an I/O error) is a :class:`~ngffkit.LocationError`; what the codecs raise for bytes they
    cannot decode (:data:`UNUSABLE_BYTES`) is :class:`~ngffkit.CorruptData`. Raise it ``from exc``."""
    if isinstance(exc, NGFFError):
        return exc if exc.where is not None else type(exc)(exc.message, where=url, key=exc.key)
    if isinstance(exc, OSError) and (exc.errno is not None or isinstance(exc, TimeoutError)):
        return LocationError(f"cannot read chunk data: {type(exc).__name__}: {exc}", where=url)
    if isinstance(exc, UNUSABLE_BYTES):
        return CorruptData(f"cannot decode chunk data: {type(exc).__name__}: {exc}", where=url)
    return None


def read_regions(jobs: Sequence[tuple[zarr.Array[Any], str, tuple[slice, ...]]]) -> list[np.ndarray]:
    """Regions of many arrays -- ``(array, its URL, selection)`` -- fetched in one concurrent batch (one round
    trip for all their chunks, instead of one dask task per array run a few at a time)."""

    async def one(array: zarr.Array[Any], url: str, selection: tuple[slice, ...]) -> np.ndarray:
        try:
            return np.asarray(await array.async_array.getitem(selection))
        except Exception as exc:
            failure = read_failure(exc, url)
            if failure is None:
                raise
            raise failure from exc

    if not jobs:
        return []
    return adapter.sync(gather_all(*(one(a, u, s) for a, u, s in jobs)))


def _check_steps(index: Any) -> None:
    """Raise what Python raises for a slice with step 0 (``ValueError: slice step cannot be zero``). zarr raises
    IndexError or TypeError for every other bad index, which :func:`read_failure` lets through; this ValueError,
    raised inside the read, would read as a chunk that does not decode."""
    for item in index if isinstance(index, tuple) else (index,):
        if isinstance(item, slice) and item.step is not None:
            item.indices(0)


def _is_fancy(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, list | np.ndarray) for i in items)
