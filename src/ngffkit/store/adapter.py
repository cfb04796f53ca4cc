"""The zarr, fsspec and aiohttp internals ngffkit cannot avoid, in one place.

Each function here wraps one thing that is not those libraries' documented public API -- a private attribute, a
module marked internal -- so that when a new release moves it, one file changes. tests/store/test_adapter.py pins
every one of them against the installed versions. (Two more modules subclass zarr classes and say so:
``bounded_codecs.py`` and ``local.py``; ``remote.py`` subclasses zarr's ``FsspecStore``.)
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import zarr
from zarr.abc.store import Store
from zarr.core.array import Array, AsyncArray, parse_array_metadata
from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype
from zarr.core.sync import loop as zarr_loop_holder
from zarr.core.sync import sync as zarr_sync
from zarr.storage import StorePath

T = TypeVar("T")


def sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on zarr's own event loop thread and wait for it (zarr's ``zarr.core.sync.sync``): one loop
    for every store, so that stores and their client sessions are shared across calls."""
    return zarr_sync(coroutine)


#: How long reads abandoned by a failed computation may go on when the program ends, before they are cancelled.
SETTLE_AT_EXIT = 2.0
_settle_registered = threading.Lock()
_settle_done: list[bool] = []


def settle_at_exit() -> None:
    """Have the program's end wait for (then cancel) reads that a failed computation abandoned.

    When one chunk of a read fails, dask raises at once while the computation's other reads go on in zarr's loop.
    If the program then ends (a script, the CLI, after the clean error), Python shuts its thread pools down under
    them, and each one fails on its way out: hundreds of lines of "Task exception was never retrieved", "Task
    was destroyed but it is pending!" and "Event loop is closed" after the one message that mattered. Python's
    thread-shutdown hooks run newest first, so this one (registered after ``concurrent.futures``') runs while the
    pools still work: the reads finish, or are cancelled after ``SETTLE_AT_EXIT`` seconds, and nothing is left."""
    with _settle_registered:
        if not _settle_done:
            threading._register_atexit(_settle_zarr_loop)  # type: ignore[attr-defined]
            _settle_done.append(True)


def _settle_zarr_loop() -> None:
    running_loop = zarr_loop_if_started()
    if running_loop is None or not running_loop.is_running():
        return

    async def settle() -> None:
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if not others:
            return
        _, pending = await asyncio.wait(others, timeout=SETTLE_AT_EXIT)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)

    with contextlib.suppress(Exception):  # the program is ending: nothing here may stop it
        asyncio.run_coroutine_threadsafe(settle(), running_loop).result(SETTLE_AT_EXIT + 2.0)


def zarr_loop_if_started() -> asyncio.AbstractEventLoop | None:
    """zarr's event loop, or None if zarr has not started one (never starts one)."""
    return zarr_loop_holder[0]


def drain(timeout: float = 120.0) -> None:
    """Wait until every task now running on zarr's event loop has finished.

    When one chunk of a zarr write fails, zarr's ``gather`` raises at once while the array's other chunk writes go
    on in the loop; a writer that deletes what it wrote must let them land first, or they leave debris behind."""

    async def others_done() -> None:
        running = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if running:
            await asyncio.wait(running, timeout=timeout)

    zarr_sync(others_done())


def prototype() -> BufferPrototype:
    """The buffer prototype stores read into (CPU memory)."""
    return default_buffer_prototype()


def buffer(data: bytes) -> Buffer:
    return default_buffer_prototype().buffer.from_bytes(data)


def array_from_document(document: dict[str, Any], store: Store, path: str, bound: Any = None) -> zarr.Array:
    """A zarr array from a metadata document already read (no second request): ``parse_array_metadata`` and
    ``AsyncArray`` are zarr's internal constructors. ``bound`` may replace the parsed metadata (bounded codecs)."""
    metadata = parse_array_metadata(document)
    if bound is not None:
        metadata = bound(metadata)
    array: zarr.Array = Array(AsyncArray(metadata=metadata, store_path=StorePath(store, path)))
    return array


def replaced(metadata: Any, **changes: Any) -> Any:
    """zarr array metadata with some fields changed to values already fitted to this array (bounded codecs made
    from its parsed, evolved ones).

    ``dataclasses.replace`` would run the metadata's ``__init__`` again, which parses the shape, the fill value
    and every codec a second time: half of the CPU of building an array from its document, and the largest part
    of the validator's own work on a plate. A copy with only those fields set (the dataclasses are frozen, so
    through ``object.__setattr__``, as zarr's own ``__init__`` does) is the object zarr would have built."""
    changed = copy.copy(metadata)
    for name, value in changes.items():
        object.__setattr__(changed, name, value)
    return changed


async def list_folder(fs: Any, path: str) -> list[dict[str, Any]]:
    """One folder's entries from an async fsspec file system (``_ls``: the coroutine behind ``ls``)."""
    entries: list[dict[str, Any]] = await fs._ls(path, detail=True)
    return entries


def session_loop(session: Any) -> Any:
    """The event loop an aiohttp client session belongs to (``_loop``), to close it there at exit."""
    return getattr(session, "_loop", None)


def forget_missing_key_exceptions(store: Any) -> None:
    """zarr's FsspecStore reads some client exceptions as "key missing" (``allowed_exceptions``); ngffkit's
    stores decide that themselves, so a vanished bucket or a 403 is never read as fill values."""
    store.allowed_exceptions = ()
