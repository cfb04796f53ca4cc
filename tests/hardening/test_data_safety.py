"""A write never destroys its own source, a user's files, or anything it cannot prove is its own.

Every case keeps a fingerprint of every file beside the data (and of the data itself) and checks, after the
refusal, that not one byte or file changed. The CLI cases run the real command in its own process.
"""

from __future__ import annotations

import hashlib
import os
import pathlib

import numpy as np
import pytest
import zarr

import ngffkit
from ngffkit.samples.examples import write_coins

from ..clirun import one_line_error, run

pytestmark = pytest.mark.timeout(300)


def fingerprint(root: pathlib.Path) -> dict[str, str]:
    """Every file below ``root`` with a hash of its bytes (and every folder, as present)."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
    return out


def test_writing_an_image_over_its_own_source_is_refused(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    coins = write_coins(tmp_path / "coins.zarr")
    before = fingerprint(tmp_path)
    img = ngffkit.open(coins)
    monkeypatch.chdir(tmp_path)
    spellings = [coins, "coins.zarr", "./coins.zarr", f"file://{coins}", tmp_path / "link.zarr"]
    (tmp_path / "link.zarr").symlink_to(coins)
    before["link.zarr"] = "folder"
    for dest in spellings:
        with pytest.raises(ngffkit.InvalidArgument, match="overlaps the input"):
            ngffkit.write_image(img.levels[0], dest, overwrite=True)
    with pytest.raises(ngffkit.InvalidArgument, match="overlaps the input"):  # inside the source array
        ngffkit.write_image(img.levels[1] + 1, coins / "1" / "inside.zarr")
    cells = img.label("coins")
    with pytest.raises(ngffkit.InvalidArgument, match="overlaps the input"):  # labels over themselves
        ngffkit.write_labels(cells.levels[0], coins, "coins", overwrite=True)
    with pytest.raises(ngffkit.InvalidArgument, match="overlaps the input"):  # a lazy copy is still a source
        ngffkit.write_image(img.levels[0].astype("float32") * 2, coins, overwrite=True)
    assert fingerprint(tmp_path) == before
    np.testing.assert_array_equal(ngffkit.open(coins).levels[0].compute(), img.levels[0].compute())


def test_writing_labels_made_from_the_image_into_it_is_fine(tmp_path: pathlib.Path) -> None:
    coins = write_coins(tmp_path / "coins.zarr")
    img = ngffkit.open(coins)
    mask = img.levels[0] > 100  # read from coins/0, written to coins/labels/bright: no overlap
    ngffkit.write_labels(mask, coins, "bright")
    np.testing.assert_array_equal(
        ngffkit.open(coins).label("bright").levels[0].compute(), (img.levels[0] > 100).compute().astype("uint8")
    )


def test_cli_scale_and_convert_never_replace_their_input(tmp_path: pathlib.Path) -> None:
    coins = write_coins(tmp_path / "in.zarr")
    np.save(coins / "raw.npy", np.ones((32, 32), np.uint8))
    before = fingerprint(tmp_path)
    for args in (
        ("scale", str(coins / "0"), f"file://{coins}", "--overwrite"),
        ("scale", str(coins / "0"), str(coins), "--overwrite"),
        ("convert", str(coins / "raw.npy"), str(coins), "--overwrite"),
    ):
        assert "overlaps the input" in one_line_error(run(*args))
    assert fingerprint(tmp_path) == before


def test_replacing_a_zarr_folder_never_deletes_files_that_are_not_zarr(tmp_path: pathlib.Path) -> None:
    coins = write_coins(tmp_path / "coins.zarr")
    (coins / "thesis.txt").write_text("years of work")
    (coins / "labels" / "notes.md").write_text("my notes")
    before = fingerprint(tmp_path)
    with pytest.raises(ngffkit.AlreadyExists, match=r"thesis\.txt") as caught:
        ngffkit.write_image(np.zeros((8, 8), np.uint8), coins, overwrite=True)
    assert "labels/notes.md" in str(caught.value)
    line = one_line_error(run("create", str(coins), "--overwrite"))
    assert "thesis.txt" in line
    assert fingerprint(tmp_path) == before
    (coins / "thesis.txt").unlink()
    (coins / "labels" / "notes.md").unlink()
    ngffkit.write_image(np.zeros((8, 8), np.uint8), coins, overwrite=True)  # pure zarr: replaced as asked
    assert ngffkit.open(coins).shapes == [(8, 8)]


def test_writers_write_exactly_into_the_store_they_are_given(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = zarr.storage.MemoryStore()
    ngffkit.write_image(np.arange(64, dtype=np.uint8).reshape(8, 8), store, name="in memory")
    ngffkit.write_labels(np.ones((8, 8), np.uint8), store, "cells")
    assert list(tmp_path.iterdir()) == []  # nothing written beside, in the working directory
    reopened = ngffkit.open(store)
    assert reopened.label_names == ("cells",) and int(reopened.label("cells").levels[0].sum().compute()) == 64

    import fsspec
    from fsspec.implementations.asyn_wrapper import AsyncFileSystemWrapper
    from zarr.storage import FsspecStore

    fs = fsspec.filesystem("memory")
    fs.mkdir("/bucket")
    fsstore = FsspecStore(AsyncFileSystemWrapper(fs), path="/bucket/img.zarr")
    ngffkit.write_image(np.zeros((8, 8), np.uint8), fsstore)
    ngffkit.write_labels(np.ones((8, 8), np.uint8), fsstore, "cells")
    assert fs.exists("/bucket/img.zarr/labels/cells/zarr.json") and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("object dtype", ngffkit.InvalidArgument),
        ("300-character name", ngffkit.LocationError),
        ("parent is a file", ngffkit.LocationError),
        ("unwritable parent", ngffkit.LocationError),
        ("folder named .ozx", ngffkit.AlreadyExists),
        ("file named .ozx", ngffkit.AlreadyExists),
    ],
)
def test_bad_writes_are_one_error_and_leave_nothing(tmp_path: pathlib.Path, case: str, error: type) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / "x.ozx").mkdir() if case == "folder named .ozx" else None
    (tmp_path / "y.ozx").write_text("not an archive") if case == "file named .ozx" else None
    before = fingerprint(tmp_path)
    data = np.zeros((8, 8), np.uint8)
    dest = {
        "object dtype": tmp_path / "o.zarr",
        "300-character name": tmp_path / ("n" * 300 + ".zarr"),
        "parent is a file": tmp_path / "notes.txt" / "x.zarr",
        "unwritable parent": pathlib.Path("/proc/ngffkit-test.zarr"),
        "folder named .ozx": tmp_path / "x.ozx",
        "file named .ozx": tmp_path / "y.ozx",
    }[case]
    if case == "object dtype":
        data = np.array([[object()] * 8] * 8)
    with pytest.raises(error) as caught:
        ngffkit.write_image(data, dest, overwrite=True)
    assert str(dest)[:60] in str(caught.value) or case == "object dtype"
    assert fingerprint(tmp_path) == before


def test_nan_data_with_channels_is_written_with_usable_windows(tmp_path: pathlib.Path) -> None:
    data = np.random.default_rng(0).random((2, 32, 32)).astype(np.float32)
    data[0, 0, 0] = np.nan
    data[1] = np.nan
    img = ngffkit.write_image(data, tmp_path / "nan.zarr", axes="cyx", channels=["some NaN", "all NaN"])
    windows = [c.contrast_limits for c in img.channels]
    assert windows[1] == (0.0, 1.0) and windows[0] is not None and all(np.isfinite(windows[0]))
    assert ngffkit.validate(tmp_path / "nan.zarr").valid


def test_a_cancelled_write_removes_only_its_own_work(tmp_path: pathlib.Path) -> None:
    def cancel(done: int, total: int) -> None:
        if done >= 1:
            raise ngffkit.WriteCancelled("cancelled by the test")

    data = np.random.default_rng(0).integers(0, 100, (16, 256, 256), dtype=np.uint16)
    with pytest.raises(ngffkit.WriteCancelled):
        ngffkit.write_image(data, tmp_path / "out.zarr", chunks=(4, 64, 64), progress=cancel)
    assert not (tmp_path / "out.zarr").exists()
    os.makedirs(tmp_path / "chosen")
    with pytest.raises(ngffkit.WriteCancelled):
        ngffkit.write_image(data, tmp_path / "chosen", chunks=(4, 64, 64), progress=cancel)
    assert (tmp_path / "chosen").is_dir() and not any((tmp_path / "chosen").iterdir())
