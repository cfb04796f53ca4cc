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


def test_uncompressed_ozx_levels_are_read_in_blocks_of_planes(tmp_path: pathlib.Path) -> None:
    """A .ozx level read as whole entries (reader/entry_reads.py) gets blocks of at most BLOCK_CHUNKS chunks grown
    within a plane first: napari reads every block that holds the plane it shows, and blocks as deep as wide made it
    read all 8 planes of a volume of one-byte chunks to show one (issue 31)."""
    from ngffkit.reader.arrays import plane_blocks
    from ngffkit.reader.entry_reads import BLOCK_CHUNKS

    assert plane_blocks((8, 158, 158), (1, 1, 1), 1, BLOCK_CHUNKS) == (1, 64, 64)
    assert plane_blocks((320, 8, 8), (1, 1, 1), 1, BLOCK_CHUNKS) == (64, 8, 8)  # whole planes: stacked
    values = np.arange(6 * 20 * 30, dtype=np.uint8).reshape(6, 20, 30)
    path = ngffkit.write_image(values, tmp_path / "t.ozx", axes="zyx", chunks=(1, 1, 1), levels=1,
                               compressor="none").url  # fmt: skip
    level = ngffkit.open(path).levels[0]
    assert level.chunks == ((6,), (20,), (30,)), level.chunks  # planes of 600 chunks: 6 fit in BLOCK_CHUNKS
    np.testing.assert_array_equal(level.compute(), values)
