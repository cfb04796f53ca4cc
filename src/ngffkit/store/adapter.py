"""The zarr, fsspec and aiohttp internals ngffkit cannot avoid, in one place.

Each function here wraps one thing that is not those libraries' documented public API -- a private attribute, a
module marked internal -- so that when a new release moves it, one file changes. tests/store/test_adapter.py pins
every one of them against the installed versions. (Two more modules subclass zarr classes and say so:
``bounded_codecs.py`` and ``local.py``; ``remote.py`` subclasses zarr's ``FsspecStore``.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import zarr
from zarr.abc.store import Store
from zarr.core.array import Array, AsyncArray, parse_array_metadata
from zarr.core.buffer import Buffer, BufferPrototype, default_buffer_prototype
from zarr.core.sync import sync as zarr_sync
from zarr.storage import StorePath

T = TypeVar("T")


def sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on zarr's own event loop thread and wait for it (zarr's ``zarr.core.sync.sync``): one loop
    for every store, so that stores and their client sessions are shared across calls."""
    return zarr_sync(coroutine)


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


async def ensure_open(store: Store) -> None:
    """Stores open lazily: zarr's higher-level API opens them (``_is_open``/``_open``); raw reads must too."""
    if not getattr(store, "_is_open", True):
        await store._open()


def array_from_document(document: dict[str, Any], store: Store, path: str, bound: Any = None) -> zarr.Array:
    """A zarr array from a metadata document already read (no second request): ``parse_array_metadata`` and
    ``AsyncArray`` are zarr's internal constructors. ``bound`` may replace the parsed metadata (bounded codecs)."""
    metadata = parse_array_metadata(document)
    if bound is not None:
        metadata = bound(metadata)
    array: zarr.Array = Array(AsyncArray(metadata=metadata, store_path=StorePath(store, path)))
    return array


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
