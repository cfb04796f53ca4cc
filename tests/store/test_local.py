"""The local store stays inside its folder whatever links its folders or files hold -- also once it has
remembered which folders it checked (a write of thousands of chunks checks each folder once)."""

from __future__ import annotations

import os
import pathlib
import shutil
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from zarr.abc.store import RangeByteRequest, Store
from zarr.buffer import default_buffer_prototype

import ngffkit
from ngffkit import UnsafePath
from ngffkit.store import adapter
from ngffkit.store.local import ConfinedLocalStore


def write(root: pathlib.Path) -> tuple[pathlib.Path, np.ndarray]:
    values = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    ngffkit.write_image(values, root / "img.zarr", chunks=(16, 16), levels=1)
    return root / "img.zarr", values


def test_a_chunk_file_linked_outside_is_refused_after_its_folder_was_read(tmp_path: pathlib.Path) -> None:
    path, values = write(tmp_path)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"not yours")
    image = ngffkit.open(path)
    np.testing.assert_array_equal(image.levels[0][:16, :16].compute(), values[:16, :16])  # folder 0/c/0 known now
    chunk = path / "0" / "c" / "0" / "1"
    chunk.unlink()
    os.symlink(secret, chunk)
    with pytest.raises(UnsafePath, match="symbolic link") as caught:
        image.levels[0][:16, 16:32].compute()
    assert "0/c/0/1" in str(caught.value)


def test_a_chunk_folder_linked_outside_is_refused(tmp_path: pathlib.Path) -> None:
    path, _ = write(tmp_path)
    outside = tmp_path / "elsewhere"
    shutil.move(path / "0" / "c" / "2", outside)
    os.symlink(outside, path / "0" / "c" / "2")
    with pytest.raises(UnsafePath, match="symbolic link"):
        ngffkit.open(path).levels[0][32:48, :16].compute()


def test_links_that_stay_inside_are_followed(tmp_path: pathlib.Path) -> None:
    path, values = write(tmp_path)
    shutil.move(path / "0" / "c" / "3", path / "0" / "c" / "three")
    os.symlink("three", path / "0" / "c" / "3")
    np.testing.assert_array_equal(ngffkit.open(path).levels[0].compute(), values)


def test_a_shard_of_many_tiny_noisy_chunks_reads(tmp_path: pathlib.Path) -> None:
    """A shard's stored size may pass its decoded size by each inner chunk's frame and index entry: 4096 8x8
    chunks of noise in a 512x512 shard take 375 KiB for 256 KiB of data, and are no hostile stream."""
    import dask.array as da

    noise = np.random.default_rng(0).integers(0, 250, size=(600, 600)).astype("uint8")
    ngffkit.write_image(da.from_array(noise, chunks=(512, 512)), tmp_path / "s.zarr", axes="yx", chunks=(8, 8),
                        shards=(512, 512), levels=2)  # fmt: skip
    assert (tmp_path / "s.zarr" / "0" / "c" / "0" / "0").stat().st_size > 512 * 512 * 17 // 16 + 64 * 1024
    np.testing.assert_array_equal(ngffkit.open(tmp_path / "s.zarr").levels[0].compute(), noise)


# --- every method of the store is confined ---------------------------------------------------------------------------


@pytest.fixture
def traps(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> ConfinedLocalStore:
    """A store whose folder holds a link to a file outside, a link to a folder outside, a FIFO and a sparse
    document larger than the document limit (lowered to 1 MiB here)."""
    monkeypatch.setenv("NGFFKIT_MAX_DOCUMENT_BYTES", str(2**20))
    root, outside = tmp_path / "store", tmp_path / "outside"
    (root / "a").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret").write_bytes(b"not yours")
    (outside / "zarr.json").write_bytes(b"{}")
    os.symlink(outside / "secret", root / "a" / "linked")
    os.symlink(outside, root / "out")
    os.mkfifo(root / "a" / "fifo")
    with open(root / "a" / "zarr.json", "wb") as sparse:
        sparse.truncate(64 * 2**20)
    return ConfinedLocalStore(root)


OUT_FILE, OUT_FOLDER_KEY, FIFO, BIG = "a/linked", "out/zarr.json", "a/fifo", "a/zarr.json"


def _buffer(data: bytes) -> Any:
    return default_buffer_prototype().buffer.from_bytes(data)


def _reads(store: ConfinedLocalStore, key: str) -> list[tuple[str, Callable[[], Any]]]:
    """Every way the store reads ``key``: zarr's methods, asynchronous and synchronous, and the base class's
    methods built from them."""
    prototype = default_buffer_prototype()
    ways: list[tuple[str, Callable[[], Any]]] = [
        ("get", lambda: adapter.sync(store.get(key, prototype))),
        ("get_sync", lambda: store.get_sync(key)),
        ("get_partial_values", lambda: adapter.sync(store.get_partial_values(prototype, [(key, None)]))),
        ("_get_many", lambda: adapter.sync(_all(store._get_many([(key, prototype, None)])))),
    ]
    if hasattr(store, "get_ranges"):  # zarr 3.4 and later
        ways.append(("get_ranges", lambda: adapter.sync(_all(store.get_ranges(key, [None], prototype=prototype)))))
    return ways


async def _all(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


@pytest.mark.parametrize("key", [OUT_FILE, OUT_FOLDER_KEY, FIFO, BIG])
def test_every_read_refuses_links_out_fifos_and_oversize_files(traps: ConfinedLocalStore, key: str) -> None:
    for name, read in _reads(traps, key):
        with pytest.raises((ngffkit.NGFFError, BaseExceptionGroup)) as caught:
            read()
        error = caught.value.exceptions[0] if isinstance(caught.value, BaseExceptionGroup) else caught.value
        assert isinstance(error, UnsafePath | ngffkit.LimitExceeded), f"{name}: {error!r}"


@pytest.mark.parametrize("key", [OUT_FILE, OUT_FOLDER_KEY, FIFO])
def test_exists_and_getsize_refuse_links_out_and_fifos(traps: ConfinedLocalStore, key: str) -> None:
    with pytest.raises(UnsafePath):
        adapter.sync(traps.exists(key))
    with pytest.raises(UnsafePath):
        adapter.sync(traps.getsize(key))


def test_an_oversize_file_gives_its_size_and_small_ranges(traps: ConfinedLocalStore) -> None:
    """Nothing large is read: its size comes from the file system, a range of it is as large as asked."""
    assert adapter.sync(traps.getsize(BIG)) == 64 * 2**20
    assert adapter.sync(traps.exists(BIG))
    assert adapter.sync(traps.get(BIG, default_buffer_prototype(), RangeByteRequest(0, 4))).to_bytes() == bytes(4)
    with pytest.raises(UnsafePath):
        adapter.sync(traps.get(FIFO, default_buffer_prototype(), RangeByteRequest(0, 4)))
    with pytest.raises(UnsafePath):
        adapter.sync(traps.get(OUT_FILE, default_buffer_prototype(), RangeByteRequest(0, 4)))


@pytest.mark.parametrize("key", ["out/new", "out/zarr.json"])
def test_every_write_and_delete_refuses_a_folder_linked_out(traps: ConfinedLocalStore, key: str) -> None:
    outside = pathlib.Path(os.path.realpath(traps.root / "out"))
    before = sorted(p.name for p in outside.iterdir())
    value = _buffer(b"x")
    for name, change in [
        ("set", lambda: adapter.sync(traps.set(key, value))),
        ("set_sync", lambda: traps.set_sync(key, value)),
        ("set_if_not_exists", lambda: adapter.sync(traps.set_if_not_exists(key, value))),
        ("_set_many", lambda: adapter.sync(traps._set_many([(key, value)]))),
        ("put_file", lambda: traps.put_file(key, b"x")),
        ("delete", lambda: adapter.sync(traps.delete(key))),
        ("delete_sync", lambda: traps.delete_sync(key)),
        ("remove_file", lambda: traps.remove_file(key)),
        ("delete_dir", lambda: adapter.sync(traps.delete_dir("out/zarr.json"))),
    ]:
        with pytest.raises(UnsafePath):
            change()
        assert sorted(p.name for p in outside.iterdir()) == before, name
    assert (outside / "zarr.json").read_bytes() == b"{}"


def test_deleting_a_link_removes_the_link_only(traps: ConfinedLocalStore) -> None:
    outside = pathlib.Path(os.path.realpath(traps.root / "out"))
    adapter.sync(traps.delete_dir("out"))
    assert not (traps.root / "out").exists() and (outside / "zarr.json").is_file()


def test_listings_never_enter_a_folder_linked_out(traps: ConfinedLocalStore) -> None:
    listed = set(adapter.sync(_all(traps.list())))
    assert not any(key.startswith("out/") for key in listed)
    assert {"a/fifo", "a/linked", "a/zarr.json"} <= listed  # named (nothing read): reading them is refused
    assert adapter.sync(_all(traps.list_prefix("out"))) == []
    assert adapter.sync(_all(traps.list_dir("out"))) == []
    assert adapter.sync(traps.is_empty("out"))
    assert adapter.sync(traps.getsize_prefix("out")) == 0


def test_the_store_defines_or_reviewed_every_method_zarrs_store_has() -> None:
    """A method a new zarr release adds to ``Store`` is built from the store's own (confined) ones -- unless it
    reads or writes another way. This lists the ones zarr builds, reviewed; a new one fails here by name."""
    reviewed = {
        "open", "with_read_only", "is_empty", "clear", "_set_many", "_get_many", "getsize_prefix", "close",
        "get_ranges", "get_ranges_sync", "_get_bytes", "_get_bytes_sync", "_get_json", "_get_json_sync",
        "_check_writable", "_ensure_open", "read_only", "supports_consolidated_metadata", "supports_partial_writes",
        "set_partial_values",
    }  # fmt: skip
    own = set(vars(ConfinedLocalStore))
    inherited = (
        {name for name, value in vars(Store).items() if callable(value) or isinstance(value, property)}
        - own
        - {name for name in vars(Store) if name.startswith("__")}
    )
    assert inherited <= reviewed, f"zarr's Store has methods ConfinedLocalStore does not define: {inherited - reviewed}"
