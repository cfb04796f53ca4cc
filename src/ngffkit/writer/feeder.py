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
#: Input chunks a leaf computes together (as one dask computation) before it copies them into their regions.
BATCH_BYTES = 32 * 2**20


def _spans(chunks: Sequence[Sequence[int]]) -> list[list[tuple[int, int]]]:
    """Per axis, the (start, stop) of every chunk."""
    out = []
    for axis in chunks:
        edges = [0, *itertools.accumulate(axis)]
        out.append(list(itertools.pairwise(edges)))
    return out


def _across(base: da.Array, region: Sequence[int]) -> list[int]:
    """Per axis, the most regions one input chunk spans."""
    return [max(((hi - 1) // r - lo // r + 1 for lo, hi in spans if hi > lo), default=1)
            for spans, r in zip(_spans(base.chunks), region, strict=True)]  # fmt: skip


def filling_bytes(base: da.Array, region: Sequence[int]) -> int:
    """The memory of the regions one input chunk spans, at most: what a write through here holds at once when
    its leaves run in :func:`leaf_order`."""
    return int(math.prod(_across(base, region)) * math.prod(region) * base.dtype.itemsize)


def leaf_order(base: da.Array, region: Sequence[int], leaves: Sequence[Index]) -> list[Index]:
    """The leaves with the axes along which input chunks span several regions varying fastest: the regions one
    chunk fills are then taken one after the other. (Plain C order ran columns -- chunks of Z x 1 x X -- band by
    band along y, leaving every band's deeper regions waiting until z moved on: nearly the whole volume held.)"""
    across = _across(base, region)
    axes = [a for a in range(len(across)) if across[a] == 1] + [a for a in range(len(across)) if across[a] > 1]
    return sorted(leaves, key=lambda index: tuple(index[a] for a in axes))


class RegionFeeder:
    """The level-0 regions (a grid of ``region``-sized blocks of ``base``) for leaves to take (:meth:`take`)."""

    def __init__(self, base: da.Array, region: Sequence[int]) -> None:
        self.base = base
        self.region = tuple(region)
        self.computed = 0  # input chunks computed: each exactly once
        self._spans = _spans(base.chunks)
        self._graph: dict[Any, Any] | None = None
        self._buffers: dict[Index, np.ndarray] = {}
        self._chunk_done: dict[Index, threading.Event] = {}
        self._failure: BaseException | None = None
        self._chunk_bytes = math.prod(max(axis, default=0) for axis in base.chunks) * base.dtype.itemsize
        self._lock = threading.Lock()

    def box(self, index: Index) -> list[tuple[int, int]]:
        """Where region ``index`` lies in level 0: per axis (start, stop)."""
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
        chunks = self._chunks_of(self.box(index))
        others: list[threading.Event] = []
        while chunks:  # a batch of chunks no other leaf has started, then the next: two leaves of one slab share
            batch: dict[Index, threading.Event] = {}  # its chunks' work instead of one of them waiting
            with self._lock:
                while chunks and (not batch or len(batch) * self._chunk_bytes < BATCH_BYTES):
                    chunk = chunks.pop(0)
                    event = self._chunk_done.get(chunk)
                    if event is None:
                        batch[chunk] = self._chunk_done[chunk] = threading.Event()
                    else:
                        others.append(event)
            try:
                if batch:
                    for chunk, value in zip(batch, self._compute(list(batch)), strict=True):
                        self._scatter(chunk, value)
            except BaseException as exc:
                self._failure = exc  # every leaf waiting for these chunks raises the same error, not a vaguer one
                raise
            finally:
                for event in batch.values():
                    event.set()
        for event in others:
            event.wait()
        with self._lock:
            if self._failure is not None:
                raise self._failure
            return self._buffers.pop(index)

    def _compute(self, chunks: list[Index]) -> list[np.ndarray]:
        """Input chunks computed together: what they share upstream (a larger chunk they were cut from, the halo
        of an overlap) is computed once per batch."""
        with self._lock:
            if self._graph is None:
                (optimized,) = dask.optimize(self.base)
                self.base, self._graph = optimized, dict(optimized.__dask_graph__())
            graph = self._graph
        keys = [(self.base.name, *chunk) for chunk in chunks]
        values = dask.local.get_sync(dask.optimization.cull(graph, keys)[0], keys)
        with self._lock:
            self.computed += len(chunks)
        return [np.asarray(value) for value in values]

    def _scatter(self, chunk: Index, value: np.ndarray) -> None:
        """Copy the chunk's part into every region it spans; regions are made on first touch."""
        chunk_box = [spans[c] for spans, c in zip(self._spans, chunk, strict=True)]
        for index in self._regions_of(chunk):
            box = self.box(index)
            lo = [max(a[0], b[0]) for a, b in zip(chunk_box, box, strict=True)]
            hi = [min(a[1], b[1]) for a, b in zip(chunk_box, box, strict=True)]
            source = tuple(slice(lo_ - c[0], hi_ - c[0]) for lo_, hi_, c in zip(lo, hi, chunk_box, strict=True))
            target = tuple(slice(lo_ - b[0], hi_ - b[0]) for lo_, hi_, b in zip(lo, hi, box, strict=True))
            with self._lock:
                buffer = self._buffers.get(index)
                if buffer is None:
                    buffer = self._buffers[index] = np.empty([b - a for a, b in box], value.dtype)
            buffer[target] = value[source]  # disjoint parts: no lock needed for the copy
