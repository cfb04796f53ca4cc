"""The pyramid-write benchmark's check of matched settings (benchmarks/pyramid_check.py) passes the matched pyramid
and fails every pyramid with one setting wrong: a peer whose setting is misspelt, renamed or ignored would otherwise
be timed on other work in a *matched* row. The pyramids here are ngffkit's own, written with each wrong setting."""

from __future__ import annotations

import pathlib
import re
from typing import Any

import numpy as np
import pytest
from benchmarks.common import microscopy_block
from benchmarks.pyramid_check import WrongOutput, check_matched, describe

import ngffkit

#: y and x no multiple of 16: level 4 has a partial block (floor or ceil, both allowed); z under 64 (clipped chunks).
SHAPE = (32, 136, 130)
MATCHED: dict[str, Any] = {"levels": 5, "scale_factors": {"z": 2, "y": 2, "x": 2}, "method": "mean",
                           "chunks": (64, 64, 64), "compressor": "zstd"}  # fmt: skip
CHECK: dict[str, Any] = {"levels": 5, "factors": (2, 2, 2), "chunk": 64, "shard": None, "codec": ("zstd", 3)}


@pytest.fixture(scope="module")
def volume() -> np.ndarray:
    return microscopy_block((0, 0, 0), SHAPE)


def written(path: pathlib.Path, data: np.ndarray, **changed: Any) -> pathlib.Path:
    ngffkit.write_image(data, path, axes="zyx", overwrite=True, **{**MATCHED, **changed})
    return path


def test_the_matched_pyramid_passes_and_its_rounding_is_named(tmp_path: pathlib.Path, volume: np.ndarray) -> None:
    said = "rounded half to even; a partial block at an edge kept"  # ngffkit's levels are ceil-sized
    dest = written(tmp_path / "matched.zarr", volume)
    assert check_matched(dest, volume, **CHECK) == said
    sharded = written(tmp_path / "sharded.zarr", volume, shards=(256, 256, 256))
    assert check_matched(sharded, volume, **{**CHECK, "shard": 256}) == said
    y_x = written(tmp_path / "yx.zarr", volume, scale_factors={"z": 1, "y": 2, "x": 2})
    assert check_matched(y_x, volume, **{**CHECK, "factors": (1, 2, 2)}) == said
    even = written(tmp_path / "even.zarr", volume[:, :128, :128])  # no partial block: nothing said of edges
    assert check_matched(even, volume[:, :128, :128], **CHECK) == "rounded half to even"
    assert describe(dest).startswith("5 levels [(32, 136, 130), (16, 68, 65), ")
    assert describe(dest).endswith("level 0 in chunks (32, 64, 64), zstd 3"), describe(dest)


@pytest.mark.parametrize(
    ("changed", "check", "said"),
    [
        ({"levels": 4}, {}, "4 levels, not 5"),
        ({"scale_factors": {"z": 1, "y": 2, "x": 2}}, {}, "level 1 has shape (32, 68, 65)"),
        ({"chunks": (32, 32, 32)}, {}, "chunks (32, 32, 32), not 64-sided"),
        ({"compressor": "gzip"}, {}, "compressed with [('gzip', "),
        ({"shards": (256, 256, 256)}, {}, "is sharded"),
        ({}, {"shard": 256}, "is not sharded"),
        ({"shards": (128, 128, 128)}, {"shard": 256}, "shards (32, 128, 128), not 256-sided"),
        ({"method": "nearest"}, {}, "level 1 is not the (2, 2, 2) block mean of level 0"),
        ({"method": "max"}, {}, "level 1 is not the (2, 2, 2) block mean of level 0"),
    ],
)
def test_one_wrong_setting_fails(
    tmp_path: pathlib.Path, volume: np.ndarray, changed: dict[str, Any], check: dict[str, Any], said: str
) -> None:
    dest = written(tmp_path / "wrong.zarr", volume, **changed)
    with pytest.raises(WrongOutput, match=re.escape(said)):
        check_matched(dest, volume, **{**CHECK, **check})


def test_a_level_0_that_is_not_the_volume_fails(tmp_path: pathlib.Path, volume: np.ndarray) -> None:
    dest = written(tmp_path / "other.zarr", volume + np.uint16(1))
    with pytest.raises(WrongOutput, match="level 0 is not the data written"):
        check_matched(dest, volume, **CHECK)
