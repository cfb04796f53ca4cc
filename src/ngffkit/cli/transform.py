"""``ngffkit transform PATH SOURCE TARGET POINTS``: map points between two coordinate systems of a node.

The calling convention is the one of the transformations conformance suite (``ome-zarr-transformations-conformance``,
its runner ``oztc``): POINTS is a JSON list of coordinate lists, the answer is one JSON object on standard output --
``{"coordinates": [[...], ...]}`` -- and a failure is a non-zero exit status with ``{"message": "..."}`` on standard
output (and the usual one line on standard error). Everything printed passes through the command's redaction.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ngffkit.cli.common import EXIT_INVALID, EXIT_OK, EXIT_USAGE, printable, storage_options
from ngffkit.errors import NGFFError


def cmd_transform(args: argparse.Namespace) -> int:
    try:
        points = json.loads(args.points)
    except json.JSONDecodeError as exc:
        return _fail(f"POINTS is not JSON: {exc.msg}", EXIT_USAGE)
    try:
        from ngffkit.reader import open as open_node

        node: Any = open_node(args.path, storage_options=storage_options(args.storage_options))
        if not hasattr(node, "map_points"):
            return _fail(
                f"{node.url}: a {node.kind} has no coordinate systems (open an image or a scene)", EXIT_INVALID
            )
        mapped = node.map_points(points, source=args.source, target=args.target)
    except NGFFError as exc:
        return _fail(str(exc), EXIT_INVALID)
    print(json.dumps({"coordinates": mapped.tolist()}))
    return EXIT_OK


def _fail(message: str, status: int) -> int:
    text = printable(message)
    print(json.dumps({"message": text}))
    print(f"ngffkit: error: {text}", file=sys.stderr)
    return status


def add_command(sub: Any) -> None:
    p = sub.add_parser(
        "transform",
        help="map points from one coordinate system of an image or scene to another",
        epilog="examples:\n  ngffkit transform image.ome.zarr s0 physical '[[0, 0], [10, 20]]'\n"
        "  ngffkit transform scene.ome.zarr tile_1#physical world '[[5, 5]]'\n\n"
        'Systems: a name ("physical", "world"), a dataset path for its array ("s0", "0"), or\n'
        '"<member>#<name>" for a scene member\'s system. NGFF 0.1-0.5 images have "physical" and their\n'
        'dataset paths. Output: {"coordinates": [[...], ...]} on stdout; on failure {"message": ...} and\n'
        "exit status 1 (2: POINTS is not JSON).",
    )
    p.add_argument("path", metavar="PATH", help="path or URL of an OME-Zarr image or scene")
    p.add_argument("source", metavar="SOURCE", help="the coordinate system the points are in")
    p.add_argument("target", metavar="TARGET", help="the coordinate system to map them into")
    p.add_argument("points", metavar="POINTS", help="JSON list of points, e.g. '[[1, 2], [3, 4]]'")
    p.add_argument("--storage-options", metavar="JSON", help="fsspec options as a JSON object")
    p.set_defaults(func=cmd_transform)
