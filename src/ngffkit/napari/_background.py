"""Pixels fetched off napari's thread, kept for a while, and stood in for while they travel.

napari slices on its GUI thread: a plane whose chunks are a network round trip away freezes the whole window
until they arrive (100-400 ms a step on a remote pyramid). A :class:`Pyramid` lets the drawing side ask "what can
be shown *now*?" instead: the pixels if they are already here, else a fetch starts in the background and a
stand-in is returned -- the same plane from a coarser level that is already here, scaled up (so stepping shows the
new plane blurred rather than the old plane sharp), else this level's last picture (another plane), else a coarser
level's last picture scaled up. When the pixels arrive, ``on_arrival`` is called (from a worker thread) so that
the caller can draw again. Only the very first picture waits, having nothing to stand in for it.

Only drawing goes this way. Everything else that reads the data (a script, a writer, an analysis plugin) gets the
real pixels, computed where it asks (:func:`compute`), exactly as from the dask arrays underneath.

Every chunk of a region is requested at once (:func:`compute`): napari's own compute uses dask's default pool, as
many threads as cores, so a plane of 16 chunks took 8 round trips on two cores.

No finaliser here takes a lock. A pyramid that napari lets go of is forgotten by the cache lazily: its finaliser
only notes its id (:meth:`Cache.forget_later`), and the cache drops its boxes at its next use, under its own lock.
(A ``__del__`` that took the cache's lock hung napari's thread for good: the garbage collector can finalise an
object during any allocation -- including one the cache makes while holding that lock.) Nor does a pyramid sit in a
reference cycle: the callbacks of the fetches it keeps hold it weakly (:func:`_weakly`). Nor is a future cancelled,
or given a callback, under a lock that its callbacks take (:meth:`Pyramid._fetch`).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import threading
import weakref
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import dask.array as da
import numpy as np

from ngffkit.napari._dask_pixels import computed
from ngffkit.napari._pixel_cache import CACHE, Box, Key, covers
from ngffkit.store import dask_graphs

#: A region as a view holds it: per axis a fixed index (the axis is gone) or a (start, stop) range.
Region = tuple[int | tuple[int, int], ...]
#: A level, of one channel when napari split the channels into layers that share one pyramid.
Lane = tuple[int, Any]

#: How whole a picture is: a blank, one filling up (a plate's wells page by page), all of its pixels.
BLANK, PARTIAL, WHOLE = 0, 1, 2
#: Chunk requests in flight for one region: all of a plane's chunks at once, not as many as there are cores.
CHUNK_THREADS = 16
#: Regions fetched at the same time (the levels napari draws, their neighbours, several layers).
FETCH_THREADS = 4

_CHUNK_POOL = ThreadPoolExecutor(CHUNK_THREADS, thread_name_prefix="ngffkit-chunks")
_FETCH_POOL = ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="ngffkit-fetch")
_ids = itertools.count()


def box_of(region: Region) -> Box:
    return tuple((r, r + 1) if isinstance(r, int) else r for r in region)


def shape_of(region: Region) -> tuple[int, ...]:
    return tuple(r[1] - r[0] for r in region if not isinstance(r, int))


def index_of(region: Region) -> tuple[int | slice, ...]:
    return tuple(r if isinstance(r, int) else slice(*r) for r in region)


def compute(
    level: da.Array, region: Region, source: Any = None, on_part: Callable[[np.ndarray], None] | None = None
) -> np.ndarray:
    """The pixels of ``region``, every chunk requested at once: from the zarr array itself when the level is one
    (zarr fetches a region's chunks concurrently, with half the CPU time of a dask graph -- CPU time that napari's
    thread would wait for, as Python threads share one lock), else through dask with a wide pool. ``source``:
    the level's :func:`direct_source`. ``on_part``: handed the picture as it fills up, when the source reads in
    parts (a plate's overview, well by well: :meth:`ngffkit.reader.plate_grid.GridLevel.read`)."""
    if source is not None and on_part is not None and callable(getattr(source, "read", None)):
        return np.asarray(source.read(index_of(region), on_part))
    if source is not None:
        return np.asarray(source[index_of(region)])
    return computed(level[index_of(region)], pool=_CHUNK_POOL)


def direct_source(level: da.Array) -> Any | None:
    """The array a level reads, when the level is nothing but ``da.from_array(array)`` of its whole (as ngffkit's
    reader makes them); None for anything else (read through dask then)."""
    return dask_graphs.sole_source(level)


def same_window(a: Box, b: Box) -> bool:
    """Whether two boxes are the same picture frame, maybe on different planes."""
    return covers(a, b, any_plane=True) and covers(b, a, any_plane=True)


class Pyramid:
    """The levels of one layer's data and what is known of them: boxes fetched, fetches under way, the picture
    each lane gave napari last. ``on_arrival(pyramid)`` is called, from a worker thread, when pixels that were
    stood in for have arrived (or failed to)."""

    def __init__(
        self,
        levels: Sequence[da.Array],
        on_arrival: Callable[[Pyramid], None],
        channel_axis: int | None = None,
        *,
        blank_first: bool = False,
        unknown_limits: Collection[int | None] = (),
    ) -> None:
        self.uid = next(_ids)
        self.levels = list(levels)
        self.shapes = [tuple(int(n) for n in level.shape) for level in self.levels]
        self.sources = [direct_source(level) for level in self.levels]
        self.on_arrival = on_arrival
        self.channel_axis = channel_axis
        self.patience = 0.0  # how long a draw waits for pixels before it takes a stand-in
        #: Draw a blank rather than wait when nothing can stand in (a plate: its first picture is every well).
        self.blank_first = blank_first
        #: Channels (None: the only one) whose contrast limits napari computes from the first picture it gets.
        self.unknown_limits = set(unknown_limits)
        #: Per channel, how whole the picture was that napari took its limits from (BLANK, PARTIAL, WHOLE); the
        #: channels drawn more wholly since, whose limits are due again.
        self._limits_from: dict[int | None, int] = {}
        self.limits_due: set[int | None] = set()
        self._partial: dict[Key, np.ndarray] = {}  # pictures filling up (a plate's wells, page by page)
        self._lock = threading.Lock()
        self._pending: dict[Key, Future[np.ndarray]] = {}
        self._latest: dict[Lane, Future[np.ndarray]] = {}  # the fetch the lane's last draw asked for
        self._shown: dict[Lane, tuple[Box, np.ndarray]] = {}  # the lane's last picture
        self._failed: dict[Key, BaseException] = {}
        weakref.finalize(self, CACHE.forget_later, self.uid)

    def _lane(self, level: int, box: Box) -> Lane:
        return (level, box[self.channel_axis] if self.channel_axis is not None else None)

    def draw(self, level: int, region: Region, wait: float) -> np.ndarray:
        """What to draw for ``region`` now: its pixels if they are here within ``wait`` seconds, else a stand-in
        while they are fetched. With nothing to stand in (the very first picture), this waits for the pixels."""
        box = box_of(region)
        key, lane = (self.uid, level, box), self._lane(level, box)
        failure = self._failed.pop(key, None)
        if failure is not None:
            raise failure  # said once, where napari reports it; the next draw tries again
        pixels = CACHE.find(self.uid, level, box)
        if pixels is None:
            future = self._fetch(key, lane)
            try:
                pixels = future.result(timeout=wait)
            except FutureTimeout:
                stand_in, whole = self._partial.get(key), PARTIAL
                if stand_in is None:
                    whole = WHOLE  # another level or plane, whole
                    stand_in = (
                        self.stand_in(level, box) if self.blank_first else self._first_stand_in(level, box, future)
                    )
                if stand_in is None and self.blank_first:
                    stand_in, whole = np.zeros(shape_of(region), dtype=self.levels[level].dtype), BLANK
                if stand_in is not None:
                    self._note_limits(box, whole)
                    future.add_done_callback(_weakly(self, Pyramid._arrived, key))
                    return stand_in.reshape(shape_of(region))
                pixels = future.result()
        self._note_limits(box, WHOLE)
        previous = self._shown.get(lane)
        self._shown[lane] = (box, pixels)
        if level == len(self.levels) - 1 and previous is not None:
            self._prefetch_next(level, previous[0], box)
        return pixels.reshape(shape_of(region))

    def _note_limits(self, box: Box, whole: int) -> None:
        """napari computes unknown contrast limits from a layer's first picture: if that was blank or partial
        (wells still to come are 0), they are due again (:attr:`limits_due`) when a wholer picture is drawn."""
        channel = box[self.channel_axis][0] if self.channel_axis is not None else None
        if channel not in self.unknown_limits:
            return
        before = self._limits_from.setdefault(channel, whole)  # the first: napari computes them itself
        if whole > before:
            self._limits_from[channel] = whole
            self.limits_due.add(channel)

    def take_limits_due(self, channel: int | None) -> bool:
        """Whether the layer showing ``channel`` should compute its contrast limits again (asked once)."""
        due = channel in self.limits_due
        self.limits_due.discard(channel)
        return due

    def _fetch(self, key: Key, lane: Lane | None) -> Future[np.ndarray]:
        """The fetch of ``key``, started unless under way. A draw's fetch replaces its lane's previous one, which
        is dropped if it has not started (stepping fast fetches the planes looked at, not every plane passed).

        Futures run callbacks in the thread that finishes or cancels them -- at once, if they are done already --
        so callbacks are added and fetches cancelled only once the lock is let go (the callbacks take it: under
        the lock, napari's thread waited for itself, for good)."""
        replaced = None
        with self._lock:
            future = self._pending.get(key)
            started = future is None
            if future is None:
                future = self._pending[key] = _FETCH_POOL.submit(self._run, key)
            if lane is not None:
                before = self._latest.get(lane)
                if before is not None and before is not future:
                    replaced = before
                self._latest[lane] = future
        if started:
            future.add_done_callback(_weakly(self, Pyramid._settle, key))
        if replaced is not None:
            replaced.cancel()
        return future

    def _run(self, key: Key) -> np.ndarray:
        def part(picture: np.ndarray) -> None:
            self._partial[key] = picture
            self.on_arrival(self)

        try:
            pixels = compute(self.levels[key[1]], key[2], self.sources[key[1]], part)
            CACHE.put(key, pixels)
        finally:
            self._partial.pop(key, None)
        return pixels

    def _settle(self, key: Key, future: Future[np.ndarray]) -> None:
        with self._lock:
            if self._pending.get(key) is future:
                del self._pending[key]

    def _arrived(self, key: Key, future: Future[np.ndarray]) -> None:
        """Pixels that were stood in for are here (or failed: the next draw raises the failure, once)."""
        if future.cancelled():
            return
        failure = future.exception()
        if failure is not None:
            self._failed[key] = failure
        self.on_arrival(self)

    def _first_stand_in(self, level: int, box: Box, own: Future[np.ndarray]) -> np.ndarray | None:
        """A stand-in, or -- with none here yet -- the first that the fetches under way bring, unless ``own`` (the
        draw's pixels) comes first: napari's first draw of a new image (plane 0) then shows the plane fetched
        ahead (the centre, where napari goes next) as soon as that is here."""
        stand_in = self.stand_in(level, box)
        while stand_in is None and not own.done():
            with self._lock:
                others = [f for f in self._pending.values() if f is not own]
            if not others:
                return None
            wait([own, *others], return_when=FIRST_COMPLETED)
            stand_in = self.stand_in(level, box)
        return stand_in

    def stand_in(self, level: int, box: Box) -> np.ndarray | None:
        """Something of the right shape to draw meanwhile, best first: this plane from a coarser level, this lane's
        last picture (another plane), a coarser level's picture of another plane."""
        for any_plane in (False, True):
            for coarse in range(level + 1, len(self.levels)):
                scaled = self._scaled_up(level, box, coarse, any_plane=any_plane)
                if scaled is not None:
                    return scaled
            shown = self._shown.get(self._lane(level, box))
            if not any_plane and shown is not None and same_window(shown[0], box):
                return shown[1]
        return None

    def _scaled_up(self, level: int, box: Box, coarse: int, *, any_plane: bool) -> np.ndarray | None:
        ratio = [c / f if f else 1.0 for c, f in zip(self.shapes[coarse], self.shapes[level], strict=True)]
        wanted = scaled(box, ratio, self.shapes[coarse])
        ch = self.channel_axis
        for held, pixels in CACHE.held(self.uid, coarse):
            same_channel = ch is None or covers((held[ch],), (wanted[ch],))
            if same_channel and covers(held, wanted, any_plane=any_plane):
                return upsample(pixels, held, box, ratio)
        return None

    def _prefetch_next(self, level: int, before: Box, now: Box) -> None:
        """Stepping along one axis: fetch the next plane of the coarsest level, so that the next step has a
        stand-in at once (a coarse plane is a chunk or two)."""
        moved = [i for i, (a, b) in enumerate(zip(before, now, strict=True)) if a != b]
        if len(moved) != 1 or not same_window(before, now):
            return
        axis = moved[0]
        target = 2 * now[axis][0] - before[axis][0]
        if abs(now[axis][0] - before[axis][0]) == 1 and 0 <= target < self.shapes[level][axis]:
            ahead = (*now[:axis], (target, target + 1), *now[axis + 1 :])
            if CACHE.find(self.uid, level, ahead) is None:
                self._fetch((self.uid, level, ahead), None)

    def fetch(self, level: int, region: Region) -> Future[np.ndarray]:
        """Start fetching ``region`` of ``level`` (unless here or under way)."""
        key = (self.uid, level, box_of(region))
        return self._fetch(key, None)

    def prefetch_centre(self, displayed: Sequence[int]) -> None:
        """Start fetching the plane napari shows first (the centre of every other axis, every channel) at the
        coarsest level: napari's first draws are elsewhere (plane 0), so this saves a round trip."""
        level = len(self.levels) - 1
        shape, full = self.shapes[level], self.shapes[0]
        box = []
        for axis, n in enumerate(shape):
            if axis in displayed or axis == self.channel_axis:
                box.append((0, n))
            else:
                at = min(int(np.round(int((full[axis] - 1) / 2) * n / full[axis])), n - 1)
                box.append((at, at + 1))
        self._fetch((self.uid, level, tuple(box)), None)

    def forget_pixels(self) -> None:
        """Forget every picture fetched or shown (the data under them was rewritten: labels saved in place), so
        that the next draw fetches again. Fetches under way finish into the cache, but their lanes no longer show
        them as the last picture."""
        CACHE.forget(self.uid)
        with self._lock:
            self._shown.clear()
            self._partial.clear()
            self._failed.clear()
            self._latest.clear()

    def wait_idle(self, timeout: float | None = None) -> None:
        """Wait until no fetch is under way (tests and benchmarks)."""
        with self._lock:
            futures = list(self._pending.values())
        for future in futures:
            with contextlib.suppress(CancelledError):
                future.exception(timeout=timeout)

    def busy(self) -> bool:
        with self._lock:
            return bool(self._pending)


def _weakly(
    pyramid: Pyramid, method: Callable[[Pyramid, Key, Future[np.ndarray]], None], key: Key
) -> Callable[[Future[np.ndarray]], None]:
    """A fetch's done-callback calling ``method`` of ``pyramid`` while it lives. The pyramid keeps its fetches (and a
    future keeps its callbacks): a callback holding the pyramid itself made a cycle, freed only by the garbage
    collector -- at whatever allocation it happens to run."""
    ref = weakref.ref(pyramid)

    def callback(done: Future[np.ndarray]) -> None:
        alive = ref()
        if alive is not None:
            method(alive, key, done)

    return callback


def scaled(box: Box, ratio: Sequence[float], shape: Sequence[int]) -> Box:
    """``box`` in the coordinates of a level ``ratio`` times the size (at least one pixel along every axis)."""
    out = []
    for (start, stop), q, n in zip(box, ratio, shape, strict=True):
        first = min(math.floor(start * q), n - 1)
        out.append((first, min(max(math.ceil(stop * q), first + 1), n)))
    return tuple(out)


def upsample(pixels: np.ndarray, held: Box, box: Box, ratio: Sequence[float]) -> np.ndarray:
    """The pixels of ``box`` (a finer level) by nearest neighbour from ``pixels``, which hold ``held``."""
    out = pixels
    for axis, (b, h, q) in enumerate(zip(box, held, ratio, strict=True)):  # axis by axis: 4x faster than np.ix_
        picks = np.clip(np.floor(np.arange(b[0], b[1]) * q).astype(np.intp) - h[0], 0, pixels.shape[axis] - 1)
        out = np.take(out, picks, axis=axis)
    return out


def full_region(shape: Sequence[int]) -> Region:
    return tuple((0, int(n)) for n in shape)
