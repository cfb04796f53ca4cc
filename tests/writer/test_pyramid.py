"""Pyramid kernels and plans: exact factors, odd sizes, label safety, half-pixel placement."""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ngffkit.writer import pyramid
from ngffkit.writer.pyramid import PyramidError, plan_levels

SPACE3 = (["z", "y", "x"], ["space"] * 3)


def test_mean_rounds_and_pads_odd_edges() -> None:
    block = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint8)
    # blocks: [[1,2],[4,5]] -> 3.0 ; edge [[3,3],[6,6]] (padded by repetition) -> 4.5 -> 4 (round half even)
    assert pyramid.reduce_mean(block, (2, 2)).tolist() == [[3, 4]]


def test_mode_nearest_max_min() -> None:
    block = np.array([[1, 1, 7, 2], [3, 1, 2, 2]], dtype=np.uint16)
    assert pyramid.reduce_mode(block, (2, 2)).tolist() == [[1, 2]]
    assert pyramid.reduce_nearest(block, (2, 2)).tolist() == [[1, 7]]
    assert pyramid.reduce_max(block, (2, 2)).tolist() == [[3, 7]]
    assert pyramid.reduce_min(block, (2, 2)).tolist() == [[1, 2]]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=60), st.integers(1, 3), st.integers(1, 3))
def test_mode_never_invents_values(values: list[int], fy: int, fx: int) -> None:
    side = math.isqrt(len(values)) or 1
    block = np.array(values[: side * side], dtype=np.int32).reshape(side, side)
    out = pyramid.reduce_mode(block, (fy, fx))
    assert set(np.unique(out)) <= set(np.unique(block))
    assert out.shape == (math.ceil(side / fy), math.ceil(side / fx))


@settings(max_examples=60, deadline=None)
@given(st.tuples(st.integers(1, 300), st.integers(1, 300), st.integers(1, 300)), st.integers(1, 5))
def test_level_shapes_are_ceil_of_cumulative_factors(shape: tuple[int, int, int], levels: int) -> None:
    plan = plan_levels(shape, *SPACE3, levels=levels)
    assert len(plan) == levels
    for level in plan:
        assert level.shape == tuple(math.ceil(s / c) for s, c in zip(shape, level.cumulative, strict=True))
        assert level.cumulative[0] == 1  # z is not downsampled unless asked


def test_factor_forms() -> None:
    assert [lv.cumulative for lv in plan_levels((9, 900, 900), *SPACE3, scale_factors=[3, 9])] == [
        (1, 1, 1),
        (1, 3, 3),
        (1, 9, 9),
    ]
    assert [lv.factors for lv in plan_levels((9, 900, 900), *SPACE3, scale_factors={"z": 3, "y": 2, "x": 2}, levels=3)] == [
        (1, 1, 1), (3, 2, 2), (3, 2, 2)]  # fmt: skip
    dicts = [{"y": 2, "x": 2}, {"z": 2, "y": 4, "x": 4}]
    assert [lv.shape for lv in plan_levels((9, 900, 900), *SPACE3, scale_factors=dicts)] == [
        (9, 900, 900),
        (9, 450, 450),
        (5, 225, 225),
    ]
    assert len(plan_levels((10, 1000, 1000), *SPACE3)) == 5  # until y, x <= 64: 1000 500 250 125 63


@pytest.mark.parametrize(
    ("factors", "match"),
    [([2, 3], "not a multiple"), ([{"q": 2}], "unknown axes"), ([0], ">= 1"), ([{"c": 2}], "channel and time")],
)
def test_bad_factors(factors: list, match: str) -> None:
    with pytest.raises(PyramidError, match=match):
        plan_levels((3, 100, 100), ["c", "y", "x"], ["channel", "space", "space"], scale_factors=factors)


def test_half_pixel_translations() -> None:
    plan = plan_levels((100, 100), ["y", "x"], ["space", "space"], scale_factors=[2, 6])
    block = pyramid.level_placement((0.5, 0.5), (10.0, 0.0), plan, "mean")
    assert block == [
        ((0.5, 0.5), (10.0, 0.0)),
        ((1.0, 1.0), (10.25, 0.25)),
        ((3.0, 3.0), (11.25, 1.25)),
    ]  # 6 input pixels: centre at 2.5 px * 0.5
    stride = pyramid.level_placement((0.5, 0.5), (10.0, 0.0), plan, "nearest")
    assert [t for _, t in stride] == [(10.0, 0.0)] * 3


@pytest.mark.parametrize("method", pyramid.METHODS)
def test_lazy_levels_match_the_kernels_and_write_chunks(method: str) -> None:
    data = np.random.default_rng(0).integers(0, 1000, (5, 70, 90), dtype=np.uint16)
    plan = plan_levels(data.shape, *SPACE3, scale_factors={"z": 2, "y": 2, "x": 2}, levels=3)
    chunks = [(4, 32, 32), (3, 32, 32), (2, 18, 23)]
    levels = pyramid.build_levels(da.from_array(data, chunks=(2, 20, 20)), plan, method, chunks)
    assert [lv.shape for lv in levels] == [p.shape for p in plan]
    for lv, c in zip(levels, chunks, strict=True):
        assert lv.chunks[0][0] == min(c[0], lv.shape[0]) and lv.chunks[1][0] == min(c[1], lv.shape[1])
    if method != "gaussian":
        np.testing.assert_array_equal(levels[1].compute(), pyramid.KERNELS[method](data, (2, 2, 2)))
    else:
        assert levels[2].compute().dtype == np.uint16
