"""The largest label value of a whole label image (issue 34: napari's "new label" in an editing layer must give
an id that no pixel of the image has): read block by block in whole chunks or shards, with steps to stop at."""

from __future__ import annotations

import itertools
import pathlib

import numpy as np
import pytest

import ngffkit
from ngffkit.writer import edit_ids


@pytest.mark.parametrize("storage", [{"chunks": (2, 16, 16)}, {"chunks": (2, 16, 16), "shards": (2, 32, 32)}])
def test_the_largest_label_of_level_0_is_found_block_by_block(tmp_path: pathlib.Path, storage: dict) -> None:  # type: ignore[type-arg]
    pixels = np.zeros((5, 70, 90), np.uint32)
    pixels[4, 69, 89] = 41  # in the very last block, only at level 0 (lower levels keep the majority)
    pixels[0, :20, :20] = 3
    ngffkit.write_image(np.zeros(pixels.shape, np.uint8), tmp_path / "i.zarr", axes="zyx", **storage)
    ngffkit.write_labels(pixels, tmp_path / "i.zarr", "cells", colors="auto", **storage)
    labels = ngffkit.open(tmp_path / "i.zarr" / "labels" / "cells")
    assert isinstance(labels, ngffkit.Image)
    assert edit_ids.largest_label(labels) == 41
    assert edit_ids.listed_largest(labels) <= 41  # the colours list what the lowest level has: a lower bound

    small = list(itertools.islice(edit_ids.largest_label_steps(labels), 1))  # a reader can stop after any block
    assert small[0][0] == 1 and small[0][1] >= 1


def test_blocks_cover_the_shape_in_whole_units_up_to_the_limit() -> None:
    boxes = edit_ids.blocks((5, 70, 90), (2, 16, 16), most=2 * 32 * 64)
    covered = np.zeros((5, 70, 90), int)
    for box in boxes:
        covered[box] += 1
        assert all(s.start % u == 0 for s, u in zip(box, (2, 16, 16), strict=True))  # whole stored units
        assert np.prod([s.stop - s.start for s in box]) <= 2 * 32 * 64
    assert (covered == 1).all()


def test_listed_values_are_a_lower_bound(tmp_path: pathlib.Path) -> None:
    pixels = np.zeros((1, 32, 32), np.uint16)
    pixels[0, 5:9, 5:9] = 12
    ngffkit.write_image(np.zeros(pixels.shape, np.uint8), tmp_path / "i.zarr", axes="zyx")
    ngffkit.write_labels(pixels, tmp_path / "i.zarr", "cells", colors="auto")
    labels = ngffkit.open(tmp_path / "i.zarr" / "labels" / "cells")
    assert isinstance(labels, ngffkit.Image)
    assert edit_ids.listed_largest(labels) == 12 == edit_ids.largest_label(labels)
