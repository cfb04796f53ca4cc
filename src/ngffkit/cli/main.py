"""The ``ngffkit`` command: ``validate``, ``info``, ``create``, ``convert``, ``download``, ``upgrade``, ``zip``,
``demo`` here, and ome-zarr-py's utilities (``scale``, ``serve``, ``finder``, ``csv-to-labels``) in
:mod:`ngffkit.cli.tools`.

Every command turns an :class:`~ngffkit.NGFFError` into one readable line on stderr and a non-zero exit
status; a traceback means a bug in ngffkit, never bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ngffkit.cli import tools as cli_tools
from ngffkit.cli import transform as cli_transform
from ngffkit.cli.common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    WRITE_VERSIONS,
    add_pyramid_options,
    print_report,
    printable,
    storage_options,
    usage_error,
    write_options,
)
from ngffkit.cli.redacted import redacted_output
from ngffkit.cli.warnings_text import readable_warnings
from ngffkit.errors import NGFFError
from ngffkit.formats import DEFAULT_WRITE, FORMATS, LATEST_STABLE, UPGRADE_TARGETS, known_versions


def cmd_validate(args: argparse.Namespace) -> int:
    from ngffkit.validation import validate

    options = storage_options(args.storage_options)
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
        print_report(report, verbose=args.verbose)
    if args.json:
        return EXIT_OK
    return EXIT_OK if all_valid else EXIT_INVALID


def cmd_info(args: argparse.Namespace) -> int:
    from ngffkit.cli.render import render
    from ngffkit.tools.info import describe

    summary = describe(args.path, storage_options=storage_options(args.storage_options), stats=args.stats)
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        render(summary)
    return EXIT_OK


def cmd_convert(args: argparse.Namespace) -> int:
    from ngffkit.tools.convert import convert

    image = convert(args.input, args.output, write_options(args), axes=args.axes, overwrite=args.overwrite,
                    progress=True)  # fmt: skip
    print(f"wrote {image.url}: {len(image.levels)} levels, shape {image.shapes[0]}, axes {''.join(image.axis_names)}")
    return EXIT_OK


def cmd_create(args: argparse.Namespace) -> int:
    from ngffkit.samples.examples import write_coins, write_plate, write_plate_conditions, write_timelapse

    also = ""
    if args.kind == "plate":
        path = write_plate(args.output, args.version, labels=True, overwrite=args.overwrite)
        conditions = write_plate_conditions(f"{str(args.output).rstrip('/').removesuffix('.zarr')}.conditions.csv")
        also = f"and {conditions}: per-well conditions (Plate navigator > Add columns from a CSV)"
    elif args.kind == "timelapse":
        path = write_timelapse(args.output, args.version, overwrite=args.overwrite)
    else:
        path = write_coins(args.output, args.version, overwrite=args.overwrite)
        if args.kind == "labels":
            path = path / "labels" / "coins"
    print(f"wrote {path}")
    if also:
        print(also)
    return EXIT_OK


def cmd_download(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from ngffkit.tools.download import download

    with Progress(transient=True) as bar:
        task = bar.add_task("downloading chunks", total=None)
        out = download(args.url, args.output, storage_options=storage_options(args.storage_options),
                       progress=lambda done, total: bar.update(task, completed=done, total=total))  # fmt: skip
    print(f"downloaded {args.url} to {out}")
    return EXIT_OK


def cmd_upgrade(args: argparse.Namespace) -> int:
    from ngffkit.tools.upgrade import upgrade_store
    from ngffkit.validation import validate

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
    from ngffkit.reader import open as open_node
    from ngffkit.store import ozx

    node = open_node(args.input)
    if not str(args.output).lower().endswith(ozx.SUFFIX):
        raise SystemExit(usage_error(f"OUT must end with {ozx.SUFFIX}"))
    out = ozx.pack(args.input, args.output, node.format, overwrite=args.overwrite)
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from ngffkit.cli.demo import run_demo

    return run_demo(args.output, show=not args.no_viewer)


class _CommandParser(argparse.ArgumentParser):
    """Every command's help keeps its examples' line breaks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)


def _upgrade_help() -> str:
    """What ``ngffkit upgrade`` does, in the versions formats/ names (the versions are not written here)."""
    zarr_v2 = [f.version for f in FORMATS if f.zarr_format == 2]
    targets = " or ".join(f.version for f in UPGRADE_TARGETS)
    return (f"upgrade NGFF {zarr_v2[0]}-{zarr_v2[-1]} (zarr v2), or an older zarr v3 version, to {targets} (zarr v3), "
            "in place, rewriting metadata only")  # fmt: skip


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
    add_pyramid_options(p)
    p.set_defaults(func=cmd_convert)

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
        help=_upgrade_help(),
        epilog="examples:\n  ngffkit upgrade --dry-run image.ome.zarr\n  ngffkit upgrade --to 0.6rc0 image.ome.zarr",
    )
    p.add_argument("path", metavar="PATH")
    p.add_argument("--to", default=LATEST_STABLE.version, choices=[f.version for f in UPGRADE_TARGETS],
                   help="the NGFF version to upgrade to (default %(default)s)")  # fmt: skip
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

    cli_tools.add_commands(sub)
    cli_transform.add_command(sub)

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
    with redacted_output(), readable_warnings():
        return _run(argv)


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except NGFFError as exc:
        # The API's advice names the keyword argument; on the command line it is the flag.
        print(f"ngffkit: error: {printable(exc)}".replace("pass overwrite=True", "pass --overwrite"), file=sys.stderr)
        return EXIT_INVALID
    except (TypeError, AttributeError, ValueError) as exc:
        # A storage option of the wrong type fails inside the HTTP or S3 client, as a TypeError (ngffkit lets such
        # errors through: they are bugs unless an argument was wrong). With --storage-options given, it is most
        # likely theirs: one line, not a traceback. Without, it is a bug, and its traceback is what a report needs.
        if not getattr(args, "storage_options", None):
            raise
        print(f"ngffkit: error: {type(exc).__name__}: {exc} (check the names and types in --storage-options)",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ngffkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
