"""Which pixels of each lower level an edit of level 0 changes, and their new values -- exactly as a full rebuild
of the label pyramid by ngffkit's writer would make them.

The writer (:func:`ngffkit.write_labels`) makes a label pyramid one of two ways, and an edit follows the same one:

* **whole factors** (each level is the one before reduced by whole factors, rounded up: ngffkit's own pyramids):
  level k is the label-safe kernel (``mode`` unless the pyramid names another label-safe method) of level k-1
  over blocks of the factor. The kernels work block by block, so recomputing the blocks an edit touches -- the
  edited box widened to whole blocks -- gives exactly the pixels a rebuild gives;
* **resampled** (levels that are not whole reductions of level 0, as ome-zarr-py writes 17 -> 8): each pixel of
  level k is the level-0 pixel at the centre of the region it covers (:func:`ngffkit.writer.labels.resampled_levels`),
  so the pixels an edit changes are those whose centre lies in the edited box.

Everything here is arithmetic on boxes and small numpy blocks; the editor (:mod:`ngffkit.writer.edit`) reads and
writes them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ngffkit.writer.choices import LABEL_SAFE_METHODS
from ngffkit.writer.pyramid import KERNELS

#: A box of one level: per axis [start, stop).
Box = tuple[tuple[int, int], ...]
#: Reads a box of a level (with the edits applied so far): the editor's mirror of that level.
ReadBox = Callable[[int, Box], np.ndarray]


def box_slices(box: Box) -> tuple[slice, ...]:
    return tuple(slice(lo, hi) for lo, hi in box)


def box_empty(box: Box) -> bool:
    return any(hi <= lo for lo, hi in box)


@dataclass(frozen=True)
class LevelRule:
    """How the levels of one label pyramid follow from level 0 (see the module docstring)."""

    shapes: tuple[tuple[int, ...], ...]
    #: Per level k >= 1: its factor per axis over level k-1 (whole factors), or None (resampled from level 0).
    factors: tuple[tuple[int, ...], ...] | None
    method: str

    @classmethod
    def of(cls, shapes: Sequence[Sequence[int]], scales: Sequence[Sequence[float]], method: str | None) -> LevelRule:
        """The rule of a pyramid with these level shapes and scales; ``method`` is the multiscale's ``type``
        (used when label-safe, else ``mode``, the writer's default for labels)."""
        whole = tuple(tuple(int(n) for n in s) for s in shapes)
        chosen = method if method in LABEL_SAFE_METHODS else "mode"
        factors: list[tuple[int, ...]] = []
        for k in range(1, len(whole)):
            step = tuple(
                _whole_factor(whole[k - 1][i], whole[k][i], scales[k - 1][i], scales[k][i])
                for i in range(len(whole[k]))
            )
            if any(f is None for f in step):
                return cls(whole, None, chosen)
            factors.append(tuple(int(f) for f in step if f is not None))
        return cls(whole, tuple(factors), chosen)

    @property
    def resampled(self) -> bool:
        return self.factors is None

    def affected(self, k: int, edited: Box) -> Box:
        """The box of level ``k`` whose pixels depend on ``edited``: a box of level k-1 for whole factors, of
        level 0 when resampled."""
        if self.factors is None:
            return tuple(
                _centres_within(self.shapes[0][i], self.shapes[k][i], lo, hi) for i, (lo, hi) in enumerate(edited)
            )
        return tuple(
            (lo // f, min(-(-hi // f), n))
            for (lo, hi), f, n in zip(edited, self.factors[k - 1], self.shapes[k], strict=True)
        )

    def source(self, k: int, target: Box) -> Box:
        """The box of the level ``target`` is computed from (level k-1, or level 0 when resampled)."""
        if self.factors is None:
            picks = [_centres(self.shapes[0][i], self.shapes[k][i])[lo:hi] for i, (lo, hi) in enumerate(target)]
            return tuple((int(p[0]), int(p[-1]) + 1) if len(p) else (0, 0) for p in picks)
        return tuple(
            (lo * f, min(hi * f, n))
            for (lo, hi), f, n in zip(target, self.factors[k - 1], self.shapes[k - 1], strict=True)
        )

    def compute(self, k: int, target: Box, read: ReadBox) -> np.ndarray:
        """The new pixels of ``target`` at level ``k``, from the level below it as ``read`` gives it."""
        source = self.source(k, target)
        if self.factors is None:
            block = read(0, source)
            for i, (lo, hi) in enumerate(target):
                picks = _centres(self.shapes[0][i], self.shapes[k][i])[lo:hi] - source[i][0]
                block = np.take(block, picks, axis=i)
            return block
        return KERNELS[self.method](read(k - 1, source), self.factors[k - 1])


def _whole_factor(before: int, after: int, scale_before: float, scale_after: float) -> int | None:
    """The whole factor that makes ``after`` pixels from ``before`` (rounded up, as the writer's kernels do),
    taken from the scales (as the writer takes it), or None when there is none."""
    if scale_before > 0 and scale_after > 0:
        f = max(1, round(scale_after / scale_before))
    else:
        f = max(1, round(before / max(after, 1)))
    return f if -(-before // f) == after else None


def _centres(base: int, size: int) -> np.ndarray:
    """The level-0 index each of ``size`` pixels takes (the centre of the region it covers), as the writer's
    :func:`~ngffkit.writer.labels.resampled_levels` computes it."""
    if size == base:
        return np.arange(size)
    return np.minimum(((np.arange(size) + 0.5) * base / size).astype(np.int64), base - 1)


def _centres_within(base: int, size: int, lo: int, hi: int) -> tuple[int, int]:
    """The pixels of a level of ``size`` whose centre lies in [lo, hi) of level 0 (centres only grow)."""
    centres = _centres(base, size)
    return int(np.searchsorted(centres, lo, "left")), int(np.searchsorted(centres, hi, "left"))


def level_boxes(rule: LevelRule, edited: Box) -> list[Box]:
    """The box each level must recompute for one edited box of level 0 (level 0 itself first)."""
    boxes = [edited]
    for k in range(1, len(rule.shapes)):
        boxes.append(rule.affected(k, edited if rule.resampled else boxes[-1]))
    return boxes


def grow(box: Box, other: Box) -> Box:
    """The smallest box holding both."""
    return tuple((min(a, c), max(b, d)) for (a, b), (c, d) in zip(box, other, strict=True))


def volume(box: Box) -> int:
    return math.prod(max(0, hi - lo) for lo, hi in box)
