"""Layers of several images at once: a bioformats2raw container's series, a 0.6rc0 scene's images.

Series are named as the container's OME-XML names them (:meth:`ngffkit.reader.Collection.series_names`) and laid
out side by side (:mod:`ngffkit.layers.arrange`), so that each can be seen.
"""

from __future__ import annotations

import warnings

import numpy as np

from ngffkit.errors import NGFFError, NGFFWarning
from ngffkit.layers import LayerData, arrange, image_layer, layers
from ngffkit.metadata.text import printable
from ngffkit.reader import Collection, Scene


def collection_layers(collection: Collection, *, include_labels: bool = True) -> list[LayerData]:
    """Every series of a bioformats2raw container, named as its OME-XML names it and laid out side by side
    (:mod:`ngffkit.layers.arrange`); names that cannot be read are one warning, and the series are shown."""
    images = collection.images()
    try:
        names: list[str | None] = collection.series_names()
    except NGFFError as exc:
        warnings.warn(f"series names not read: {exc}", NGFFWarning, stacklevel=3)
        names = [None] * len(images)
    groups = [[_in_series(layer, name) for layer in layers(image, include_labels=include_labels)]
              for image, name in zip(images, names, strict=True)]  # fmt: skip
    boxes = [arrange.box_of(image.shapes[0], group[0][1]) for image, group in zip(images, groups, strict=True)]
    return [(data, arrange.moved(kwargs, offset, shown), kind)
            for group, (offset, shown) in zip(groups, arrange.arrange(boxes), strict=True)
            for data, kwargs, kind in group]  # fmt: skip


def _in_series(layer: LayerData, series: str | None) -> LayerData:
    """A layer named after its series: the series' name for an image's one layer, "series · name" otherwise."""
    data, kwargs, kind = layer
    if series is None:
        return layer
    name, series = kwargs.get("name"), printable(series)
    single = kind == "image" and not isinstance(name, list)
    named = [f"{series} · {n}" for n in name] if isinstance(name, list) else series if single else f"{series} · {name}"
    return data, {**kwargs, "name": named}, kind


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
                kwargs["affine"] = full[np.ix_(keep, keep)]  # an array: see layers/__init__.py, _placement
                break
        out.append((data, kwargs, kind))
    return out
