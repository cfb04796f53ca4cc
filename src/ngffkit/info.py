"""``ngffkit info``: what a group is, its NGFF version, and a summary of its metadata."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from ngffkit.errors import NotOMEZarr
from ngffkit.location import Location, read_many
from ngffkit.metadata import OMEMetadata, parse_attributes
from ngffkit.validate.hierarchy import metadata_document_url


def describe(
    target: str | os.PathLike[str] | Location, *, storage_options: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A JSON-ready summary of the group at ``target``: kind, version, and per-kind details.

    Images list their axes, levels (path, shape, chunks, dtype, scale) and channels; plates their size and
    wells; wells their fields. Raises :class:`~ngffkit.NotOMEZarr` when the group has no OME metadata.
    """
    location = Location.of(target, storage_options=storage_options)
    node = location.read_group()
    meta = parse_attributes(node.attributes, where=metadata_document_url(node), zarr_format=node.zarr_format)
    if meta.kind is None:
        raise NotOMEZarr("this zarr group holds no OME-NGFF metadata", where=location.url)
    summary: dict[str, Any] = {
        "url": location.url,
        "kind": meta.kind,
        "version": meta.format.version,
        "zarr_format": node.zarr_format,
    }
    if meta.warnings:
        summary["warnings"] = list(meta.warnings)
    if meta.multiscales:
        summary["image"] = _image(location, meta)
    if meta.image_label is not None:
        summary["image_label"] = {
            "colors": len(meta.image_label.colors),
            "properties": len(meta.image_label.properties),
            "source": meta.image_label.source_image,
        }
    if meta.labels is not None:
        summary["labels"] = list(meta.labels)
    if meta.plate is not None:
        plate = meta.plate
        summary["plate"] = {
            "name": plate.name,
            "rows": len(plate.rows),
            "columns": len(plate.columns),
            "wells": [w.path for w in plate.wells],
            "acquisitions": len(plate.acquisitions),
        }
    if meta.well is not None:
        summary["well"] = {"fields": [f.path for f in meta.well.images]}
    if meta.series is not None:
        summary["series"] = list(meta.series)
    return summary


def _image(location: Location, meta: OMEMetadata) -> dict[str, Any]:
    ms = meta.multiscales[0]
    arrays = read_many([location.child(d.path, key="datasets.path") for d in ms.datasets])
    levels = []
    for i, (ds, arr) in enumerate(zip(ms.datasets, arrays, strict=True)):
        placed = ms.level_scale_translation(i)
        info = arr.array or {}
        levels.append({
            "path": ds.path,
            "shape": list(arr.shape) if arr.shape is not None else None,
            "chunks": _chunks(info),
            "dtype": info.get("dtype") or info.get("data_type"),
            "scale": list(placed[0]) if placed else None,
            "translation": list(placed[1]) if placed else None,
        })  # fmt: skip
    channels = [
        {"label": c.label, "color": c.color, "window": [c.window.start, c.window.end] if c.window else None}
        for c in (meta.omero.channels if meta.omero else ())
    ]
    return {
        "name": ms.name,
        "axes": [{"name": a.name, "type": a.type, "unit": a.unit} for a in ms.axes],
        "levels": levels,
        "channels": channels,
    }


def _chunks(array_meta: dict[str, Any]) -> list[int] | None:
    if "chunks" in array_meta:  # zarr v2
        return array_meta["chunks"]
    grid = array_meta.get("chunk_grid")
    if isinstance(grid, dict):
        return (grid.get("configuration") or {}).get("chunk_shape")
    return None


def render(summary: dict[str, Any], console: Console | None = None) -> None:
    """Print a summary as a tree a person can read at a glance."""
    console = console or Console(highlight=False)
    tree = Tree(
        f"[bold]{escape(summary['url'])}[/bold]  {summary['kind']}, NGFF {summary['version']}, zarr v{summary['zarr_format']}"
    )
    image = summary.get("image")
    if image:
        axes = ", ".join(f"{a['name']}" + (f" ({a['unit']})" if a["unit"] else "") for a in image["axes"])
        tree.add(f"axes: {escape(axes)}")
        lv = tree.add(f"{len(image['levels'])} levels")
        for level in image["levels"]:
            scale = ", ".join(f"{s:g}" for s in level["scale"]) if level["scale"] else "?"
            lv.add(
                f"{escape(level['path'])}: shape {level['shape']}, chunks {level['chunks']}, {level['dtype']}, scale [{scale}]"
            )
        if image["channels"]:
            ch = tree.add(f"{len(image['channels'])} channels")
            for c in image["channels"]:
                ch.add(f"{escape(str(c['label']))}  colour {c['color']}  window {c['window']}")
    if "image_label" in summary:
        il = summary["image_label"]
        tree.add(f"label image: {il['colors']} colours, {il['properties']} properties, source {il['source']}")
    if "labels" in summary:
        tree.add(f"labels: {escape(', '.join(summary['labels']))}")
    if "plate" in summary:
        p = summary["plate"]
        tree.add(f"plate {escape(str(p['name']))}: {p['rows']} rows x {p['columns']} columns, {len(p['wells'])} wells")
    if "well" in summary:
        tree.add(f"fields: {escape(', '.join(summary['well']['fields']))}")
    for w in summary.get("warnings", []):
        tree.add(f"[yellow]warning[/yellow] {escape(w)}")
    console.print(tree)
