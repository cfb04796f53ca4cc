"""Reader nodes as napari layer data ``(data, kwargs, layer_type)``, without importing napari.

The kwargs use only plain values napari accepts: hex strings for channel colormaps (napari builds a
black-to-colour ramp), a ``{label: RGBA}`` dict for label colours, per-channel lists with ``channel_axis``.
Everything physical is set: ``scale``, ``translate`` (or ``affine`` when a 0.6rc0 transformation needs it),
``axis_labels`` and ``units``, so images and their labels overlay exactly.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import dask.array as da
import numpy as np

from ngffkit.errors import LocationError, NGFFError, NGFFWarning, NotFound, redact_url
from ngffkit.layer_data.identity import source_key
from ngffkit.metadata.text import printable
from ngffkit.reader import Collection, Image, Labels, Node, Plate, Scene, Well, plate_map
from ngffkit.reader.image import ChannelInfo
from ngffkit.store import limits

LayerData = tuple[Any, dict[str, Any], str]
#: Colour of label values that image-label metadata gives no colour to (background 0 stays transparent).
UNLISTED_LABEL_RGBA = (0.6, 0.6, 0.6, 1.0)
#: How an RGB(A) picture is written (ngffkit's napari writer does so): 8-bit channels named red, green, blue (and
#: alpha), coloured so, each over its full range. Such an image is shown as one RGB layer, as it was saved.
RGB_NAMES = ("red", "green", "blue", "alpha")
RGB_COLORS = ("FF0000", "00FF00", "0000FF", "FFFFFF")


def layers(node: Node, *, include_labels: bool = True) -> list[LayerData]:
    """The napari layers that show ``node``: images split by channel, then their labels.

    :param node: an opened node (:func:`ngffkit.open`): an image, label image, labels group, plate, well,
        collection or scene.
    :param include_labels: also return the label images of images (and of a plate's or collection's fields);
        True by default.
    :returns: napari layer data tuples ``(data, kwargs, layer_type)``; ``data`` is lazy (dask arrays), a list of
        levels when there are several (``kwargs["multiscale"]`` says so).
    :raises NGFFError: for a node napari cannot show.
    """
    if isinstance(node, Image):
        if node.is_label:
            return [label_layer(node)]
        image = image_layer(node)
        out = [image]
        if include_labels:
            out += _label_layers(node, image[1])
        return out
    if isinstance(node, Plate):
        return plate_layers(node, include_labels=include_labels)
    if isinstance(node, Well):
        return well_layers(node)
    if isinstance(node, Labels):
        return [label_layer(img) for img in node.images()]
    if isinstance(node, Collection | Scene):  # several images: ngffkit.layer_data.series lays them out
        from ngffkit.layer_data.series import collection_layers, scene_layers

        return (
            collection_layers(node, include_labels=include_labels)
            if isinstance(node, Collection)
            else scene_layers(node)
        )
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
        # An array, not a list: napari splits a channel axis into layers and takes a list's rows as one value
        # per channel (its split_channels repeats only an ndarray), which broke every affine image with channels.
        kwargs["affine"] = matrix[np.ix_(keep, keep)]
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
    """A layer's metadata. napari shows it to the person (its console, layer metadata views) and other plugins may
    save it, so the URL in it is redacted (:func:`~ngffkit.errors.redact_url`: no password, no signature); what
    identifies the node for matching is :func:`~ngffkit.layer_data.identity.source_key`."""
    return {
        "ngff_url": redact_url(node.url), "ngff_source": source_key(node.url), "ngff_version": node.version,
        "ngff": node.metadata.to_attributes(), **extra,
    }  # fmt: skip


def _split_axis(image: Image) -> int | None:
    """The axis napari splits into one layer per channel -- None without a channel axis, or with more channels
    than ``max_channel_layers`` (then they stay one layer with a channel slider: 10 000 layers would freeze napari).
    """
    axis = image.channel_axis
    if axis is None or not image.shapes:
        return axis
    count, limit = image.shapes[0][axis], image.location.limits.max_channel_layers
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
    """Names (printable: :mod:`ngffkit.metadata.text`), colours, contrast and visibility of an image's layers.
    Split channels get napari's own blending for channels (the first drawn over what is below, the others
    added), as ``viewer.add_image(channel_axis=...)`` gives them."""
    name = printable(name)
    if axis is None and len(channels) > 1 and not _alike(channels):  # channels kept as a dimension of one layer
        return {"name": name, "colormap": "gray", "contrast_limits": None, "visible": True}
    if axis is None:  # one channel, or channels shown alike: as they are all shown
        ch = channels[0]
        return {
            "name": name,
            "colormap": "gray" if ch.color == "FFFFFF" else f"#{ch.color.lower()}",
            "contrast_limits": list(ch.contrast_limits) if ch.contrast_limits else None,
            "visible": ch.visible,
        }
    return {
        "channel_axis": axis,
        "name": [printable(c.name) for c in channels],
        "colormap": [f"#{c.color.lower()}" for c in channels],
        "contrast_limits": [list(c.contrast_limits) if c.contrast_limits else None for c in channels],
        "visible": [c.visible for c in channels],
    }


def _alike(channels: list[ChannelInfo]) -> bool:
    """Whether every channel is shown the same: one colour, one window, one visibility."""
    first = channels[0]
    return all((c.color, c.contrast_limits, c.visible) == (first.color, first.contrast_limits, first.visible)
               for c in channels)  # fmt: skip


def is_one_layer(image: Image) -> bool:
    """Whether ``image`` holds one napari layer with a channel axis as ngffkit's napari writer writes one: its
    channels named after the image -- ``"cells 0"``, ``"cells 1"``, ... -- and shown alike (one colour, window
    and visibility: the layer's). napari showed that layer as one, with a channel slider (its person split
    nothing), and it is shown so again: split, it came back as white channels added over each other."""
    axis = image.channel_axis
    channels = image.channels
    if axis is None or len(channels) < 2:
        return False
    named = [c.name for c in channels] == [f"{image.name} {i}" for i in range(len(channels))]
    return named and _alike(channels)


def is_rgb(image: Image) -> bool:
    """Whether ``image`` holds an RGB(A) picture as ngffkit writes one (see :data:`RGB_COLORS`)."""
    axis = image.channel_axis
    if axis is None or not image.shapes or image.shapes[0][axis] not in (3, 4) or image.dtype != np.uint8:
        return False
    channels = image.channels
    full_range = all(c.contrast_limits in (None, (0.0, 255.0)) for c in channels)
    named = tuple(c.name.lower() for c in channels) == RGB_NAMES[: len(channels)]
    return full_range and named and tuple(c.color for c in channels) == RGB_COLORS[: len(channels)]


def rgb_layer(image: Image) -> LayerData:
    """An RGB(A) image as one napari RGB layer: the channel axis moved last."""
    axis = image.channel_axis
    assert axis is not None
    levels = [da.moveaxis(level, axis, -1) for level in image.levels]
    kwargs: dict[str, Any] = {"name": printable(image.name), "rgb": True, "visible": image.channels[0].visible}
    kwargs.update(_placement(image, axis))
    kwargs["multiscale"] = len(levels) > 1
    kwargs["metadata"] = _metadata(image)
    return (levels if len(levels) > 1 else levels[0]), kwargs, "image"


def image_layer(image: Image) -> LayerData:
    """One image layer (split into channels by napari through ``channel_axis``, unless it was saved from one layer
    with a channel axis: :func:`is_one_layer`), or an RGB layer."""
    if is_rgb(image):
        return rgb_layer(image)
    axis = None if is_one_layer(image) else _split_axis(image)
    kwargs = _channel_kwargs(image.channels, axis, image.name)
    kwargs.update(_placement(image, axis))
    kwargs["multiscale"] = len(image.levels) > 1
    kwargs["metadata"] = _metadata(image)
    data = image.levels if len(image.levels) > 1 else image.levels[0]
    return data, kwargs, "image"


def label_layer(label: Image, name: str | None = None, *, drop_channel: bool = False) -> LayerData:
    """A labels layer with image-label colours and properties, placed to overlay its image.

    ``drop_channel``: the image's channels became separate layers, so a singleton channel axis of the labels
    (ome-zarr-py writes 5D labels with ``c`` of size 1) is dropped too -- else napari shows a ``c`` slider that
    moves only the labels. The layer's metadata names the dropped axis."""
    axis = label.channel_axis
    drop = drop_channel and axis is not None and bool(label.shapes) and label.shapes[0][axis] == 1
    levels = (
        [level[(slice(None),) * axis + (0,)] for level in label.levels] if drop and axis is not None else label.levels
    )
    kwargs: dict[str, Any] = {"name": printable(name or label.name), "visible": True}
    kwargs.update(_placement(label, axis if drop else None))
    colors = label.image_label.color_map() if label.image_label else {}
    props = label.image_label.properties if label.image_label else ()
    if colors:
        kwargs["colormap"] = label_colormap(colors, props)
    if props:
        columns = sorted({k for p in props for k in p.properties})
        kwargs["features"] = {
            "index": [_label_key(p.value) for p in props],
            **{c: [p.properties.get(c) for p in props] for c in columns},
        }
    kwargs["multiscale"] = len(levels) > 1
    kwargs["metadata"] = _metadata(label, ngff_label=label.location.url.rstrip("/").rsplit("/", 1)[-1])
    if drop and axis is not None:
        kwargs["metadata"]["ngff_dropped_axes"] = [label.axis_names[axis]]
    return (levels if len(levels) > 1 else levels[0]), kwargs, "labels"


def label_colormap(colors: dict[Any, Any], properties: Sequence[Any] = ()) -> dict[Any, Any]:
    """``{label value: RGBA}`` for napari from image-label colours. Label 0 is background, as napari has it:
    transparent whatever colour the file gives it (ome-zarr-py writes an opaque one, which laid a 70% tint over
    the whole picture) -- unless the properties say what label 0 is, which makes it an object like any other.
    Values without a colour get :data:`UNLISTED_LABEL_RGBA` (napari shows its own colours for them: ngffkit.napari)."""
    colormap: dict[Any, Any] = {None: list(UNLISTED_LABEL_RGBA), 0: list(TRANSPARENT)}
    colormap.update({_label_key(v): list(rgba) for v, rgba in colors.items()})
    if not any(float(p.value) == 0 and p.properties for p in properties):
        colormap[0] = list(TRANSPARENT)
    return colormap


def _label_key(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _label_layers(image: Image, shown: dict[str, Any]) -> list[LayerData]:
    """The image's labels, fitted to how the image is ``shown`` (its layer kwargs): a label named like an image
    layer gets " (labels)" added (napari would make it "coins [1]"), and labels lose a singleton channel axis when
    the image's channels were split."""
    names = shown["name"] if isinstance(shown["name"], list) else [shown["name"]]
    split = shown.get("channel_axis") is not None or bool(shown.get("rgb"))
    try:
        return [
            label_layer(lab, f"{lab.name} (labels)" if printable(lab.name) in names else None, drop_channel=split)
            for lab in image.labels()
        ]
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
            "channel_axis": axis,
        },
        # the opened plate itself, so that a plate navigator browses it without reading its metadata again
        ngff_node=plate,
    )
    out: list[LayerData] = [(data if count > 1 else data[0], kwargs, "image")]
    if include_labels:
        out += _plate_label_layers(plate, field)
    out.append(well_names_layer(plate, data[0].shape, kwargs))
    return out


#: How the wells look: outlines half-transparent white, empty positions filled grey so that they read as empty.
WELL_EDGE = (1.0, 1.0, 1.0, 0.6)
EMPTY_FACE = (0.35, 0.35, 0.35, 0.45)
TRANSPARENT = (0.0, 0.0, 0.0, 0.0)

#: Plates with at most this many positions get a named rectangle per well; larger ones one path for the whole
#: grid and their rows' and columns' names around it. napari lays a shapes layer out shape by shape on its own
#: thread, on opening and again at every zoom step: 1536 named rectangles froze the window for 1.6 s on opening
#: and 550-650 ms at each turn of the mouse wheel; the grid and 80 names of the same plate take 0.13 s and
#: 33-39 ms (the image alone: 30 ms).
NAMED_WELLS = 96


def well_names_layer(plate: Plate, grid_shape: Sequence[int], image_kwargs: dict[str, Any]) -> LayerData:
    """A shapes layer over the stitched plate: its wells outlined and named (text stays the same size on screen
    at every zoom), empty positions filled grey -- see :data:`NAMED_WELLS` for how large plates differ. Placed
    with the plate image's own y/x scale and translation, so that outlines and wells coincide."""
    rows = plate_map.well_table(plate, every_position=True, read_wells=False)
    cells = plate_map.grid_cells(plate, grid_shape)
    if len(rows) <= NAMED_WELLS:
        data = [np.asarray(cells[(r.row_index, r.column_index)].corners()) for r in rows]
        kinds, names = ["rectangle"] * len(rows), [printable(r.path) for r in rows]
        edges = [WELL_EDGE if r.present else EMPTY_FACE for r in rows]
        faces = [TRANSPARENT if r.present else EMPTY_FACE for r in rows]
        anchor = "upper_left"
    else:
        grid = grid_path(grid_shape[-2], grid_shape[-1], max(1, len(plate.rows)), max(1, len(plate.columns)))
        headers, header_names = _header_boxes(plate, cells[(0, 0)])
        empty = [np.asarray(cells[(r.row_index, r.column_index)].corners()) for r in rows if not r.present]
        data = [grid, *headers, *empty]
        kinds = ["path"] + ["rectangle"] * (len(headers) + len(empty))
        names = ["", *header_names] + [""] * len(empty)
        edges = [WELL_EDGE] + [TRANSPARENT] * len(headers) + [EMPTY_FACE] * len(empty)
        faces = [TRANSPARENT] * (1 + len(headers)) + [EMPTY_FACE] * len(empty)
        anchor = "center"
    kwargs: dict[str, Any] = {
        "name": printable(f"{plate.name} wells"),
        "shape_type": kinds,
        "edge_color": edges,
        "face_color": faces,
        "edge_width": max(1.0, min(c.width for c in cells.values()) / 100),
        "features": {"name": names},
        "text": {"string": "{name}", "anchor": anchor, "size": 10, "color": "white"},
        "scale": list(image_kwargs.get("scale") or [1.0, 1.0])[-2:],
        "translate": list(image_kwargs.get("translate") or [0.0, 0.0])[-2:],
        "metadata": _metadata(plate, plate_wells=True),
        **{key: list(image_kwargs[key])[-2:] for key in ("units", "axis_labels") if image_kwargs.get(key)},
    }
    return (data, kwargs, "shapes")


def _header_boxes(plate: Plate, cell: plate_map.Cell) -> tuple[list[np.ndarray], list[str]]:
    """Invisible boxes that carry the rows' names half a cell left of the grid and the columns' half a cell
    above it (a shapes layer's text sits on its shapes)."""
    centres = [(cell.y + (i + 0.5) * cell.height, -cell.width / 2) for i in range(len(plate.rows))]
    centres += [(-cell.height / 2, cell.x + (j + 0.5) * cell.width) for j in range(len(plate.columns))]
    half = min(cell.height, cell.width) / 8
    boxes = [np.array([[y - half, x - half], [y + half, x + half]]) for y, x in centres]
    return boxes, [*plate.rows, *plate.columns]


def grid_path(height: float, width: float, rows: int, columns: int) -> np.ndarray:
    """Every line of a ``rows`` x ``columns`` grid over ``height`` x ``width`` as one path: the row lines drawn
    alternately left to right and right to left, then the column lines up and down from the corner the rows
    ended in, so that every step from one line to the next runs along the border (itself a line of the grid)."""
    path: list[tuple[float, float]] = []
    for i, y in enumerate(np.linspace(0.0, height, rows + 1)):
        path += [(y, 0.0), (y, width)] if i % 2 == 0 else [(y, width), (y, 0.0)]
    xs = np.linspace(0.0, width, columns + 1)
    for j, x in enumerate(xs if path[-1][1] == 0.0 else xs[::-1]):
        path += [(height, x), (0.0, x)] if j % 2 == 0 else [(0.0, x), (height, x)]
    return np.array(path)


def _plate_label_layers(plate: Plate, field: int) -> list[LayerData]:
    out: list[LayerData] = []
    for name in plate.label_names(field):
        first = plate.first_label(name, field)
        if first is None:
            continue
        count = len(first.levels)
        data, kwargs, kind = label_layer(first, name=name)
        # Each well may number and colour its labels differently: the colours every well declares once every
        # well's label image has been read (Plate.label_fields); before that, the first well's (as napari-ome-zarr
        # shows them). napari's reader gives the values no colour is declared for napari's own, not a grey.
        if plate.labels_read(name, field):
            merged: dict[Any, Any] = {}
            described: list[Any] = []
            for lab in plate.opened_labels(name, field):
                if lab.image_label is not None:
                    merged.update(lab.image_label.color_map())
                    described += lab.image_label.properties
            if merged:
                kwargs["colormap"] = label_colormap(merged, described)
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
    return [(data if count > 1 else data[0], kwargs, "image"), *_well_label_layers(well, first, kwargs)]


def _well_label_layers(well: Well, first: Image, shown: dict[str, Any]) -> list[LayerData]:
    """The label images of the well's fields, tiled as its image is, placed like it (see :func:`label_layer`)."""
    out: list[LayerData] = []
    for name in first.label_names:
        found = well.label_levels(name)
        if found is None:
            continue
        template, data = found
        _, kwargs, kind = label_layer(template, drop_channel=shown.get("channel_axis") is not None)
        if "ngff_dropped_axes" in kwargs["metadata"]:
            data = [level[(slice(None),) * (template.channel_axis or 0) + (0,)] for level in data]
        kwargs.pop("affine", None)
        kwargs.update({key: shown[key] for key in ("scale", "translate") if key in shown}, multiscale=len(data) > 1)
        kwargs["metadata"] = _metadata(well, label=name)
        out.append((data if len(data) > 1 else data[0], kwargs, kind))
    return out
