"""A plain zarr array (local or remote, v2 or v3) to an OME-Zarr multiscale image.

The counterpart of ``ome_zarr scale``: the input is read lazily chunk by chunk, every level is written by
ngffkit's writer (any method, any per-axis factors, checked before anything is written) and the result
carries full NGFF metadata.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Unpack

from ngffkit.errors import InvalidArgument, NGFFError, NotFound
from ngffkit.metadata import parse_attributes
from ngffkit.metadata.axes import CLASSIC_AXIS_TYPES
from ngffkit.reader import Image
from ngffkit.reader.arrays import dask_array
from ngffkit.store.limits import Limits
from ngffkit.store.location import Location
from ngffkit.store.remote import RetryPolicy
from ngffkit.writer.execute import Progress
from ngffkit.writer.image import write_image
from ngffkit.writer.options import guess_axes
from ngffkit.writer.settings import Choices, WriteOptions


def axes_for(dimension_names: Sequence[Any] | None, shape: Sequence[int]) -> str:
    """The array's own zarr v3 ``dimension_names`` when they are all NGFF axis names, else a guess."""
    if dimension_names and all(isinstance(n, str) and n in CLASSIC_AXIS_TYPES for n in dimension_names):
        return "".join(dimension_names)
    return guess_axes(shape)


def scale_array(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    options: WriteOptions | None = None,
    *,
    storage_options: Mapping[str, Any] | None = None,
    retry: RetryPolicy | None = None,
    limits: Limits | None = None,
    overwrite: bool = False,
    progress: Progress = None,
    **choices: Unpack[Choices],
) -> Image:
    """Write the zarr array at ``source`` as a multiscale OME-Zarr image at ``dest``.

    ``axes`` defaults to the array's ``dimension_names`` (zarr v3) or a guess from its shape; the other choices
    are those of :func:`ngffkit.write_image` (levels, scale_factors, method, chunks, shards, version, ...).
    Returns the written :class:`~ngffkit.Image`.
    ``retry`` and ``limits`` are those of :func:`ngffkit.open`.
    """
    settings = WriteOptions.of(options, **choices)
    location = Location.of(source, storage_options=storage_options, retry=retry, limits=limits)
    node = location.read()
    if not node.exists:
        raise NotFound("no zarr array here", where=location.url)
    if not node.is_array:
        kind = _ome_kind(node.attributes, node.zarr_format)
        hint = f" (an OME-Zarr {kind} already; `ngffkit info` describes it)" if kind else ""
        raise InvalidArgument(f"expected a zarr array, found a group{hint}", where=location.url)
    data = dask_array(node)
    chosen = settings.image.axes if settings.image.axes is not None else axes_for(node.dimension_names, data.shape)
    if len(chosen) != data.ndim:
        raise InvalidArgument(f"axes {''.join(chosen)!r} do not fit the {data.ndim}D array {data.shape}")
    image = write_image(data, dest, settings.with_choices(axes=chosen), overwrite=overwrite, progress=progress)
    assert isinstance(image, Image)
    return image


def _ome_kind(attributes: dict[str, Any], zarr_format: int | None) -> str | None:
    try:
        return parse_attributes(attributes, zarr_format=zarr_format).kind
    except NGFFError:
        return None
