"""Writing label images under an image's ``labels`` group, aligned level by level with the image."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ngffkit.errors import InvalidArgument, NGFFError
from ngffkit.formats import DEFAULT_WRITE, Format
from ngffkit.metadata import ImageLabel, LabelColor, LabelProperties, OMEMetadata, parse_attributes
from ngffkit.reader import Image
from ngffkit.reader import open as open_node
from ngffkit.store import places
from ngffkit.store.location import Location
from ngffkit.writer import choices, destination, options
from ngffkit.writer.image import Progress, Target, plan_job, target_format
from ngffkit.writer.sources import as_dask, refuse_overlap, source_places


def _colors(colors: Any) -> tuple[LabelColor, ...]:
    """Label colours from ``{value: rgba}`` or ``[{"label-value": v, "rgba": [...]}]`` (RGBA 0-255 or 0-1)."""
    if colors is None or colors == "auto":
        return ()
    items = colors.items() if isinstance(colors, Mapping) else ((c["label-value"], c.get("rgba")) for c in colors)
    out = []
    for value, given in items:
        rgba = tuple(round(c * 255) if isinstance(c, float) and c <= 1 else int(c) for c in given)
        if len(rgba) == 3:
            rgba = (*rgba, 255)
        if len(rgba) != 4 or not all(0 <= c <= 255 for c in rgba):
            raise InvalidArgument(f"colour of label {value} must be RGBA in 0..255, got {rgba}")
        out.append(LabelColor(value, (rgba[0], rgba[1], rgba[2], rgba[3])))
    return tuple(out)


def _properties(properties: Any) -> tuple[LabelProperties, ...]:
    if properties is None:
        return ()
    if isinstance(properties, Mapping):
        return tuple(LabelProperties(v, dict(p)) for v, p in properties.items())
    return tuple(
        LabelProperties(p["label-value"], {k: x for k, x in p.items() if k != "label-value"}) for p in properties
    )


def _integer_labels(data: Any) -> Any:
    """Label values as integers: booleans become 0/1; anything else that is not an integer is refused."""
    if data.dtype == bool:
        return data.astype(np.uint8)
    if not np.issubdtype(data.dtype, np.integer):
        raise InvalidArgument(f"labels must be integers, not {data.dtype}")
    return data


def _label_axes(image: Image, ndim: int) -> list[int]:
    """Which of the image's axes the labels have: all of them, or all but the channel axis."""
    if ndim == image.ndim:
        return list(range(image.ndim))
    if image.channel_axis is not None and ndim == image.ndim - 1:
        return [i for i in range(image.ndim) if i != image.channel_axis]
    raise InvalidArgument(f"labels have {ndim} dimensions; the image has {image.ndim} ({', '.join(image.axis_names)})")


def write_labels(
    labels: Any,
    image_dest: Target,
    name: str,
    *,
    colors: Mapping[int, Sequence[float]] | Sequence[Mapping[str, Any]] | str | None = None,
    properties: Mapping[int, Mapping[str, Any]] | Sequence[Mapping[str, Any]] | None = None,
    method: str = "mode",
    chunks: Sequence[int] | None = None,
    shards: Sequence[int] | None = None,
    compressor: Any = "zstd",
    storage_options: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    progress: Progress = None,
    compute: bool = True,
) -> Any:
    """Write ``labels`` as ``labels/<name>`` of the image at ``image_dest``, with ``image-label`` metadata.

    The label pyramid follows the image's own levels (same factors, so they overlay in viewers) with a
    label-safe method (mode or nearest: never a value that was not there). ``colors`` maps label values
    to RGBA (0-255), or is "auto" (a fixed palette over the values found at the lowest level);
    ``properties`` maps label values to dicts. Existing entries of the ``labels`` group are kept.
    """
    if method not in choices.LABEL_SAFE_METHODS:
        raise InvalidArgument(
            f"method {method!r} would invent label values; use one of {', '.join(choices.LABEL_SAFE_METHODS)}"
        )
    # The store as given (a MemoryStore, an fsspec store with its settings): labels go exactly there.
    image_location = Location.of(image_dest, storage_options=storage_options, mode="w")
    image = open_node(image_location)
    if not isinstance(image, Image) or image.is_label:
        raise InvalidArgument(f"labels can only be added to an image, not to a {image.kind}")
    data = _integer_labels(as_dask(labels))
    keep = _label_axes(image, data.ndim)
    expected = tuple(image.shapes[0][i] for i in keep)
    if tuple(data.shape) != expected:
        raise InvalidArgument(f"labels have shape {tuple(data.shape)}; the image is {expected} on those axes")
    axes = [image.axes[i] for i in keep]
    factors = [
        {axes[j].name: max(1, round(image.shapes[0][i] / image.shapes[k][i])) for j, i in enumerate(keep)}
        for k in range(1, len(image.shapes))
    ]
    fmt, build_fmt = target_format(image.format)
    location = image_location.child("labels").child(name, key="name")
    job = plan_job(
        data, location, fmt=fmt, build_fmt=build_fmt, axes=axes,
        scale=[image.scale(0)[i] for i in keep], translation=[image.translation(0)[i] for i in keep],
        units=None, levels=None, scale_factors=factors, method=method, chunks=chunks, shards=shards,
        compressor=compressor, name=name,
        image_label=ImageLabel(colors=_colors(colors), properties=_properties(properties), source_image="../../"),
    )  # fmt: skip
    job.auto_label_colors = colors == "auto"
    group = location.parent()
    assert group is not None
    job.after = lambda: register_label(group, name, fmt)
    refuse_overlap(places.of_store(location.store, location.path), source_places(labels), where=location.url)
    with destination.storage_errors(location.url):
        delayed = job.run(destination.take(location, overwrite), progress, compute)
    if delayed is not None:
        return delayed
    return open_node(location)


def register_label(group: Location, name: str, fmt: Format) -> None:
    """Add ``name`` to the ``labels`` group listing, keeping existing entries and foreign keys."""
    node = group.read()
    names: list[str] = []
    meta = OMEMetadata(format=fmt)
    if node.exists:
        try:
            meta = parse_attributes(node.attributes, where=node.document_url, zarr_format=node.zarr_format)
            names = list(meta.labels or ())
        except NGFFError:
            pass
    if name not in names:
        names.append(name)
    out = OMEMetadata(format=fmt, labels=tuple(names), foreign=meta.foreign, extra=meta.extra)
    group.write_group(out.to_attributes(fmt), fmt.zarr_format)


def write_label_image(
    labels: Any,
    dest: Target,
    *,
    axes: options.AxesLike = None,
    scale: float | Sequence[float] | Mapping[str, float] | None = None,
    translation: Sequence[float] | Mapping[str, float] | None = None,
    units: str | Mapping[str, str] | None = None,
    name: str | None = None,
    colors: Mapping[int, Sequence[float]] | Sequence[Mapping[str, Any]] | str | None = "auto",
    properties: Mapping[int, Mapping[str, Any]] | Sequence[Mapping[str, Any]] | None = None,
    levels: int | None = None,
    scale_factors: Any = None,
    method: str = "mode",
    chunks: Sequence[int] | None = None,
    shards: Sequence[int] | None = None,
    compressor: Any = "zstd",
    version: str | Format = DEFAULT_WRITE,
    storage_options: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    progress: Progress = None,
) -> Image:
    """Write a segmentation on its own, as a label image at ``dest`` (``multiscales`` + ``image-label``, no source
    image): it opens as one labels layer, with its colours and properties. Use :func:`write_labels` to add labels
    to an existing image instead."""
    if method not in choices.LABEL_SAFE_METHODS:
        raise InvalidArgument(
            f"method {method!r} would invent label values; use one of {', '.join(choices.LABEL_SAFE_METHODS)}"
        )
    data = _integer_labels(as_dask(labels))
    fmt, build_fmt = target_format(version)
    location = Location.of(dest, storage_options=storage_options, mode="w")
    job = plan_job(
        data, location, fmt=fmt, build_fmt=build_fmt, axes=axes, scale=scale, translation=translation, units=units,
        levels=levels, scale_factors=scale_factors, method=method, chunks=chunks, shards=shards,
        compressor=compressor, name=name,
        image_label=ImageLabel(colors=_colors(colors), properties=_properties(properties), source_image=None),
    )  # fmt: skip
    job.auto_label_colors = colors == "auto"
    refuse_overlap(places.of_store(location.store, location.path), source_places(labels), where=location.url)
    with destination.storage_errors(location.url):
        job.run(destination.take(location, overwrite), progress, compute=True)
    image = open_node(location)
    assert isinstance(image, Image)
    return image
