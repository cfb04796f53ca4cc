"""``ngffkit demo``: the main job end to end on bundled examples.

Builds a coins image with labels (NGFF 0.4 and 0.5) and a small plate, validates each whole hierarchy,
and prints what ``ngffkit info`` sees. It writes only into its own output folder, and refuses a folder it
did not create.
"""

from __future__ import annotations

import pathlib
import shutil

from rich.console import Console

from ngffkit.errors import NGFFError
from ngffkit.examples import write_coins, write_plate
from ngffkit.formats import V04, V05
from ngffkit.info import describe, render
from ngffkit.validate import validate

MARKER = ".ngffkit-demo"


def _prepare(output: pathlib.Path) -> None:
    if output.exists():
        if not output.is_dir():
            raise NGFFError("exists and is not a folder; choose another --output", where=str(output))
        if any(output.iterdir()) and not (output / MARKER).exists():
            raise NGFFError("exists and was not made by 'ngffkit demo'; choose another --output", where=str(output))
        shutil.rmtree(output)
    output.mkdir(parents=True)
    (output / MARKER).write_text("made by ngffkit demo; safe to delete\n")


def run_demo(output: str | pathlib.Path, *, show: bool = False) -> int:
    """Write, validate and describe the examples; returns the exit status (0 when all are valid)."""
    console = Console(highlight=False)
    out = pathlib.Path(output)
    _prepare(out)
    datasets = [
        write_coins(out / f"coins-{V05}.ome.zarr", V05),
        write_coins(out / f"coins-{V04}.ome.zarr", V04),
        write_plate(out / f"plate-{V05}.ome.zarr", V05),
    ]
    all_valid = True
    for path in datasets:
        report = validate(path)
        all_valid = all_valid and report.valid
        mark = "[green]valid[/green]" if report.valid else "[red]INVALID[/red]"
        console.rule(f"{path.name}: {mark}")
        for finding in report.findings:
            console.print(f"  {finding.format()}")
        render(describe(path), console)
    console.print(f"\nExamples are in {out.resolve()}; open them with [bold]ngffkit info PATH[/bold].")
    if show:
        console.print("(The napari viewer opens here once the napari plugin lands.)")
    return 0 if all_valid else 1
