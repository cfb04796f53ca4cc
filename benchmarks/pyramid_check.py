"""What a pyramid writer wrote, read back with ngffkit: so that a benchmark's *matched* rows are the same work.

A peer's settings are spelt in its own API (``LOCAL_MEAN``, ``chunks=64``, ``compressor_params``, ...), and a
setting that is misspelt, renamed in a new release or silently ignored still writes *a* pyramid, only a different
one -- cheaper or dearer work, timed as if it were the same. :func:`check_matched` opens what was written and
fails unless it holds what the settings ask for; :func:`describe` says what a writer's defaults gave.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ngffkit import Image


class WrongOutput(AssertionError):
    """A writer's output is not what its matched settings ask for (the message says what differs)."""


def check_matched(
    dest: Path,
    data: np.ndarray,
    *,
    levels: int,
    factors: tuple[int, ...],
    chunk: int,
    shard: int | None,
    codec: tuple[str, int],
) -> str:
    """Check the image at ``dest`` against the matched settings, and say how its level 1 rounds the mean.

    Checked: ``levels`` levels; level ``k`` of shape ``data.shape / factors**k`` (floor or ceil: writers differ at
    a partial block); every level in ``chunk``-sided chunks, in ``shard``-sided shards when ``shard`` is given
    (unsharded when not) -- along an axis shorter than that, a smaller chunk (shard) that still covers it; the
    compressor ``codec`` (name, level) and no other; level 0 equal to ``data``; level 1 the mean of ``factors``
    blocks of level 0 (over the whole blocks), rounded one way or another -- which is returned (``"rounded half
    to even"``, ...), with what became of a partial block at an edge where there is one (kept: ceil-sized levels;
    dropped: floor-sized).

    :raises WrongOutput: naming the first thing that differs.
    """
    image = _image(dest)
    shapes = image.shapes
    if len(shapes) != levels:
        raise WrongOutput(f"{dest}: {len(shapes)} levels, not {levels}")
    edges: set[str] = set()  # what the writer did with a partial block at an edge: "kept" (ceil) or "dropped" (floor)
    for k, shape in enumerate(shapes):
        step = [f**k for f in factors]
        allowed = [(s // f, math.ceil(s / f)) for s, f in zip(data.shape, step, strict=True)]
        if len(shape) != data.ndim or any(n not in pair for n, pair in zip(shape, allowed, strict=True)):
            raise WrongOutput(f"{dest}: level {k} has shape {shape}, not data.shape / {step} ({allowed})")
        edges |= {"kept" if n == up else "dropped" for n, (down, up) in zip(shape, allowed, strict=True) if down != up}
        grid, inner, compressors = _storage(dest / image.level_paths[k] / "zarr.json")
        if shard is None:
            if inner is not None:
                raise WrongOutput(f"{dest}: level {k} is sharded ({grid}), unsharded asked for")
            _check_sides(dest, k, "chunks", grid, shape, chunk)
        else:
            if inner is None:
                raise WrongOutput(f"{dest}: level {k} is not sharded ({grid}), {shard}-sided shards asked for")
            _check_sides(dest, k, "shards", grid, shape, shard)
            _check_sides(dest, k, "chunks", inner, shape, chunk)
        if compressors != [codec]:
            raise WrongOutput(f"{dest}: level {k} is compressed with {compressors}, not [{codec}]")
    level0 = image.read(0)
    if level0.dtype != data.dtype or not np.array_equal(level0, data):
        raise WrongOutput(f"{dest}: level 0 is not the data written")
    rounding = _rounding(dest, level0, image.read(1), factors)
    return rounding + (f"; a partial block at an edge {' or '.join(sorted(edges))}" if edges else "")


def describe(dest: Path) -> str:
    """What a writer's own defaults gave: its levels, level 0's chunks (and shards) and codec, from zarr.json."""
    image = _image(dest)
    grid, inner, compressors = _storage(dest / image.level_paths[0] / "zarr.json")
    layout = f"chunks {tuple(grid)}" if inner is None else f"shards {tuple(grid)} of chunks {tuple(inner)}"
    codecs = ", ".join(f"{name} {level}" if level is not None else name for name, level in compressors) or "none"
    return f"{len(image.shapes)} levels {[tuple(s) for s in image.shapes]}; level 0 in {layout}, {codecs}"


def _image(dest: Path) -> Image:
    """The image at ``dest``, opened with ngffkit (anything else written there is a :class:`WrongOutput`)."""
    import ngffkit

    image = ngffkit.open(dest)
    if not isinstance(image, ngffkit.Image):
        raise WrongOutput(f"{dest}: {type(image).__name__}, not an image")
    return image


def _storage(document: Path) -> tuple[list[int], list[int] | None, list[tuple[str, Any]]]:
    """A zarr v3 array's (chunk grid, inner chunks of its shards or None, compressors as (name, level))."""
    meta = json.loads(document.read_text())
    if meta.get("zarr_format") != 3:
        raise WrongOutput(f"{document}: not a zarr v3 array (NGFF 0.5 asked for)")
    grid = list(meta["chunk_grid"]["configuration"]["chunk_shape"])
    codecs, inner = meta["codecs"], None
    if len(codecs) == 1 and codecs[0]["name"] == "sharding_indexed":
        inner = list(codecs[0]["configuration"]["chunk_shape"])
        codecs = codecs[0]["configuration"]["codecs"]
    compressors = []
    for codec in codecs:
        if codec["name"] in ("bytes", "transpose"):  # array-to-bytes and layout: no compression
            continue
        configuration = codec.get("configuration", {})
        name = codec["name"] + (f"-{configuration['cname']}" if "cname" in configuration else "")  # blosc-lz4
        compressors.append((name, configuration.get("level", configuration.get("clevel"))))
    return grid, inner, compressors


def _check_sides(dest: Path, k: int, what: str, sides: list[int], shape: tuple[int, ...], side: int) -> None:
    """``sides`` are ``side`` each -- or, along an axis shorter than ``side``, anything from the extent up to
    ``side``: one chunk (shard) covers the axis either way, and writers differ (zarr keeps ``side``, ngffkit clips a
    shard to whole chunks, ome-zarr-pyramid to the extent)."""
    if any(n != side and not (s <= n <= side) for n, s in zip(sides, shape, strict=True)):
        raise WrongOutput(f"{dest}: level {k} has {what} {tuple(sides)}, not {side}-sided (shape {shape})")


def _rounding(dest: Path, level0: np.ndarray, level1: np.ndarray, factors: tuple[int, ...]) -> str:
    """How ``level1`` is the mean of ``factors`` blocks of ``level0``: the roundings of the exact mean it equals
    over the whole blocks (several where no mean falls on a tie). Compared a slab of planes at a time: a 1 GiB
    level 0 needs no copies of its size."""
    whole = tuple(s // f for s, f in zip(level0.shape, factors, strict=True))
    n = math.prod(factors)
    ways = {"rounded half to even": lambda sums: np.rint(sums / n), "rounded half up": lambda sums: (sums + n // 2) // n,
            "truncated": lambda sums: sums // n}  # fmt: skip
    matching, off = set(ways), 0.0
    planes = max(1, 2**24 // max(1, math.prod(whole[1:])))
    for start in range(0, whole[0], planes):
        stop = min(start + planes, whole[0])
        region = (slice(start * factors[0], stop * factors[0]),
                  *(slice(0, w * f) for w, f in zip(whole[1:], factors[1:], strict=True)))  # fmt: skip
        split = [n for w, f in zip((stop - start, *whole[1:]), factors, strict=True) for n in (w, f)]
        sums = level0[region].reshape(split).sum(axis=tuple(range(1, len(split), 2)), dtype=np.int64)
        got = level1[(slice(start, stop), *(slice(0, w) for w in whole[1:]))].astype(np.int64)
        matching = {name for name in matching if np.array_equal(got, ways[name](sums))}
        off = max(off, float(np.abs(got - sums / n).max()))
    if matching:
        return " or ".join(name for name in ways if name in matching)
    if off < 1:
        return "within 1 (rounded in more than one way)"
    raise WrongOutput(f"{dest}: level 1 is not the {factors} block mean of level 0 (off by up to {off:.1f})")
