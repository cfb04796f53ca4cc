"""Pixels of dask arrays computed in threads of ngffkit's own (the navigator's worker, the responsive reader, the
writers), without dask's global callbacks.

napari registers an opportunistic dask cache (``dask.cache.Cache``) as a global dask callback, and dask hands the
global callbacks to whichever computation starts first (swapping ``Callback.active`` for an empty set meanwhile):
neither is thread-safe. A computation in a worker thread while napari computed on its own thread shared the
cache's bookkeeping, and one of them failed with a ``KeyError`` naming a chunk -- "Could not open the well" on the
lowest supported releases under load. Computations here pass their callbacks explicitly (none), which leaves the
global ones alone.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np


def computed(array: Any, **scheduler: Any) -> np.ndarray:
    """``array`` as numpy: a dask array computed on dask's threads (``scheduler``: e.g. ``pool=``) with no
    callbacks; anything else as ``np.asarray`` reads it."""
    if isinstance(array, da.Array):
        return np.asarray(array.compute(scheduler="threads", callbacks=(), **scheduler))
    return np.asarray(array)
