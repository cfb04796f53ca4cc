"""What every ``ngffkit`` command shares: exit codes, option parsing, report printing, pyramid options."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ngffkit.formats import DEFAULT_WRITE, WRITE_FORMATS

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
WRITE_VERSIONS = [f.version for f in WRITE_FORMATS]


def storage_options(text: str | None) -> dict[str, Any] | None:
    """``--storage-options`` as a dict; anything but a JSON object is a usage error (exit status 2)."""
    if not text:
        return None
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        # a usage error (no traceback); the decoder's exception keeps the whole text, which holds keys and tokens
        raise SystemExit(usage_error(f"--storage-options is not JSON: {exc.msg}")) from None
    if not isinstance(options, dict):
        raise SystemExit(usage_error("--storage-options must be a JSON object"))
    return options


def printable(value: object) -> str:
    """:func:`ngffkit.metadata.text.printable`, imported when first needed: ``ngffkit.metadata`` loads numpy, which
    ``ngffkit --help`` does not need."""
    from ngffkit.metadata import text

    return text.printable(value)


def text(value: object) -> str:
    """``value`` for a rich console: control characters escaped, and rich markup (``[red]``) shown literally."""
    from rich.markup import escape

    return escape(printable(value))


def usage_error(message: str) -> int:
    """Say what is wrong with the command line, argparse-style, and return the usage exit status."""
    print(f"ngffkit: error: {printable(message)}", file=sys.stderr)
    return EXIT_USAGE


def print_report(report: Any, *, verbose: bool) -> None:
    """A validation report for people: a mark and summary, then one coloured line per finding."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=True)
    mark = "[green]✓[/green]" if report.valid else "[red]✗[/red]"
    console.print(f"{mark} {text(report.target)}: {text(report.summary())}")
    for finding in report.findings:
        if finding.severity.name == "INFO" and not verbose:
            continue
        colour = {"ERROR": "red", "WARNING": "yellow", "INFO": "blue"}[finding.severity.name]
        loc = text(finding.where) + (f" [dim]\\[{text(finding.path)}][/dim]" if finding.path else "")
        console.print(
            f"  [{colour}]{finding.severity}[/{colour}] {loc}: {text(finding.message)} [dim]({finding.rule})[/dim]"
        )


def write_options(args: argparse.Namespace) -> Any:
    """The pyramid and storage options of the command line, as a :class:`~ngffkit.writer.settings.WriteOptions`
    (``--overwrite`` is not one of them: it is an argument of the write)."""
    from ngffkit.writer.settings import WriteOptions

    factors: Any = None
    if args.factors:
        try:
            factors = json.loads(args.factors)
        except json.JSONDecodeError:
            # a usage error, printed without a traceback: the decoder's exception adds nothing
            raise SystemExit(usage_error('--factors takes JSON: 2, [3, 9] or {"z": 1, "y": 2, "x": 2}')) from None
    chunks = tuple(int(c) for c in args.chunks.split(",")) if args.chunks else None
    shards = tuple(int(c) for c in args.shards.split(",")) if args.shards else None
    return WriteOptions.of(levels=args.levels, scale_factors=factors, method=args.method, chunks=chunks,
                           shards=shards, compressor=args.compressor, version=args.version)  # fmt: skip


def add_pyramid_options(p: argparse.ArgumentParser, *, method: str = "mean") -> None:
    from ngffkit.writer.choices import COMPRESSORS, METHODS

    g = p.add_argument_group("pyramid and storage")
    g.add_argument("--version", default=DEFAULT_WRITE.version, choices=WRITE_VERSIONS,
                   help=f"NGFF version (default {DEFAULT_WRITE.version})")  # fmt: skip
    g.add_argument("--levels", type=int, help="number of levels (default: until y, x <= 64)")
    g.add_argument("--factors", help='per-level factor: 2, cumulative [3, 9], or {"z": 2, "y": 2, "x": 2}')
    g.add_argument("--method", default=method, choices=METHODS, help=f"downsampling method (default {method})")
    g.add_argument("--chunks", help="chunk shape, e.g. 1,64,256,256")
    g.add_argument("--shards", help="shard shape (NGFF 0.5+), a multiple of the chunks")
    g.add_argument(
        "--compressor",
        default="auto",
        choices=COMPRESSORS,
        help="(default auto: blosc-lz4 for images, zstd for labels)",
    )
    g.add_argument("--overwrite", action="store_true", help="replace an existing OME-Zarr at OUT")
