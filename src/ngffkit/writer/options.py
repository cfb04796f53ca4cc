"""Turning the writer's friendly arguments into checked, explicit values -- before anything is written.

Every check that can fail lives here, so a bad argument raises :class:`~ngffkit.errors.InvalidArgument`
while the destination is still untouched.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numcodecs
import numpy as np
from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec

from ngffkit.errors import InvalidArgument
from ngffkit.formats import AXES_ORDER_RULE, Format, axes_in_order, axes_order_permutation
from ngffkit.metadata import Axis, Channel, Window
from ngffkit.metadata.axes import CLASSIC_AXIS_TYPES
from ngffkit.metadata.omero import parse_hex
from ngffkit.writer.choices import COMPRESSORS

AxesLike = str | Sequence[str | Mapping[str, Any] | Axis] | None


def guess_axes(shape: Sequence[int]) -> str:
    """Axis names for 2-5D data: yx, zyx (or cyx when the first axis is small), czyx, tczyx."""
    ndim = len(shape)
    if ndim == 2:
        return "yx"
    if ndim == 3:
        return "cyx" if shape[0] <= 4 else "zyx"
    if ndim == 4:
        return "czyx"
    if ndim == 5:
        return "tczyx"
    raise InvalidArgument(f"cannot guess axes for {ndim}D data; pass axes=")


def resolve_axes(axes: AxesLike, shape: Sequence[int], units: str | Mapping[str, str] | None) -> tuple[Axis, ...]:
    """Axis objects for ``axes`` (a string like "czyx", names, dicts or Axis objects), with units."""
    spec = guess_axes(shape) if axes is None else axes
    items: list[Axis] = []
    for item in spec if not isinstance(spec, str) else list(spec):
        if isinstance(item, Axis):
            items.append(item)
        elif isinstance(item, str):
            items.append(Axis.classic(item))
        elif isinstance(item, Mapping) and isinstance(item.get("name"), str):
            items.append(Axis(item["name"], item.get("type", CLASSIC_AXIS_TYPES.get(item["name"])), item.get("unit")))
        else:
            raise InvalidArgument(f"cannot understand axis {item!r}")
    if len(items) != len(shape):
        raise InvalidArgument(
            f"{len(items)} axes ({', '.join(a.name for a in items)}) for {len(shape)}D data {tuple(shape)}"
        )
    names = [a.name for a in items]
    if len(set(names)) != len(names):
        raise InvalidArgument(f"axis names repeat: {names}")
    if not 2 <= sum(a.is_space for a in items) <= 3:
        raise InvalidArgument(f"an image needs 2 or 3 space axes, got {names}")
    if isinstance(units, str):
        items = [Axis(a.name, a.type, units if a.is_space else a.unit, a.extra) for a in items]
    elif isinstance(units, Mapping):
        unknown = set(units) - set(names)
        if unknown:
            raise InvalidArgument(f"units for unknown axes {sorted(unknown)}")
        items = [Axis(a.name, a.type, units.get(a.name, a.unit), a.extra) for a in items]
    return tuple(items)


def check_axes_order(axes: Sequence[Axis], fmt: Format) -> None:
    """Refuse axes in an order ``fmt`` forbids (the rule the validator reports as ``axes-order``), saying which
    order is allowed and how to move the data into it: the writer never writes what its validator rejects."""
    types = [a.type for a in axes]
    if not fmt.orders_axes or axes_in_order(types):
        return
    permutation = axes_order_permutation(types)
    names = [a.name for a in axes]
    ordered = [names[i] for i in permutation]
    raise InvalidArgument(
        f"NGFF {fmt} does not allow axes in the order {', '.join(names)}: they must be {AXES_ORDER_RULE}. "
        f"Move the data's axes first, e.g. {_reorder_hint(permutation)}, "
        f"and write it with axes={_axes_argument(ordered)}"
    )


def _reorder_hint(permutation: Sequence[int]) -> str:
    """The numpy call that puts the axes in ``permutation``'s order: one ``np.moveaxis`` when moving a single
    axis is enough, else ``np.transpose``."""
    count = len(permutation)
    for source in range(count):
        for target in range(count):
            moved = list(range(count))
            moved.insert(target, moved.pop(source))
            if tuple(moved) == tuple(permutation):
                return f"data = np.moveaxis(data, {source}, {target})"
    return f"data = np.transpose(data, {tuple(permutation)})"


def _axes_argument(names: Sequence[str]) -> str:
    """``names`` as the caller would pass them: a string when every name is one letter, else a list."""
    return repr("".join(names)) if all(len(n) == 1 for n in names) else repr(list(names))


def per_axis_values(
    value: float | Sequence[float] | Mapping[str, float] | None, axes: Sequence[Axis], default: float, what: str
) -> tuple[float, ...]:
    """A per-axis vector from a number (space axes), a list (every axis) or a dict (by axis name)."""
    names = [a.name for a in axes]
    if value is None:
        return tuple(default for _ in axes)
    if isinstance(value, Mapping):
        unknown = set(value) - set(names)
        if unknown:
            raise InvalidArgument(f"{what} for unknown axes {sorted(unknown)}")
        out = tuple(float(value.get(n, default)) for n in names)
    elif isinstance(value, int | float):
        out = tuple(float(value) if a.is_space else default for a in axes)
    else:
        out = tuple(float(v) for v in value)
        if len(out) != len(axes):
            raise InvalidArgument(f"{what} has {len(out)} values for {len(axes)} axes ({', '.join(names)})")
    if not all(math.isfinite(v) for v in out):
        raise InvalidArgument(f"{what} must be finite numbers, got {out}")
    return out


def check_shape(shape: Sequence[int]) -> None:
    if any(s == 0 for s in shape):
        raise InvalidArgument(f"data has a 0-size axis: shape {tuple(shape)}")
    if any(not isinstance(s, int | np.integer) or s < 0 for s in shape):
        raise InvalidArgument(f"data has an unknown or negative size: shape {tuple(shape)}")


#: numpy kinds that OME-Zarr images hold: booleans, integers, floats (zarr stores complex too; NGFF viewers do not).
IMAGE_KINDS = "biuf"


def check_dtype(dtype: np.dtype) -> None:
    if dtype.kind not in IMAGE_KINDS:
        raise InvalidArgument(f"cannot write data of type {dtype}: images hold booleans, integers or floats")


def resolve_chunks(
    chunks: Sequence[int] | None, shape: Sequence[int], axes: Sequence[Axis], itemsize: int
) -> tuple[int, ...]:
    """Chunk shape: given (same rank as the data) or ~2 MiB blocks over the space axes, 1 elsewhere."""
    if chunks is not None:
        out = tuple(int(c) for c in chunks)
        if len(out) != len(shape):
            raise InvalidArgument(f"chunks {out} have {len(out)} dimensions, the data has {len(shape)}")
        if any(c < 1 for c in out):
            raise InvalidArgument(f"chunks must be positive, got {out}")
        return tuple(min(c, s) for c, s in zip(out, shape, strict=True))
    spatial = sum(a.is_space for a in axes)
    edge = int((2 * 1024 * 1024 / itemsize) ** (1 / spatial))
    edge = 1 << max(5, edge.bit_length() - 1)  # a power of two: 1024 (2D), 128 (3D) for 16-bit data
    return tuple(min(edge, s) if a.is_space else 1 for a, s in zip(axes, shape, strict=True))


def resolve_shards(shards: Sequence[int] | None, chunks: Sequence[int], fmt: Format) -> tuple[int, ...] | None:
    if shards is None:
        return None
    if not fmt.uses_zarr_v3:
        raise InvalidArgument(f"sharding needs zarr v3 (NGFF 0.5 or later), not NGFF {fmt}")
    out = tuple(int(s) for s in shards)
    if len(out) != len(chunks) or any(s % c for s, c in zip(out, chunks, strict=True)):
        raise InvalidArgument(f"shards {out} must have the rank of chunks {tuple(chunks)} and be multiples of them")
    return out


def compressor_for(compressor: Any, fmt: Format, *, labels: bool = False) -> Any:
    """zarr v3 codecs or a numcodecs codec (v2) for a compressor name; a codec object passes through.

    "auto" is blosc for images and zstd for label images (see :data:`~ngffkit.writer.choices.COMPRESSORS`).
    "blosc" is lz4 inside blosc with byte shuffle for multi-byte pixels and bit shuffle for 8-bit ones (zarr and
    numcodecs pick the shuffle from the data type). "none" is an empty tuple: zarr reads ``compressors=None``
    as "use the default" (zstd).
    """
    if compressor is None or compressor == "none":
        return ()
    if not isinstance(compressor, str):
        return compressor
    if compressor not in COMPRESSORS:
        raise InvalidArgument(f"unknown compressor {compressor!r} (choose from {', '.join(COMPRESSORS)})")
    if compressor == "auto":
        compressor = "zstd" if labels else "blosc"
    if fmt.uses_zarr_v3:
        return {
            "zstd": ZstdCodec(level=3),
            "blosc": BloscCodec(cname="lz4", clevel=5),  # typesize and shuffle follow the data type
            "gzip": GzipCodec(level=5),
        }[compressor]
    return {
        "zstd": numcodecs.Zstd(level=3),
        "blosc": numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.AUTOSHUFFLE),
        "gzip": numcodecs.GZip(level=5),
    }[compressor]


@dataclass(frozen=True)
class ChannelSpec:
    """What the caller said about one channel; missing windows are measured after writing."""

    label: str | None = None
    color: str | None = None
    window: tuple[float, float] | None = None
    visible: bool = True


def resolve_channels(channels: Any, count: int) -> list[ChannelSpec] | None:
    """Channel names, colours, windows and visibility, as names or dicts or :class:`Channel` objects."""
    if channels is None:
        return None
    if not isinstance(channels, Sequence) or isinstance(channels, str):
        raise InvalidArgument("channels must be a list (one entry per channel)")
    if len(channels) != count:
        raise InvalidArgument(f"{len(channels)} channels given, the data has {count}")
    out = []
    for ch in channels:
        if isinstance(ch, str):
            out.append(ChannelSpec(ch))
        elif isinstance(ch, Channel):
            w = (ch.window.start, ch.window.end) if ch.window else None
            out.append(ChannelSpec(ch.label, ch.color, w, ch.active is not False))
        elif isinstance(ch, Mapping):
            given = ch.get("window") or ch.get("contrast_limits")
            if isinstance(given, Mapping):
                given = (given.get("start"), given.get("end"))
            window = None
            if given is not None:
                start, end = tuple(given) if len(given) == 2 else (None, None)
                if start is None or end is None:
                    raise InvalidArgument(f"a window needs a start and an end, got {given!r}")
                window = (float(start), float(end))
            out.append(
                ChannelSpec(ch.get("label") or ch.get("name"), _hex(ch.get("color")), window,
                            bool(ch.get("active", ch.get("visible", True))))
            )  # fmt: skip
        else:
            raise InvalidArgument(f"cannot understand channel {ch!r}")
    return out


def _hex(color: Any) -> str | None:
    if color is None:
        return None
    if isinstance(color, str):
        parsed = parse_hex(color)
        if parsed is None:
            raise InvalidArgument(f"colour {color!r} is not RRGGBB hex")
        return parsed
    values = list(color)
    if len(values) in (3, 4) and all(0 <= float(v) <= 1 for v in values):
        return "".join(f"{round(float(v) * 255):02X}" for v in values[:3])
    raise InvalidArgument(f"colour {color!r} must be RRGGBB hex or RGB(A) in 0..1")


def channel_window(spec: ChannelSpec, measured: tuple[float, float], dtype: np.dtype) -> Window:
    """The omero window of a channel: the caller's, or what was measured; NaN-only channels get 0..1."""
    low, high = measured
    if not (math.isfinite(low) and math.isfinite(high)):
        low, high = 0.0, 1.0
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        bounds = (float(info.min), float(info.max))
    else:
        bounds = (low, high)
    start, end = spec.window if spec.window else (low, high)
    if end <= start:  # a constant channel: keep a usable, non-empty window
        end = start + 1
    return Window(float(start), float(end), min(bounds[0], float(start)), max(bounds[1], float(end)))
