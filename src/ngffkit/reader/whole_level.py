"""A level's own ``compute()`` -- and so ``np.asarray(level)`` -- read straight into its result.

dask computes a level block by block and then copies every block into one new array (its finalisation), so a
whole-level read held the pixels twice and paid for touching twice their memory: 2.2x the result's peak memory,
and 33-83% of zarr-python's throughput on local disk (issue 33), where that copy costs as much as the read. When
the level itself -- not a slice, a sum or any other array made from it -- is computed on dask's default local
scheduler, the level is read with one zarr call instead (every chunk fetched and decoded concurrently into the
result, as :meth:`ngffkit.Image.read` reads): the same pixels, the same errors, half the memory.

Everything else is dask's, unchanged: the graph (the writer's "never write over your input" guard and napari's
reader inspect it), laziness, slicing, ``dask.compute``, ``persist``, pickling (a plain dask array arrives), and
any computation given a scheduler or keywords, run under a distributed client (whose workers may be the only
machines that can reach the data) or watched by dask callbacks (a progress bar): those take dask's path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import numpy as np
from dask.callbacks import Callback

#: The schedulers that compute on this process's threads, as dask's configuration names them (None: dask's
#: default for arrays, its thread pool).
LOCAL_THREADS = {None, "threads", "threading"}


class WholeLevel(da.Array):
    """A level of an image: a dask array whose own ``compute()`` reads the whole level directly (see the module
    docstring). Arrays made from it (``level[5]``, ``level + 1``) are plain dask arrays."""

    #: Reads the whole level into one new numpy array.
    read_whole: Callable[[], np.ndarray]

    def compute(self, **kwargs: Any) -> Any:
        if kwargs or not _plain_local_compute():
            return super().compute(**kwargs)  # type: ignore[no-untyped-call]  # dask is untyped here
        return self.read_whole()


def whole_level(array: da.Array, read_whole: Callable[[], np.ndarray]) -> da.Array:
    """``array`` (a level's dask array) as a :class:`WholeLevel` reading itself with ``read_whole``; ``array``
    itself when dask made it of another type (dask's expression-based arrays), whose methods this cannot keep."""
    if type(array) is not da.Array:
        return array
    meta = np.empty((0,) * array.ndim, dtype=array.dtype)
    level = WholeLevel(array.dask, array.name, array.chunks, meta=meta)  # type: ignore[no-untyped-call]  # dask is untyped here
    level.read_whole = read_whole
    return level


def _plain_local_compute() -> bool:
    """Whether a compute with no arguments would run on this process's thread pool, as dask sizes it, with nobody
    watching: no other scheduler configured (a distributed client made the default sets one), no pool or number of
    workers configured, no dask callbacks active. When
    dask's ``Callback.active`` is gone (it is a class attribute, not a documented function), dask's path is taken:
    always correct, only slower."""
    if dask.config.get("scheduler", None) not in LOCAL_THREADS:
        return False
    if dask.config.get("pool", None) is not None or dask.config.get("num_workers", None) is not None:
        return False  # the person sized dask's thread pool: dask's path honours it
    active = getattr(Callback, "active", None)
    return isinstance(active, set) and not active
