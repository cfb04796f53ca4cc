"""napari layers to ngffkit writes, keeping what makes the view.

Shared by the writer contributions (File > Save) and the export widget. A layer arrives as napari hands it to a
writer: ``(data, meta)`` where ``data`` is an array, or a ``MultiScaleData`` of levels for a multiscale layer, and
``meta`` holds its display (name, colormap, contrast limits, visibility) and placement (scale, translate, axis
labels, units). Scale, translation, axis names and units go into the multiscale metadata; name, colour, contrast
limits and visibility into ``omero``; label colours (for every value present) and features into ``image-label``.
Several image layers of one shape become the channels of one image, and RGB layers three or four channels that
read back as RGB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import dask.array as da
import numpy as np
from napari.utils.colormaps import ensure_colormap

import ngffkit
from ngffkit.errors import InvalidArgument
from ngffkit.formats import axes_in_order, axes_order_permutation
from ngffkit.layer_data import RGB_COLORS, RGB_NAMES
from ngffkit.metadata.axes import CLASSIC_AXIS_TYPES
from ngffkit.napari._dask_pixels import computed
from ngffkit.napari._level_places import level_transforms
from ngffkit.writer.settings import WriteOptions

LayerPair = tuple[Any, dict[str, Any]]
#: Axis names for layers napari gave no labels, by dimensionality.
_DEFAULT_AXES = {2: "yx", 3: "zyx", 4: "tzyx", 5: "tczyx"}


def levels_of(data: Any) -> list[Any]:
    """A layer's levels, highest resolution first: napari's ``MultiScaleData`` and lists of levels alike. The
    views of a remote image (:mod:`ngffkit.napari._responsive`) are written as the dask arrays they view."""
    levels = list(data) if isinstance(data, Sequence) and not isinstance(data, str | bytes) else [data]
    return [level.to_dask_array() if hasattr(level, "to_dask_array") else level for level in levels]


def axes_for(meta: dict[str, Any], ndim: int) -> list[dict[str, Any]]:
    """NGFF axes from the layer's axis labels and units (napari's defaults, ``-2``/``-1``, become y, x, ...)."""
    labels = [str(a) for a in (meta.get("axis_labels") or ())][-ndim:]
    units = [str(u) for u in (meta.get("units") or ())][-ndim:]
    unnamed = all(a.startswith("axis") or a.lstrip("-").isdigit() for a in labels)
    if len(labels) != ndim or unnamed or len(set(labels)) != ndim:
        labels = list(_DEFAULT_AXES.get(ndim, "yx"))[-ndim:]
    axes = []
    for i, name in enumerate(labels):
        kind = CLASSIC_AXIS_TYPES.get(name.lower()) or "space"
        axis: dict[str, Any] = {"name": name, "type": kind}
        unit = units[i] if i < len(units) else None
        if unit and unit not in ("pixel", "dimensionless") and kind in ("space", "time"):
            axis["unit"] = unit
        axes.append(axis)
    spaces = [a for a in axes if a["type"] == "space"]
    for extra in spaces[: max(0, len(spaces) - 3)]:  # e.g. four unnamed axes: only the last three are space
        extra["type"] = "time" if not any(a["type"] == "time" for a in axes) else "channel"
    return axes


@dataclass
class Placed:
    """A layer's levels with their axes and physical placement, axis by axis."""

    levels: list[Any]
    axes: list[dict[str, Any]]
    scale: list[float]
    translation: list[float]


def in_ngff_order(placed: Placed) -> Placed:
    """The layer with its axes moved into the order NGFF 0.4/0.5 allow (time, channel or custom, space): a napari
    user cannot reorder a layer's axes, so a layer labelled z, c, y, x is saved as c, z, y, x rather than refused.
    Axes already in order are left as they are."""
    types = [a["type"] for a in placed.axes]
    if axes_in_order(types):
        return placed
    order = axes_order_permutation(types)
    return Placed(
        levels=[da.transpose(da.asarray(level), order) for level in placed.levels],
        axes=[placed.axes[i] for i in order],
        scale=[placed.scale[i] for i in order],
        translation=[placed.translation[i] for i in order],
    )


def color_hex(colormap: Any) -> str | None:
    """The colour a channel's colormap ends in, as RRGGBB (None when napari cannot tell)."""
    try:
        cmap = ensure_colormap(colormap)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    r, g, b = (float(c) for c in np.asarray(cmap.colors)[-1][:3])
    return f"{round(r * 255):02X}{round(g * 255):02X}{round(b * 255):02X}"


def channel_of(meta: dict[str, Any]) -> dict[str, Any]:
    limits = meta.get("contrast_limits")
    return {
        "label": meta.get("name") or "image",
        "color": color_hex(meta.get("colormap")) or "FFFFFF",
        "window": [float(limits[0]), float(limits[1])] if limits is not None else None,
        "visible": bool(meta.get("visible", True)),
    }


def physical(meta: dict[str, Any], key: str, ndim: int, default: float) -> list[float]:
    """The layer's ``scale`` or ``translate`` for its last ``ndim`` axes."""
    given = meta.get(key)
    values = [float(v) for v in given] if given is not None else []
    return ([default] * ndim + values)[-ndim:]


@dataclass
class ImageWrite:
    """What :func:`ngffkit.write_image` needs for some image layers, worked out before anything is written."""

    levels: list[Any]
    axes: list[dict[str, Any]]
    scale: list[float]
    translation: list[float]
    channels: list[dict[str, Any]]
    name: str | None
    #: Each level's (scale, translation) as the layer's source placed it (None: the writer places them by shape).
    level_transforms: list[tuple[list[float], list[float]]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def options(self) -> WriteOptions:
        """What the layers say: their description and, for a multiscale layer, where its levels sit."""
        return WriteOptions.of(axes=self.axes, scale=self.scale, translation=self.translation, channels=self.channels,
                               name=self.name, level_transforms=self.level_transforms)  # fmt: skip


def image_write(images: Sequence[LayerPair]) -> ImageWrite:
    """One image from one or more image layers: several layers become its channels (in the order given),
    an RGB(A) layer becomes three or four channels coloured so that it reads back as RGB."""
    if not images:
        raise InvalidArgument("no image layer to save")
    data, meta = images[0]
    levels = levels_of(data)
    if meta.get("rgb"):
        if len(images) > 1:
            raise InvalidArgument("an RGB layer is saved on its own, not as a channel of another image")
        spatial = np.ndim(levels[0]) - 1
        levels = [da.moveaxis(da.asarray(level), -1, 0) for level in levels]
        count = np.shape(levels[0])[0]
        channels = [{"label": RGB_NAMES[i], "color": RGB_COLORS[i], "window": [0, 255]} for i in range(count)]
        stacked = True
    elif len(images) == 1:
        spatial, channels, stacked = np.ndim(levels[0]), channels_of(meta, np.shape(levels[0])), False
    else:
        if any(channel_axis_of(m, np.ndim(levels_of(d)[0])) is not None for d, m in images):
            raise InvalidArgument("an image layer with a channel axis (c) is saved on its own, not with other layers")
        shapes = {tuple(np.shape(levels_of(d)[0])) for d, _ in images}
        if len(shapes) != 1:
            raise InvalidArgument(f"image layers saved together must have one shape, got {sorted(shapes)}")
        depth = min(len(levels_of(d)) for d, _ in images)
        levels = [da.stack([da.asarray(levels_of(d)[k]) for d, _ in images]) for k in range(depth)]
        spatial, channels, stacked = np.ndim(levels_of(data)[0]), [channel_of(m) for _, m in images], True
    axes = axes_for(meta, spatial)
    scale, translation = physical(meta, "scale", spatial, 1.0), physical(meta, "translate", spatial, 0.0)
    if stacked:  # the channel axis goes after time, before space: t, c, z, y, x
        at = sum(1 for a in axes if a["type"] == "time")
        axes.insert(at, {"name": "c", "type": "channel"})
        scale.insert(at, 1.0)
        translation.insert(at, 0.0)
        if at:
            levels = [da.moveaxis(level, 0, at) for level in levels]
    placed = in_ngff_order(Placed(levels, axes, scale, translation))
    names = [a["name"] for a in placed.axes]
    return ImageWrite(
        levels=placed.levels, axes=placed.axes, scale=placed.scale, translation=placed.translation,
        channels=channels, name=meta.get("name"),
        level_transforms=level_transforms(placed.levels, meta, names, placed.scale, placed.translation),
    )  # fmt: skip


def channel_axis_of(meta: dict[str, Any], ndim: int) -> int | None:
    """The layer's channel axis: the one its axis labels name ``c``, if any."""
    return next((i for i, axis in enumerate(axes_for(meta, ndim)) if axis["type"] == "channel"), None)


def channels_of(meta: dict[str, Any], shape: Sequence[int]) -> list[dict[str, Any]]:
    """The channels of one image layer: itself, or -- when an axis is labelled ``c`` -- one per position along
    it, named after the layer and shown with its colour and contrast."""
    axis = channel_axis_of(meta, len(shape))
    if axis is None:
        return [channel_of(meta)]
    one = channel_of(meta)
    return [{**one, "label": f"{one['label']} {i}"} for i in range(shape[axis])]


def label_colors(data: Any, meta: dict[str, Any]) -> dict[int, tuple[int, int, int, int]] | None:
    """The colour napari shows for every label value present (read on the smallest level), as RGBA 0-255."""
    colormap = meta.get("colormap")
    if colormap is None or not hasattr(colormap, "map"):
        return None
    levels = levels_of(data)
    values = np.unique(computed(levels[-1]))  # in the export's thread, while napari may compute on its own
    values = values[values != 0]
    if not values.size:
        return None
    rgba = np.asarray(colormap.map(values), dtype=float).reshape(len(values), -1)
    return {int(v): tuple(round(float(c) * 255) for c in color[:4]) for v, color in zip(values, rgba, strict=True)}  # type: ignore[misc]


def label_properties(meta: dict[str, Any]) -> dict[int, dict[str, Any]] | None:
    """Per-label properties from the layer's features (one row per label, the value in ``index``)."""
    features = meta.get("features")
    if features is None or not hasattr(features, "columns") or "index" not in features.columns or features.empty:
        return None
    columns = [c for c in features.columns if c != "index"]
    out: dict[int, dict[str, Any]] = {}
    for row in features.itertuples(index=False):
        record = row._asdict()
        value = record.pop("index")
        if isinstance(value, int | np.integer) and columns:
            out[int(value)] = {c: _plain(record[c]) for c in columns}
    return out or None


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def label_name(meta: dict[str, Any]) -> str:
    """The label image's name: the one it was read under (kept in the layer's metadata), else the layer's."""
    kept = (meta.get("metadata") or {}).get("ngff_label")
    return str(kept or meta.get("name") or "labels")


# --- the writes ----------------------------------------------------------------------------------------------


def to_write(levels: Sequence[Any], from_layers: WriteOptions, chosen: WriteOptions | None) -> tuple[Any, WriteOptions]:
    """What is written, and how: a multiscale layer's levels as they are, each where it sits (with a person's
    storage choices); a pyramid built anew from level 0 only when the person asks for one (levels or factors)
    -- or when the layer has a single level."""
    asked = chosen is not None and (chosen.pyramid.levels is not None or chosen.pyramid.scale_factors is not None)
    storage = chosen.storage if chosen is not None else from_layers.storage
    if len(levels) > 1 and not asked:
        method = chosen.pyramid.method if chosen is not None else None
        pyramid = replace(from_layers.pyramid, method=method or from_layers.pyramid.method)
        return list(levels), replace(from_layers, pyramid=pyramid, storage=storage)
    rebuilt = replace(from_layers, image=replace(from_layers.image, level_transforms=None), storage=storage)
    return levels[0], replace(rebuilt, pyramid=chosen.pyramid) if chosen is not None else rebuilt


def write_images(
    path: str, images: Sequence[LayerPair], options: WriteOptions | None = None, *, overwrite: bool,
    progress: Any = None,
) -> Any:  # fmt: skip
    """Image layers as one OME-Zarr image at ``path``; ``options`` (pyramid, storage) override what the layers
    say, and a multiscale layer otherwise keeps its levels."""
    plan = image_write(images)
    data, settings = to_write(plan.levels, plan.options(), options)
    return ngffkit.write_image(data, path, settings, overwrite=overwrite, progress=progress)


def write_labels_into(
    image_path: str, data: Any, meta: dict[str, Any], options: WriteOptions | None = None, *, overwrite: bool
) -> Any:
    """A labels layer as a label image of the image at ``image_path``, with the colours it shows: its own levels
    where they match the image's, else a pyramid made to match (placement is the image's)."""
    storage = options.storage if options is not None else None
    levels = levels_of(data)
    return ngffkit.write_labels(
        levels if len(levels) > 1 else levels[0], image_path, label_name(meta), overwrite=overwrite,
        colors=label_colors(data, meta) or "auto", properties=label_properties(meta),
        chunks=storage.chunks if storage else None, shards=storage.shards if storage else None,
        compressor=storage.compressor if storage else "auto",
    )  # fmt: skip


def write_label_image(
    path: str, data: Any, meta: dict[str, Any], options: WriteOptions | None = None, *, overwrite: bool,
    progress: Any = None,
) -> Any:  # fmt: skip
    """A labels layer on its own: a label image that reopens as just this labels layer."""
    levels = levels_of(data)
    ndim = len(np.shape(levels[0]))
    placed = in_ngff_order(
        Placed(levels, axes_for(meta, ndim), physical(meta, "scale", ndim, 1.0), physical(meta, "translate", ndim, 0.0))
    )
    names = [a["name"] for a in placed.axes]
    from_layer = WriteOptions.of(
        axes=placed.axes, scale=placed.scale, translation=placed.translation,
        name=meta.get("name") or label_name(meta),
        level_transforms=level_transforms(placed.levels, meta, names, placed.scale, placed.translation),
    )  # fmt: skip
    written, settings = to_write(placed.levels, from_layer, options)
    return ngffkit.write_label_image(
        written, path, settings, overwrite=overwrite, progress=progress,
        colors=label_colors(data, meta) or "auto", properties=label_properties(meta),
    )  # fmt: skip
