"""The private parts of zarr, fsspec, s3fs and CPython that ngffkit relies on (ngffkit.store.adapter, and the codec
hooks of ngffkit.store.bounded_codecs), pinned against the releases installed: a release that moves one of them
fails here, naming what moved, before anything subtler breaks. docs/architecture.md lists the same ones."""

from __future__ import annotations

import asyncio
import json
import pathlib
import struct
import threading
import zipfile
from typing import Any

import fsspec
import numpy as np
import pytest
import zarr
import zarr.core.sync
from zarr.storage import FsspecStore, LocalStore, MemoryStore, WrapperStore

import ngffkit
from ngffkit.store import adapter, bounded_codecs
from ngffkit.store.arrays import array_from_document
from ngffkit.store.local import ConfinedLocalStore
from ngffkit.store.remote import ResilientStore, RetryPolicy, fsspec_options


def moved(what: str, why: str) -> str:
    return f"{what} moved or changed in this release; ngffkit.store.adapter relies on it ({why})"


# --- zarr's event loop ---------------------------------------------------------------------------------------------


def test_zarrs_sync_and_loop_holder_are_where_the_adapter_finds_them() -> None:
    assert callable(getattr(zarr.core.sync, "sync", None)), moved("zarr.core.sync.sync", "running coroutines")
    holder = getattr(zarr.core.sync, "loop", None)
    assert isinstance(holder, list) and len(holder) == 1, moved("zarr.core.sync.loop", "finding zarr's loop")

    async def loop_of() -> asyncio.AbstractEventLoop:
        await asyncio.sleep(0)
        return asyncio.get_running_loop()

    running = adapter.sync(loop_of())
    assert adapter.zarr_loop_if_started() is running, moved("zarr.core.sync.loop[0]", "the loop zarr's sync uses")

    assert zarr.core.sync.sync(loop_of()) is running  # the loop zarr's own synchronous API runs on


def test_pythons_thread_shutdown_hook_settles_zarrs_loop() -> None:
    assert callable(getattr(threading, "_register_atexit", None)), moved(
        "threading._register_atexit", "letting abandoned reads finish before Python shuts its thread pools down"
    )
    adapter.settle_at_exit()
    adapter.settle_at_exit()  # once is enough: registered a single time
    assert adapter._settle_done == [True]


# --- CPython's zipfile ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prepended", [0, 1000])
def test_zipfiles_central_directory_start_is_where_the_end_record_says(tmp_path: pathlib.Path, prepended: int) -> None:
    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("a", b"x" * 100)
        out.writestr("b", b"y" * 50)
    path.write_bytes(b"\0" * prepended + path.read_bytes())  # bytes before the archive: offsets move with them
    end_record = path.read_bytes()[-22:]
    _, _, _, _, _, directory_size, directory_offset, _ = struct.unpack("<4s4H2LH", end_record)
    with zipfile.ZipFile(path) as opened:
        found = adapter.zip_central_directory_start(opened)
    assert found == directory_offset + prepended, moved(
        "zipfile.ZipFile.start_dir", "bounding the last entry of a .ozx read in parts"
    )
    assert found + directory_size == path.stat().st_size - 22


# --- one write's own tasks ------------------------------------------------------------------------------------------


def test_a_jobs_drain_waits_for_its_own_tasks_and_not_for_anyone_elses() -> None:
    """A failed zarr write leaves its sibling chunk writes running (zarr's gather raises at once); the write waits
    for those, and for nothing else on zarr's loop -- napari's background reads, other threads' writes."""
    own_may_end, foreign_may_end = threading.Event(), threading.Event()
    tasks = adapter.OwnTasks()

    async def wait_for(event: threading.Event) -> None:
        await asyncio.to_thread(event.wait, 60)

    children: list[asyncio.Task[None]] = []

    async def start_a_child_and_return() -> None:
        children.append(asyncio.ensure_future(wait_for(own_may_end)))  # left running, as zarr leaves them

    async def start_foreign() -> asyncio.Task[None]:
        return asyncio.ensure_future(wait_for(foreign_may_end))

    foreign = adapter.sync(start_foreign())
    tasks.run(start_a_child_and_return())
    assert not tasks.untracked, "the task factory on zarr's loop is not in place"
    assert len(tasks.pending()) == 1 and foreign not in tasks.pending()

    drained = threading.Event()
    drainer = threading.Thread(target=lambda: (tasks.drain(timeout=60), drained.set()))
    drainer.start()
    assert not drained.wait(0.2), "drain returned while the job's own task was still running"
    own_may_end.set()
    drainer.join(timeout=30)
    assert drained.is_set(), "drain did not return once the job's own task had ended"
    assert not foreign.done(), "the foreign task was waited for"
    foreign_may_end.set()


class OneChunkFails(WrapperStore[MemoryStore]):
    """A memory store in which writing one chunk fails (a full disk, a refused PUT)."""

    def __init__(self, store: MemoryStore, failing: str) -> None:
        super().__init__(store)
        self.failing = failing

    def _with_store(self, store: MemoryStore) -> OneChunkFails:
        return type(self)(store, self.failing)

    async def set(self, key: str, value: Any) -> None:
        if key == self.failing:
            raise OSError(28, "No space left on device")
        await self._store.set(key, value)


def test_cleaning_up_a_failed_write_does_not_wait_for_other_work_on_zarrs_loop() -> None:
    """issue 31: abandon() waited up to 120 s for every task on zarr's loop. Here a read of someone else's stays
    pending throughout; the failed write must be cleaned up and reported without waiting for it."""
    foreign_may_end = threading.Event()

    async def start_foreign() -> asyncio.Task[None]:
        return asyncio.ensure_future(asyncio.to_thread(foreign_may_end.wait, 300))

    foreign = adapter.sync(start_foreign())
    store = OneChunkFails(MemoryStore(), failing="0/c/1/1")
    outcome: list[BaseException | None] = []

    def write() -> None:
        try:
            ngffkit.write_image(np.arange(128 * 128, dtype=np.uint16).reshape(128, 128), store, chunks=(32, 32))
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(timeout=60)
    try:
        assert not writer.is_alive(), "the failed write waited for a task that was not its own"
        assert isinstance(outcome[0], Exception) and "No space left" in f"{outcome[0]} {outcome[0].__cause__}"
        assert not foreign.done()
        leftovers = adapter.sync(_keys(store))
        assert leftovers == [], f"the failed write left {leftovers}"
    finally:
        foreign_may_end.set()
        writer.join(timeout=60)


async def _keys(store: Any) -> list[str]:
    return [key async for key in store.list()]


# --- zarr: arrays and codecs through public API, the codec hooks pinned ------------------------------------------


def test_fresh_stores_serve_many_first_reads_at_once(tmp_path: pathlib.Path) -> None:
    """Stores open lazily inside zarr's own methods; ngffkit never opens them itself (zarr 3.4.1 made a second,
    concurrent ``_open`` raise "store is already open", and every first read of a dataset is concurrent)."""
    ngffkit.write_image(np.arange(16, dtype=np.uint8).reshape(4, 4), tmp_path / "a.zarr")

    async def first_reads(store: Any) -> list[object]:
        keys = ["zarr.json", "0/zarr.json", "missing/zarr.json"] * 20
        prototype = zarr.buffer.default_buffer_prototype()
        return await asyncio.gather(*(store.get(key, prototype) for key in keys))

    for store in (ConfinedLocalStore(tmp_path / "a.zarr", read_only=True), LocalStore(tmp_path / "a.zarr")):
        found = adapter.sync(first_reads(store))
        assert sum(buffer is not None for buffer in found) == 40, store
    assert ngffkit.open(tmp_path / "a.zarr").levels[0].shape == (4, 4)


def test_array_from_document_reads_without_another_request(tmp_path: pathlib.Path) -> None:
    ngffkit.write_image(np.arange(16, dtype=np.uint8).reshape(4, 4), tmp_path / "a.zarr")
    document = json.loads((tmp_path / "a.zarr" / "0" / "zarr.json").read_text())
    array = array_from_document(document, LocalStore(tmp_path / "a.zarr"), "0")
    assert isinstance(array, zarr.Array)
    assert isinstance(array.async_array, zarr.AsyncArray)
    np.testing.assert_array_equal(array[...], np.arange(16).reshape(4, 4))


def test_zarr_decodes_through_the_bounded_codecs_hooks() -> None:
    """Every compressor, v2 and v3, and a chunk inside a shard: a chunk that inflates past its size is refused
    by ngffkit's codec, so zarr still calls the hooks ``_decode_single``/``_decode_sync`` these codecs implement."""
    failure = bounded_codecs._zarr_decodes_bounded()
    assert failure is None, f"{failure} -- bounded_codecs.py must follow zarr's codec hooks"


def test_a_zarr_that_skips_the_hooks_makes_reading_refuse(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if a release stopped calling the gzip hook: reading refuses (with why), instead of inflating unbounded."""
    ngffkit.write_image(np.zeros((8, 8), np.uint8), tmp_path / "a.zarr", compressor="gzip")
    monkeypatch.setattr(bounded_codecs.BoundedGzipCodec, "_decode_sync", zarr.codecs.GzipCodec._decode_sync)
    monkeypatch.setattr(bounded_codecs.BoundedGzipCodec, "_decode_single", zarr.codecs.GzipCodec._decode_single)
    failure = bounded_codecs._zarr_decodes_bounded()
    assert failure is not None and "zarr v3 gzip" in str(failure) and "_decode_sync" in str(failure)
    monkeypatch.setattr(bounded_codecs, "_verdict", [failure])
    with pytest.raises(ngffkit.NGFFError, match="without ngffkit's size checks"):
        ngffkit.open(tmp_path / "a.zarr")


# --- fsspec, s3fs, aiohttp -------------------------------------------------------------------------------------------


def test_list_folder_of_an_async_file_system(tmp_path: pathlib.Path) -> None:
    (tmp_path / "x").write_text("1")
    fs = fsspec.filesystem("http", asynchronous=True, skip_instance_cache=True)
    assert callable(getattr(fs, "_ls", None)), moved("fsspec AsyncFileSystem._ls", "listing folders concurrently")
    local = fsspec.filesystem("file")
    entries = adapter.sync(adapter.list_folder(_AsyncLocal(local), str(tmp_path)))
    assert [pathlib.Path(e["name"]).name for e in entries] == ["x"]


class _AsyncLocal:
    """The local file system behind fsspec's asynchronous ``_ls`` signature."""

    def __init__(self, fs: Any) -> None:
        self.fs = fs

    async def _ls(self, path: str, detail: bool = True) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self.fs.ls(path, detail=detail)
        return listed


def test_fsspecs_http_session_and_request_options() -> None:
    options = fsspec_options("http://127.0.0.1:9/x.zarr", {"headers": {"X-Test": "1"}}, RetryPolicy())
    store = ResilientStore.with_policy("http://127.0.0.1:9/x.zarr", options, RetryPolicy(), read_only=True)
    assert store.allowed_exceptions == (), "zarr's FsspecStore no longer takes allowed_exceptions"
    assert adapter.http_request_options(store.fs).get("headers") == {"X-Test": "1"}, moved(
        "fsspec HTTPFileSystem.kwargs", "the options sent with every request"
    )

    async def session_and_loop() -> tuple[Any, asyncio.AbstractEventLoop]:
        session = await adapter.http_session(store.fs)
        return session, asyncio.get_running_loop()

    session, loop = adapter.sync(session_and_loop())
    assert hasattr(session, "get") and not session.closed, moved("fsspec HTTPFileSystem.set_session", "its session")
    from ngffkit.store import remote

    assert remote._SESSIONS.get(session) is loop  # ngffkit's own client factory made it, and knows its loop


def test_s3fs_retry_count_is_switched_off() -> None:
    import s3fs

    assert isinstance(getattr(s3fs.S3FileSystem, "retries", None), int), moved(
        "s3fs.S3FileSystem.retries", "switching off s3fs's own retries"
    )
    fs = s3fs.S3FileSystem(anon=True, skip_instance_cache=True)
    adapter.disable_client_retries(fs)
    assert fs.retries == 1


def test_the_remote_store_reads_every_byte_through_its_own_get() -> None:
    """ResilientStore subclasses zarr's public FsspecStore and overrides how it reads (retries, deadlines, bounds,
    missing keys). A method FsspecStore defines and ResilientStore does not is reviewed here: a new one -- a
    release adding, say, a ranged read of its own -- fails by name, before it reads around the checks."""
    reviewed = {
        "__init__", "from_upath", "from_mapper", "from_url", "with_read_only", "clear", "__repr__", "__eq__", "set",
        "delete", "delete_dir", "exists", "list", "list_dir", "list_prefix", "getsize", "get", "get_partial_values",
    }  # fmt: skip
    own = set(vars(ResilientStore))
    defined = {name for name, value in vars(FsspecStore).items() if callable(value) or isinstance(value, classmethod)}
    inherited = {name for name in defined - own if not (name.startswith("__") and name not in reviewed)}
    assert inherited <= reviewed, (
        f"zarr's FsspecStore has methods ResilientStore does not define: {inherited - reviewed}"
    )
    assert {"get", "get_partial_values", "set", "delete_dir"} <= own


@pytest.mark.network
def test_s3fs_gives_the_botocore_client_and_moto_honours_conditional_puts(moto_server: str) -> None:
    """The editor's one PUT per shard (ngffkit.store.guarded) goes through s3fs's client with If-Match /
    If-None-Match: the client must be reachable, and the server must refuse a PUT over a changed object."""
    import boto3
    from botocore.exceptions import ClientError

    endpoint = {"endpoint_url": moto_server, "region_name": "us-east-1"}
    boto3.client("s3", aws_access_key_id="k", aws_secret_access_key="s", **endpoint).create_bucket(Bucket="conditional")
    options = {"key": "k", "secret": "s", "client_kwargs": endpoint, "skip_instance_cache": True}
    fs = ngffkit.Location.of("s3://conditional", storage_options=options, mode="w").store.fs  # type: ignore[attr-defined]

    async def puts() -> list[str]:
        client = await adapter.s3_client(fs, "conditional")
        first = await client.put_object(Bucket="conditional", Key="k", Body=b"1", IfNoneMatch="*")
        codes = []
        for condition in ({"IfNoneMatch": "*"}, {"IfMatch": '"0123456789abcdef0123456789abcdef"'}):
            try:
                await client.put_object(Bucket="conditional", Key="k", Body=b"2", **condition)
            except ClientError as exc:
                codes.append(exc.response["Error"]["Code"])
        await client.put_object(Bucket="conditional", Key="k", Body=b"3", IfMatch=first["ETag"])
        return codes

    assert adapter.sync(puts()) == ["PreconditionFailed", "PreconditionFailed"], moved(
        "s3fs's get_s3 or the server's conditional PUT", "refusing to write over a changed object"
    )
    assert adapter.sync(fs._cat_file("conditional/k")) == b"3"
