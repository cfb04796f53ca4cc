"""``ngffkit info`` for people: a description (:func:`ngffkit.tools.info.describe`) drawn as a rich tree."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.tree import Tree

from ngffkit.cli.common import text


def render(summary: dict[str, Any], console: Console | None = None) -> None:
    """Print a description as a tree a person can read at a glance."""
    # long paths stay whole when the output goes to a file or another program (rich crops at 80 columns)
    console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 10_000)
    what = [summary["kind"]]
    if summary.get("version") is not None:
        what += [f"NGFF {text(summary['version'])}", f"zarr v{summary['zarr_format']}"]
    tree = Tree(f"[bold]{text(summary['url'])}[/bold]  {', '.join(what)}")
    if "image" in summary:
        _render_image(tree, summary["image"])
    if "plate" in summary:
        p = summary["plate"]
        node = tree.add(f"plate {text(str(p['name']))}: {len(p['rows'])} rows x {len(p['columns'])} columns, "
                        f"{len(p['wells'])} wells, up to {p['field_count']} fields")  # fmt: skip
        for well in p["wells"]:
            w = node.add(f"well {text(well['path'])}" + ("" if well["present"] else " [red](missing)[/red]")
                         + (f": fields {text(', '.join(well['fields']))}" if well["fields"] else ""))  # fmt: skip
            if well["first_field"]:
                _render_levels(w.add(f"field {text(well['fields'][0])}"), well["first_field"])
    if "well" in summary:
        node = tree.add(f"fields: {text(', '.join(summary['well']['fields']))}")
        if summary["well"]["first_field"]:
            _render_image(node.add("first field"), summary["well"]["first_field"])
    for key in ("labels", "series"):
        if key in summary:
            tree.add(f"{key}: {text(', '.join(summary[key]))}")
    if "scene" in summary:
        tree.add(
            f"scene: {summary['scene']['transformations']} transformations over {text(', '.join(summary['scene']['images']))}"
        )
    if "tables" in summary:
        _render_tables(tree.add(f"{len(summary['tables'])} table{'s' if len(summary['tables']) != 1 else ''}"),
                       summary["tables"])  # fmt: skip
    for w in summary.get("warnings", []):
        tree.add(f"[yellow]warning[/yellow] {text(w)}")
    console.print(tree)


def _render_tables(tree: Tree, tables: list[dict[str, Any]]) -> None:
    for t in tables:
        count = t["rows"]
        rows = (
            f"{count} row{'s' if count != 1 else ''}" if count is not None else f"rows not read ({text(t['not_read'])})"
        )
        kind = text(t["type"]) if t["type"] is not None else "no type stated"
        backend = text(t["backend"]) if t["backend"] is not None else "no backend stated"
        tree.add(f"{text(t['name'])}: {kind}, {backend}, {rows}")


def _render_levels(tree: Tree, image: dict[str, Any]) -> None:
    for level in image["levels"]:
        scale = ", ".join(f"{s:g}" for s in level["scale"])
        tree.add(
            f"{text(level['path'])}: shape {level['shape']}, chunks {level['chunks']}, {level['dtype']}, scale [{scale}]"
        )


def _render_image(tree: Tree, image: dict[str, Any]) -> None:
    axes = ", ".join(a["name"] + (f" ({a['unit']})" if a["unit"] else "") for a in image["axes"])
    tree.add(f"axes: {text(axes)}")
    _render_levels(tree.add(f"{len(image['levels'])} levels"), image)
    channels = tree.add(f"{len(image['channels'])} channel{'s' if len(image['channels']) != 1 else ''}")
    for i, c in enumerate(image["channels"]):
        stats = image.get("stats")
        extra = f"  min {stats[i]['min']:g} max {stats[i]['max']:g}" if stats else ""
        channels.add(f"{text(str(c['label']))}  colour {c['color']}  window {c['window']}{extra}")
    if image.get("labels"):
        tree.add(f"labels: {text(', '.join(image['labels']))}")
    if "image_label" in image:
        il = image["image_label"]
        tree.add(f"label image: {il['colors']} colours, {il['properties']} properties, source {text(il['source'])}")
