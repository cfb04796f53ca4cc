"""Reads under way, shared: a thread that needs what another is already reading waits for it instead of
reading it again.

A plate is read from several threads at once -- napari's channel layers each fetch their part of the overview in
the background, the plate navigator reads every well, a well is opened -- and the plate's lock is not held while
a batch travels (that would make napari's thread wait for the network). Without this, each of them requested the
same wells' metadata: two channels doubled the requests of a plate's first view.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class InFlight(Generic[K]):
    """Keys being read, each with the event its reader sets when done (whether it succeeded or not)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[K, threading.Event] = {}

    @contextmanager
    def claim(self, wanted: Iterable[K]) -> Iterator[frozenset[K]]:
        """Claim the keys of ``wanted`` nobody reads yet, and yield them (for the caller to read, within the
        block, in its own order); after the block, wait for the keys others were reading. ``wanted``: keys not
        here yet."""
        done = threading.Event()
        with self._lock:
            mine: list[K] = []
            theirs: list[threading.Event] = []
            for key in dict.fromkeys(wanted):
                if key in self._events:
                    theirs.append(self._events[key])
                else:
                    self._events[key] = done
                    mine.append(key)
        try:
            yield frozenset(mine)
        finally:
            with self._lock:
                for key in mine:
                    self._events.pop(key, None)
            done.set()
        for event in dict.fromkeys(theirs):
            event.wait()
