"""The levels beyond a super-block, assembled in memory as the tasks below them finish: no level is read back.

A *leaf* task writes levels 0..m of its level-0 region (a super-block, or one write unit of level 0 when not even
level 1 fits in one) and returns that region's level m+1, reduced once more: a *piece*. Every write unit (chunk or
shard) of level m+1 is a buffer its pieces are copied into; once its last piece has arrived, a task writes it and
returns its own piece of level m+2, and so on up the pyramid.

Leaves run in tree order -- the leaves under one unit of the deepest level together, and within it those under one
unit of the level below, ... -- so a buffer fills soon after its first piece arrives: memory holds a few units per
level whatever the volume, and each level is made from memory. Reading level m back from the store instead cost a
second decompression of it and, with 256^3 shards (a level-1 shard needs 256 MiB of level 0), ~770 MiB per task
and a tail of large tasks that ran one at a time.
"""

from __future__ import annotations

import itertools
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ngffkit.writer import pyramid
from ngffkit.writer.progress import Ticker

Index = tuple[int, ...]
#: A node of the tree: (level, index of its write unit in that level's grid); leaves are level-m nodes.
Node = tuple[int, Index]


@dataclass(frozen=True)
class UnitTree:
    """Which write units of each level are made from which units of the level below, from level ``depth`` on."""

    layout: Sequence[pyramid.Level]
    #: Per level, the block one task writes (a chunk or a shard, clipped to the level's shape).
    units: Sequence[Index]
    #: Deepest level the leaves write; the leaves' units at that level are their regions seen from it.
    depth: int

    def nests(self) -> bool:
        """Whether every unit's piece lies within one unit of the next level (so that pieces can be assembled):
        a unit must hold whole blocks of the factor (or the level's whole extent), and its piece must divide
        the next level's unit (or that unit be the next level's whole extent)."""
        for k in range(self.depth + 1, len(self.layout)):
            for child, factor, unit, extent, upper in zip(self.units[k - 1], self.layout[k].factors, self.units[k],
                                                          self.layout[k - 1].shape, self.layout[k].shape,
                                                          strict=True):  # fmt: skip
                if child >= extent:
                    continue
                if child % factor or (unit < upper and unit % (child // factor)):
                    return False
        return True

    def grid(self, level: int) -> list[Index]:
        """Every unit index of ``level``, in C order."""
        counts = [-(-n // u) for n, u in zip(self.layout[level].shape, self.units[level], strict=True)]
        return list(itertools.product(*(range(c) for c in counts)))

    def start(self, node: Node) -> Index:
        level, index = node
        return tuple(i * u for i, u in zip(index, self.units[level], strict=True))

    def extent(self, node: Node) -> Index:
        level, index = node
        return tuple(
            min(u, n - i * u) for i, u, n in zip(index, self.units[level], self.layout[level].shape, strict=True)
        )

    def parent(self, node: Node) -> Node | None:
        """The unit of the next level this node's piece goes into (None at the top)."""
        level, _ = node
        if level + 1 >= len(self.layout):
            return None
        upper = (
            s // f // u
            for s, f, u in zip(self.start(node), self.layout[level + 1].factors, self.units[level + 1], strict=True)
        )
        return level + 1, tuple(upper)

    def place(self, node: Node, parent: Node) -> tuple[slice, ...]:
        """Where ``node``'s piece goes within ``parent``'s buffer."""
        level, _ = node
        offsets = (
            s // f - p
            for s, f, p in zip(self.start(node), self.layout[level + 1].factors, self.start(parent), strict=True)
        )
        pieces = (-(-e // f) for e, f in zip(self.extent(node), self.layout[level + 1].factors, strict=True))
        return tuple(slice(o, o + n) for o, n in zip(offsets, pieces, strict=True))

    def children_counts(self) -> Counter[Node]:
        """How many pieces each unit above the leaves waits for."""
        counts: Counter[Node] = Counter()
        for level in range(self.depth, len(self.layout) - 1):
            for index in self.grid(level):
                parent = self.parent((level, index))
                assert parent is not None
                counts[parent] += 1
        return counts

    def leaf_order(self) -> list[Index]:
        """Leaves in tree order: sorted by their ancestor at the top level, then at the level below, ..."""

        def ancestry(index: Index) -> tuple[Index, ...]:
            chain: list[Index] = [index]
            node: Node | None = (self.depth, index)
            while node is not None and (node := self.parent(node)) is not None:
                chain.append(node[1])
            return tuple(reversed(chain))

        return sorted(self.grid(self.depth), key=ancestry)


@dataclass
class TreeRun:
    """One run of a :class:`UnitTree`: leaves computed by ``leaf`` (which writes levels 0..m itself and returns its
    piece), every unit above assembled from its pieces and written to ``targets[level]``, at most ``workers``
    tasks at a time."""

    tree: UnitTree
    leaf: Callable[[Index], np.ndarray | None]
    targets: Sequence[Any]
    reduce: Callable[[np.ndarray, Sequence[int]], np.ndarray]
    workers: int
    ticker: Ticker | None = None
    #: The leaves in the order they run; None: tree order (:meth:`UnitTree.leaf_order`).
    order: Sequence[Index] | None = None
    _buffers: dict[Node, np.ndarray] = field(default_factory=dict)
    _waiting: Counter[Node] = field(default_factory=Counter)

    def tasks(self) -> int:
        """How many tasks the run will have: leaves and the units above them."""
        return len(self.tree.grid(self.tree.depth)) + len(self.tree.children_counts())

    def run(self) -> None:
        """Every task, complete units first (they free memory), then leaves in tree order; the first failure
        stops what has not started and is raised once the running tasks have ended."""
        self._waiting = self.tree.children_counts()
        leaves = deque(self.tree.leaf_order() if self.order is None else self.order)
        complete: deque[Node] = deque()
        running: dict[Future[np.ndarray | None], Node] = {}
        with ThreadPoolExecutor(self.workers, thread_name_prefix="ngffkit-write") as pool:
            try:
                while leaves or complete or running:
                    while len(running) < self.workers and (complete or leaves):
                        if complete:
                            node = complete.popleft()
                            running[pool.submit(self._write_unit, node, self._buffers.pop(node))] = node
                        else:
                            index = leaves.popleft()
                            running[pool.submit(self.leaf, index)] = (self.tree.depth, index)
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        node = running.pop(future)
                        piece = future.result()
                        if self.ticker is not None:
                            self.ticker.tick()
                        if piece is not None and (parent := self._add(node, piece)) is not None:
                            complete.append(parent)
            finally:
                for future in running:
                    future.cancel()

    def _add(self, node: Node, piece: np.ndarray) -> Node | None:
        """Copy ``piece`` into its parent's buffer; returns the parent when that was its last piece."""
        parent = self.tree.parent(node)
        if parent is None:
            return None
        buffer = self._buffers.get(parent)
        if buffer is None:
            buffer = self._buffers[parent] = np.empty(self.tree.extent(parent), piece.dtype)
        buffer[self.tree.place(node, parent)] = piece
        self._waiting[parent] -= 1
        return parent if self._waiting[parent] == 0 else None

    def _write_unit(self, node: Node, buffer: np.ndarray) -> np.ndarray | None:
        level, _ = node
        start = self.tree.start(node)
        self.targets[level][tuple(slice(s, s + n) for s, n in zip(start, buffer.shape, strict=True))] = buffer
        if level + 1 >= len(self.tree.layout):
            return None
        return self.reduce(buffer, self.tree.layout[level + 1].factors)
