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
from ngffkit.formats import known_versions

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


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


def cmd_demo(args: argparse.Namespace) -> int:
    from ngffkit.demo import run_demo

    return run_demo(args.output, show=not args.no_viewer)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ngffkit",
        description="Read, write and validate OME-Zarr (OME-NGFF) images.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from ngffkit import __version__

    parser.add_argument("--version", action="version", version=f"ngffkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "validate",
        help="check OME-Zarr groups (and everything below them) against the specification",
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  ngffkit info image.ome.zarr\n  ngffkit info --stats --json s3://bucket/image.zarr",
    )
    p.add_argument("path", metavar="PATH", help="path or URL of an OME-Zarr group")
    p.add_argument("--json", action="store_true", help="print the description as JSON")
    p.add_argument("--stats", action="store_true", help="also compute min/max per channel (reads every pixel)")
    p.add_argument("--storage-options", metavar="JSON", help="fsspec options as a JSON object")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("demo", help="build the bundled example datasets, validate and describe them")
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
        print(f"ngffkit: error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("ngffkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
