"""zarr's own store test-suite (``zarr.testing.store.StoreTests``, as the installed zarr release has it) against
ngffkit's stores: in full against :class:`ConfinedLocalStore` and the remote :class:`ResilientStore` over moto's S3
server; its read-only part against the HTTP store (a loopback server) and :class:`OzxStore`.

The read-only classes drop the suite's tests that write through the store (their names differ between releases,
see :data:`WRITING_TESTS`) and add read-only versions of the listing tests, whose data they put in place themselves.
"""

from __future__ import annotations

import pathlib
import zipfile
from collections.abc import Iterator
from typing import Any

import fsspec
import pytest
from loopback.servers import http_file_server
from zarr.abc.store import OffsetByteRequest, RangeByteRequest, Store, SuffixByteRequest
from zarr.buffer import cpu, default_buffer_prototype
from zarr.storage import FsspecStore
from zarr.testing.store import StoreTests

from ngffkit.store.local import ConfinedLocalStore
from ngffkit.store.ozx import OzxStore
from ngffkit.store.remote import ResilientStore

from ..conftest import upload_tree

#: Tests of the suite that write through the store (or need a writable one), in every release that has them.
WRITING_TESTS = (
    "test_store_read_only", "test_serializable_store", "test_set", "test_set_not_open", "test_set_many",
    "test_exists", "test_delete", "test_delete_dir", "test_delete_nonexistent_key_does_not_raise", "test_clear",
    "test_list", "test_list_prefix", "test_list_empty_path", "test_list_dir", "test_set_if_not_exists",
    "test_getsize_prefix", "test_set_sync", "test_delete_sync", "test_delete_sync_missing",
    "test_sync_async_set_get_parity", "test_delete_sync_visible_to_async_get", "test_get_sync_byte_range_parity",
    "test_with_read_only_store", "test_get_json", "test_get_json_sync", "test_get_bytes", "test_get_bytes_sync",
)  # fmt: skip


async def _collect(iterator: Any) -> list[str]:
    return [item async for item in iterator]


class ReadOnlyChecks:
    """What the read-only stores are checked for beyond the suite's read-only part: listings, and reads with
    every kind of byte range through both the synchronous and the asynchronous path."""

    buffer_cls = cpu.Buffer

    async def set(self, store: Any, key: str, value: Any) -> None:  # pragma: no cover - each class has its own
        raise NotImplementedError

    async def test_listings(self, store: Store) -> None:
        for key in ("zarr.json", "a/zarr.json", "a/c/0", "a/c/1", "ab/zarr.json"):
            await self.set(store, key, self.buffer_cls.from_bytes(key.encode()))
        assert sorted(await _collect(store.list())) == ["a/c/0", "a/c/1", "a/zarr.json", "ab/zarr.json", "zarr.json"]
        assert sorted(await _collect(store.list_prefix("a/"))) == ["a/c/0", "a/c/1", "a/zarr.json"]
        # (fsspec's HTTP file system before 2025 names folders with a trailing "/"; ngffkit lists no folders)
        assert sorted(name.rstrip("/") for name in await _collect(store.list_dir("a"))) == ["c", "zarr.json"]
        assert sorted(name.rstrip("/") for name in await _collect(store.list_dir(""))) == ["a", "ab", "zarr.json"]
        assert await store.exists("a/c/1") and not await store.exists("a/c/2")
        assert await store.getsize("a/c/1") == len(b"a/c/1")

    @pytest.mark.parametrize("byte_range", [None, RangeByteRequest(1, 3), OffsetByteRequest(2), SuffixByteRequest(2)])
    async def test_sync_and_async_reads_agree(self, store: Store, byte_range: Any) -> None:
        await self.set(store, "c/0", self.buffer_cls.from_bytes(b"\x01\x02\x03\x04"))
        expected = b"\x01\x02\x03\x04"[slice(*_bounds(byte_range))]
        got = await store.get("c/0", prototype=default_buffer_prototype(), byte_range=byte_range)
        assert got is not None and got.to_bytes() == expected
        get_sync = getattr(store, "get_sync", None)
        if get_sync is not None:
            assert get_sync("c/0", byte_range=byte_range).to_bytes() == expected


def _bounds(byte_range: Any) -> tuple[int | None, int | None]:
    if isinstance(byte_range, RangeByteRequest):
        return byte_range.start, byte_range.end
    if isinstance(byte_range, OffsetByteRequest):
        return byte_range.offset, None
    if isinstance(byte_range, SuffixByteRequest):
        return -byte_range.suffix, None
    return None, None


def _drop_writing_tests(cls: type) -> type:
    for name in WRITING_TESTS:
        setattr(cls, name, None)
    return cls


# --- ConfinedLocalStore: the whole suite ----------------------------------------------------------------------------


class TestConfinedLocalStore(StoreTests[ConfinedLocalStore, cpu.Buffer]):  # type: ignore[type-var]
    store_cls = ConfinedLocalStore
    buffer_cls = cpu.Buffer

    async def get(self, store: ConfinedLocalStore, key: str) -> cpu.Buffer:
        return self.buffer_cls.from_bytes((store.root / key).read_bytes())

    async def set(self, store: ConfinedLocalStore, key: str, value: Any) -> None:
        path = store.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(value.to_bytes())

    @pytest.fixture
    def store_kwargs(self, tmp_path: pathlib.Path) -> dict[str, Any]:
        return {"root": tmp_path / "store"}

    def test_store_repr(self, store: ConfinedLocalStore) -> None:
        assert repr(store) == f"ConfinedLocalStore('file://{store.root.as_posix()}', read_only=False)"

    def test_store_supports_writes(self, store: ConfinedLocalStore) -> None:
        assert store.supports_writes

    def test_store_supports_listing(self, store: ConfinedLocalStore) -> None:
        assert store.supports_listing


# --- ResilientStore over moto's S3: the whole suite -----------------------------------------------------------------


@pytest.fixture
def s3_bucket(moto_server: str, tmp_path: pathlib.Path) -> Iterator[str]:
    """An empty bucket of its own for each test (moto keeps buckets for the session)."""
    import uuid

    bucket = f"suite-{uuid.uuid4().hex[:12]}"
    (tmp_path / "empty").mkdir()
    upload_tree(moto_server, bucket, tmp_path / "empty", "", public=False)
    yield bucket


@pytest.fixture
def aws_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.mark.network
@pytest.mark.usefixtures("aws_keys")
class TestResilientStoreS3(StoreTests[ResilientStore, cpu.Buffer]):  # type: ignore[type-var]
    store_cls = ResilientStore
    buffer_cls = cpu.Buffer

    @pytest.fixture
    def store_kwargs(self, moto_server: str, s3_bucket: str) -> dict[str, Any]:
        import s3fs

        # A file system of this test's own (pytest-asyncio runs each test in a loop of its own, and an asynchronous
        # s3fs belongs to the loop that first used it) -- but from the instance cache, so that a pickled store
        # compares equal to its original (fsspec's equality is the instance's cache token).
        s3fs.S3FileSystem.clear_instance_cache()
        fs = s3fs.S3FileSystem(anon=False, client_kwargs={"endpoint_url": moto_server}, asynchronous=True)
        return {"fs": fs, "path": s3_bucket}

    def _sync_fs(self, store: FsspecStore) -> Any:
        return fsspec.filesystem("s3", anon=False, client_kwargs={"endpoint_url": store.fs.client_kwargs["endpoint_url"]},
                                 skip_instance_cache=True)  # fmt: skip

    async def get(self, store: ResilientStore, key: str) -> cpu.Buffer:
        return self.buffer_cls.from_bytes(self._sync_fs(store).cat(f"{store.path}/{key}"))

    async def set(self, store: ResilientStore, key: str, value: Any) -> None:
        self._sync_fs(store).pipe(f"{store.path}/{key}", value.to_bytes())

    def test_store_repr(self, store: ResilientStore) -> None:
        assert "S3FileSystem" in repr(store) and store.path in repr(store)

    def test_store_supports_writes(self, store: ResilientStore) -> None:
        assert store.supports_writes

    def test_store_supports_listing(self, store: ResilientStore) -> None:
        assert store.supports_listing


# --- ResilientStore over HTTP: the read-only part -------------------------------------------------------------------


@pytest.fixture
def served(tmp_path: pathlib.Path) -> Iterator[tuple[pathlib.Path, str]]:
    folder = tmp_path / "served"
    folder.mkdir()
    with http_file_server(folder, listing=True) as server:
        yield folder, server.url


@pytest.mark.network
@_drop_writing_tests
class TestResilientStoreHTTP(ReadOnlyChecks, StoreTests[ResilientStore, cpu.Buffer]):  # type: ignore[type-var]
    store_cls = ResilientStore
    buffer_cls = cpu.Buffer

    @pytest.fixture
    def store_kwargs(self, served: tuple[pathlib.Path, str]) -> dict[str, Any]:
        fs = fsspec.filesystem("http", asynchronous=True, skip_instance_cache=True)
        return {"fs": fs, "path": served[1], "read_only": True}

    @pytest.fixture
    def open_kwargs(self, store_kwargs: dict[str, Any]) -> dict[str, Any]:
        return store_kwargs

    async def get(self, store: ResilientStore, key: str) -> cpu.Buffer:  # pragma: no cover - writing tests only
        raise NotImplementedError

    async def set(self, store: ResilientStore, key: str, value: Any) -> None:
        root = pathlib.Path(self._served_folder)
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(value.to_bytes())

    @pytest.fixture(autouse=True)
    def _remember_folder(self, served: tuple[pathlib.Path, str]) -> None:
        self._served_folder = served[0]

    # An empty folder's index page has no links, and fsspec's HTTP file system then lists the folder's own URL as
    # a file: HTTP "listings" are scraped index pages, which ngffkit never relies on for data (test_listings
    # checks the listings of a folder that holds files).
    test_is_empty = None

    def test_store_repr(self, store: ResilientStore) -> None:
        assert "HTTPFileSystem" in repr(store)

    def test_store_supports_writes(self, store: ResilientStore) -> None:
        assert store.supports_writes  # fsspec's HTTP file system says so; servers refuse

    def test_store_supports_listing(self, store: ResilientStore) -> None:
        assert store.supports_listing


# --- OzxStore: the read-only part -----------------------------------------------------------------------------------


@_drop_writing_tests
class TestOzxStore(ReadOnlyChecks, StoreTests[OzxStore, cpu.Buffer]):  # type: ignore[type-var]
    store_cls = OzxStore
    buffer_cls = cpu.Buffer

    @pytest.fixture
    def store_kwargs(self, tmp_path: pathlib.Path) -> dict[str, Any]:
        path = tmp_path / "store.ozx"
        zipfile.ZipFile(path, "w").close()
        return {"path": path}

    @pytest.fixture
    def open_kwargs(self, store_kwargs: dict[str, Any]) -> dict[str, Any]:
        return {**store_kwargs, "read_only": True}

    async def get(self, store: OzxStore, key: str) -> cpu.Buffer:  # pragma: no cover - writing tests only
        raise NotImplementedError

    async def set(self, store: OzxStore, key: str, value: Any) -> None:
        """Add the entry to the archive itself; the store reads the archive anew (as a new store would)."""
        with zipfile.ZipFile(store.path, "a") as archive:
            archive.writestr(key, value.to_bytes())
        store.close()

    def test_store_repr(self, store: OzxStore) -> None:
        assert repr(store) == f"OzxStore('zip://{store.path.as_posix()}')"

    def test_store_supports_writes(self, store: OzxStore) -> None:
        assert not store.supports_writes

    def test_store_supports_listing(self, store: OzxStore) -> None:
        assert store.supports_listing

    test_store_open_read_only = None  # parametrized with read_only=False too: see the next test

    async def test_opens_read_only_and_only_so(self, open_kwargs: dict[str, Any]) -> None:
        store = await OzxStore.open(**open_kwargs)
        assert store._is_open and store.read_only
        with pytest.raises(ValueError, match="read-only"):
            OzxStore(**{**open_kwargs, "read_only": False})
