"""The local store stays inside its folder whatever links its folders or files hold -- also once it has
remembered which folders it checked (a write of thousands of chunks checks each folder once)."""

from __future__ import annotations

import os
import pathlib
import shutil

import numpy as np
import pytest

import ngffkit
from ngffkit import UnsafePath


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
