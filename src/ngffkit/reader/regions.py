"""Regions of a level as people write them, checked and turned into the selection zarr reads.

:meth:`ngffkit.Image.read` takes a region as numpy would (``(5, slice(0, 512))``: an integer picks one index and
drops the axis, a slice keeps it) or by axis name (``{"z": 5, "y": slice(0, 512)}``). Everything is checked here,
before anything is read, so that a region that does not fit the level is one clear
:class:`~ngffkit.InvalidArgument` -- never a failure in the middle of a read that looks like damaged data.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np

from ngffkit.errors import InvalidArgument

#: What :meth:`ngffkit.Image.read` accepts as a region.
Region: TypeAlias = "int | slice | tuple[Any, ...] | Mapping[str, int | slice] | None"
#: A checked selection: per axis an index (the axis is dropped) or a slice with explicit start, stop and step >= 1.
Selection: TypeAlias = "tuple[int | slice, ...]"


def level_index(level: Any, count: int, *, where: str) -> int:
    """``level`` as an index into ``count`` levels (negative counts from the lowest, as in a list)."""
    if isinstance(level, bool) or not isinstance(level, int | np.integer) or not -count <= level < count:
        raise InvalidArgument(f"no level {level!r}: this image has levels 0-{count - 1}", where=where)
    return int(level) % count


def selection(region: Region, shape: Sequence[int], axis_names: Sequence[str], *, where: str) -> Selection:
    """``region`` checked against a level of ``shape`` (axes ``axis_names``) as one entry per axis."""
    ndim = len(shape)
    if region is None:
        items: list[Any] = [slice(None)] * ndim
    elif isinstance(region, Mapping):
        unknown = [name for name in region if name not in axis_names]
        if unknown:
            raise InvalidArgument(
                f"no axis {unknown[0]!r} in this image (its axes: {', '.join(axis_names)})", where=where
            )
        items = [region.get(name, slice(None)) for name in axis_names]
    else:
        items = _expanded(list(region) if isinstance(region, tuple) else [region], ndim, where)
    return tuple(_checked(item, size, name, where) for item, size, name in zip(items, shape, axis_names, strict=True))


def _expanded(items: list[Any], ndim: int, where: str) -> list[Any]:
    """``items`` with ``...`` expanded and missing trailing axes taken whole, as numpy reads them."""
    dots = [i for i, item in enumerate(items) if item is Ellipsis]
    if len(dots) > 1:
        raise InvalidArgument("a region may hold '...' only once", where=where)
    given = len(items) - len(dots)
    if given > ndim:
        raise InvalidArgument(f"the region has {given} entries but the level has {ndim} axes", where=where)
    if dots:
        at = dots[0]
        return items[:at] + [slice(None)] * (ndim - given) + items[at + 1 :]
    return items + [slice(None)] * (ndim - given)


def _checked(item: Any, size: int, axis: str, where: str) -> int | slice:
    if isinstance(item, slice):
        start, stop, step = item.indices(size) if item.step != 0 else (0, 0, 0)
        if step < 1:
            raise InvalidArgument(f"axis {axis!r}: a region's slices step forward (step >= 1), not {item.step}",
                                  where=where)  # fmt: skip
        return slice(start, max(start, stop), step)
    try:
        index = operator.index(item)
    except TypeError:
        raise InvalidArgument(
            f"axis {axis!r}: a region holds integers and slices, not {type(item).__name__}", where=where
        ) from None  # operator.index's TypeError says the same, less clearly
    if not -size <= index < size:
        raise InvalidArgument(f"axis {axis!r}: index {index} is outside the level (size {size})", where=where)
    return index % size
