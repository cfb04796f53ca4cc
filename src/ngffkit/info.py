"""``ngffkit info``: what a group is, its version, and its tree (plate -> wells -> fields -> levels)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from ngffkit.location import Location
from ngffkit.progress import run_with_progress
from ngffkit.reader import Collection, Image, Labels, Node, Plate, Scene, Well, open


def describe(
    target: str | os.PathLike[str] | Location | Node,
    *,
    storage_options: Mapping[str, Any] | None = None,
    stats: bool = False,
) -> dict[str, Any]:
    """A JSON-ready description of the node at ``target``; ``stats`` adds min/max per channel (reads pixels)."""
    node = target if isinstance(target, Node) else open(target, storage_options=storage_options)
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
    return summary


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


def render(summary: dict[str, Any], console: Console | None = None) -> None:
    """Print a description as a tree a person can read at a glance."""
    console = console or Console(highlight=False)
    tree = Tree(
        f"[bold]{escape(summary['url'])}[/bold]  {summary['kind']}, NGFF {summary['version']}, zarr v{summary['zarr_format']}"
    )
    if "image" in summary:
        _render_image(tree, summary["image"])
    if "plate" in summary:
        p = summary["plate"]
        node = tree.add(f"plate {escape(str(p['name']))}: {len(p['rows'])} rows x {len(p['columns'])} columns, "
                        f"{len(p['wells'])} wells, up to {p['field_count']} fields")  # fmt: skip
        for well in p["wells"]:
            w = node.add(f"well {escape(well['path'])}" + ("" if well["present"] else " [red](missing)[/red]")
                         + (f": fields {escape(', '.join(well['fields']))}" if well["fields"] else ""))  # fmt: skip
            if well["first_field"]:
                _render_levels(w.add(f"field {escape(well['fields'][0])}"), well["first_field"])
    if "well" in summary:
        node = tree.add(f"fields: {escape(', '.join(summary['well']['fields']))}")
        if summary["well"]["first_field"]:
            _render_image(node.add("first field"), summary["well"]["first_field"])
    for key in ("labels", "series"):
        if key in summary:
            tree.add(f"{key}: {escape(', '.join(summary[key]))}")
    if "scene" in summary:
        tree.add(
            f"scene: {summary['scene']['transformations']} transformations over {escape(', '.join(summary['scene']['images']))}"
        )
    for w in summary.get("warnings", []):
        tree.add(f"[yellow]warning[/yellow] {escape(w)}")
    console.print(tree)


def _render_levels(tree: Tree, image: dict[str, Any]) -> None:
    for level in image["levels"]:
        scale = ", ".join(f"{s:g}" for s in level["scale"])
        tree.add(
            f"{escape(level['path'])}: shape {level['shape']}, chunks {level['chunks']}, {level['dtype']}, scale [{scale}]"
        )


def _render_image(tree: Tree, image: dict[str, Any]) -> None:
    axes = ", ".join(a["name"] + (f" ({a['unit']})" if a["unit"] else "") for a in image["axes"])
    tree.add(f"axes: {escape(axes)}")
    _render_levels(tree.add(f"{len(image['levels'])} levels"), image)
    channels = tree.add(f"{len(image['channels'])} channel{'s' if len(image['channels']) != 1 else ''}")
    for i, c in enumerate(image["channels"]):
        stats = image.get("stats")
        extra = f"  min {stats[i]['min']:g} max {stats[i]['max']:g}" if stats else ""
        channels.add(f"{escape(str(c['label']))}  colour {c['color']}  window {c['window']}{extra}")
    if image.get("labels"):
        tree.add(f"labels: {escape(', '.join(image['labels']))}")
    if "image_label" in image:
        il = image["image_label"]
        tree.add(f"label image: {il['colors']} colours, {il['properties']} properties, source {il['source']}")
