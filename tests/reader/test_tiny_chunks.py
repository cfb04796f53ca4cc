"""Levels of tiny chunks are read in dask blocks of many chunks: one dask task per one-byte chunk made napari's
first picture of a 200,000-chunk plane take minutes (issue 31), nearly all of it spent scheduling tasks."""

from __future__ import annotations

import pathlib

import numpy as np

import ngffkit
from ngffkit.reader.arrays import BLOCK_BYTES


def test_tiny_chunks_are_read_many_to_a_block(tmp_path: pathlib.Path) -> None:
    values = np.arange(120 * 100, dtype=np.uint8).reshape(120, 100)
    path = ngffkit.write_image(values, tmp_path / "tiny.zarr", chunks=(1, 1), levels=1, compressor="none").url
    level = ngffkit.open(path).levels[0]
    assert values.nbytes < BLOCK_BYTES and level.numblocks == (1, 1), level.chunks  # was 12,000: one per chunk
    np.testing.assert_array_equal(level.compute(), values)
    np.testing.assert_array_equal(level[7, 3:9].compute(), values[7, 3:9])
