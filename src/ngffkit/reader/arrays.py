"""Lazy dask arrays over zarr arrays whose metadata has already been read.

The reader fetches every level's array metadata in one concurrent batch; building the zarr array from that
document (instead of ``zarr.open_array``, which would fetch it again) keeps a plate of hundreds of fields at
one round trip for all of its arrays. Dask chunks follow the zarr chunks (or shards), so slicing one plane
reads only the chunks that hold it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import dask.array as da
import numpy as np
import zarr
from dask.base import tokenize

from ngffkit.errors import CorruptData, NGFFError
from ngffkit.store import adapter
from ngffkit.store.arrays import zarr_array
from ngffkit.store.nodes import NodeMetadata, gather_all


def dask_array(node: NodeMetadata) -> da.Array:
    """A lazy dask array over an array node; one dask chunk per zarr shard (or chunk)."""
    arr = zarr_array(node)
    adapter.settle_at_exit()
    chunks = dask_chunks(arr.shape, arr.shards or arr.chunks, int(arr.dtype.itemsize))
    name = "ngffkit-" + tokenize(node.location.url, arr.shape, str(arr.dtype), chunks)
    meta = np.empty((0,) * arr.ndim, dtype=arr.dtype)  # so dask does not probe the array to learn its type
    # fancy=True lets dask fuse a slice of a block into the block's read, so that a few pixels of a block that
    # spans many zarr chunks (see dask_chunks) read only the chunks that hold them.
    return da.from_array(
        GuardedArray(arr, node.location.url), chunks=chunks, name=name, asarray=False, fancy=True, lock=False,
        inline_array=True, meta=meta,
    )  # fmt: skip


#: dask keeps one Python int per block along each axis; beyond this many, blocks span several zarr chunks.
MAX_BLOCKS_PER_AXIS = 100_000
#: Fewest bytes in a dask block, where the array's chunks are smaller: each block is one task, and dask spends
#: about as long scheduling a task as zarr takes to read a small chunk. A plane of 200,000 one-byte chunks was
#: 200,002 tasks (napari's first picture of it took minutes); as blocks of at least this size it is 196.
MIN_BLOCK_BYTES = 1024


def dask_chunks(shape: tuple[int, ...], stored: tuple[int, ...], itemsize: int = 1) -> tuple[int, ...]:
    """dask block shape: the stored chunk (or shard), widened along axes that would have too many blocks, and
    along the last axes while a block holds fewer than :data:`MIN_BLOCK_BYTES` (tiny chunks).

    An array of 10^12 elements in a row with 1-element chunks is valid zarr; as 10^12 dask blocks it would
    exhaust memory before the first read. Widening keeps block boundaries on chunk boundaries, and a slice of a
    block still reads only the chunks that hold it (dask fuses the slice into the block's read).
    """
    block = [
        c * max(1, math.ceil(math.ceil(s / c) / MAX_BLOCKS_PER_AXIS)) if c > 0 else max(1, s)
        for s, c in zip(shape, stored, strict=True)
    ]
    for axis in reversed(range(len(block))):
        size = math.prod(block) * max(itemsize, 1)
        if size >= MIN_BLOCK_BYTES:
            break
        whole = max(1, shape[axis])
        if block[axis] >= whole:
            continue
        factor = math.ceil(MIN_BLOCK_BYTES / size)
        block[axis] = min(block[axis] * factor, -(-whole // block[axis]) * block[axis])
    return tuple(block)


class GuardedArray:
    """A zarr array seen only through slicing, whose failures are :class:`~ngffkit.NGFFError` naming it.

    A chunk that does not decode raises whatever the codec raises (``RuntimeError`` from zstd, ``ValueError``
    from a reshape, ...), deep inside a dask computation; a user should see which array is damaged instead.
    """

    def __init__(self, array: zarr.Array, url: str) -> None:
        self.array = array
        self.url = url
        self.shape = array.shape
        self.dtype = array.dtype
        self.ndim = array.ndim

    def __getitem__(self, index: Any) -> Any:
        try:
            if _is_fancy(index):
                return self.array.oindex[index]  # dask passes list/array indices orthogonally
            return self.array[index]
        except Exception as exc:
            raise _named(exc, self.url) from None


def _named(exc: Exception, url: str) -> NGFFError:
    """A read failure as an :class:`~ngffkit.NGFFError` that names the array."""
    if isinstance(exc, NGFFError):
        # raised by a codec, which does not know the array: name it
        return type(exc)(exc.message, where=url, key=exc.key) if exc.where is None else exc
    # the codecs raise anything; all of it means the stored bytes are unusable
    return CorruptData(f"cannot decode chunk data: {type(exc).__name__}: {exc}", where=url)


def read_regions(jobs: Sequence[tuple[zarr.Array, str, tuple[slice, ...]]]) -> list[np.ndarray]:
    """Regions of many arrays -- ``(array, its URL, selection)`` -- fetched in one concurrent batch (one round
    trip for all their chunks, instead of one dask task per array run a few at a time)."""

    async def one(array: zarr.Array, url: str, selection: tuple[slice, ...]) -> np.ndarray:
        try:
            return np.asarray(await array.async_array.getitem(selection))
        except Exception as exc:
            raise _named(exc, url) from None

    if not jobs:
        return []
    return adapter.sync(gather_all(*(one(a, u, s) for a, u, s in jobs)))


def _is_fancy(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, list | np.ndarray) for i in items)
