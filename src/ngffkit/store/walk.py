"""Walking an OME-Zarr hierarchy by following its metadata (never by listing), one concurrent batch per depth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ngffkit.errors import NGFFError
from ngffkit.formats import Format, detect
from ngffkit.store.batch import read_many
from ngffkit.store.location import Location
from ngffkit.store.nodes import NodeMetadata

MAX_NODES = 1_000_000


@dataclass(frozen=True)
class Child:
    """A node that a group's metadata names: where, whether it is a group or an array, and its role."""

    path: str
    expect: str  # "group" or "array"
    role: str  # level, labels, label, well, field, series-index, series
    #: Resolved against the parent group (bioformats2raw ``OME/series`` name siblings of ``OME``).
    from_parent: bool = False


def ome_children(attributes: dict[str, Any], zarr_format: int | None, assume: Format | None = None) -> list[Child]:
    """The children a group's OME metadata names, in a stable order."""
    det = detect(attributes, zarr_format=zarr_format, assume=assume)
    if det.format is None:
        return []
    ome = det.format.namespace_of(attributes) or {}
    out: list[Child] = []
    multiscales = ome.get("multiscales")
    if isinstance(multiscales, list):
        for ms in multiscales:
            for ds in ms.get("datasets", []) if isinstance(ms, dict) and isinstance(ms.get("datasets"), list) else []:
                if isinstance(ds, dict) and isinstance(ds.get("path"), str):
                    out.append(Child(ds["path"], "array", "level"))
        if "image-label" not in ome:
            out.append(Child("labels", "group", "labels"))
    for name in ome.get("labels") or [] if isinstance(ome.get("labels"), list) else []:
        if isinstance(name, str):
            out.append(Child(name, "group", "label"))
    plate = ome.get("plate")
    if isinstance(plate, dict) and isinstance(plate.get("wells"), list):
        out += [
            Child(w["path"], "group", "well")
            for w in plate["wells"]
            if isinstance(w, dict) and isinstance(w.get("path"), str)
        ]
    well = ome.get("well")
    if isinstance(well, dict) and isinstance(well.get("images"), list):
        out += [
            Child(f["path"], "group", "field")
            for f in well["images"]
            if isinstance(f, dict) and isinstance(f.get("path"), str)
        ]
    if "bioformats2raw.layout" in ome:
        out.append(Child("OME", "group", "series-index"))
    series = ome.get("series")
    if isinstance(series, list):
        out += [Child(p, "group", "series", from_parent=True) for p in series if isinstance(p, str)]
    return out


def walk(root: Location, *, assume: Format | None = None) -> Iterator[NodeMetadata]:
    """Every existing node of the hierarchy below (and including) ``root``, breadth-first.

    Unsafe or missing children are skipped (the validator reports them); each depth is read concurrently.
    """
    first = root.read()
    if not first.exists:
        return
    yield first
    frontier: list[tuple[Location, str]] = _expand(first, assume)
    seen = 1
    while frontier and seen < MAX_NODES:
        nodes = read_many([loc for loc, _ in frontier], expect=[e for _, e in frontier])
        seen += len(nodes)
        nxt: list[tuple[Location, str]] = []
        for node in nodes:
            if node.exists:
                yield node
                if node.is_group:
                    nxt += _expand(node, assume)
        frontier = nxt


def _expand(node: NodeMetadata, assume: Format | None) -> list[tuple[Location, str]]:
    out = []
    for child in ome_children(node.attributes, node.zarr_format, assume):
        base = node.location.parent() if child.from_parent else node.location
        if base is None:
            continue
        try:
            out.append((base.child(child.path), child.expect))
        except NGFFError:
            continue  # unsafe paths are the validator's to report, never followed
    return out
