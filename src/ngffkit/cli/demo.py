"""``ngffkit demo``: the main job end to end.

Writes a coins image with labels (NGFF 0.5 and 0.4) and a small plate with labels using ngffkit's writer,
packs one image into a zipped ``.ozx``, validates every hierarchy, prints what ``ngffkit info`` sees, and
opens them in napari when a display and the napari extra are present. It writes only into its own output
folder, and refuses a folder it did not create.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys

from rich.console import Console
from rich.markup import escape

from ngffkit.cli.render import render
from ngffkit.errors import NGFFError
from ngffkit.formats import V04, V05
from ngffkit.samples.examples import write_coins, write_plate
from ngffkit.store import ozx
from ngffkit.tools.info import describe
from ngffkit.validation import validate

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
    coins = write_coins(out / f"coins-{V05}.ome.zarr", V05)
    datasets = [
        coins,
        write_coins(out / f"coins-{V04}.ome.zarr", V04),
        write_plate(out / f"plate-{V05}.ome.zarr", V05, labels=True),
        ozx.pack(coins, out / f"coins-{V05}.ozx", V05),
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
    shown = datasets[:1] + datasets[2:3]
    why_not = _why_napari_cannot_show() if show else None
    if show and why_not is None:
        # napari runs in its own process: the CLI never imports the GUI (and the window's fate is not ours)
        subprocess.run([sys.executable, "-m", "ngffkit.napari", *(str(p) for p in shown)], check=False)
    elif why_not is not None:
        console.print(escape(why_not))
    return 0 if all_valid else 1


def _why_napari_cannot_show() -> str | None:
    """Why the examples cannot open in napari here, in words that say what to do; None when they can. napari
    missing and no display are different problems: the first needs an install (from the clone: ngffkit is not on
    PyPI), the second a screen (napari being installed does not help)."""
    if importlib.util.find_spec("napari") is None:
        return (
            "(napari is not installed, so the examples do not open in it: from the ngffkit clone, "
            'pip install -e ".[napari]" -- ngffkit is not on PyPI yet)'
        )
    if not _has_display():
        return (
            "(napari is installed, but there is no display here (DISPLAY and WAYLAND_DISPLAY are unset): "
            "on a machine with a screen, python -m ngffkit.napari PATH opens an example)"
        )
    return None


def _has_display() -> bool:
    """Whether a window can be shown: always on macOS and Windows, on other systems when an X or Wayland display
    is set."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
