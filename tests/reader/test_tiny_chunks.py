"""Levels of tiny chunks are read in dask blocks of many chunks: one dask task per one-byte chunk made napari's
first picture of a 200,000-chunk plane take minutes (issue 31), nearly all of it spent scheduling tasks."""

from __future__ import annotations

import json
import pathlib

import numpy as np

import ngffkit
from ngffkit.reader.arrays import MIN_BLOCK_BYTES


def test_tiny_chunks_are_read_many_to_a_block(tmp_path: pathlib.Path) -> None:
    values = np.arange(120 * 100, dtype=np.uint8).reshape(120, 100)
    path = ngffkit.write_image(values, tmp_path / "tiny.zarr", chunks=(1, 1), levels=1, compressor="none").url
    level = ngffkit.open(path).levels[0]
    blocks = int(np.prod(level.numblocks))
    assert blocks <= values.nbytes // MIN_BLOCK_BYTES + 1, level.chunks  # was 12,000: one per chunk
    assert np.prod(level.chunksize) >= MIN_BLOCK_BYTES
    np.testing.assert_array_equal(level.compute(), values)
    np.testing.assert_array_equal(level[7, 3:9].compute(), values[7, 3:9])


def test_ordinary_chunks_keep_one_block_each(tmp_path: pathlib.Path) -> None:
    path = ngffkit.write_image(np.zeros((64, 64), np.uint16), tmp_path / "a.zarr", chunks=(32, 32), levels=1).url
    assert ngffkit.open(path).levels[0].chunksize == (32, 32)
    document = json.loads((tmp_path / "a.zarr" / "0" / "zarr.json").read_text())
    assert document["chunk_grid"]["configuration"]["chunk_shape"] == [32, 32]
