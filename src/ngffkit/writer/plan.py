"""A write, planned: every choice checked and the pyramid laid out lazily -- before anything is written.

:func:`plan_image` turns the data and :class:`~ngffkit.writer.settings.WriteOptions` into an :class:`ImagePlan`:
axes, placement of every level (half-pixel correct), chunk and shard shapes, codecs, channel descriptions and
the lazy dask levels. Every check that can fail lives here or in :mod:`ngffkit.writer.options`, so a bad
argument raises :class:`~ngffkit.InvalidArgument` while the destination is untouched. The plan also builds the
metadata written at the end, from measurements of the lowest level made once it is written.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import dask.array as da
import numpy as np

from ngffkit.errors import InvalidArgument
from ngffkit.formats import DEFAULT_WRITE, WRITE_FORMATS, Format, get_format
from ngffkit.metadata import Axis, Channel, Dataset, ImageLabel, LabelColor, Multiscale, OMEMetadata, Omero, upgrade
from ngffkit.metadata.labels import palette_color
from ngffkit.metadata.multiscales import scale_translation_transforms
from ngffkit.metadata.omero import default_colors
from ngffkit.store.location import Location
from ngffkit.writer import choices, options, pyramid
from ngffkit.writer import given as given_levels
from ngffkit.writer.settings import WriteOptions
from ngffkit.writer.sources import as_dask


def target_format(version: str | Format) -> tuple[Format, Format]:
    """(format written, format the metadata is built in): 0.6rc0 is built as 0.5 and then upgraded."""
    fmt = get_format(version)
    if fmt not in WRITE_FORMATS:
        written = ", ".join(str(f) for f in sorted(WRITE_FORMATS, key=lambda f: f.rank))
        raise InvalidArgument(f"ngffkit writes NGFF {written}, not {fmt}")
    return fmt, (DEFAULT_WRITE if fmt.is_newer_than(DEFAULT_WRITE) else fmt)


#: How far (in units in the last place) a number may be from a short decimal and still be written as that decimal:
#: the error of a few float operations (0.1 + 0.2, 0.2 * 3), far below any difference a person meant.
_NOISE_ULPS = 4


def short_decimal(value: float) -> float:
    """``value`` as the shortest decimal (up to 15 significant digits) within :data:`_NOISE_ULPS` units in the last
    place of it, else unchanged. Scales and translations are computed (level scale = scale * factor, translation
    + (factor - 1) * scale / 2), and binary floating point turns 0.1 + 0.2 into 0.30000000000000004: the metadata
    says 0.3, which is what was meant, while a value such as 1/3 keeps every digit (it is no short decimal)."""
    if not math.isfinite(value) or value == 0:
        return value
    tolerance = _NOISE_ULPS * math.ulp(value)
    for digits in range(1, 16):
        candidate = float(f"{value:.{digits}g}")
        if abs(candidate - value) <= tolerance:
            return candidate
    return value


def short_decimals(values: Sequence[float]) -> tuple[float, ...]:
    """:func:`short_decimal` of each value: the one place the writer tidies the numbers its metadata states."""
    return tuple(short_decimal(v) for v in values)


@dataclass(frozen=True)
class ImagePlan:
    """Everything needed to write one multiscale image, checked."""

    location: Location
    fmt: Format
    build_fmt: Format
    axes: tuple[Axis, ...]
    levels: list[da.Array]
    #: The caller's array when it is in memory: super-blocks are cut from it directly (no re-chunking).
    source: Any
    #: Level 0 as the caller's chunks make it (before re-chunking to write units): regions are cut from this, and
    #: whether two regions share an input chunk is judged on it.
    base: da.Array
    #: The pyramid ngffkit builds (None when the caller gave every level).
    own_layout: list[pyramid.Level] | None
    placement: list[tuple[tuple[float, ...], tuple[float, ...]]]
    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None
    compressor: Any
    method: str
    name: str | None
    channels: list[options.ChannelSpec] | None = None
    image_label: ImageLabel | None = None
    #: Give the label image colours for the values found in its lowest level (measured after writing).
    auto_label_colors: bool = False

    def write_units(self) -> list[tuple[int, ...]]:
        """Per level, the block one task writes: a shard if sharded, else a chunk (clipped to the level)."""
        unit = self.shards or self.chunks
        return [tuple(min(u, s) for u, s in zip(unit, lv.shape, strict=True)) for lv in self.levels]

    def metadata(self, lowest: np.ndarray) -> OMEMetadata:
        """The image's metadata; channel windows and automatic label colours come from ``lowest``, the smallest
        level as written (small, and nothing is computed twice)."""
        datasets = tuple(
            Dataset(str(k), scale_translation_transforms(short_decimals(s), short_decimals(t)))
            for k, (s, t) in enumerate(self.placement)
        )
        multiscale = Multiscale(datasets, self.axes, name=self.name, type=self.method,
                                metadata={"method": f"ngffkit.writer.pyramid.{self.method}"})  # fmt: skip
        meta = OMEMetadata(format=self.build_fmt, multiscales=(multiscale,), omero=self._omero(lowest),
                           image_label=self._image_label(lowest))  # fmt: skip
        return upgrade(meta, self.fmt) if self.fmt != self.build_fmt else meta

    def _image_label(self, lowest: np.ndarray) -> ImageLabel | None:
        if self.image_label is None or not self.auto_label_colors:
            return self.image_label.matched() if self.image_label is not None else None
        values = [int(v) for v in np.unique(lowest) if v != 0]
        colors = tuple(LabelColor(v, palette_color(i)) for i, v in enumerate(values))
        return replace(self.image_label, colors=colors).matched()

    def _omero(self, lowest: np.ndarray) -> Omero | None:
        if self.channels is None:
            return None
        axis = next((i for i, a in enumerate(self.axes) if a.is_channel), None)
        others = tuple(i for i in range(lowest.ndim) if i != axis)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN channel: its window falls back to 0..1
            floats = lowest.dtype.kind == "f"
            lows = np.atleast_1d(np.nanmin(lowest, axis=others) if floats else lowest.min(axis=others))
            highs = np.atleast_1d(np.nanmax(lowest, axis=others) if floats else lowest.max(axis=others))
        colors = default_colors([spec.color for spec in self.channels])
        return Omero(tuple(
            Channel(spec.label or f"channel {i}", color,
                    options.channel_window(spec, (float(lows[i]), float(highs[i])), lowest.dtype), spec.visible)
            for i, (spec, color) in enumerate(zip(self.channels, colors, strict=True))
        ))  # fmt: skip


def plan_image(
    data: Any, location: Location, settings: WriteOptions, *, image_label: ImageLabel | None = None
) -> ImagePlan:
    """Check every choice and lay the pyramid out lazily; nothing is written here. With ``image_label`` the
    image is a label image: its pyramid must be made with a label-safe method (the default: mode)."""
    fmt, build_fmt = target_format(settings.storage.version)
    method = settings.pyramid.method or ("mode" if image_label is not None else "mean")
    if method not in choices.METHODS:
        raise InvalidArgument(f"unknown method {method!r} (choose from {', '.join(choices.METHODS)})")
    if image_label is not None and method not in choices.LABEL_SAFE_METHODS:
        raise InvalidArgument(
            f"method {method!r} would invent label values; use one of {', '.join(choices.LABEL_SAFE_METHODS)}"
        )
    settings = replace(settings, pyramid=replace(settings.pyramid, method=method))
    given = [as_dask(d) for d in data] if isinstance(data, list | tuple) else None
    base = given[0] if given else as_dask(data)
    options.check_shape(base.shape)
    options.check_dtype(base.dtype)
    described = settings.image
    axes = options.resolve_axes(described.axes, base.shape, described.units)
    options.check_axes_order(axes, fmt)
    scale = options.per_axis_values(described.scale, axes, 1.0, "scale")
    if any(s <= 0 for s in scale):
        raise InvalidArgument(f"scale must be positive, got {scale}")
    translation = options.per_axis_values(described.translation, axes, 0.0, "translation")
    chunks = options.resolve_chunks(settings.storage.chunks, base.shape, axes, base.dtype.itemsize)
    shards = options.resolve_shards(settings.storage.shards, chunks, fmt)
    own, levels = _lay_out(base, given, axes, settings, shards or chunks)
    if own is not None:
        placement = pyramid.level_placement(scale, translation, own, method)
    else:
        placement = _given_placement([tuple(lv.shape) for lv in levels], scale, translation, settings)
    channel_axis = next((i for i, a in enumerate(axes) if a.is_channel), None)
    count = base.shape[channel_axis] if channel_axis is not None else 1
    return ImagePlan(
        location=location, fmt=fmt, build_fmt=build_fmt, axes=axes, levels=levels,
        source=data if isinstance(data, np.ndarray) else None, base=base, own_layout=own,
        placement=placement, chunks=chunks, shards=shards,
        compressor=options.compressor_for(settings.storage.compressor, fmt, labels=image_label is not None), method=method, name=described.name,
        channels=options.resolve_channels(described.channels, count), image_label=image_label,
    )  # fmt: skip


def _lay_out(
    base: da.Array, given: list[da.Array] | None, axes: Sequence[Axis], settings: WriteOptions, unit: Sequence[int]
) -> tuple[list[pyramid.Level] | None, list[da.Array]]:
    """(ngffkit's own pyramid, or None for levels the caller gave; the lazy levels chunked by write unit)."""

    def clipped(shape: Sequence[int]) -> tuple[int, ...]:
        return tuple(min(w, s) for w, s in zip(unit, shape, strict=True))

    if given is not None:
        given_levels.check_shapes([level.shape for level in given])
        return None, [pyramid.rechunk(level, clipped(level.shape)) for level in given]
    if settings.image.level_transforms is not None:
        raise InvalidArgument("level_transforms place levels given as a list of arrays; none were given")
    try:
        layout = pyramid.plan_levels(base.shape, [a.name for a in axes], [a.type for a in axes],
                                     levels=settings.pyramid.levels, scale_factors=settings.pyramid.scale_factors)  # fmt: skip
        method = settings.pyramid.method or "mean"
        return layout, pyramid.build_levels(base, layout, method, [clipped(lv.shape) for lv in layout])
    except pyramid.PyramidError as exc:
        raise InvalidArgument(exc.message) from None  # the pyramid's own refusal: its text is the message


def _given_placement(
    shapes: list[tuple[int, ...]], scale: Sequence[float], translation: Sequence[float], settings: WriteOptions
) -> list[tuple[tuple[float, ...], tuple[float, ...]]]:
    """Where the levels a caller gave sit: as the caller says (``level_transforms``), else from their shapes."""
    if settings.image.level_transforms is not None:
        return given_levels.checked_transforms(settings.image.level_transforms, shapes)
    return given_levels.placement_from_shapes(shapes, scale, translation, settings.pyramid.method or "mean")
