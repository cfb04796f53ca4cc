"""Pixels fetched for napari's drawing, kept for a while: one cache shared by every remote pyramid, the least
recently used boxes dropped beyond :data:`CACHE_BYTES`.

Its lock is taken only by ordinary calls, never by a finaliser: a pyramid that is gone is noted without a lock
(:meth:`Cache.forget_later`) and its boxes dropped at the cache's next use -- the garbage collector may finalise
an object during any allocation, including one made while the lock is held (see :mod:`ngffkit.napari._background`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque

import numpy as np

#: A region with every axis kept (an index i is the range (i, i+1)): how pixels are fetched, kept and compared.
Box = tuple[tuple[int, int], ...]
#: (pyramid id, level, box).
Key = tuple[int, int, Box]
#: Memory for fetched regions, shared by every pyramid (the least recently used go first).
CACHE_BYTES = 512 * 2**20


class Cache:
    """Fetched boxes by (pyramid, level, box), least recently used dropped beyond ``limit`` bytes. The box just
    added always stays, however large, so that the draw it was fetched for finds it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[Key, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        #: Pyramids gone, whose boxes are dropped at the next use (appending to a deque takes no lock of ours).
        self._gone: deque[int] = deque()

    def find(self, uid: int, level: int, box: Box) -> np.ndarray | None:
        """The pixels of ``box``: kept as such, or cut from a kept box that holds it."""
        with self._lock:
            found = self._items.get((uid, level, box))
            if found is not None:
                self._items.move_to_end((uid, level, box))
                return found
        for held, pixels in self.held(uid, level):
            if covers(held, box):
                return pixels[tuple(slice(b[0] - h[0], b[1] - h[0]) for h, b in zip(held, box, strict=True))]
        return None

    def put(self, key: Key, value: np.ndarray) -> None:
        value.flags.writeable = False  # shared by every draw: nobody may change it in place
        with self._lock:
            self._drop_gone()
            old = self._items.pop(key, None)
            self._bytes += value.nbytes - (old.nbytes if old is not None else 0)
            self._items[key] = value
            while self._bytes > self.limit and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.nbytes

    def held(self, uid: int, level: int) -> list[tuple[Box, np.ndarray]]:
        """The boxes of one level of one pyramid that are here, most recently used first."""
        with self._lock:
            return [(key[2], value) for key, value in reversed(self._items.items()) if key[:2] == (uid, level)]

    def forget_later(self, uid: int) -> None:
        """Drop the boxes of pyramid ``uid`` at the next :meth:`put` -- safe from a finaliser: it takes no lock."""
        self._gone.append(uid)

    def forget(self, uid: int) -> None:
        self.forget_later(uid)
        with self._lock:
            self._drop_gone()

    def _drop_gone(self) -> None:
        gone = set()
        while self._gone:
            gone.add(self._gone.popleft())
        if gone:
            for key in [k for k in self._items if k[0] in gone]:
                self._bytes -= self._items.pop(key).nbytes


CACHE = Cache(CACHE_BYTES)


def covers(held: Box, box: Box, *, any_plane: bool = False) -> bool:
    """Whether ``held`` holds ``box`` -- with ``any_plane``, on whatever plane (thin axes anywhere)."""
    return len(held) == len(box) and all(
        (h[0] <= b[0] and b[1] <= h[1]) or (any_plane and h[1] - h[0] == 1 and b[1] - b[0] == 1)
        for h, b in zip(held, box, strict=True)
    )
