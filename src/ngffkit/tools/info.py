"""``ngffkit info`` as data: what a group is, its version, and its tree (plate -> wells -> fields -> levels).

The description is plain JSON-ready data; :mod:`ngffkit.cli.render` turns it into text for people.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ngffkit.errors import NotOMEZarr
from ngffkit.reader import Collection, Image, Labels, Node, Plate, Scene, Well, open
from ngffkit.reader.tables import read_tables_group, table_names
from ngffkit.store.location import Location
from ngffkit.writer.progress import run_with_progress


def describe(
    target: str | os.PathLike[str] | Location | Node,
    *,
    storage_options: Mapping[str, Any] | None = None,
    stats: bool = False,
) -> dict[str, Any]:
    """A JSON-ready description of the node at ``target``; ``stats`` adds min/max per channel (reads pixels)."""
    if isinstance(target, Node):
        node = target
    else:
        try:
            node = open(target, storage_options=storage_options)
        except NotOMEZarr:
            group = _tables_group(target, storage_options)
            if group is None:
                raise
            return group
    summary: dict[str, Any] = {
        "url": node.url,
        "kind": node.metadata.kind if isinstance(node, Image) else node.kind,
        "version": node.version,
        "zarr_format": node.format.zarr_format,
    }
    if node.warnings:
        summary["warnings"] = list(node.warnings)
    if isinstance(node, Image):
        summary["image"] = image_summary(node, stats=stats)
    elif isinstance(node, Plate):
        summary["plate"] = plate_summary(node)
    elif isinstance(node, Well):
        summary["well"] = {"fields": list(node.field_paths), "first_field": _maybe(node.field(0))}
    elif isinstance(node, Labels):
        summary["labels"] = list(node.names)
    elif isinstance(node, Collection):
        summary["series"] = list(node.series)
    elif isinstance(node, Scene):
        summary["scene"] = {"images": list(node.member_paths), "transformations": len(node.transformations)}
    if isinstance(node, (Image, Plate, Well)):
        tables = node.tables()
        if tables:
            summary["tables"] = [t.to_json() for t in tables]
    return summary


def _tables_group(
    target: str | os.PathLike[str] | Location, storage_options: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """The description of a ``tables`` group (ngio's; no OME-NGFF metadata of its own), or None if it is none."""
    location = Location.of(target, storage_options=storage_options)
    if table_names(location.read(expect="group")) is None:
        return None
    tables = read_tables_group(location)
    return {"url": location.url, "kind": "tables group", "version": None, "zarr_format": None,
            "tables": [t.to_json() for t in tables]}  # fmt: skip


def _maybe(image: Image | None) -> dict[str, Any] | None:
    return image_summary(image) if image is not None else None


def image_summary(image: Image, *, stats: bool = False) -> dict[str, Any]:
    levels = []
    for i, arr in enumerate(image.levels):
        levels.append({
            "path": image.level_paths[i],
            "shape": list(arr.shape),
            "chunks": list(arr.chunksize),
            "dtype": str(arr.dtype),
            "scale": list(image.scale(i)),
            "translation": list(image.translation(i)),
        })  # fmt: skip
    summary: dict[str, Any] = {
        "name": image.name,
        "axes": [{"name": a.name, "type": a.type, "unit": a.unit} for a in image.axes],
        "levels": levels,
        "channels": [
            {
                "label": c.name,
                "color": c.color,
                "window": list(c.contrast_limits) if c.contrast_limits else None,
                "visible": c.visible,
            }
            for c in image.channels
        ],
        "labels": list(image.label_names),
    }
    if image.image_label is not None:
        summary["image_label"] = {
            "colors": len(image.image_label.colors),
            "properties": len(image.image_label.properties),
            "source": image.image_label.source_image,
        }
    if stats:
        summary["stats"] = channel_stats(image)
    return summary


def plate_summary(plate: Plate) -> dict[str, Any]:
    fields = plate.fields(0)
    return {
        "name": plate.name,
        "rows": list(plate.rows),
        "columns": list(plate.columns),
        "acquisitions": len(plate.acquisitions),
        "field_count": plate.field_count,
        "wells": [
            {
                "path": path,
                "present": plate.well(path) is not None,
                "fields": list(w.field_paths) if (w := plate.well(path)) is not None else [],
                "first_field": _maybe(fields.get(path)),
            }
            for path in plate.well_paths
        ],
    }


def channel_stats(image: Image) -> list[dict[str, float]]:
    """Minimum and maximum of each channel at full resolution, computed in one pass with a progress bar."""
    data = image.levels[0]
    axis = image.channel_axis
    others = tuple(i for i in range(data.ndim) if i != axis)
    low, high = run_with_progress((data.min(axis=others), data.max(axis=others)), True, "min/max")
    low, high = low.reshape(-1), high.reshape(-1)
    return [{"min": float(a), "max": float(b)} for a, b in zip(low, high, strict=True)]
