"""Pyramids a caller already has: written as they are, each level with its own scale and translation.

Pyramids in the wild are not all ngffkit's: ome-zarr-py resizes each level to ``floor(n / 2)``, other tools
round up, use factors of 3, or odd sizes whose ratios are not whole numbers at all (303 -> 151 -> 75). Such
levels are never rebuilt or refused here -- they only have to shrink (or stay) from one level to the next.
Where the caller does not say where each level sits (``level_transforms``), it is worked out from the shapes:
a level whose size is level 0's divided by a whole factor ``f`` (rounded up or down, as block and stride
methods make it) is ``f`` times coarser; any other level is coarser by the exact ratio of the sizes. Block
methods centre a coarse pixel on the pixels it summarises; ``nearest`` keeps the first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ngffkit.errors import InvalidArgument
from ngffkit.writer.choices import BLOCK_METHODS

Placement = tuple[tuple[float, ...], tuple[float, ...]]


def check_shapes(shapes: Sequence[Sequence[int]]) -> None:
    """Every level has level 0's dimensions, and none is larger than the level before it."""
    for k in range(1, len(shapes)):
        if len(shapes[k]) != len(shapes[0]):
            raise InvalidArgument(f"level {k} has {len(shapes[k])} dimensions, level 0 has {len(shapes[0])}")
        if any(s > p for s, p in zip(shapes[k], shapes[k - 1], strict=True)):
            raise InvalidArgument(f"level {k} {tuple(shapes[k])} is larger than level {k - 1} {tuple(shapes[k - 1])}")


def factor(base: int, size: int) -> float:
    """How much coarser a level of ``size`` pixels is than one of ``base`` pixels along one axis: a whole
    factor when the size is the base divided by it (rounded either way), else the exact ratio."""
    whole = max(1, round(base / size))
    if size in (math.ceil(base / whole), base // whole):
        return float(whole)
    return base / size


def placement_from_shapes(
    shapes: Sequence[Sequence[int]], scale: Sequence[float], translation: Sequence[float], method: str
) -> list[Placement]:
    """(scale, translation) of every level, from level 0's and the shapes (see the module docstring)."""
    out: list[Placement] = []
    for shape in shapes:
        factors = [factor(b, s) for b, s in zip(shapes[0], shape, strict=True)]
        shift = [(f - 1) / 2 * s if method in BLOCK_METHODS else 0.0 for f, s in zip(factors, scale, strict=True)]
        out.append((tuple(s * f for s, f in zip(scale, factors, strict=True)),
                    tuple(t + d for t, d in zip(translation, shift, strict=True))))  # fmt: skip
    return out


def checked_transforms(
    transforms: Sequence[Sequence[Sequence[float]]], shapes: Sequence[Sequence[int]]
) -> list[Placement]:
    """The caller's ``level_transforms``: one (scale, translation) pair per level, a finite positive scale and a
    finite translation per axis."""
    if len(transforms) != len(shapes):
        raise InvalidArgument(f"level_transforms has {len(transforms)} entries for {len(shapes)} levels")
    out: list[Placement] = []
    for k, pair in enumerate(transforms):
        if len(pair) != 2:
            raise InvalidArgument(f"level_transforms[{k}] must be (scale, translation)")
        scale, translation = (tuple(float(v) for v in values) for values in pair)
        ndim = len(shapes[k])
        if len(scale) != ndim or len(translation) != ndim:
            raise InvalidArgument(f"level_transforms[{k}] needs {ndim} values each for scale and translation")
        if not all(math.isfinite(v) for v in scale + translation) or any(s <= 0 for s in scale):
            raise InvalidArgument(f"level_transforms[{k}]: scale must be positive and all values finite")
        out.append((scale, translation))
    return out
