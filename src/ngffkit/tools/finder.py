"""Cataloguing a folder (or bucket prefix) of OME-Zarr images and plates as a BioFile Finder table.

Finding the datasets needs listings, but only down to the first zarr group on each branch: below a dataset
everything is found from its metadata, never by listing its (possibly millions of) chunk files. Every
metadata read then happens in a few concurrent batches -- groups, then wells, then fields, then level-0
arrays and labels -- so thousands of images cost a handful of round trips, not thousands.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import fsspec
import numpy as np

from ngffkit.errors import PROGRAMMING_ERRORS, LocationError, NGFFError, NotFound, safe_cause
from ngffkit.metadata import OMEMetadata, parse_attributes
from ngffkit.store import adapter, limits
from ngffkit.store.batch import bounded_gather, read_many_or_errors
from ngffkit.store.limits import Limits
from ngffkit.store.location import Location
from ngffkit.store.nodes import NodeMetadata
from ngffkit.store.ozx import SUFFIX as OZX_SUFFIX
from ngffkit.store.paths import unsafe_reason
from ngffkit.store.remote import RetryPolicy, fsspec_options
from ngffkit.tools.csv_cells import safe_row

#: Files whose presence makes a folder a zarr node.
ZARR_MARKERS = frozenset({"zarr.json", ".zgroup", ".zattrs", ".zarray"})
#: BioFile Finder needs "File Path"; the rest are the columns it lets users filter and group by.
COLUMNS = ("File Path", "File Name", "Kind", "NGFF Version", "Axes", "Size T", "Size C", "Size Z", "Size Y",
           "Size X", "Data Type", "Levels", "Channels", "Labels", "Plate", "Well", "Field", "Folder")  # fmt: skip


@dataclass
class Found:
    """One image of the catalogue (a standalone image, a field of a plate or a bioformats2raw series)."""

    url: str
    name: str
    kind: str
    version: str
    axes: str = ""
    sizes: dict[str, int] = field(default_factory=dict)
    dtype: str = ""
    levels: int = 0
    channels: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    plate: str = ""
    well: str = ""
    field: str = ""
    folder: str = ""

    def row(self, file_path: str) -> dict[str, Any]:
        sizes = {f"Size {axis.upper()}": self.sizes.get(axis, "") for axis in "tczyx"}
        return {
            "File Path": file_path, "File Name": self.name, "Kind": self.kind, "NGFF Version": self.version,
            "Axes": self.axes, **sizes, "Data Type": self.dtype, "Levels": self.levels,
            "Channels": ";".join(self.channels), "Labels": ";".join(self.labels), "Plate": self.plate,
            "Well": self.well, "Field": self.field, "Folder": self.folder,
        }  # fmt: skip


@dataclass
class Catalogue:
    """What :func:`find` saw: the images, and the datasets it had to skip (with the reason)."""

    root: str
    images: list[Found] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def rows(self, base_url: str | None = None) -> list[dict[str, Any]]:
        """Table rows; ``base_url`` replaces the root in "File Path" (e.g. where the folder is published)."""
        out = []
        for image in self.images:
            path = image.url
            if base_url is not None and path.startswith(self.root):
                path = base_url.rstrip("/") + "/" + path[len(self.root) :].lstrip("/")
            out.append(image.row(path))
        return out

    def to_csv(self, base_url: str | None = None) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(safe_row(row) for row in self.rows(base_url))
        return buffer.getvalue()

    def to_json(self, base_url: str | None = None) -> dict[str, Any]:
        return {"root": self.root, "images": self.rows(base_url),
                "skipped": [{"url": u, "reason": r} for u, r in self.skipped]}  # fmt: skip


@dataclass(frozen=True)
class _Pending:
    """A group to read, and what its parents already told us (plate name, well, ...)."""

    location: Location
    context: dict[str, str]


def find(
    root: str | os.PathLike[str],
    *,
    storage_options: Mapping[str, Any] | None = None,
    retry: RetryPolicy | None = None,
    limits: Limits | None = None,
    progress: Callable[[int], None] | None = None,
) -> Catalogue:
    """Every OME-Zarr image below ``root`` (a folder or any fsspec URL), plates and collections expanded.

    ``progress(n)`` is called with the number of images found so far. Datasets that cannot be read are
    listed in :attr:`Catalogue.skipped` instead of stopping the walk.
    ``retry`` and ``limits`` are those of :func:`ngffkit.open`.
    """
    fs, base = fsspec.core.url_to_fs(os.fspath(root), **fsspec_options(os.fspath(root), storage_options))
    if not fs.exists(base):
        raise NotFound("no such folder", where=os.fspath(root))
    local = "file" in _protocols(fs)

    def url_of(path: str) -> str:
        return path if local else fs.unstrip_protocol(path)

    catalogue = Catalogue(url_of(base).rstrip("/"))
    found: list[tuple[NodeMetadata, OMEMetadata, dict[str, str]]] = []
    folders = [base.rstrip("/") or base]
    while folders:  # discovery: list folders down to the first zarr node on each branch
        datasets, folders = _scan(fs, folders)
        # The listing already told which zarr format each is: only its documents are then asked for.
        locations = [
            Location.of(url_of(d), storage_options=storage_options, zarr_format=f, retry=retry, limits=limits)
            for d, f in datasets.items()
        ]
        # expect=None: a folder may hold an array, which must not be mistaken for a plain group
        for path, node in zip(datasets, _read_all(locations, catalogue, expect=None), strict=True):
            meta = _parse(node, catalogue) if node is not None else None
            if node is not None and meta is not None and meta.kind is not None:
                found.append((node, meta, {"folder": _folder(path, base)}))
            elif node is not None and node.is_group:
                folders += _subfolders(fs, path)  # a plain zarr group may hold OME-Zarr images below it
    images: list[tuple[NodeMetadata, OMEMetadata, dict[str, str]]] = []
    while found:  # then follow metadata: plates to wells to fields, collections to series
        pending: list[_Pending] = []
        for node, meta, context in found:
            if meta.kind == "image":
                images.append((node, meta, context))
            else:
                pending += _children(node, meta, context, catalogue)
        if progress:
            progress(len(images))
        found = []
        for item, node in zip(pending, _read_all([p.location for p in pending], catalogue), strict=True):
            meta = _parse(node, catalogue) if node is not None else None
            if node is not None and meta is not None:
                found.append((node, meta, item.context))
    catalogue.images = sorted(_describe(images, catalogue), key=lambda found: found.url)
    return catalogue


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _folder(path: str, base: str) -> str:
    relative = posixpath.relpath(path.rstrip("/"), base.rstrip("/")) if path.rstrip("/") != base.rstrip("/") else ""
    return posixpath.dirname(relative)


_UNLISTABLE = (FileNotFoundError, NotADirectoryError, PermissionError)


def _listings(fs: Any, folders: list[str]) -> list[dict[str, dict[str, Any]]]:
    """``{name: entry}`` for each folder; concurrently on async file systems (S3, HTTP), where one listing
    per round trip would make a bucket of thousands of images slow. An unlistable folder lists nothing.

    At most ``MAX_CONNECTIONS`` at a time (see :func:`~ngffkit.store.batch.bounded_gather`): aiohttp counted the
    wait for a pooled connection against its connect timeout, and 10,000 listings queued at once failed."""
    if getattr(fs, "async_impl", False) and len(folders) > 1:
        from fsspec.asyn import sync

        results: list[Any] = sync(fs.loop, bounded_gather, functools.partial(adapter.list_folder, fs), folders)
    else:
        results = []
        for folder in folders:
            try:
                results.append(fs.ls(folder, detail=True))
            except _UNLISTABLE as exc:
                results.append(exc)
    out: list[dict[str, dict[str, Any]]] = []
    for result in results:
        if isinstance(result, _UNLISTABLE):
            out.append({})
        elif isinstance(result, PROGRAMMING_ERRORS):
            raise result  # a bug or a changed API, not a folder that cannot be listed
        elif isinstance(result, BaseException):
            raise LocationError(f"cannot list: {type(result).__name__}: {result}") from safe_cause(result)
        else:
            out.append({posixpath.basename(e["name"].rstrip("/")): e for e in result})
    return out


def _scan(fs: Any, folders: list[str]) -> tuple[dict[str, int], list[str]]:
    """One level of the walk: ({zarr node or ``.ozx`` file: zarr format}, folders to look into next)."""
    datasets: dict[str, int] = {}
    deeper: list[str] = []
    for folder, entries in zip(folders, _listings(fs, folders), strict=True):
        if ZARR_MARKERS & entries.keys():
            datasets[folder] = 3 if "zarr.json" in entries else 2
            continue
        for name, entry in sorted(entries.items()):
            if name.startswith(".") or unsafe_reason(name) is not None:
                continue  # hidden folders (caches, version control), and listing names that are not plain names
            if entry["type"] == "directory":
                deeper.append(entry["name"].rstrip("/"))
            elif name.lower().endswith(OZX_SUFFIX):
                datasets[entry["name"]] = 3  # zipped OME-Zarr is NGFF 0.5+, zarr v3
    return datasets, deeper


def _subfolders(fs: Any, folder: str) -> list[str]:
    return [e["name"].rstrip("/") for n, e in sorted(_listings(fs, [folder])[0].items())
            if e["type"] == "directory" and not n.startswith(".") and unsafe_reason(n) is None]  # fmt: skip


def _read_all(
    locations: list[Location], catalogue: Catalogue, expect: str | None = "group"
) -> list[NodeMetadata | None]:
    """One concurrent batch; a location whose documents cannot be read is skipped with its reason."""
    out: list[NodeMetadata | None] = []
    for location, result in zip(
        locations, read_many_or_errors(locations, expect=expect, keep_transport_errors=True), strict=True
    ):
        if isinstance(result, NGFFError):
            catalogue.skipped.append((location.url, result.message))
            out.append(None)
        else:
            out.append(result)
    return out


def _parse(node: NodeMetadata, catalogue: Catalogue) -> OMEMetadata | None:
    if not node.exists:
        return None
    try:
        return parse_attributes(node.attributes, where=node.document_url, zarr_format=node.zarr_format)
    except NGFFError as exc:
        catalogue.skipped.append((node.location.url, str(exc)))
        return None


def _children(node: NodeMetadata, meta: OMEMetadata, context: dict[str, str], catalogue: Catalogue) -> list[_Pending]:
    """The groups a plate, well or collection names, each with what it inherits (plate name, well)."""
    named: list[tuple[str, dict[str, str], Location]] = []
    here = node.location
    try:  # the reader's limits, before a plate's 10^5 wells are each read (the reader refuses them too)
        if meta.plate is not None:
            limits.check(
                "max_wells", len(meta.plate.wells), what="wells in this plate", where=here.url, limits=here.limits
            )
        elif meta.well is not None:
            limits.check(
                "max_fields", len(meta.well.images), what="fields in this well", where=here.url, limits=here.limits
            )
    except NGFFError as exc:
        catalogue.skipped.append((here.url, str(exc)))
        return []
    if meta.plate is not None:
        plate = meta.plate.name or posixpath.basename(here.url.rstrip("/"))
        named = [(w.path, {**context, "plate": plate, "well": w.path.replace("/", "")}, here) for w in meta.plate.wells]
    elif meta.well is not None:
        named = [(f.path, {**context, "field": f.path}, here) for f in meta.well.images]
    elif meta.bioformats2raw_layout is not None:
        named = [("OME", context, here)]
    elif meta.series is not None and here.parent() is not None:
        parent = here.parent()
        assert parent is not None
        named = [(s, {**context, "series": s}, parent) for s in meta.series]
    out = []
    for path, inherited, base in named:
        try:
            out.append(_Pending(base.child(path), inherited))
        except NGFFError as exc:
            catalogue.skipped.append((base.url, str(exc)))
    return out


def _describe(images: list[tuple[NodeMetadata, OMEMetadata, dict[str, str]]], catalogue: Catalogue) -> list[Found]:
    """Level-0 arrays and labels groups of every image, in one batch, into catalogue entries."""
    usable: list[tuple[NodeMetadata, OMEMetadata, dict[str, str]]] = []
    lookups: list[Location] = []
    for node, meta, context in images:
        datasets = meta.multiscales[0].datasets
        try:
            level0 = node.location.child(datasets[0].path) if datasets else node.location
        except NGFFError as exc:
            catalogue.skipped.append((node.location.url, str(exc)))
            continue
        usable.append((node, meta, context))
        lookups += [level0, node.location.child("labels")]
    results = read_many_or_errors(lookups, expect=["array", "group"] * len(usable), keep_transport_errors=True)
    nodes = [
        r if isinstance(r, NodeMetadata) else NodeMetadata(loc, None, None, {})
        for loc, r in zip(lookups, results, strict=True)
    ]
    return [
        _entry(node, meta, context, nodes[2 * i], nodes[2 * i + 1]) for i, (node, meta, context) in enumerate(usable)
    ]


def _entry(node: NodeMetadata, meta: OMEMetadata, context: dict[str, str], array: NodeMetadata,
           labels: NodeMetadata) -> Found:  # fmt: skip
    multiscale = meta.multiscales[0]
    names = multiscale.axis_names
    shape = array.shape or ()
    kind = "field" if "field" in context else "series" if "series" in context else "image"
    label_names: list[str] = []
    if labels.exists:
        try:
            label_names = list(parse_attributes(labels.attributes, zarr_format=labels.zarr_format).labels or ())
        except NGFFError:
            label_names = []
    channels = [c.label or f"channel {i}" for i, c in enumerate(meta.omero.channels)] if meta.omero else []
    doc = array.array or {}
    dtype = _dtype_name(doc.get("data_type", doc.get("dtype")))
    return Found(
        url=node.location.url,
        name=multiscale.name or posixpath.basename(node.location.url.rstrip("/")),
        kind=kind,
        version=meta.format.version,
        axes="".join(names),
        sizes=dict(zip(names, shape, strict=False)) if len(shape) == len(names) else {},
        dtype=dtype,
        levels=len(multiscale.datasets),
        channels=channels,
        labels=label_names,
        plate=context.get("plate", ""),
        well=context.get("well", ""),
        field=context.get("field", context.get("series", "")),
        folder=context.get("folder", ""),
    )


def _dtype_name(declared: Any) -> str:
    """One spelling for both zarr formats: v2's ``<u2`` and v3's ``uint16`` are both ``uint16``."""
    try:
        return np.dtype(declared).name if isinstance(declared, str) else ""
    except TypeError:
        return str(declared)
