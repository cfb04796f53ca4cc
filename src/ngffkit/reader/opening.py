"""``ngffkit.open``: whatever a path or URL points at, as the right kind of node."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from zarr.abc.store import Store

from ngffkit.errors import NGFFError, NGFFWarning, NotFound, NotOMEZarr
from ngffkit.formats import Format, detect, get_format
from ngffkit.metadata import OMEMetadata, parse_attributes
from ngffkit.metadata.transform_parsing import DRAFT_FORM
from ngffkit.reader.collection import Scene, load_collection
from ngffkit.reader.hcs import load_plate
from ngffkit.reader.image import Image, Labels, load_image
from ngffkit.reader.node import Node
from ngffkit.reader.well import load_well
from ngffkit.store import claim
from ngffkit.store.limits import Limits
from ngffkit.store.location import Location
from ngffkit.store.nodes import NodeMetadata
from ngffkit.store.remote import RetryPolicy


def open(
    target: str | os.PathLike[str] | Store | Location | Node,
    *,
    storage_options: Mapping[str, Any] | None = None,
    ngff_version: str | Format | None = None,
    retry: RetryPolicy | None = None,
    limits: Limits | None = None,
) -> Node:
    """Open an OME-Zarr group (image, label image, labels group, plate, well, collection, scene).

    Only metadata is read; pixels stay lazy. A path to one level array inside an image (``img.zarr/0``)
    opens that image.

    :param target: what to open: a local path (a folder, or a zipped ``.ozx``), a URL (``s3://``,
        ``https://``, ... through fsspec), a zarr store, a :class:`~ngffkit.Location`, or a node already open
        (read afresh, from its own location).
    :param storage_options: options for the fsspec filesystem of a URL (``key``/``secret``, ``{"anon": False}``,
        an endpoint); None: fsspec's defaults, with anonymous ``s3://`` access when no AWS credentials are
        configured. Not used when ``target`` is a store, a location or a node.
    :param ngff_version: the NGFF version to read the metadata as where it states none (``"0.4"``, ``"0.5"``,
        ...; see :data:`~ngffkit.FORMATS`); None: detected from the metadata.
    :param retry: attempts, backoff and timeouts of remote requests; None: :meth:`RetryPolicy.from_environment`
        (``NGFFKIT_RETRIES``, ``NGFFKIT_TIMEOUT``).
    :param limits: bounds on what the data may ask -- document sizes, read deadlines, levels, wells, fields --
        for this node and everything read through it; None: :meth:`Limits.from_environment` (the
        ``NGFFKIT_...`` environment variables). Tighter limits suit data you do not trust.
    :returns: the node, of the kind its metadata says: :class:`~ngffkit.Image` (a label image too),
        :class:`~ngffkit.Labels`, :class:`~ngffkit.Plate`, :class:`~ngffkit.Well`, :class:`~ngffkit.Collection` or
        :class:`~ngffkit.Scene`.
    :raises NotFound: when nothing is at ``target``.
    :raises NotOMEZarr: for zarr without OME metadata.
    :raises NGFFError: (a subclass) for anything unreadable, naming the file at fault.
    """
    assume = get_format(ngff_version) if ngff_version is not None else None
    if isinstance(target, Node):  # a node a writer returned, say: read it afresh
        target = target.location
    location = Location.of(target, storage_options=storage_options, retry=retry, limits=limits)
    node = location.read()
    if not node.exists:
        raise NotFound("no zarr group or array here", where=location.url)
    if node.is_array:
        return _image_holding(location)
    meta = parse_attributes(node.attributes, where=node.document_url, zarr_format=node.zarr_format, assume=assume)
    said = []  # once per open, not once per well or field of a plate
    if meta.stated_alias is not None:
        said.append(f"NGFF version {meta.stated_alias!r} read as {meta.format}")
    if any(DRAFT_FORM in note for note in meta.warnings):
        said.append(f"{DRAFT_FORM}s read as {meta.format} (`ngffkit validate` lists them)")
    if said:
        warnings.warn(f"{location.url}: {'; '.join(said)}", NGFFWarning, stacklevel=2)
    placed = meta.multiscales[0].named_placements().note if meta.multiscales else None
    if placed is not None:  # spatialdata's placements in 0.4/0.5 metadata: said once per open, like an alias
        warnings.warn(f"{location.url}: {placed}", NGFFWarning, stacklevel=2)
    if meta.plate is not None:
        return load_plate(location, meta)
    if meta.multiscales:
        return load_image(location, node)
    if meta.well is not None:
        return load_well(location, meta)
    if meta.labels is not None:
        return Labels(location, _labels_with_image_version(location, node, meta) if assume is None else meta)
    if meta.bioformats2raw_layout is not None:
        return load_collection(location, meta)
    if meta.series is not None:
        parent = location.ancestor(1)
        return load_collection(parent, parse_attributes(parent.read_group().attributes))
    if meta.scene is not None:
        return Scene(location, meta)
    owner = claim.read_marker(location)
    if owner is not None:
        raise NotOMEZarr(f"{claim.status(owner)}; run the write again to finish it", where=location.url)
    raise NotOMEZarr("this zarr group holds no OME-NGFF metadata", where=location.url)


def _image_holding(location: Location) -> Image:
    """The image one of whose levels is the array at ``location``."""
    name = location.url.rstrip("/").rsplit("/", 1)[-1]
    try:
        parent = location.ancestor(1)
        image = load_image(parent)
    except (NotFound, NotOMEZarr) as exc:
        raise NotOMEZarr("this is a plain zarr array, not part of an OME-Zarr image", where=location.url) from exc
    if name not in image.level_paths:
        raise NotOMEZarr(f"the image above does not list {name!r} as a level", where=location.url)
    return image


def _labels_with_image_version(location: Location, node: NodeMetadata, meta: OMEMetadata) -> OMEMetadata:
    """A ``labels`` group that states no NGFF version of its own read with the version of the image it sits in
    (from 0.5 on, where it should state one), with a warning saying so; as it is when its parent is no image (one
    more read, only for such a group)."""
    if detect(node.attributes, zarr_format=node.zarr_format).stated is not None:
        return meta
    try:
        parent = location.ancestor(1)
        image = parse_attributes(parent.read_group().attributes, where=parent.url)
    except (NGFFError, ValueError):
        return meta
    if not image.multiscales or not image.format.version_in_namespace:
        return meta  # up to 0.4 a labels group states no version: the zarr format tells
    read = parse_attributes(node.attributes, where=node.document_url, zarr_format=node.zarr_format,
                            assume=image.format)  # fmt: skip
    note = f"states no NGFF version; read as its image's {image.format}"
    return replace(read, warnings=(*read.warnings, note))
