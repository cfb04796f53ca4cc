"""Layers of several images at once: a bioformats2raw container's series, a 0.6rc0 scene's images.

Both are a group of images shown together, and both can be laid out again after they opened -- in napari, from one
dock (Plugins > ngffkit OME-Zarr > Coordinate systems): a scene's images placed in the coordinate system a person
chooses (:func:`scene_layers`, :func:`placement`), a container's series side by side or one at a time
(:func:`collection_layers`, :func:`arrange_series`). Each layer's metadata says which group it belongs to
(:data:`GROUP`): the container or scene, the member, and -- for series -- the member's box and the layer's own
placement before it was moved (its "home"), so that it can be moved again by the same code that placed it first.

Series are named as the container's OME-XML names them (:meth:`ngffkit.reader.Collection.series_names`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ngffkit.errors import NGFFError, NGFFWarning
from ngffkit.layer_data import LayerData, arrange, image_layer, layers
from ngffkit.metadata.coordinate_systems import NoRoute, SystemGraph
from ngffkit.metadata.text import printable
from ngffkit.reader import Collection, Scene

#: Layer metadata key: the group of images a layer belongs to -- ``{"url", "kind": "series" | "scene", "member"}``,
#: and for series the member's ``box`` (top, left, height, width) and the layer's ``home`` placement.
GROUP = "ngff_group"
#: The ways series can be laid out (:mod:`ngffkit.layer_data.arrange`); the first is how they open.
SERIES_MODES: tuple[arrange.Mode, ...] = ("side by side", "one at a time")


def collection_layers(collection: Collection, *, include_labels: bool = True) -> list[LayerData]:
    """Every series of a bioformats2raw container, named as its OME-XML names it and laid out side by side
    (:func:`arrange_series`); names that cannot be read are one warning, and the series are shown."""
    images = collection.images()
    try:
        names: list[str | None] = collection.series_names()
    except NGFFError as exc:
        warnings.warn(f"series names not read: {exc}", NGFFWarning, stacklevel=3)
        names = [None] * len(images)
    groups = [[_in_series(layer, name) for layer in layers(image, include_labels=include_labels)]
              for image, name in zip(images, names, strict=True)]  # fmt: skip
    boxes = [arrange.box_of(image.shapes[0], group[0][1]) for image, group in zip(images, groups, strict=True)]
    homes = [[home(kwargs) for _, kwargs, _ in group] for group in groups]
    placed = arrange_series(boxes, homes, SERIES_MODES[0])
    out: list[LayerData] = []
    for member, (group, box) in enumerate(zip(groups, boxes, strict=True)):
        for (data, kwargs, kind), own_home, where in zip(group, homes[member], placed[member], strict=True):
            stamp = {"url": collection.url, "kind": "series", "member": member,
                     "box": [box.top, box.left, box.height, box.width], "home": own_home}  # fmt: skip
            metadata = {**kwargs.get("metadata", {}), GROUP: stamp}
            out.append((data, {**kwargs, **where, "metadata": metadata}, kind))
    return out


def home(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A layer's own placement (``affine``, or ``scale`` and ``translate``) as plain lists, kept in its metadata."""
    if "affine" in kwargs:
        return {"affine": np.asarray(kwargs["affine"], dtype=float).tolist()}
    return {key: list(kwargs[key]) for key in ("scale", "translate") if kwargs.get(key) is not None}


def arrange_series(
    boxes: Sequence[arrange.Box], homes: Sequence[Sequence[dict[str, Any]]], mode: arrange.Mode
) -> list[list[dict[str, Any]]]:
    """Where each layer of each series goes in ``mode``: its placement moved from its ``home`` (its series' box
    beside the others, or in place), with ``"visible": False`` when it is hidden (a shown layer keeps its own
    visibility: a channel ``omero`` turns off stays off). One function for the first layout and every later one
    (napari's dock), so that they cannot disagree."""
    return [
        [arrange.moved(dict(own_home), offset, shown) for own_home in member]
        for (offset, shown), member in zip(arrange.arrange(boxes, mode), homes, strict=True)
    ]


def _in_series(layer: LayerData, series: str | None) -> LayerData:
    """A layer named after its series: the series' name for an image's one layer, "series · name" otherwise."""
    data, kwargs, kind = layer
    if series is None:
        return layer
    name, series = kwargs.get("name"), printable(series)
    single = kind == "image" and not isinstance(name, list)
    named = [f"{series} · {n}" for n in name] if isinstance(name, list) else series if single else f"{series} · {name}"
    return data, {**kwargs, "name": named}, kind


def scene_system(scene: Scene) -> str | None:
    """The coordinate system a scene is shown in unless a person chooses another: the first the scene names in
    ``coordinateSystems``, else the output of its first transformation."""
    if scene.metadata.scene and scene.metadata.scene.coordinate_systems:
        return scene.metadata.scene.coordinate_systems[0].name
    graph = scene.system_graph(members=False)
    targets = [e.target for e in graph.edges]
    return str(targets[0]) if targets else None


def scene_layers(scene: Scene, system: str | None = None) -> list[LayerData]:
    """Every image of the scene placed in one coordinate system, ``system`` (default :func:`scene_system`).

    A linear chain of transformations from an image's level 0 into the system becomes the layer's ``scale`` and
    ``translate`` when it is only those (so napari's multiscale works as for any image), else its ``affine``. An
    image whose chain is not linear (a displacement field) is shown unwarped, where its own metadata places it,
    and one warning (a notification in napari) names every such image. Each layer's metadata says which scene
    and member it shows (``ngff_scene``, ``ngff_scene_source``), so that it can be placed again in another system.
    """
    images = scene.images()
    graph = scene.system_graph()
    target = system if system is not None and graph.find(system) is not None else scene_system(scene)
    out: list[LayerData] = []
    unwarped: list[str] = []
    for path, image in zip(scene.member_paths, images, strict=True):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", NGFFWarning)
            data, kwargs, kind = image_layer(image)
        source = f"{path}/{image.level_paths[0]}"
        placed = placement(graph, source, target, image.channel_axis)
        if placed is None:
            unwarped.append(path)
        else:
            kwargs = {k: v for k, v in kwargs.items() if k not in ("scale", "translate", "affine")} | placed
        for said in caught:  # the image's own "not linear" warning is said once, below, for the whole scene
            if placed is None or "not linear" not in str(said.message):
                warnings.warn_explicit(said.message, said.category, said.filename, said.lineno)
        kwargs["metadata"] = {**kwargs.get("metadata", {}), "ngff_scene": scene.url, "ngff_scene_source": source,
                              "ngff_channel_axis": image.channel_axis,
                              GROUP: {"url": scene.url, "kind": "scene", "member": path}}  # fmt: skip
        out.append((data, kwargs, kind))
    if unwarped and target is not None:
        warn_unwarped(scene.url, unwarped, target)
    return out


def warn_unwarped(url: str, members: list[str], system: str) -> None:
    """The one warning (napari: notification) for a scene's images that cannot be placed in ``system``."""
    warnings.warn(f"{url}: shown unwarped, where their own metadata places them: {', '.join(members)} "
                  f"(their transformations into {system!r} are not linear or have no inverse, which napari cannot draw)",
                  NGFFWarning, stacklevel=3)  # fmt: skip


def placement(graph: SystemGraph, source: str, target: str | None, channel_axis: int | None) -> dict[str, Any] | None:
    """napari's ``scale``/``translate`` (a diagonal placement) or ``affine`` for a layer whose level 0 is the system
    ``source``, shown in ``target``; None when the chain between them is not linear (or there is none).

    napari splits the channel axis into layers, so the placement is the matrix without it: its row and column when
    ``target`` keeps the channel (as many axes as ``source``), its column alone when ``target`` has only the other
    axes (a (c, y, x) image in a (y, x) world) -- where the channel must not move anything."""
    start = graph.find(source)
    end = graph.find(target) if target is not None else None
    ndim = graph.systems.get(start) if start is not None else None
    if start is None or end is None or ndim is None:
        return None
    try:
        matrix = graph.linear_matrix(start, end, ndim)
    except NoRoute:
        return None
    if matrix is None or matrix.shape[1] != ndim + 1:
        return None
    columns = [i for i in range(ndim) if i != channel_axis] + [ndim]
    if matrix.shape[0] == ndim + 1:
        rows = columns
    elif channel_axis is not None and matrix.shape[0] == ndim and np.allclose(matrix[:, channel_axis], 0):
        rows = list(range(ndim))  # the target has no channel axis, and the channel moves nothing
    else:
        return None
    placed = matrix[np.ix_(rows, columns)]
    linear = placed[:-1, :-1]
    if np.allclose(linear, np.diag(np.diag(linear))):
        return {"scale": np.diag(linear).tolist(), "translate": placed[:-1, -1].tolist()}
    return {"affine": placed}  # an array: a list would be read as one affine per channel (layers/__init__.py)
