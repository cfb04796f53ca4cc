"""Level-0 regions filled from input chunks that several regions share, each input chunk computed once.

A z-stack read plane by plane (1 x Y x X chunks) and written as 256^3 shards gives every plane to all the shards
side by side in it. Regions that computed their own input computed each plane once per region (16 times for a
1024^2 plane); a cache of planes thrashed (every region needs all 256 planes of its slab, more than a cache
holds); writing level by level rechunked the input through dask and read each level back: 13 s and 1 GiB for
0.5 GiB, against 1.6 s and 0.36 GiB with an input chunked like the shards.

Here the input is *pushed*: the first region that needs an input chunk computes it and copies its part into every
region it spans (a buffer per region, made on first touch); a region whose parts have all arrived is handed to its
leaf. Memory holds the regions that are filling up -- for planes, one slab of the shard's depth -- so a write is
sent here only when that fits in :data:`FILLING_BYTES` (:func:`filling_bytes`); otherwise it keeps the level by
level path.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Sequence
from typing import Any

import dask
import dask.array as da
import dask.local
import dask.optimization
import numpy as np

Index = tuple[int, ...]
#: Most memory the regions filling up at once may take (they are level 0 at full resolution).
FILLING_BYTES = 1024 * 2**20


def _spans(chunks: Sequence[Sequence[int]]) -> list[list[tuple[int, int]]]:
    """Per axis, the (start, stop) of every chunk."""
    out = []
    for axis in chunks:
        edges = [0, *itertools.accumulate(axis)]
        out.append(list(itertools.pairwise(edges)))
    return out


def filling_bytes(base: da.Array, region: Sequence[int]) -> int:
    """The memory of the regions one input chunk spans, at most: what a write through here holds at once."""
    across = (max(((hi - 1) // r - lo // r + 1 for lo, hi in spans if hi > lo), default=1)
              for spans, r in zip(_spans(base.chunks), region, strict=True))  # fmt: skip
    return math.prod(across) * math.prod(region) * base.dtype.itemsize


class RegionFeeder:
    """The level-0 regions (a grid of ``region``-sized blocks of ``base``) for leaves to take (:meth:`take`)."""

    def __init__(self, base: da.Array, region: Sequence[int]) -> None:
        self.base = base
        self.region = tuple(region)
        self.computed = 0  # input chunks computed: each exactly once
        self._spans = _spans(base.chunks)
        self._graph: dict[Any, Any] | None = None
        self._buffers: dict[Index, np.ndarray] = {}
        self._missing: dict[Index, int] = {}
        self._chunk_done: dict[Index, threading.Event] = {}
        self._failure: BaseException | None = None
        self._lock = threading.Lock()

    def _region_box(self, index: Index) -> list[tuple[int, int]]:
        return [(i * r, min((i + 1) * r, n)) for i, r, n in zip(index, self.region, self.base.shape, strict=True)]

    def _chunks_of(self, box: Sequence[tuple[int, int]]) -> list[Index]:
        """The input chunks that overlap ``box``."""
        per_axis = [[c for c, (lo, hi) in enumerate(spans) if lo < b[1] and b[0] < hi]
                    for spans, b in zip(self._spans, box, strict=True)]  # fmt: skip
        return list(itertools.product(*per_axis))

    def _regions_of(self, chunk: Index) -> list[Index]:
        """The regions an input chunk overlaps."""
        box = [spans[c] for spans, c in zip(self._spans, chunk, strict=True)]
        per_axis = [range(lo // r, -(-hi // r)) for (lo, hi), r in zip(box, self.region, strict=True)]
        return list(itertools.product(*per_axis))

    def take(self, index: Index) -> np.ndarray:
        """Region ``index`` of level 0, whole: its input chunks computed here unless another leaf computes (or
        computed) them."""
        box = self._region_box(index)
        others: list[threading.Event] = []
        for chunk in self._chunks_of(box):  # those no other leaf has started, then wait for the others' --
            with self._lock:  # so that two leaves of one slab share its chunks' work instead of one waiting
                event = self._chunk_done.get(chunk)
                mine = event is None
                if mine:
                    event = self._chunk_done[chunk] = threading.Event()
            assert event is not None
            if not mine:
                others.append(event)
                continue
            try:
                self._scatter(chunk, self._compute(chunk))
            except BaseException as exc:
                self._failure = exc  # every leaf waiting for this chunk raises the same error, not a vaguer one
                raise
            finally:
                event.set()
        for event in others:
            event.wait()
        with self._lock:
            if self._failure is not None:
                raise self._failure
            del self._missing[index]
            return self._buffers.pop(index)

    def _compute(self, chunk: Index) -> np.ndarray:
        with self._lock:
            if self._graph is None:
                (optimized,) = dask.optimize(self.base)
                self.base, self._graph = optimized, dict(optimized.__dask_graph__())
            graph = self._graph
        key = (self.base.name, *chunk)
        value = np.asarray(dask.local.get_sync(dask.optimization.cull(graph, [key])[0], key))
        with self._lock:
            self.computed += 1
        return value

    def _scatter(self, chunk: Index, value: np.ndarray) -> None:
        """Copy the chunk's part into every region it spans; regions are made on first touch."""
        chunk_box = [spans[c] for spans, c in zip(self._spans, chunk, strict=True)]
        for index in self._regions_of(chunk):
            box = self._region_box(index)
            lo = [max(a[0], b[0]) for a, b in zip(chunk_box, box, strict=True)]
            hi = [min(a[1], b[1]) for a, b in zip(chunk_box, box, strict=True)]
            source = tuple(slice(lo_ - c[0], hi_ - c[0]) for lo_, hi_, c in zip(lo, hi, chunk_box, strict=True))
            target = tuple(slice(lo_ - b[0], hi_ - b[0]) for lo_, hi_, b in zip(lo, hi, box, strict=True))
            with self._lock:
                buffer = self._buffers.get(index)
                if buffer is None:
                    buffer = self._buffers[index] = np.empty([b - a for a, b in box], value.dtype)
                    self._missing[index] = len(self._chunks_of(box))
            buffer[target] = value[source]  # disjoint parts: no lock needed for the copy
            with self._lock:
                self._missing[index] -= 1
