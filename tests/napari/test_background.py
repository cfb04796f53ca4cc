"""The background fetching of remote pyramids (:mod:`ngffkit.napari._background`): nothing there can hang napari.

A pyramid that napari lets go of used to be finalised by ``__del__``, which took the cache's lock; the pyramid sat
in a reference cycle (its fetches' callbacks held it), so the garbage collector finalised it -- at whatever
allocation it ran, including one the cache made while holding that very lock on napari's thread. The thread
then waited for itself, for good.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
import weakref

import dask.array as da
import numpy as np

from ngffkit.napari._background import Pyramid, full_region
from ngffkit.napari._pixel_cache import CACHE

#: The collector forced to run at every allocation while the cache lists what it holds (under its lock), with a
#: pyramid that drew something just dropped: before the fix, the thread hung in held -> <listcomp> -> __del__ ->
#: forget. In a child process, whose stack is printed should it hang, so that a hang fails this test instead of
#: hanging the suite.
COLLECTOR_DURING_HELD = textwrap.dedent("""
    import faulthandler, gc, sys
    import numpy as np, dask.array as da
    from ngffkit.napari._background import Pyramid, full_region
    from ngffkit.napari._pixel_cache import CACHE

    faulthandler.dump_traceback_later(LIMIT, exit=True)
    level = da.zeros((8, 8), chunks=4, dtype="uint8")
    kept = Pyramid([level], lambda pyramid: None)
    CACHE.put((kept.uid, 0, ((0, 8), (0, 8))), np.zeros((8, 8), np.uint8))
    for _ in range(50):
        dropped = Pyramid([level], lambda pyramid: None)
        dropped.draw(0, full_region((8, 8)), 30.0)
        del dropped
        gc.set_threshold(1)
        try:
            CACHE.held(kept.uid, 0)
        finally:
            gc.set_threshold(700)
    faulthandler.cancel_dump_traceback_later()
    print("done")
""")
#: Far longer than the child needs (about a second): only a hang reaches it.
LIMIT = 120


def test_the_garbage_collector_never_hangs_the_cache() -> None:
    script = COLLECTOR_DURING_HELD.replace("LIMIT", str(LIMIT))
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=LIMIT + 60, check=False
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "done", f"the thread hung:\n{proc.stderr[-3000:]}"


#: Stepping faster than the network: every fetch thread is busy, so a draw's fetch waits in the queue, and the
#: next draw on the same lane cancels it. A cancelled future runs its callbacks at once, in the cancelling thread
#: -- napari's -- and the callback took the pyramid's lock, which that thread already held: napari froze for good
#: (seen on a remote plate whose wells were slow, napari 0.8). Also in a child process: a hung thread there would
#: hold the shared fetch threads.
CANCELLED_WHILE_QUEUED = textwrap.dedent("""
    import faulthandler, threading
    import numpy as np, dask.array as da
    from ngffkit.napari._background import FETCH_THREADS, Pyramid, full_region

    faulthandler.dump_traceback_later(LIMIT, exit=True)
    release = threading.Event()

    def slow(block):
        release.wait(LIMIT)
        return block

    meta = np.empty((0, 0, 0), np.uint8)  # so that dask does not call slow() to learn the type
    level = da.zeros((64, 8, 8), chunks=(1, 8, 8), dtype="uint8").map_blocks(slow, meta=meta)
    busy = Pyramid([level], lambda pyramid: None)
    for plane in range(FETCH_THREADS):  # every fetch thread waits for the test
        busy.fetch(0, (plane, (0, 8), (0, 8)))
    stepping = Pyramid([level], lambda pyramid: None, blank_first=True)
    for plane in range(10, 20):  # each draw on the same lane: a blank now, and the previous fetch cancelled
        assert stepping.draw(0, (plane, (0, 8), (0, 8)), 0.0).shape == (8, 8)
    release.set()
    stepping.wait_idle()
    faulthandler.cancel_dump_traceback_later()
    print("done")
""")


def test_stepping_past_queued_fetches_never_hangs() -> None:
    script = CANCELLED_WHILE_QUEUED.replace("LIMIT", str(LIMIT))
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=LIMIT + 60, check=False
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "done", f"the thread hung:\n{proc.stderr[-3000:]}"


def test_a_dropped_pyramid_is_freed_at_once_and_its_pixels_leave_the_cache() -> None:
    """No reference cycle: the pyramid goes when napari lets go of it (not when the collector comes by), and the
    cache lets go of its pixels at its next use."""
    level = da.arange(64, chunks=8, dtype="uint16").reshape(8, 8)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        pyramid = Pyramid([level, level[::2, ::2]], lambda p: None)
        region = full_region((8, 8))
        np.testing.assert_array_equal(pyramid.draw(0, region, 30.0), level.compute())  # a fetch with callbacks
        pyramid.fetch(1, full_region((4, 4))).result(timeout=30)
        pyramid.wait_idle(timeout=30)
        uid, alive = pyramid.uid, weakref.ref(pyramid)
        assert CACHE.held(uid, 0) and CACHE.held(uid, 1)
        del pyramid
        assert alive() is None, "a reference cycle keeps the pyramid until the garbage collector runs"
    finally:
        if was_enabled:
            gc.enable()
    CACHE.put((-1, 0, ((0, 1),)), np.zeros(1, np.uint8))  # the cache's next use
    assert not CACHE.held(uid, 0) and not CACHE.held(uid, 1)


def test_pixels_stood_in_for_still_call_back_when_they_arrive() -> None:
    """The callbacks hold the pyramid weakly, and still deliver: a draw of the next plane with no patience gets a
    stand-in (the last picture) at once, and ``on_arrival`` is called when the plane's pixels are here."""
    release, arrived = threading.Event(), threading.Event()

    def held_back(block: np.ndarray, block_info: dict) -> np.ndarray:
        if block_info[0]["chunk-location"][0] == 1:  # plane 1 comes when the test says so
            assert release.wait(60)
        return block

    plain = da.arange(2 * 8 * 8, dtype="uint16").reshape(2, 8, 8).rechunk((1, 8, 8))
    level = plain.map_blocks(held_back, dtype="uint16")
    pyramid = Pyramid([level], lambda p: arrived.set())
    np.testing.assert_array_equal(pyramid.draw(0, (0, (0, 8), (0, 8)), 60.0), plain[0].compute())  # the first waits
    stand_in = pyramid.draw(0, (1, (0, 8), (0, 8)), 0.0)
    np.testing.assert_array_equal(stand_in, plain[0].compute())  # plane 1 is held back: plane 0 stands in
    assert not arrived.is_set()
    release.set()
    assert arrived.wait(60), "the pixels stood in for never called back"
    np.testing.assert_array_equal(pyramid.draw(0, (1, (0, 8), (0, 8)), 0.0), plain[1].compute())
