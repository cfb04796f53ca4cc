"""A level's own ``compute()`` -- and so ``np.asarray(level)`` -- read straight into its result; so is a region of
it made by plain slicing (``level[5]``, ``level[:, 100:612, 0:512]``).

dask computes a level block by block and then copies every block into one new array (its finalisation), so a
whole-level read held the pixels twice and paid for touching twice their memory: 2.2x the result's peak memory,
and 33-83% of zarr-python's throughput on local disk (issue 33), where that copy costs as much as the read. When
a level, or a region sliced from it with integers and step-1 slices, is computed on dask's default local
scheduler, it is read with one zarr call instead (every chunk it touches fetched and decoded concurrently into
the result, as :meth:`ngffkit.Image.read` reads): the same pixels, the same errors, half the memory.

Everything else is dask's, unchanged: the graph (the writer's "never write over your input" guard and napari's
reader inspect it), laziness, ``dask.compute``, ``persist``, pickling (a plain dask array arrives), any other
array made from a level (``level + 1``, ``level[::2]``, a region of a region), a level or region assigned into
(``level[0] = 1``), and any computation given a scheduler or keywords, run under a distributed client (whose
workers may be the only machines that can reach the data), with dask's pool sized by the person, or watched by
dask callbacks (a progress bar).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import numpy as np
from dask.array.core import Array as GraphArray
from dask.callbacks import Callback

#: The schedulers that compute on this process's threads, as dask's configuration names them (None: dask's
#: default for arrays, its thread pool).
LOCAL_THREADS = {None, "threads", "threading"}

#: Reads a level's pixels at a selection of integers and step-1 slices, in the level's coordinates.
ReadAt = Callable[[tuple[int | slice, ...]], np.ndarray]


class LazyRegion(GraphArray):
    """A dask array (a level, or a region of one) whose own ``compute()`` reads its pixels directly (see the
    module docstring).

    It subclasses dask's graph-based array (``dask.array.core.Array``), not ``da.Array``: with dask's array-expr
    mode on, ``da.Array`` is another class, whose arrays are left as dask made them."""

    #: The level's reader, this array's selection in the level, and its dask name when made: an assignment into
    #: it (dask's ``__setitem__`` gives the same object a new graph and name) leaves it dask's to compute.
    read_at: ReadAt
    selection: tuple[int | slice, ...]
    made_as: str

    def compute(self, **kwargs: Any) -> Any:
        if kwargs or not self.as_made() or not plain_local_compute():
            return super().compute(**kwargs)  # type: ignore[no-untyped-call]  # dask is untyped here
        return self.read_at(self.selection)

    def as_made(self) -> bool:
        """Whether this array still holds the pixels it was made to read (nothing was assigned into it)."""
        return bool(self.name == self.made_as)


class LazyLevel(LazyRegion):
    """A level of an image: a :class:`LazyRegion` of all of it, whose plain slices are :class:`LazyRegion` s."""

    def __getitem__(self, index: Any) -> Any:
        part = super().__getitem__(index)  # type: ignore[no-untyped-call]  # dask is untyped here
        if part is self or not self.as_made():
            return part
        selection = plain_selection(index, self.shape)
        if selection is None:
            return part
        return _direct(LazyRegion, part, self.read_at, selection)


def lazy_level(array: da.Array, read_at: ReadAt) -> da.Array:
    """``array`` (a level's dask array) as a :class:`LazyLevel` reading itself with ``read_at``; ``array`` itself
    when dask made it of another type (dask's expression-based arrays), whose methods this cannot keep."""
    return _direct(LazyLevel, array, read_at, (slice(None),) * array.ndim)


def _direct(cls: type[LazyRegion], array: Any, read_at: ReadAt, selection: tuple[int | slice, ...]) -> da.Array:
    if type(array) is not GraphArray:
        return array
    meta = np.empty((0,) * array.ndim, dtype=array.dtype)
    direct = cls(array.dask, array.name, array.chunks, meta=meta)
    direct.read_at, direct.selection, direct.made_as = read_at, selection, array.name
    return direct


def plain_selection(index: Any, shape: tuple[int, ...]) -> tuple[int | slice, ...] | None:
    """``index`` as one non-negative integer or step-1 slice per axis of ``shape`` (an Ellipsis expanded), or None
    when it is anything else (a step, a new axis, a list or array, a mask): dask reads those. Called after dask
    accepted the index, so every integer is within its axis."""
    items = index if isinstance(index, tuple) else (index,)
    ellipses = [at for at, item in enumerate(items) if item is Ellipsis]  # by identity: items may be arrays
    if len(ellipses) > 1:
        return None
    if ellipses:
        at = ellipses[0]
        items = (*items[:at], *(slice(None),) * (len(shape) - len(items) + 1), *items[at + 1 :])
    items = (*items, *(slice(None),) * (len(shape) - len(items)))
    if len(items) != len(shape):
        return None
    plain: list[int | slice] = []
    for item, extent in zip(items, shape, strict=True):
        if isinstance(item, slice):
            start, stop, step = item.indices(extent)
            if step != 1:
                return None
            plain.append(slice(start, max(start, stop)))
        elif isinstance(item, int | np.integer) and not isinstance(item, bool | np.bool_):
            plain.append(int(item) % extent)
        else:
            return None
    return tuple(plain)


def plain_local_compute() -> bool:
    """Whether a compute with no arguments would run on this process's thread pool, as dask sizes it, with nobody
    watching: no other scheduler configured (a distributed client made the default sets one), no pool or number of
    workers configured, no dask callbacks active. When dask's ``Callback.active`` is gone (a class attribute, not a
    documented function), dask's path is taken: always correct, only slower (and the tests say so)."""
    if dask.config.get("scheduler", None) not in LOCAL_THREADS:
        return False
    if dask.config.get("pool", None) is not None or dask.config.get("num_workers", None) is not None:
        return False  # the person sized dask's thread pool: dask's path honours it
    active = getattr(Callback, "active", None)
    return isinstance(active, set) and not active
