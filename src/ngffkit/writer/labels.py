"""Writing label images under an image's ``labels`` group, aligned level by level with the image."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Unpack

import dask.array as da
import numpy as np
from dask.delayed import Delayed

from ngffkit.errors import InvalidArgument, NGFFError
from ngffkit.formats import Format
from ngffkit.metadata import ImageLabel, LabelColor, LabelProperties, OMEMetadata, parse_attributes
from ngffkit.reader import Image
from ngffkit.reader import open as open_node
from ngffkit.store.limits import Limits
from ngffkit.store.location import Location
from ngffkit.store.remote import RetryPolicy
from ngffkit.writer.choices import LABEL_SAFE_METHODS
from ngffkit.writer.execute import Progress
from ngffkit.writer.image import Target, write_planned
from ngffkit.writer.plan import plan_image
from ngffkit.writer.settings import Choices, LabelChoices, WriteOptions
from ngffkit.writer.sources import as_dask

Colors = Mapping[int, Sequence[float]] | Sequence[Mapping[str, Any]] | str | None
Properties = Mapping[int, Mapping[str, Any]] | Sequence[Mapping[str, Any]] | None


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
    options: WriteOptions | None = None,
    *,
    colors: Colors = None,
    properties: Properties = None,
    storage_options: Mapping[str, Any] | None = None,
    retry: RetryPolicy | None = None,
    limits: Limits | None = None,
    overwrite: bool = False,
    progress: Progress = None,
    compute: bool = True,
    **choices: Unpack[LabelChoices],
) -> Image | Delayed:
    """Write ``labels`` as ``labels/<name>`` of the image at ``image_dest``, with ``image-label`` metadata.

    The label pyramid follows the image's own levels (same factors, so they overlay in viewers) with a label-safe
    method; the axes, placement and NGFF version are the image's. Existing entries of the ``labels`` group are
    kept.

    :param labels: integer (or boolean) label values: an array with the image's level-0 shape, or without its
        channel axis; or a list of arrays with the shapes of the image's levels, written as they are.
    :param image_dest: the image the labels belong to (a path, URL, zarr store or :class:`~ngffkit.Location`);
        it must exist.
    :param name: the label image's name: it is written at ``labels/<name>`` and listed in the ``labels`` group.
    :param options: the write's choices as one object; of them only ``method``, ``chunks``, ``shards`` and
        ``compressor`` may differ from the defaults (the rest comes from the image).
    :param colors: the colour of each label value: ``{value: rgba}`` or ``[{"label-value": value, "rgba": rgba}]``,
        RGBA (or RGB) in 0..255 or as floats in 0..1; ``"auto"``: a fixed palette over the values found at the
        lowest level; None: no colours.
    :param properties: what is known about each label value: ``{value: {"class": ...}}`` or
        ``[{"label-value": value, ...}]``; None: no properties.
    :param storage_options: options for the fsspec filesystem of a URL destination, as for
        :func:`ngffkit.write_image`.
    :param retry: attempts and timeouts of the destination store's requests, as for :func:`ngffkit.open` (a
        remote store's writes are retried too); None: :meth:`RetryPolicy.from_environment`.
    :param limits: bounds on what the data may ask, as for :func:`ngffkit.open`; None:
        :meth:`Limits.from_environment`.
    :param overwrite: replace a label image already at ``labels/<name>`` (only zarr data; see
        :func:`ngffkit.write_image`). False (the default): refuse with :class:`~ngffkit.AlreadyExists`.
    :param progress: True: a progress bar on stderr; a callable ``progress(done, total)``, which may stop the
        write by raising :class:`~ngffkit.WriteCancelled`; None or False: silent.
    :param compute: True (the default): write now. False: return a dask ``Delayed`` that performs the write.
    :param choices: ``method`` (None: ``"mode"``; or ``"nearest"``, ``"max"``, ``"min"``: never a value that was
        not there), ``chunks``, ``shards`` and ``compressor`` (``"auto"``, the default, is zstd for labels), as
        described on :class:`~ngffkit.WriteOptions`.
    :returns: the written label image; with ``compute=False``, a dask ``Delayed``.
    :raises InvalidArgument: when ``image_dest`` is no image, the labels do not fit it, or a choice is one the
        image decides.
    """
    settings = WriteOptions.of(options, **choices)
    defaults = WriteOptions().choices()
    taken_from_image = sorted(k for k, v in settings.choices().items() if k in _FROM_THE_IMAGE and v != defaults[k])
    if taken_from_image:
        raise InvalidArgument(f"labels take {', '.join(taken_from_image)} from their image; leave them out")
    # The store as given (a MemoryStore, an fsspec store with its settings): labels go exactly there.
    image_location = Location.of(image_dest, storage_options=storage_options, mode="w", retry=retry, limits=limits)
    image = open_node(image_location)
    if not isinstance(image, Image) or image.is_label:
        raise InvalidArgument(f"labels can only be added to an image, not to a {image.kind}")
    given = [_integer_labels(as_dask(level)) for level in labels] if isinstance(labels, list | tuple) else None
    data = given[0] if given else _integer_labels(as_dask(labels))
    keep = _label_axes(image, data.ndim)
    expected = tuple(image.shapes[0][i] for i in keep)
    if tuple(data.shape) != expected:
        raise InvalidArgument(f"labels have shape {tuple(data.shape)}; the image is {expected} on those axes")
    axes = [image.axes[i] for i in keep]
    settings = settings.with_choices(axes=axes, scale=[image.scale(0)[i] for i in keep],
                                     translation=[image.translation(0)[i] for i in keep], name=name,
                                     version=image.format)  # fmt: skip
    shapes = [tuple(shape[i] for i in keep) for shape in image.shapes]
    levels, settings = _label_pyramid(image, keep, data, given, settings)
    location = image_location.child("labels").child(name, key="name")
    label = ImageLabel(colors=_colors(colors), properties=_properties(properties), source_image="../../")
    plan = replace(plan_image(levels, location, settings, image_label=label), auto_label_colors=colors == "auto")
    if [tuple(level.shape) for level in plan.levels] != shapes:
        raise InvalidArgument(f"label levels {[tuple(lv.shape) for lv in plan.levels]} do not match the image's "
                              f"levels {shapes}")  # fmt: skip
    group = location.parent()
    assert group is not None
    return write_planned(plan, labels, overwrite=overwrite, progress=progress, compute=compute,
                         after=lambda: register_label(group, name, plan.fmt))  # fmt: skip


#: What a label image takes from its image, so a caller may not choose it.
_FROM_THE_IMAGE = frozenset({"axes", "scale", "translation", "units", "channels", "name", "version", "levels",
                             "scale_factors", "level_transforms"})  # fmt: skip


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
    options: WriteOptions | None = None,
    *,
    colors: Colors = "auto",
    properties: Properties = None,
    storage_options: Mapping[str, Any] | None = None,
    retry: RetryPolicy | None = None,
    limits: Limits | None = None,
    overwrite: bool = False,
    progress: Progress = None,
    **choices: Unpack[Choices],
) -> Image:
    """Write a segmentation on its own, as a label image at ``dest`` (``multiscales`` + ``image-label``, no source
    image): it opens as one labels layer, with its colours and properties. Use :func:`write_labels` to add labels
    to an existing image instead.

    :param labels: integer (or boolean) label values: an array, or a list of arrays (level 0 first) written as
        they are.
    :param dest: where to write: a local path, a URL, a zarr store or a :class:`~ngffkit.Location`.
    :param options: the write's choices as one object; keywords given beside it win. None: the defaults.
    :param colors: the colour of each label value: ``{value: rgba}`` or ``[{"label-value": value, "rgba": rgba}]``,
        RGBA (or RGB) in 0..255 or as floats in 0..1; ``"auto"`` (the default): a fixed palette over the values found at the
        lowest level; None: no colours.
    :param properties: what is known about each label value: ``{value: {"class": ...}}`` or
        ``[{"label-value": value, ...}]``; None: no properties.
    :param storage_options: options for the fsspec filesystem of a URL destination, as for
        :func:`ngffkit.write_image`.
    :param retry: attempts and timeouts of the destination store's requests, as for :func:`ngffkit.open` (a
        remote store's writes are retried too); None: :meth:`RetryPolicy.from_environment`.
    :param limits: bounds on what the data may ask, as for :func:`ngffkit.open`; None:
        :meth:`Limits.from_environment`.
    :param overwrite: replace what is at ``dest`` (only zarr data; see :func:`ngffkit.write_image`). False (the
        default): refuse with :class:`~ngffkit.AlreadyExists`.
    :param progress: True: a progress bar on stderr; a callable ``progress(done, total)``, which may stop the
        write by raising :class:`~ngffkit.WriteCancelled`; None or False: silent.
    :param choices: the choices of :func:`ngffkit.write_image`, described on :class:`~ngffkit.WriteOptions`; the
        pyramid ``method`` must be label-safe (``"mode"``, the default, ``"nearest"``, ``"max"`` or ``"min"``),
        and ``compressor="auto"`` is zstd.
    :returns: the written label image.
    """
    settings = WriteOptions.of(options, **choices)
    location = Location.of(dest, storage_options=storage_options, mode="w", retry=retry, limits=limits)
    label = ImageLabel(colors=_colors(colors), properties=_properties(properties), source_image=None)
    if isinstance(labels, list | tuple):  # a pyramid the caller has: written as it is
        data: Any = [_integer_labels(as_dask(level)) for level in labels]
    else:
        data = _integer_labels(as_dask(labels))
    plan = replace(plan_image(data, location, settings, image_label=label), auto_label_colors=colors == "auto")
    image = write_planned(plan, labels, overwrite=overwrite, progress=progress, compute=True)
    assert isinstance(image, Image)
    return image


def _label_pyramid(
    image: Image, keep: Sequence[int], data: Any, given: list[Any] | None, settings: WriteOptions
) -> tuple[Any, WriteOptions]:
    """The label levels and how they are placed: the caller's own levels when they are the image's shapes; a
    pyramid ngffkit makes with the image's whole factors; or, for an image whose levels are not whole reductions,
    level 0 resampled to each of its shapes. The last two are placed exactly where the image's levels are."""
    shapes = [tuple(shape[i] for i in keep) for shape in image.shapes]
    if given is None or [tuple(level.shape) for level in given] != shapes:
        if _whole_factors(image, keep):
            names = [image.axes[i].name for i in keep]
            factors = [{n: _cumulative_factor(image, k, i) for n, i in zip(names, keep, strict=True)}
                       for k in range(1, len(shapes))]  # fmt: skip
            return data, settings.with_choices(scale_factors=factors)
        given = resampled_levels(data, shapes, settings.pyramid.method or "mode")
    placed = [([image.scale(k)[i] for i in keep], [image.translation(k)[i] for i in keep]) for k in range(len(shapes))]
    return given, settings.with_choices(level_transforms=placed)


def _whole_factors(image: Image, keep: Sequence[int]) -> bool:
    """Whether each level of ``image`` is level 0 reduced by whole factors (rounded up), as ngffkit's own
    kernels make them: then labels get a pyramid of their own, made with a label-safe method."""
    base = image.shapes[0]
    for k, shape in enumerate(image.shapes[1:], start=1):
        for i in keep:
            f = _cumulative_factor(image, k, i)
            if shape[i] != -(-base[i] // f):
                return False
    return True


def resampled_levels(data: Any, shapes: Sequence[Sequence[int]], method: str) -> list[Any]:
    """Label levels of exactly ``shapes`` (an image's levels that are not whole reductions of level 0), each
    pixel the label at the centre of the level-0 region it covers: a value that is there, never an average."""
    if method not in LABEL_SAFE_METHODS:
        raise InvalidArgument(
            f"method {method!r} would invent label values; use one of {', '.join(LABEL_SAFE_METHODS)}"
        )
    levels = [data]
    for shape in shapes[1:]:
        level = data
        for axis, (base, size) in enumerate(zip(data.shape, shape, strict=True)):
            if size != base:
                centres = np.minimum(((np.arange(size) + 0.5) * base / size).astype(np.int64), base - 1)
                level = da.take(level, centres, axis=axis)
        levels.append(level)
    return levels


def _cumulative_factor(image: Image, k: int, axis: int) -> int:
    """Level ``k``'s factor over level 0 on ``axis``, from the image's scales: its shapes round up (5 -> 3 -> 2
    is factors 2 and 4), so their ratios (5/2 -> 3) gave labels other shapes than their image's."""
    base, scale = image.scale(0)[axis], image.scale(k)[axis]
    if base > 0 and scale > 0:
        return max(1, round(scale / base))
    return max(1, round(image.shapes[0][axis] / image.shapes[k][axis]))
