"""TIFF, OME-TIFF and .npy files to OME-Zarr, lazily (pixels are read chunk by chunk while writing).

Physical pixel sizes and channel names are carried over: from OME-XML (``PhysicalSizeX/Y/Z`` with their
units, ``Channel/@Name``) or from ImageJ metadata (resolution tags, ``spacing``, ``unit``).
"""

from __future__ import annotations

import os
import pathlib
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Unpack

import dask.array as da
import numpy as np
import tifffile
import zarr

from ngffkit.errors import InvalidArgument, NotFound
from ngffkit.formats import axes_order_permutation
from ngffkit.metadata import Axis
from ngffkit.reader import Image
from ngffkit.store import places
from ngffkit.writer.execute import Progress
from ngffkit.writer.image import write_image
from ngffkit.writer.options import guess_axes, resolve_axes
from ngffkit.writer.settings import Choices, WriteOptions
from ngffkit.writer.sources import lazy_view, refuse_overlap

#: tifffile axis letters -> NGFF axis names. S (samples, e.g. RGB) becomes the channel axis.
TIFF_AXES = {"T": "t", "C": "c", "S": "c", "Z": "z", "Y": "y", "X": "x"}
NGFF_ORDER = ("t", "c", "z", "y", "x")
#: Unit spellings found in files -> NGFF unit names.
UNITS = {"µm": "micrometer", "um": "micrometer", "micron": "micrometer", "\\u00B5m": "micrometer",
         "nm": "nanometer", "mm": "millimeter", "cm": "centimeter", "m": "meter", "s": "second",
         "ms": "millisecond", "pixel": None}  # fmt: skip


@dataclass
class Source:
    """A readable image: lazy data in NGFF axis order and what the file says about it. ``axes`` is None when
    the file does not say what its axes are (a plain TIFF's stack axis, tifffile's ``Q``): then the data is
    as stored and ``unnamed`` says which axis the file left unnamed, for the error asking for ``--axes``."""

    data: da.Array
    axes: str | None
    scale: dict[str, float] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    channel_names: list[str] | None = None
    unnamed: str = ""


def _unit(text: str | None) -> str | None:
    if not text:
        return None
    return UNITS.get(text, text)


def _reorder(data: da.Array, letters: str) -> Source:
    """Drop length-1 unknown axes and put the rest in t, c, z, y, x order. An unknown axis longer than 1 (a plain
    TIFF's ``Q``, ``I``) leaves the data as stored, its axes unnamed: the caller's ``--axes`` name them."""
    unknown = [
        f"{letter!r} (size {size})"
        for letter, size in zip(letters, data.shape, strict=True)
        if letter not in TIFF_AXES and size != 1
    ]
    if unknown:
        return Source(data, None, unnamed=f"the TIFF's axes {letters} include {', '.join(unknown)}")
    names: list[str] = []
    for letter in letters:
        name = TIFF_AXES.get(letter)
        if name is None:
            data = data[(slice(None),) * len(names) + (0,)]
            continue
        if name in names:
            raise InvalidArgument(f"the TIFF has two axes that map to {name!r} ({letters}); name them with --axes")
        names.append(name)
    order = sorted(range(len(names)), key=lambda i: NGFF_ORDER.index(names[i]))
    return Source(data.transpose(order), "".join(names[i] for i in order))


def read_tiff(path: pathlib.Path) -> Source:
    tif = tifffile.TiffFile(path)
    series = tif.series[0]
    lazy = da.from_zarr(zarr.open(series.aszarr(), mode="r"))
    source = _reorder(lazy, series.axes)
    if source.axes is None:
        return source
    if tif.is_ome and tif.ome_metadata:
        _ome_metadata(source, tif.ome_metadata)
    elif tif.is_imagej:
        _imagej_metadata(source, tif)
    return source


def _ome_metadata(source: Source, xml: str) -> None:
    root = ET.fromstring(xml)
    ns = {"ome": root.tag.split("}")[0].strip("{")} if root.tag.startswith("{") else {}
    pixels = root.find(".//ome:Pixels", ns) if ns else root.find(".//Pixels")
    if pixels is None:
        return
    for axis in "xyz":
        size = pixels.attrib.get(f"PhysicalSize{axis.upper()}")
        if size is not None and axis in (source.axes or ""):
            source.scale[axis] = float(size)
            unit = _unit(pixels.attrib.get(f"PhysicalSize{axis.upper()}Unit", "µm"))
            if unit:
                source.units[axis] = unit
    channels = pixels.findall("ome:Channel", ns) if ns else pixels.findall("Channel")
    names = [c.attrib.get("Name") for c in channels]
    if (
        names
        and all(names)
        and source.axes
        and "c" in source.axes
        and len(names) == source.data.shape[source.axes.index("c")]
    ):
        source.channel_names = [str(n) for n in names]


def _imagej_metadata(source: Source, tif: Any) -> None:
    meta = tif.imagej_metadata or {}
    unit = _unit(meta.get("unit"))
    page = tif.pages[0]
    for axis, tag in (("x", "XResolution"), ("y", "YResolution")):
        value = page.tags.get(tag)
        if value is not None and axis in (source.axes or ""):
            num, den = value.value
            if num:
                source.scale[axis] = den / num
                if unit:
                    source.units[axis] = unit
    if "spacing" in meta and "z" in (source.axes or ""):
        source.scale["z"] = float(meta["spacing"])
        if unit:
            source.units["z"] = unit


def read_npy(path: pathlib.Path) -> Source:
    array = np.load(path, mmap_mode="r")  # read block by block while writing, never loaded whole
    return Source(lazy_view(array, "auto"), guess_axes(array.shape))


def read_source(path: str | os.PathLike[str]) -> Source:
    src = pathlib.Path(path)
    if not src.is_file():
        raise NotFound("no such file", where=str(src))
    name = src.name.lower()
    try:
        if name.endswith((".tif", ".tiff")):
            return read_tiff(src)
        if name.endswith(".npy"):
            return read_npy(src)
    except (OSError, ValueError) as exc:
        raise InvalidArgument(f"cannot read the file: {exc}", where=str(src)) from exc
    except InvalidArgument as exc:
        raise InvalidArgument(exc.message, where=str(src)) from exc
    raise InvalidArgument("unsupported file type (use .tif, .tiff, .ome.tif or .npy)", where=str(src))


def _in_ngff_order(data: da.Array, axes: Any) -> tuple[da.Array, list[Axis]]:
    """The data with its axes (the file's or the caller's, as names or axis objects) moved into the order NGFF
    allows -- time, then channel or custom, then space -- so that ``--axes zcyx`` converts rather than fails."""
    named = resolve_axes(axes, data.shape, None)
    order = axes_order_permutation([a.type for a in named])
    return data.transpose(order), [named[i] for i in order]


def _unnamed_channels(shape: tuple[int, ...], axes: list[Axis]) -> list[dict[str, Any]]:
    """One entry per channel, with no name: the writer then names them and measures their display windows, as it
    does for an OME-TIFF's named channels (an ImageJ TIFF or a .npy got no ``omero`` windows at all)."""
    axis = next((i for i, a in enumerate(axes) if a.is_channel), None)
    return [{} for _ in range(shape[axis] if axis is not None else 1)]


def convert(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    options: WriteOptions | None = None,
    *,
    overwrite: bool = False,
    progress: Progress = None,
    **choices: Unpack[Choices],
) -> Image:
    """Convert a TIFF / OME-TIFF / .npy file to OME-Zarr. The file's axes, pixel sizes, units and channel names
    are used unless ``options``/``choices`` say otherwise (those win, as in :func:`ngffkit.write_image`)."""
    # The file is read while the output is written: it must not lie inside what the write may replace.
    refuse_overlap(places.of_path(dest), [places.of_path(source)], where=os.fspath(dest))
    src = read_source(source)
    where = os.fspath(source)
    settings = WriteOptions.of(options, **choices)
    given = settings.image
    shape = tuple(src.data.shape)
    if given.axes is not None and len(given.axes) != src.data.ndim:
        raise InvalidArgument(f"axes {given.axes!r} do not fit the {src.data.ndim}D data {shape}", where=where)
    if given.axes is None and src.axes is None:
        raise InvalidArgument(
            f"{src.unnamed}, which says nothing NGFF can use: name every axis of the {shape} data with --axes "
            f"(axes= in Python), e.g. --axes {guess_axes(shape) if 2 <= len(shape) <= 5 else 'tczyx'}",
            where=where,
        )
    data, axes = _in_ngff_order(src.data, given.axes if given.axes is not None else src.axes)
    scale = {**src.scale, **(given.scale if isinstance(given.scale, Mapping) else {})}
    units: Any = given.units if isinstance(given.units, str) else {**src.units, **(given.units or {})}
    settings = settings.with_choices(
        axes=axes, scale=given.scale if given.scale is not None and not isinstance(given.scale, Mapping)
        else scale or None, units=units or None,
        channels=given.channels or src.channel_names or _unnamed_channels(data.shape, axes),
    )  # fmt: skip
    image = write_image(data, dest, settings, overwrite=overwrite, progress=progress)
    assert isinstance(image, Image)
    return image
