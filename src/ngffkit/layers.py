"""Reader nodes as napari layer data ``(data, kwargs, layer_type)``, without importing napari.

The kwargs use only plain values napari accepts: hex strings for channel colormaps (napari builds a
black-to-colour ramp), a ``{label: RGBA}`` dict for label colours, per-channel lists with ``channel_axis``.
Everything physical is set: ``scale``, ``translate`` (or ``affine`` when a 0.6rc0 transformation needs it),
``axis_labels`` and ``units``, so images and their labels overlay exactly.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ngffkit.errors import LocationError, NGFFError, NGFFWarning, NotFound
from ngffkit.reader import Collection, Image, Labels, Node, Plate, Scene, Well
from ngffkit.reader.image import ChannelInfo
from ngffkit.store import limits

LayerData = tuple[Any, dict[str, Any], str]
#: Colour of label values that image-label metadata gives no colour to (background 0 stays transparent).
UNLISTED_LABEL_RGBA = (0.6, 0.6, 0.6, 1.0)


def layers(node: Node, *, include_labels: bool = True) -> list[LayerData]:
    """The napari layers that show ``node``: images split by channel, then their labels."""
    if isinstance(node, Image):
        out = [label_layer(node)] if node.is_label else [image_layer(node)]
        if include_labels and not node.is_label:
            out += _label_layers(node)
        return out
    if isinstance(node, Plate):
        return plate_layers(node, include_labels=include_labels)
    if isinstance(node, Well):
        return well_layers(node)
    if isinstance(node, Labels):
        return [label_layer(img) for img in node.images()]
    if isinstance(node, Collection):
        return [layer for img in node.images() for layer in layers(img, include_labels=include_labels)]
    if isinstance(node, Scene):
        return scene_layers(node)
    raise NGFFError(f"nothing to show for a {node.kind}", where=node.url)


def _drop(values: tuple[Any, ...], axis: int | None) -> list[Any]:
    return [v for i, v in enumerate(values) if i != axis]


def _placement(image: Image, axis: int | None) -> dict[str, Any]:
    """scale/translate (or affine), axis labels and units of ``image`` without its channel axis."""
    kwargs: dict[str, Any] = {
        "axis_labels": _drop(image.axis_names, axis),
        "units": [u or "pixel" for u in _drop(image.units, axis)],
    }
    matrix = image.transform(0)
    scale, translation = image.scale(0), image.translation(0)
    expected = np.eye(image.ndim + 1)
    expected[: image.ndim, : image.ndim] = np.diag(scale)
    expected[: image.ndim, image.ndim] = translation
    if matrix is not None and not np.allclose(matrix, expected):
        keep = [i for i in range(image.ndim) if i != axis] + [image.ndim]
        kwargs["affine"] = matrix[np.ix_(keep, keep)].tolist()
    else:
        kwargs["scale"] = _drop(scale, axis)
        kwargs["translate"] = _drop(translation, axis)
        if matrix is None and image.format.has_coordinate_systems:
            warnings.warn(
                f"{image.url}: a transformation cannot be shown in napari (not linear); showing the dataset scale only",
                NGFFWarning,
                stacklevel=3,
            )
    return kwargs


def _metadata(node: Node, **extra: Any) -> dict[str, Any]:
    return {"ngff_url": node.url, "ngff_version": node.version, "ngff": node.metadata.to_attributes(), **extra}


def _split_axis(image: Image) -> int | None:
    """The axis napari splits into one layer per channel -- None without a channel axis, or with more channels
    than ``max_channel_layers`` (then they stay one layer with a channel slider: 10 000 layers would freeze napari).
    """
    axis = image.channel_axis
    if axis is None or not image.shapes:
        return axis
    count, limit = image.shapes[0][axis], limits.current().max_channel_layers
    if count > limit:
        warnings.warn(
            f"{image.url}: {count} channels are more than {limit} layers ({limits.env_name('max_channel_layers')}); "
            "showing them as one layer with a channel slider",
            NGFFWarning,
            stacklevel=3,
        )
        return None
    return axis


def _channel_kwargs(channels: list[ChannelInfo], axis: int | None, name: str) -> dict[str, Any]:
    if axis is None and len(channels) > 1:  # channels kept as a dimension of one layer
        return {"name": name, "colormap": "gray", "contrast_limits": None, "visible": True}
    if axis is None:
        ch = channels[0]
        return {
            "name": name,
            "colormap": "gray" if ch.color == "FFFFFF" else f"#{ch.color.lower()}",
            "contrast_limits": list(ch.contrast_limits) if ch.contrast_limits else None,
            "visible": ch.visible,
        }
    return {
        "channel_axis": axis,
        "name": [c.name for c in channels],
        "colormap": [f"#{c.color.lower()}" for c in channels],
        "contrast_limits": [list(c.contrast_limits) if c.contrast_limits else None for c in channels],
        "visible": [c.visible for c in channels],
        "blending": "additive",
    }


def image_layer(image: Image) -> LayerData:
    """One image layer (split into channels by napari through ``channel_axis``)."""
    axis = _split_axis(image)
    kwargs = _channel_kwargs(image.channels, axis, image.name)
    kwargs.update(_placement(image, axis))
    kwargs["multiscale"] = len(image.levels) > 1
    kwargs["metadata"] = _metadata(image)
    data = image.levels if len(image.levels) > 1 else image.levels[0]
    return data, kwargs, "image"


def label_layer(label: Image, name: str | None = None) -> LayerData:
    """A labels layer with image-label colours and properties, placed to overlay its image."""
    kwargs: dict[str, Any] = {"name": name or label.name, "visible": True}
    kwargs.update(_placement(label, None))
    colors = label.image_label.color_map() if label.image_label else {}
    if colors:
        colormap: dict[Any, Any] = {None: list(UNLISTED_LABEL_RGBA), 0: [0.0, 0.0, 0.0, 0.0]}
        colormap.update({_label_key(v): list(rgba) for v, rgba in colors.items()})
        kwargs["colormap"] = colormap
    props = label.image_label.properties if label.image_label else ()
    if props:
        columns = sorted({k for p in props for k in p.properties})
        kwargs["features"] = {
            "index": [_label_key(p.value) for p in props],
            **{c: [p.properties.get(c) for p in props] for c in columns},
        }
    kwargs["multiscale"] = len(label.levels) > 1
    kwargs["metadata"] = _metadata(label)
    data = label.levels if len(label.levels) > 1 else label.levels[0]
    return data, kwargs, "labels"


def _label_key(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _label_layers(image: Image) -> list[LayerData]:
    try:
        return [label_layer(lab) for lab in image.labels()]
    except LocationError:
        raise  # the network, not the data: never a silently missing layer
    except NGFFError as exc:
        warnings.warn(f"{image.url}: labels not shown: {exc}", NGFFWarning, stacklevel=3)
        return []


def plate_layers(plate: Plate, *, field: int = 0, include_labels: bool = True) -> list[LayerData]:
    """The plate as one stitched, multiscale image layer: field ``field`` of every well in its place."""
    first = plate.first_image(field)
    if first is None:
        raise NotFound("no well of this plate has a readable field", where=plate.url)
    count = plate.level_count(field)
    data = [plate.grid(level, field) for level in range(count)]
    axis = _split_axis(first)
    kwargs = _channel_kwargs(first.channels, axis, plate.name)
    kwargs.update(_placement(first, axis))
    kwargs.pop("affine", None)
    kwargs["multiscale"] = count > 1
    kwargs["metadata"] = _metadata(
        plate,
        plate={
            "rows": list(plate.rows),
            "columns": list(plate.columns),
            "wells": list(plate.well_paths),
            "tile_shape": list(plate.tile_shape(0, field)),
            "field": field,
        },
    )
    out: list[LayerData] = [(data if count > 1 else data[0], kwargs, "image")]
    if include_labels:
        out += _plate_label_layers(plate, field)
    return out


def _plate_label_layers(plate: Plate, field: int) -> list[LayerData]:
    out: list[LayerData] = []
    for name in plate.label_names(field):
        labels = plate.label_fields(name, field)
        first = next((lab for lab in labels.values() if lab is not None), None)
        if first is None:
            continue
        count = min(len(lab.levels) for lab in labels.values() if lab is not None)
        data, kwargs, kind = label_layer(first, name=name)
        merged: dict[Any, Any] = dict(kwargs.get("colormap") or {None: list(UNLISTED_LABEL_RGBA), 0: [0.0] * 4})
        for lab in labels.values():  # each well may number its labels differently
            if lab is not None and lab.image_label is not None:
                merged.update({_label_key(v): list(c) for v, c in lab.image_label.color_map().items()})
        if len(merged) > 2:
            kwargs["colormap"] = merged
        data = [plate.label_grid(name, level, field) for level in range(count)]
        kwargs["multiscale"] = count > 1
        kwargs["metadata"] = _metadata(plate, label=name)
        out.append((data if count > 1 else data[0], kwargs, kind))
    return out


def well_layers(well: Well) -> list[LayerData]:
    first = next((img for img in well.fields() if img is not None), None)
    if first is None:
        raise NGFFError("no field of this well is readable", where=well.url)
    count = min(len(img.levels) for img in well.fields() if img is not None)
    data = [well.mosaic(level) for level in range(count)]
    axis = _split_axis(first)
    kwargs = _channel_kwargs(first.channels, axis, "well " + "/".join(well.url.rstrip("/").split("/")[-2:]))
    kwargs.update(_placement(first, axis))
    kwargs.pop("affine", None)
    kwargs["multiscale"] = count > 1
    kwargs["metadata"] = _metadata(well, fields=list(well.field_paths))
    return [(data if count > 1 else data[0], kwargs, "image")]


def scene_layers(scene: Scene) -> list[LayerData]:
    """Every image the scene places, each moved by the scene's (linear) transformation for it."""
    out: list[LayerData] = []
    for image in scene.images():
        data, kwargs, kind = image_layer(image)
        for t in scene.transformations:
            path = getattr(t.input, "path", None)
            matrix = t.matrix(image.ndim) if path and image.url.endswith("/" + path) else None
            if matrix is not None:
                base = image.transform(0)
                full = matrix @ base if base is not None else matrix
                keep = [i for i in range(image.ndim) if i != image.channel_axis] + [image.ndim]
                kwargs.pop("scale", None)
                kwargs.pop("translate", None)
                kwargs["affine"] = full[np.ix_(keep, keep)].tolist()
                break
        out.append((data, kwargs, kind))
    return out
