"""The ``ngffkit`` commands that match ome-zarr-py's utilities: ``scale``, ``serve``, ``finder``, ``csv-to-labels``."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any

from ngffkit.cli.common import (
    EXIT_OK,
    add_pyramid_options,
    print_report,
    printable,
    storage_options,
    usage_error,
    write_options,
)
from ngffkit.errors import NGFFError


def cmd_scale(args: argparse.Namespace) -> int:
    from ngffkit.tools.scale import scale_array

    image = scale_array(args.input, args.output, write_options(args), axes=args.axes, overwrite=args.overwrite,
                        storage_options=storage_options(args.storage_options), progress=True)  # fmt: skip
    summary = {"url": image.url, "version": image.format.version, "axes": "".join(image.axis_names),
               "shapes": [list(s) for s in image.shapes]}  # fmt: skip
    if args.json:
        print(json.dumps(summary))
    else:
        shapes = ", ".join("x".join(map(str, s)) for s in image.shapes)
        print(f"wrote {image.url}: NGFF {summary['version']}, axes {summary['axes']}, levels {shapes}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from ngffkit.tools.serve import make_server

    running = make_server(args.path, host=args.host, port=args.port, quiet=args.quiet)
    try:
        print(f"serving {args.path} at {running.url}  (CORS and byte ranges; Ctrl-C stops)", flush=True)
        if not args.no_validate:  # while already serving: a large dataset must not delay the first request
            threading.Thread(target=_validate_and_report, args=(args.path,), daemon=True).start()
        running.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        running.close()
    return EXIT_OK


def _validate_and_report(path: str) -> None:
    from ngffkit.validation import validate

    try:
        report = validate(path)
    except NGFFError as exc:
        print(f"ngffkit: could not validate {printable(path)}: {printable(str(exc))}", file=sys.stderr, flush=True)
        return
    print("validation (the dataset is served either way):", flush=True)
    print_report(report, verbose=False)


def cmd_finder(args: argparse.Namespace) -> int:
    import pathlib

    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from ngffkit.tools.finder import find

    out = pathlib.Path(args.output) if args.output else None
    if out is None and not args.json:
        if "://" in args.path:
            raise SystemExit(usage_error("give --output (or --json) for a remote PATH"))
        out = pathlib.Path(args.path) / "biofile_finder.csv"
    if out is not None and out.exists() and not args.overwrite:
        raise SystemExit(usage_error(f"{out} exists; pass --overwrite to replace it"))
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True,
                  console=Console(stderr=True)) as bar:  # fmt: skip
        task = bar.add_task(f"looking for OME-Zarr images in {args.path}")
        catalogue = find(args.path, storage_options=storage_options(args.storage_options),
                         progress=lambda n: bar.update(task, description=f"{n} images found"))  # fmt: skip
    for url, reason in catalogue.skipped:
        print(f"ngffkit: skipped {printable(url)}: {printable(reason)}", file=sys.stderr)
    if out is not None:
        out.write_text(catalogue.to_csv(args.base_url), encoding="utf-8")
    if args.json:
        print(json.dumps(catalogue.to_json(args.base_url)))
    else:
        print(f"wrote {out}: {len(catalogue.images)} images ({len(catalogue.skipped)} skipped); "
              "open it in BioFile Finder (https://bff.allencell.org)")  # fmt: skip
    return EXIT_OK


def cmd_csv_to_labels(args: argparse.Namespace) -> int:
    from ngffkit.tools.csv_labels import add_properties, parse_columns, read_table

    table = read_table(args.csv, args.id_column, parse_columns(args.columns))
    report = add_properties(args.path, args.label_name, table, match=args.match_property,
                            scan_pixels=not args.no_scan, dry_run=args.dry_run,
                            storage_options=storage_options(args.storage_options), progress=True)  # fmt: skip
    if args.json:
        print(json.dumps(report.to_json()))
        return EXIT_OK
    updated = sum(u.updated for u in report.label_images)
    created = sum(u.created for u in report.label_images)
    verb = "would update" if args.dry_run else "updated"
    print(f"{verb} {len(report.label_images)} label images of {args.path}: {updated} entries updated, "
          f"{created} created from {len(table)} rows")  # fmt: skip
    if report.without_label:
        print(f"{len(report.without_label)} images have no label {args.label_name!r}", file=sys.stderr)
    if report.unknown_ids:
        shown = ", ".join(report.unknown_ids[:20]) + (" ..." if len(report.unknown_ids) > 20 else "")
        print(f"{len(report.unknown_ids)} ids matched no label: {shown}", file=sys.stderr)
    return EXIT_OK


def add_commands(sub: Any) -> None:
    """Register the commands on the ``ngffkit`` sub-command parser."""
    p = sub.add_parser(
        "scale",
        help="build an OME-Zarr pyramid from a plain zarr array (local or remote)",
        epilog="examples:\n  ngffkit scale raw.zarr/volume volume.ome.zarr --axes zyx\n"
        "  ngffkit scale s3://bucket/stack.zarr stack.ome.zarr --axes tczyx --method gaussian --factors 3\n"
        '  ngffkit scale cells.zarr cells.ome.zarr --factors \'{"z": 1, "y": 2, "x": 2}\' --levels 4',
    )
    p.add_argument("input", metavar="INPUT_ARRAY", help="path or URL of a zarr array (v2 or v3)")
    p.add_argument("output", metavar="OUT", help="destination folder (or .ozx file)")
    p.add_argument("--axes", help="axis names, e.g. zyx (default: the array's dimension_names, or a guess)")
    p.add_argument("--storage-options", metavar="JSON", help="fsspec options for INPUT_ARRAY as a JSON object")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    add_pyramid_options(p)
    p.set_defaults(func=cmd_scale)

    p = sub.add_parser(
        "serve",
        help="serve a local OME-Zarr over HTTP (CORS, byte ranges) for web viewers and other tools",
        epilog="examples:\n  ngffkit serve image.ome.zarr\n  ngffkit serve --port 0 plate.ozx\n\n"
        "Serving starts at once (HTTP/1.1, keep-alive); the dataset is validated meanwhile and the findings\n"
        "printed when ready. Only the dataset itself is served, under http://HOST:PORT/<its name>.",
    )
    p.add_argument("path", metavar="PATH", help="an OME-Zarr folder or .ozx file")
    p.add_argument("--port", type=int, default=8000, help="TCP port, 0 for a free one (default %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s: this machine only)")
    p.add_argument("--no-validate", action="store_true", help="do not validate the dataset while serving it")
    p.add_argument("-q", "--quiet", action="store_true", help="do not log each request")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "finder",
        help="catalogue the OME-Zarr images and plates below a folder as a BioFile Finder CSV",
        epilog="examples:\n  ngffkit finder /data/screens                  (writes /data/screens/biofile_finder.csv)\n"
        "  ngffkit finder s3://bucket/project --output project.csv --base-url https://bucket.s3.amazonaws.com/project\n"
        "  ngffkit finder --json /data/screens\n\n"
        "One row per image: standalone images, every field of every plate, every bioformats2raw series.",
    )
    p.add_argument("path", metavar="PATH", help="a folder or URL prefix to search")
    p.add_argument("-o", "--output", metavar="CSV", help="where to write the table (default: PATH/biofile_finder.csv)")
    p.add_argument("--base-url", help="write File Path as this URL + the path below PATH (where PATH is published)")
    p.add_argument("--json", action="store_true", help="print the table as JSON (no CSV unless --output is given)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing CSV")
    p.add_argument("--storage-options", metavar="JSON", help="fsspec options as a JSON object")
    p.set_defaults(func=cmd_finder)

    p = sub.add_parser(
        "csv-to-labels",
        help="add per-label properties from a CSV table to a label image (of an image, a well or a whole plate)",
        epilog="examples:\n  ngffkit csv-to-labels cells.csv label_id image.ome.zarr cells --columns 'area#d,class#s'\n"
        "  ngffkit csv-to-labels measurements.csv cell_id plate.zarr nuclei --columns 'area#d,dividing#b' \\\n"
        "      --match-property cell_id --dry-run\n\n"
        "Column types: #d float, #l int, #s text (default), #b bool. Ids match the label values (creating\n"
        "entries for labels present in the pixels) or, with --match-property, an existing property.\n"
        "Only image-label.properties changes; every field of every well is covered.",
    )
    p.add_argument("csv", metavar="CSV")
    p.add_argument("id_column", metavar="ID_COLUMN", help="the CSV column holding the label ids")
    p.add_argument("path", metavar="PATH", help="an OME-Zarr image, well or plate")
    p.add_argument("label_name", metavar="LABEL_NAME", help="the label image below labels/, e.g. cells")
    p.add_argument("--columns", required=True, help="columns to copy with their types, e.g. 'area#d,class#s'")
    p.add_argument("--match-property", default="label-value",
                   help="the property that holds the ids (default %(default)s)")  # fmt: skip
    p.add_argument("--no-scan", action="store_true", help="do not read pixels to create entries for new label values")
    p.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--storage-options", metavar="JSON", help="fsspec options as a JSON object")
    p.set_defaults(func=cmd_csv_to_labels)
