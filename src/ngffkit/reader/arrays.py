"""Lazy dask arrays over zarr arrays whose metadata has already been read.

The reader fetches every level's array metadata in one concurrent batch; building the zarr array from that
document (instead of ``zarr.open_array``, which would fetch it again) keeps a plate of hundreds of fields at
one round trip for all of its arrays. Dask chunks follow the zarr chunks (or shards), so slicing one plane
reads only the chunks that hold it.
"""

from __future__ import annotations

import math
from typing import Any

import dask.array as da
import numpy as np
import zarr
from dask.base import tokenize
from zarr.core.array import Array, AsyncArray, parse_array_metadata
from zarr.storage import StorePath

from ngffkit.errors import CorruptData, InvalidMetadata, NGFFError
from ngffkit.store.limits import ReadBudget
from ngffkit.store.location import NodeMetadata


def zarr_array(node: NodeMetadata) -> zarr.Array:
    """A read-only zarr array for an array node, from the metadata already in ``node``."""
    doc: dict[str, Any] = dict(node.array or {})
    if node.zarr_format == 2:
        doc.setdefault("zarr_format", 2)
        doc["attributes"] = node.attributes
    try:
        metadata = parse_array_metadata(doc)
        async_array = AsyncArray(metadata=metadata, store_path=StorePath(node.location.store, node.location.path))
    except Exception as exc:  # zarr raises ValueError, TypeError, KeyError... for bad array metadata
        raise InvalidMetadata(f"unusable array metadata: {exc}", where=node.location.url) from None
    array: zarr.Array = Array(async_array)
    _check_size(array, node.location.url)
    _bound_chunks(node, array)
    return array


def _check_size(array: zarr.Array, url: str) -> None:
    """Shapes and chunks that no machine can index (numpy, dask and zarr count in 64-bit integers)."""
    if any(n < 0 for n in array.shape) or math.prod(array.shape) >= 2**63:
        raise InvalidMetadata(f"array shape {array.shape} is too large to address (over 2**63 elements)", where=url)
    if any(c <= 0 for c in array.chunks) and math.prod(array.shape) > 0:
        raise InvalidMetadata(f"array chunks {array.chunks} must be positive", where=url)


def _bound_chunks(node: NodeMetadata, array: zarr.Array) -> None:
    """Tell the store how large this array's stored chunks (or shards) can be, so that a server streaming more
    for one of them is stopped there (see :class:`~ngffkit.store.limits.ReadBudget`)."""
    budget = getattr(node.location.store, "budget", None)
    if not isinstance(budget, ReadBudget):
        return
    try:
        itemsize = int(array.dtype.itemsize)
    except (TypeError, AttributeError):
        return
    unit = array.shards or array.chunks
    if itemsize > 0:
        budget.register_array(node.location.path, math.prod(unit) * itemsize)


def dask_array(node: NodeMetadata) -> da.Array:
    """A lazy dask array over an array node; one dask chunk per zarr shard (or chunk)."""
    arr = zarr_array(node)
    chunks = dask_chunks(arr.shape, arr.shards or arr.chunks)
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


def dask_chunks(shape: tuple[int, ...], stored: tuple[int, ...]) -> tuple[int, ...]:
    """dask block shape: the stored chunk (or shard), widened along axes that would have too many blocks.

    An array of 10^12 elements in a row with 1-element chunks is valid zarr; as 10^12 dask blocks it would
    exhaust memory before the first read. Widening keeps block boundaries on chunk boundaries.
    """
    return tuple(
        c * max(1, math.ceil(math.ceil(s / c) / MAX_BLOCKS_PER_AXIS)) if c > 0 else max(1, s)
        for s, c in zip(shape, stored, strict=True)
    )


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
        except NGFFError:
            raise
        except Exception as exc:  # the codecs raise anything; all of it means the stored bytes are unusable
            raise CorruptData(f"cannot decode chunk data: {type(exc).__name__}: {exc}", where=self.url) from None


def _is_fancy(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, list | np.ndarray) for i in items)
