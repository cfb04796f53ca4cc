"""Multiscale pyramids: downsampling kernels and level plans.

Kernels are plain numpy functions over one block, easy to test. :func:`build_levels` chains them lazily
with dask so that level k is computed from level k-1 *in the same task graph*: storing every level in one
``dask.array.store`` call reads each input chunk once. Each level's dask chunks are the zarr chunks (or
shards) of that level, so parallel writers never touch the same chunk.

Factors are per axis and per level. Translations follow the method: block methods (mean, mode, gaussian,
max, min) place a level-k pixel at the centre of the block it summarises, ``+ (f - 1) / 2`` input pixels;
``nearest`` keeps the first pixel of each block, so its translation does not move.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import dask.array as da
import numpy as np
from scipy import ndimage

from ngffkit.errors import NGFFError
from ngffkit.writer import scheduling
from ngffkit.writer.choices import BLOCK_METHODS, METHODS


class PyramidError(NGFFError):
    """Pyramid options that cannot work (unknown method, factors that do not nest, ...)."""


# --- kernels: one numpy block in, one downsampled block out -----------------------------------------------


def _blocks(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """View ``block`` as (out0, f0, out1, f1, ...), padding the edge by repetition when sizes do not divide."""
    block = _pad_to_multiple(block, factors)
    shape: list[int] = []
    for n, f in zip(block.shape, factors, strict=True):
        shape += [n // f, f]
    return block.reshape(shape)


def _factor_axes(ndim: int) -> tuple[int, ...]:
    return tuple(range(1, 2 * ndim, 2))


def _pad_to_multiple(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    pad = [(0, (-n) % f) for n, f in zip(block.shape, factors, strict=True)]
    return np.pad(block, pad, mode="edge") if any(p[1] for p in pad) else block


def _strided_reduce(
    block: np.ndarray, factors: Sequence[int], combine: np.ufunc, dtype: np.dtype | None = None
) -> np.ndarray:
    """Combine the f strided slices of every axis in turn. Each step reads contiguous runs of memory, which
    is several times faster than reducing a strided 2N-dimensional view, and exact for integer sums. The
    first step widens to ``dtype`` while it halves the data, so no full-size copy is ever made."""
    out = block
    for axis, f in enumerate(factors):
        if f == 1:
            continue
        index = (slice(None),) * axis
        parts = [out[(*index, slice(i, None, f))] for i in range(f)]
        acc = (
            combine(parts[0], parts[1], dtype=dtype)
            if dtype is not None and out is block
            else combine(parts[0], parts[1])
        )
        for part in parts[2:]:
            acc = combine(acc, part, out=acc)
        out = acc
    return out if out is not block else block.astype(dtype or block.dtype)


def _sum_dtype(dtype: np.dtype) -> np.dtype:
    """An accumulator that cannot overflow for the block sizes used here."""
    if np.issubdtype(dtype, np.integer):
        signed = np.issubdtype(dtype, np.signedinteger)
        if dtype.itemsize <= 2:
            return np.dtype(np.int32 if signed else np.uint32)
        return np.dtype(np.int64 if signed else np.uint64)
    return np.dtype(np.float64) if dtype.itemsize > 4 else np.dtype(np.float32)


def reduce_mean(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Block average; integers are rounded to nearest (half to even), never truncated."""
    count = math.prod(factors)
    padded = _pad_to_multiple(block, factors)
    total = _strided_reduce(padded, factors, np.add, _sum_dtype(block.dtype))
    if np.issubdtype(block.dtype, np.integer):
        div = np.float32 if block.dtype.itemsize <= 2 else np.float64
        info = np.iinfo(block.dtype)
        return np.clip(np.rint(np.divide(total.astype(div), count)), info.min, info.max).astype(block.dtype)
    return np.divide(total, count).astype(block.dtype)


def reduce_max(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    return _strided_reduce(_pad_to_multiple(block, factors), factors, np.maximum)


def reduce_min(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    return _strided_reduce(_pad_to_multiple(block, factors), factors, np.minimum)


def reduce_nearest(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """The first pixel of every block (a stride)."""
    return block[tuple(slice(None, None, f) for f in factors)]


def reduce_mode(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """The most frequent value of every block (ties: the value met first); for label images."""
    ndim = block.ndim
    grouped = _blocks(block, factors)
    order = list(range(0, 2 * ndim, 2)) + list(_factor_axes(ndim))
    flat = grouped.transpose(order).reshape(*grouped.shape[0::2], -1)
    counts = np.zeros(flat.shape, dtype=np.int32)
    for i in range(flat.shape[-1]):
        counts[..., i] = (flat == flat[..., i : i + 1]).sum(axis=-1)
    winner = counts.argmax(axis=-1)
    return np.take_along_axis(flat, winner[..., None], axis=-1)[..., 0]


def reduce_gaussian(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Anti-aliased: the block average of an already smoothed block (smoothing is done with overlap)."""
    return reduce_mean(block, factors)


Kernel = Callable[[np.ndarray, Sequence[int]], np.ndarray]

#: Kernels go through a large block in slabs of about this many input bytes. Whole-block temporaries (a 32 MiB
#: shard's uint32 sums are 32 MiB more) are fresh pages from the kernel at every allocation and never in cache:
#: reducing a 64 MiB region whole cost 6x the CPU of reducing it in slabs, whose temporaries stay in cache and in
#: memory the allocator reuses.
SLAB_BYTES = 2**20


def _slab_axis(block: np.ndarray, factors: Sequence[int]) -> int:
    """The axis to cut slabs along: the one with most output positions (the outermost among equals), so that one
    slab of whole blocks holds as little of the input as possible."""
    return max(range(block.ndim), key=lambda i: (block.shape[i] // factors[i], -i))


def in_slabs(kernel: Kernel) -> Kernel:
    """``kernel`` applied slab by slab: slabs start at multiples of the factor along their axis, so each slab
    holds whole blocks and the result is exactly that of the whole block (the edge is padded within the last)."""

    def run(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
        if block.nbytes <= 2 * SLAB_BYTES:
            return kernel(block, factors)
        axis = _slab_axis(block, factors)
        f = factors[axis]
        plane = block.nbytes // block.shape[axis]
        step = f * max(1, SLAB_BYTES // (plane * f))
        if step >= block.shape[axis]:
            return kernel(block, factors)
        before = (slice(None),) * axis
        out: np.ndarray | None = None
        for lo in range(0, block.shape[axis], step):
            part = kernel(block[(*before, slice(lo, lo + step))], factors)
            if out is None:
                shape = [-(-n // fi) for n, fi in zip(block.shape, factors, strict=True)]
                out = np.empty(shape, part.dtype)
            out[(*before, slice(lo // f, lo // f + part.shape[axis]))] = part
        assert out is not None
        return out

    run.__name__, run.__doc__ = kernel.__name__, kernel.__doc__
    return run


KERNELS: dict[str, Kernel] = {
    "mean": in_slabs(reduce_mean),
    "nearest": reduce_nearest,
    "gaussian": in_slabs(reduce_gaussian),
    "mode": in_slabs(reduce_mode),
    "max": in_slabs(reduce_max),
    "min": in_slabs(reduce_min),
}


def gaussian_sigma(factors: Sequence[int]) -> tuple[float, ...]:
    """Smoothing before a factor-f reduction: sigma = (f - 1) / 2 pixels (0 where f is 1)."""
    return tuple((f - 1) / 2 for f in factors)


# --- plans --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    """One pyramid level: its shape and its factor relative to the previous level and to level 0."""

    shape: tuple[int, ...]
    factors: tuple[int, ...]
    cumulative: tuple[int, ...]


def _downsampled_axes(axis_types: Sequence[str | None], names: Sequence[str]) -> list[bool]:
    """By default only y and x (the last two space axes) shrink; z only when asked for."""
    spatial = [i for i, t in enumerate(axis_types) if t == "space"]
    inplane = set(spatial[-2:])
    return [i in inplane for i in range(len(names))]


def plan_levels(
    shape: Sequence[int],
    names: Sequence[str],
    axis_types: Sequence[str | None],
    *,
    levels: int | None = None,
    scale_factors: int | Sequence[int] | Sequence[Mapping[str, int]] | Mapping[str, int] | None = None,
    min_size: int = 64,
) -> list[Level]:
    """The levels of a pyramid, level 0 first.

    ``scale_factors``:
      * an int ``f`` (default 2): every level shrinks y and x by ``f`` from the one before;
      * a dict ``{"z": 2, "y": 2, "x": 2}``: the same per-level factor, per axis (z only shrinks if named);
      * a list of ints ``[3, 9]``: cumulative factors of levels 1, 2, ... relative to level 0 (so 3 then 9);
      * a list of dicts: cumulative per-axis factors per level.
    ``levels`` is the total number of levels; without it, levels are added until y and x are at most
    ``min_size`` (or stop shrinking). Channel and time axes never shrink.
    """
    ndim = len(shape)
    if len(names) != ndim or len(axis_types) != ndim:
        raise PyramidError(f"{len(names)} axis names for {ndim} dimensions")
    rule = _FactorRule(
        names, _downsampled_axes(axis_types, names), {i for i, t in enumerate(axis_types) if t in ("channel", "time")}
    )
    cumulative: list[tuple[int, ...]] = [tuple(1 for _ in shape)]
    if isinstance(scale_factors, Sequence) and not isinstance(scale_factors, str):
        for i, value in enumerate(scale_factors):
            cumulative.append(rule.factors(value, f"scale_factors[{i}]"))  # type: ignore[arg-type]  # checked inside
        if levels is not None and levels != len(cumulative):
            raise PyramidError(f"levels={levels} but scale_factors describe {len(cumulative)} levels")
    else:
        step = rule.factors(2 if scale_factors is None else scale_factors, "scale_factors")
        for _ in range(_level_count(shape, step, levels, min_size) - 1):
            cumulative.append(tuple(c * f for c, f in zip(cumulative[-1], step, strict=True)))
    return _levels_from(shape, cumulative)


@dataclass(frozen=True)
class _FactorRule:
    """Turns one user-given factor (an int or a per-axis dict) into a factor per axis, refusing nonsense."""

    names: Sequence[str]
    shrinkable: Sequence[bool]
    protected: set[int]

    def factors(self, value: int | Mapping[str, int], where: str) -> tuple[int, ...]:
        if isinstance(value, Mapping):
            unknown = set(value) - set(self.names)
            if unknown:
                raise PyramidError(f"{where}: unknown axes {sorted(unknown)} (axes are {', '.join(self.names)})")
            out = tuple(int(value.get(n, 1)) for n in self.names)
        elif isinstance(value, int | np.integer) and not isinstance(value, bool):
            out = tuple(int(value) if shrink else 1 for shrink in self.shrinkable)
        else:
            raise PyramidError(f"{where}: a factor must be an integer or a dict of integers, not {value!r}")
        if any(f < 1 for f in out):
            raise PyramidError(f"{where}: factors must be >= 1, got {out}")
        if any(out[i] != 1 for i in self.protected):
            raise PyramidError(f"{where}: channel and time axes cannot be downsampled")
        return out


def _level_count(shape: Sequence[int], step: Sequence[int], levels: int | None, min_size: int) -> int:
    """How many levels a constant per-level step makes: as asked, or until the shrinking axes reach min_size."""
    if all(f == 1 for f in step):
        count = 1 if levels is None else levels
    elif levels is not None:
        count = levels
    else:
        count = 1
        factors = [f for f in step if f > 1]
        size = [s for s, f in zip(shape, step, strict=True) if f > 1]
        while max(size) > min_size and count < 32:
            size = [math.ceil(s / f) for s, f in zip(size, factors, strict=True)]
            count += 1
    if count < 1:
        raise PyramidError(f"levels must be >= 1, got {count}")
    return count


def _levels_from(shape: Sequence[int], cumulative: Sequence[tuple[int, ...]]) -> list[Level]:
    """Levels from cumulative factors; each level must shrink by a whole factor of the one before."""
    out: list[Level] = []
    for k, cum in enumerate(cumulative):
        prev = cumulative[k - 1] if k else cum
        if any(c % p for c, p in zip(cum, prev, strict=True)):
            raise PyramidError(f"level {k} factor {cum} is not a multiple of level {k - 1} factor {prev}")
        rel = tuple(c // p for c, p in zip(cum, prev, strict=True)) if k else cum
        if k and any(c < p for c, p in zip(cum, prev, strict=True)):
            raise PyramidError(f"level {k} factor {cum} shrinks less than level {k - 1}")
        out.append(Level(tuple(math.ceil(s / c) for s, c in zip(shape, cum, strict=True)), rel, cum))
    return out


def level_placement(
    scale: Sequence[float], translation: Sequence[float], plan: Sequence[Level], method: str
) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
    """(scale, translation) of every level, half-pixel correct for block methods."""
    placed = [(tuple(float(s) for s in scale), tuple(float(t) for t in translation))]
    for level in plan[1:]:
        s, t = placed[-1]
        shift = tuple(
            (f - 1) / 2 * si if method in BLOCK_METHODS else 0.0 for f, si in zip(level.factors, s, strict=True)
        )
        placed.append(
            (
                tuple(si * f for si, f in zip(s, level.factors, strict=True)),
                tuple(ti + d for ti, d in zip(t, shift, strict=True)),
            )
        )
    return placed


# --- lazy levels ----------------------------------------------------------------------------------------


def rechunk(array: da.Array, chunks: Sequence[int]) -> da.Array:
    """``array.rechunk(chunks)`` without dask's search for a cluster client (:mod:`ngffkit.writer.scheduling`)."""
    return array.rechunk(tuple(chunks), method=scheduling.rechunk_method())


def downsample(prev: da.Array, factors: Sequence[int], method: str, out_chunks: Sequence[int]) -> da.Array:
    """Level k from level k-1: blocks of ``out_chunks * factors`` in, blocks of ``out_chunks`` out."""
    if method not in KERNELS:
        raise PyramidError(f"unknown downsampling method {method!r} (choose from {', '.join(METHODS)})")
    factors = tuple(factors)
    if all(f == 1 for f in factors):
        return rechunk(prev, out_chunks)
    source = rechunk(prev, [c * f for c, f in zip(out_chunks, factors, strict=True)])
    if method == "gaussian":
        sigma = gaussian_sigma(factors)
        depth = tuple(math.ceil(3 * s) for s in sigma)
        source = source.map_overlap(
            lambda b: ndimage.gaussian_filter(b.astype(np.float32), sigma).astype(b.dtype),
            depth=depth,
            boundary="nearest",
            dtype=source.dtype,
        )
    kernel = KERNELS[method]
    chunks = tuple(
        tuple(math.ceil(c / f) for c in axis_chunks) for axis_chunks, f in zip(source.chunks, factors, strict=True)
    )
    return da.map_blocks(
        kernel, source, factors, chunks=chunks, dtype=source.dtype, meta=np.empty((0,) * prev.ndim, prev.dtype)
    )


def build_levels(
    data: da.Array, plan: Sequence[Level], method: str, write_chunks: Sequence[Sequence[int]]
) -> list[da.Array]:
    """All levels as one lazy graph; level k's dask chunks equal ``write_chunks[k]`` (chunk or shard)."""
    levels = [rechunk(data, write_chunks[0])]
    for k, level in enumerate(plan[1:], start=1):
        levels.append(downsample(levels[-1], level.factors, method, write_chunks[k]))
        if levels[-1].shape != level.shape:
            raise PyramidError(f"level {k} came out {levels[-1].shape}, expected {level.shape}")
    return levels


# --- super-blocks: several levels from one in-memory region -------------------------------------------------


def superblock_depth(
    plan: Sequence[Level], write_chunks: Sequence[Sequence[int]], itemsize: int, budget_bytes: int
) -> int:
    """The deepest level m whose write chunks can all be made from one level-0 region of at most
    ``budget_bytes``: that region is ``write_chunks[m] * cumulative[m]`` and holds whole write chunks of
    every level 0..m, so one task can compute and write all of them from memory."""
    depth = 0
    for k in range(1, len(plan)):
        region = [min(c * f, s) for c, f, s in zip(write_chunks[k], plan[k].cumulative, plan[0].shape, strict=True)]
        if math.prod(region) * itemsize > budget_bytes:
            break
        aligned = all(
            all(
                r % (write_chunks[j][i] * plan[j].cumulative[i]) == 0 or r == plan[0].shape[i]
                for i, r in enumerate(region)
            )
            for j in range(k)
        )
        if not aligned:
            break
        depth = k
    return depth


def superblock_shape(plan: Sequence[Level], write_chunks: Sequence[Sequence[int]], depth: int) -> tuple[int, ...]:
    return tuple(
        min(c * f, s) for c, f, s in zip(write_chunks[depth], plan[depth].cumulative, plan[0].shape, strict=True)
    )


def reduce_chain(block: np.ndarray, plan: Sequence[Level], depth: int, method: str) -> list[np.ndarray]:
    """Levels 0..depth of one in-memory region, each from the one before."""
    out = [block]
    for k in range(1, depth + 1):
        out.append(KERNELS[method](out[-1], plan[k].factors))
    return out
