"""The ``ngffkit`` command: ``validate``, ``info``, ``demo``.

Every command turns an :class:`~ngffkit.NGFFError` into one readable line on stderr and a non-zero exit
status; a traceback means a bug in ngffkit, never bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ngffkit.errors import NGFFError
from ngffkit.formats import DEFAULT_WRITE, LATEST_STABLE, WRITE_FORMATS, known_versions

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
WRITE_VERSIONS = [f.version for f in WRITE_FORMATS]


def _storage_options(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SystemExit(_usage_error(f"--storage-options is not JSON: {exc.msg}")) from None
    if not isinstance(options, dict):
        raise SystemExit(_usage_error("--storage-options must be a JSON object"))
    return options


def _usage_error(message: str) -> int:
    print(f"ngffkit: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def cmd_validate(args: argparse.Namespace) -> int:
    from ngffkit.validate import validate

    options = _storage_options(args.storage_options)
    all_valid = True
    for target in args.paths:
        report = validate(
            target,
            storage_options=options,
            strict=args.strict,
            metadata_only=args.metadata_only,
            ngff_version=args.ngff_version,
        )
        all_valid = all_valid and report.valid
        if args.json:
            print(json.dumps(report.to_dict()), flush=True)
            continue
        _print_report(report, verbose=args.verbose)
    if args.json:
        return EXIT_OK
    return EXIT_OK if all_valid else EXIT_INVALID


def _print_report(report: Any, *, verbose: bool) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    mark = "[green]✓[/green]" if report.valid else "[red]✗[/red]"
    console.print(f"{mark} {escape(report.target)}: {escape(report.summary())}")
    for finding in report.findings:
        if finding.severity.name == "INFO" and not verbose:
            continue
        colour = {"ERROR": "red", "WARNING": "yellow", "INFO": "blue"}[finding.severity.name]
        loc = escape(finding.where) + (f" [dim]\\[{escape(finding.path)}][/dim]" if finding.path else "")
        console.print(
            f"  [{colour}]{finding.severity}[/{colour}] {loc}: {escape(finding.message)} [dim]({finding.rule})[/dim]"
        )


def cmd_info(args: argparse.Namespace) -> int:
    from ngffkit.info import describe, render

    summary = describe(args.path, storage_options=_storage_options(args.storage_options), stats=args.stats)
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        render(summary)
    return EXIT_OK


def _pyramid_options(args: argparse.Namespace) -> dict[str, Any]:
    factors: Any = None
    if args.factors:
        try:
            factors = json.loads(args.factors)
        except json.JSONDecodeError:
            raise SystemExit(_usage_error('--factors takes JSON: 2, [3, 9] or {"z": 1, "y": 2, "x": 2}')) from None
    chunks = tuple(int(c) for c in args.chunks.split(",")) if args.chunks else None
    shards = tuple(int(c) for c in args.shards.split(",")) if args.shards else None
    return {
        "levels": args.levels, "scale_factors": factors, "method": args.method, "chunks": chunks,
        "shards": shards, "compressor": args.compressor, "version": args.version, "overwrite": args.overwrite,
    }  # fmt: skip


def _add_pyramid_options(p: argparse.ArgumentParser, *, method: str = "mean") -> None:
    from ngffkit.pyramid import METHODS
    from ngffkit.writer.options import COMPRESSORS

    g = p.add_argument_group("pyramid and storage")
    g.add_argument("--version", default=DEFAULT_WRITE.version, choices=WRITE_VERSIONS,
                   help=f"NGFF version (default {DEFAULT_WRITE.version})")  # fmt: skip
    g.add_argument("--levels", type=int, help="number of levels (default: until y, x <= 64)")
    g.add_argument("--factors", help='per-level factor: 2, cumulative [3, 9], or {"z": 2, "y": 2, "x": 2}')
    g.add_argument("--method", default=method, choices=METHODS, help=f"downsampling method (default {method})")
    g.add_argument("--chunks", help="chunk shape, e.g. 1,64,256,256")
    g.add_argument("--shards", help="shard shape (NGFF 0.5+), a multiple of the chunks")
    g.add_argument("--compressor", default="zstd", choices=COMPRESSORS, help="(default zstd)")
    g.add_argument("--overwrite", action="store_true", help="replace an existing OME-Zarr at OUT")


def cmd_convert(args: argparse.Namespace) -> int:
    from ngffkit.convert import convert

    image = convert(args.input, args.output, axes=args.axes, progress=True, **_pyramid_options(args))
    print(f"wrote {image.url}: {len(image.levels)} levels, shape {image.shapes[0]}, axes {''.join(image.axis_names)}")
    return EXIT_OK


def cmd_scale(args: argparse.Namespace) -> int:
    from ngffkit.scale import scale_array

    image = scale_array(args.input, args.output, axes=args.axes, storage_options=_storage_options(args.storage_options),
                        progress=True, **_pyramid_options(args))  # fmt: skip
    summary = {"url": image.url, "version": image.format.version, "axes": "".join(image.axis_names),
               "shapes": [list(s) for s in image.shapes]}  # fmt: skip
    if args.json:
        print(json.dumps(summary))
    else:
        shapes = ", ".join("x".join(map(str, s)) for s in image.shapes)
        print(f"wrote {image.url}: NGFF {summary['version']}, axes {summary['axes']}, levels {shapes}")
    return EXIT_OK


def cmd_create(args: argparse.Namespace) -> int:
    from ngffkit.examples import write_coins, write_plate, write_timelapse

    if args.kind == "plate":
        path = write_plate(args.output, args.version, labels=True, overwrite=args.overwrite)
    elif args.kind == "timelapse":
        path = write_timelapse(args.output, args.version, overwrite=args.overwrite)
    else:
        path = write_coins(args.output, args.version, overwrite=args.overwrite)
        if args.kind == "labels":
            path = path / "labels" / "coins"
    print(f"wrote {path}")
    return EXIT_OK


def cmd_download(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from ngffkit.download import download

    with Progress(transient=True) as bar:
        task = bar.add_task("downloading chunks", total=None)
        out = download(args.url, args.output, storage_options=_storage_options(args.storage_options),
                       progress=lambda done, total: bar.update(task, completed=done, total=total))  # fmt: skip
    print(f"downloaded {args.url} to {out}")
    return EXIT_OK


def cmd_upgrade(args: argparse.Namespace) -> int:
    from ngffkit.upgrade_store import upgrade_store
    from ngffkit.validate import validate

    actions = upgrade_store(args.path, args.to, dry_run=args.dry_run)
    for action in actions:
        if args.dry_run or args.verbose:
            print(("would " if args.dry_run else "") + action.describe())
    if args.dry_run:
        print(f"{len(actions)} metadata changes; nothing was written (--dry-run)")
        return EXIT_OK
    report = validate(args.path)
    print(
        f"upgraded {args.path} to NGFF {args.to}: {len(actions)} metadata changes, chunks untouched; {report.summary()}"
    )
    return EXIT_OK if report.valid else EXIT_INVALID


def cmd_zip(args: argparse.Namespace) -> int:
    from ngffkit import ozx
    from ngffkit.reader import open as open_node

    node = open_node(args.input)
    if not str(args.output).lower().endswith(ozx.SUFFIX):
        raise SystemExit(_usage_error(f"OUT must end with {ozx.SUFFIX}"))
    out = ozx.pack(args.input, args.output, node.format, overwrite=args.overwrite)
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from ngffkit.serve import make_server
    from ngffkit.validate import validate

    running = make_server(args.path, host=args.host, port=args.port, quiet=args.quiet)
    try:
        if not args.no_validate:
            _print_report(validate(args.path), verbose=False)
        print(f"serving {args.path} at {running.url}  (CORS and byte ranges; Ctrl-C stops)", flush=True)
        running.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        running.close()
    return EXIT_OK


def cmd_finder(args: argparse.Namespace) -> int:
    import pathlib

    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from ngffkit.finder import find

    out = pathlib.Path(args.output) if args.output else None
    if out is None and not args.json:
        if "://" in args.path:
            raise SystemExit(_usage_error("give --output (or --json) for a remote PATH"))
        out = pathlib.Path(args.path) / "biofile_finder.csv"
    if out is not None and out.exists() and not args.overwrite:
        raise SystemExit(_usage_error(f"{out} exists; pass --overwrite to replace it"))
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), transient=True,
                  console=Console(stderr=True)) as bar:  # fmt: skip
        task = bar.add_task(f"looking for OME-Zarr images in {args.path}")
        catalogue = find(args.path, storage_options=_storage_options(args.storage_options),
                         progress=lambda n: bar.update(task, description=f"{n} images found"))  # fmt: skip
    for url, reason in catalogue.skipped:
        print(f"ngffkit: skipped {url}: {reason}", file=sys.stderr)
    if out is not None:
        out.write_text(catalogue.to_csv(args.base_url), encoding="utf-8")
    if args.json:
        print(json.dumps(catalogue.to_json(args.base_url)))
    else:
        print(f"wrote {out}: {len(catalogue.images)} images ({len(catalogue.skipped)} skipped); "
              "open it in BioFile Finder (https://bff.allencell.org)")  # fmt: skip
    return EXIT_OK


def cmd_csv_to_labels(args: argparse.Namespace) -> int:
    from ngffkit.label_properties import add_properties, parse_columns, read_table

    table = read_table(args.csv, args.id_column, parse_columns(args.columns))
    report = add_properties(args.path, args.label_name, table, match=args.match_property,
                            scan_pixels=not args.no_scan, dry_run=args.dry_run,
                            storage_options=_storage_options(args.storage_options), progress=True)  # fmt: skip
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


def cmd_demo(args: argparse.Namespace) -> int:
    from ngffkit.demo import run_demo

    return run_demo(args.output, show=not args.no_viewer)


class _CommandParser(argparse.ArgumentParser):
    """Every command's help keeps its examples' line breaks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ngffkit",
        description="Read, write and validate OME-Zarr (OME-NGFF) images.",
    )
    from ngffkit import __version__

    parser.add_argument("--version", action="version", version=f"ngffkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_CommandParser)

    p = sub.add_parser(
        "validate",
        help="check OME-Zarr groups (and everything below them) against the specification",
        epilog="examples:\n  ngffkit validate image.ome.zarr\n  ngffkit validate --json s3://bucket/plate.zarr\n"
        "  ngffkit validate --ngff-version 0.4 attributes.json\n\n"
        "exit status: 0 valid, 1 invalid, 2 usage error (with --json: 0 whenever every PATH was judged)",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="path or URL of a group, or a .json file of attributes")
    p.add_argument("--json", action="store_true", help="print one JSON object per PATH, one per line")
    p.add_argument("--strict", action="store_true", help="also require what the strict schemas recommend")
    p.add_argument("--metadata-only", action="store_true", help="check the group's own metadata, not its children")
    p.add_argument("--ngff-version", choices=known_versions(), help="version to assume where the document states none")
    p.add_argument("--storage-options", metavar="JSON", help="fsspec options, e.g. '{\"anon\": false}'")
    p.add_argument("-v", "--verbose", action="store_true", help="also print informational findings")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "info",
        help="describe an OME-Zarr group: kind, version, axes, levels, channels, labels, wells",
        epilog="examples:\n  ngffkit info image.ome.zarr\n  ngffkit info --stats --json s3://bucket/image.zarr",
    )
    p.add_argument("path", metavar="PATH", help="path or URL of an OME-Zarr group")
    p.add_argument("--json", action="store_true", help="print the description as JSON")
    p.add_argument("--stats", action="store_true", help="also compute min/max per channel (reads every pixel)")
    p.add_argument("--storage-options", metavar="JSON", help="fsspec options as a JSON object")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "create",
        help="write sample data (coins with labels, a small plate, a 5D time-lapse), offline",
        epilog="examples:\n  ngffkit create coins.ome.zarr\n  ngffkit create --kind plate --version 0.4 plate.zarr\n"
        "  ngffkit create --kind timelapse cells.ome.zarr",
    )
    p.add_argument("output", metavar="OUT")
    p.add_argument("--kind", choices=["image", "labels", "plate", "timelapse"], default="image")
    p.add_argument("--version", default=DEFAULT_WRITE.version, choices=WRITE_VERSIONS)
    p.add_argument("--overwrite", action="store_true", help="replace an existing OME-Zarr at OUT")
    p.set_defaults(func=cmd_create)

    p = sub.add_parser(
        "convert",
        help="convert a TIFF / OME-TIFF / .npy file to OME-Zarr with a pyramid",
        epilog="examples:\n  ngffkit convert stack.ome.tif stack.ome.zarr\n"
        '  ngffkit convert volume.npy vol.zarr --axes zyx --factors \'{"z": 2, "y": 2, "x": 2}\'',
    )
    p.add_argument("input", metavar="IN")
    p.add_argument("output", metavar="OUT", help="destination folder (or .ozx file)")
    p.add_argument("--axes", help="axis names, e.g. czyx (default: from the file, or guessed)")
    _add_pyramid_options(p)
    p.set_defaults(func=cmd_convert)

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
    _add_pyramid_options(p)
    p.set_defaults(func=cmd_scale)

    p = sub.add_parser(
        "download",
        help="copy a remote OME-Zarr to a local folder (resumable)",
        epilog="example:\n  ngffkit download https://example.org/plate.ome.zarr plate.ome.zarr",
    )
    p.add_argument("url", metavar="URL")
    p.add_argument("output", metavar="OUT")
    p.add_argument("--storage-options", metavar="JSON", help="fsspec options as a JSON object")
    p.set_defaults(func=cmd_download)

    p = sub.add_parser(
        "upgrade",
        help="upgrade NGFF 0.4 (zarr v2) to 0.5 (zarr v3) in place, rewriting metadata only",
        epilog="example:\n  ngffkit upgrade --dry-run image.ome.zarr",
    )
    p.add_argument("path", metavar="PATH")
    p.add_argument("--to", default=LATEST_STABLE.version, choices=[LATEST_STABLE.version])
    p.add_argument("--dry-run", action="store_true", help="list the changes without writing anything")
    p.add_argument("-v", "--verbose", action="store_true", help="list every change made")
    p.set_defaults(func=cmd_upgrade)

    p = sub.add_parser(
        "zip",
        help="pack an OME-Zarr (NGFF 0.5+) into one .ozx file (RFC-9)",
        epilog="example:\n  ngffkit zip image.ome.zarr image.ozx",
    )
    p.add_argument("input", metavar="IN")
    p.add_argument("output", metavar="OUT.ozx")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=cmd_zip)

    p = sub.add_parser(
        "serve",
        help="serve a local OME-Zarr over HTTP (CORS, byte ranges) for web viewers and other tools",
        epilog="examples:\n  ngffkit serve image.ome.zarr\n  ngffkit serve --port 0 plate.ozx\n\n"
        "The dataset is validated first and its findings printed; only the dataset itself is served, under\n"
        "http://HOST:PORT/<its name>.",
    )
    p.add_argument("path", metavar="PATH", help="an OME-Zarr folder or .ozx file")
    p.add_argument("--port", type=int, default=8000, help="TCP port, 0 for a free one (default %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s: this machine only)")
    p.add_argument("--no-validate", action="store_true", help="skip validating the dataset before serving it")
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

    p = sub.add_parser(
        "demo",
        help="write example image + labels + plate, validate them, describe them, show them",
        epilog="examples:\n  ngffkit demo\n  ngffkit demo --output /tmp/ngffkit-demo --no-viewer",
    )
    p.add_argument("--output", default="ngffkit-demo", help="folder for the example datasets (default: %(default)s)")
    p.add_argument("--no-viewer", action="store_true", help="never open napari, even when it is available")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except NGFFError as exc:
        # The API's advice names the keyword argument; on the command line it is the flag.
        print(f"ngffkit: error: {exc}".replace("pass overwrite=True", "pass --overwrite"), file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("ngffkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
