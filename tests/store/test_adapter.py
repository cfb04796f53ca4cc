"""The zarr, fsspec and aiohttp internals ngffkit relies on (ngffkit.store.adapter), pinned against the versions
installed: a release that moves one of them fails here, with its name, before anything subtler breaks."""

from __future__ import annotations

import asyncio
import json
import pathlib

import fsspec
import numpy as np
import zarr
from fsspec.implementations.asyn_wrapper import AsyncFileSystemWrapper
from zarr.storage import FsspecStore, LocalStore

import ngffkit
from ngffkit.store import adapter
from ngffkit.store.local import ConfinedLocalStore
from ngffkit.store.remote import RetryPolicy, _http_client


def test_sync_runs_on_zarrs_loop() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert adapter.sync(answer()) == 42


def test_the_loop_zarr_started_is_the_one_settled_at_exit() -> None:
    """settle_at_exit relies on zarr's loop holder and on Python's thread-shutdown hooks (both private)."""
    import threading

    async def loop_of() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    assert adapter.zarr_loop_if_started() is adapter.sync(loop_of())
    assert callable(threading._register_atexit)  # type: ignore[attr-defined]
    adapter.settle_at_exit()
    adapter.settle_at_exit()  # once is enough: registered a single time
    assert adapter._settle_done == [True]


def test_drain_waits_for_tasks_still_running_on_zarrs_loop() -> None:
    finished: list[int] = []

    async def slow() -> None:
        await asyncio.sleep(0.2)
        finished.append(1)

    left_running: list[asyncio.Task[None]] = []

    async def start_and_leave() -> None:
        # Left running, as zarr leaves sibling chunk writes after a failure.
        left_running.append(asyncio.ensure_future(slow()))

    adapter.sync(start_and_leave())
    assert finished == []
    adapter.drain()
    assert finished == [1]
    assert left_running[0].done()


def test_fresh_stores_serve_many_first_reads_at_once(tmp_path: pathlib.Path) -> None:
    """Stores open lazily inside zarr's own methods; ngffkit never opens them itself (zarr 3.4.1 made a second,
    concurrent ``_open`` raise "store is already open", and every first read of a dataset is concurrent)."""
    ngffkit.write_image(np.arange(16, dtype=np.uint8).reshape(4, 4), tmp_path / "a.zarr")

    async def first_reads(store: object) -> list[object]:
        keys = ["zarr.json", "0/zarr.json", "missing/zarr.json"] * 20
        return await asyncio.gather(*(store.get(key, adapter.prototype()) for key in keys))  # type: ignore[attr-defined]

    for store in (ConfinedLocalStore(tmp_path / "a.zarr", read_only=True), LocalStore(tmp_path / "a.zarr")):
        found = adapter.sync(first_reads(store))
        assert sum(buffer is not None for buffer in found) == 40, store
    assert ngffkit.open(tmp_path / "a.zarr").levels[0].shape == (4, 4)


def test_array_from_document_reads_without_another_request(tmp_path: pathlib.Path) -> None:
    ngffkit.write_image(np.arange(16, dtype=np.uint8).reshape(4, 4), tmp_path / "a.zarr")
    document = json.loads((tmp_path / "a.zarr" / "0" / "zarr.json").read_text())
    array = adapter.array_from_document(document, LocalStore(tmp_path / "a.zarr"), "0")
    assert isinstance(array, zarr.Array)
    np.testing.assert_array_equal(array[...], np.arange(16).reshape(4, 4))


def test_list_folder_of_an_async_file_system(tmp_path: pathlib.Path) -> None:
    (tmp_path / "x").write_text("1")
    fs = AsyncFileSystemWrapper(fsspec.filesystem("file"))
    entries = adapter.sync(adapter.list_folder(fs, str(tmp_path)))
    assert [pathlib.Path(e["name"]).name for e in entries] == ["x"]


def test_session_loop_and_missing_key_exceptions() -> None:
    async def make() -> object:
        session = await _http_client(RetryPolicy())
        loop = adapter.session_loop(session)
        await session.close()  # type: ignore[attr-defined]
        return loop

    assert adapter.sync(make()) is not None
    store = FsspecStore(AsyncFileSystemWrapper(fsspec.filesystem("memory")), path="/x")
    assert store.allowed_exceptions  # zarr's default: some client errors read as "missing"
    adapter.forget_missing_key_exceptions(store)
    assert store.allowed_exceptions == ()
