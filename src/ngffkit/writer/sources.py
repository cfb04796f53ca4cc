"""What a write reads from, found in the data itself -- so that a write never replaces its own source.

``write_image(ngffkit.open("a.zarr").levels[0], "a.zarr", overwrite=True)`` would delete ``a.zarr`` and then
read zeros from it. The data knows where it comes from: a dask array's graph holds the arrays its blocks are
read from (ngffkit's lazy levels, ``da.from_zarr``, memory-mapped ``.npy`` files), and a numpy memmap knows its
file. Only the layers that hold sources are looked at, so a graph of millions of tasks costs nothing here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import dask.array as da
import numpy as np

from ngffkit.errors import InvalidArgument
from ngffkit.store import places
from ngffkit.store.places import Place
from ngffkit.writer.options import check_dtype


def _unwrap(obj: Any) -> Any:
    """The array behind ngffkit's wrappers (GuardedArray, the writer's slice view)."""
    for attribute in ("array", "_array"):
        inner = getattr(obj, attribute, None)
        if inner is not None and hasattr(inner, "shape"):
            return inner
    return obj


def _layer_objects(layer: Any, name: str) -> Iterator[Any]:
    indices = getattr(layer, "indices", None)
    if indices is not None:  # a Blockwise layer: arrays read with inline_array=True sit in its indices
        for value, _ in indices:
            if not isinstance(value, str | int | float | type(None)) and hasattr(value, "shape"):
                yield value
    elif name.startswith(("original-", "array-original")):  # from_array(..., inline_array=False)
        for value in layer.values():
            yield getattr(value, "value", value)


def source_places(data: Any) -> list[Place]:
    """The places ``data`` (numpy, dask, or a list of levels) reads its values from, as far as they are known."""
    items: Iterable[Any] = data if isinstance(data, list | tuple) else [data]
    found: list[Place] = []
    for item in items:
        candidates: list[Any] = []
        if isinstance(item, da.Array):
            graph: Any = item.__dask_graph__()  # a HighLevelGraph: its layers are what is looked at
            for name, layer in graph.layers.items():
                candidates += list(_layer_objects(layer, str(name)))
        elif isinstance(item, np.ndarray) or hasattr(item, "store_path"):
            candidates.append(item)
        for candidate in candidates:
            place = places.of_object(_unwrap(candidate))
            if place is not None and place not in found:
                found.append(place)
    return found


def refuse_overlap(destination: Place | None, sources: Iterable[Place], *, where: str) -> None:
    """:class:`~ngffkit.InvalidArgument` when the destination lies in, over or at a source of the data --
    checked before anything is written or deleted."""
    if destination is None:
        return
    for source in sources:
        if destination.overlaps(source):
            raise InvalidArgument(
                f"the output overlaps the input it reads from ({source}): writing there would destroy the data "
                "while it is read; choose another folder",
                where=where,
            )


class SliceView:
    """A numpy array seen only through slicing. dask.array.from_array copies any array-like that has a
    ``copy`` method -- a full copy of the caller's volume; this wrapper has none, and its slices are views."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.ndim = array.ndim

    def __getitem__(self, index: Any) -> np.ndarray:
        return self._array[index]


def lazy_view(array: np.ndarray, chunks: Any) -> da.Array:
    """A dask array over ``array`` without copying or hashing it (a memory-mapped file stays on disk)."""
    return da.from_array(SliceView(array), chunks=chunks, name=False, meta=np.empty((0,) * array.ndim, array.dtype))


def as_dask(data: Any) -> da.Array:
    """The writer's input as a lazy dask array (numpy arrays are viewed, not copied)."""
    dtype = getattr(data, "dtype", None)
    if isinstance(dtype, np.dtype):
        check_dtype(dtype)
    if isinstance(data, da.Array):
        return data
    if isinstance(data, np.ndarray):
        return lazy_view(data, "auto")  # no hashing, no copy of the caller's array
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        return da.from_array(data, chunks="auto", name=False)
    raise InvalidArgument(f"cannot write {type(data).__name__}: pass a numpy or dask array, or a list of levels")
