"""Start-up time of the ``ngffkit`` command, as a ratio to a bare ``python -c pass``.

A command-line tool is judged by how long ``--help`` takes: every shell completion, every script that calls
``ngffkit validate`` in a loop pays the start-up again. ngffkit imports its array libraries (numpy, zarr,
dask) only when a command needs them (tests/test_import.py checks that); this measures what that saves.
The target is ``--help`` and ``--version`` under 0.5 s; ome-zarr-py's ``ome_zarr --help`` is the peer (from its
own environment, peers/: the ratio's baseline is this environment's Python, the same release when both are the
newest).

Run: python -m benchmarks.startup [--quick | --smoke]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from peers import OME_ZARR_PY

from benchmarks.common import ensure_bytecode, machine, save

#: Repetitions per mode (the median is reported; start-up times have a long tail on a shared machine).
REPEATS = {"full": 10, "quick": 5, "smoke": 1}
#: The issue's target for ``ngffkit --help`` and ``ngffkit --version``.
TARGET_SECONDS = 0.5
BASELINE = "python -c pass"


@dataclass
class Command:
    """One command line to time; ``target`` marks the ones the issue sets a limit for."""

    label: str
    argv: list[str] | None
    target: bool = False
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def console_script(name: str, module: str) -> tuple[list[str], str]:
    """How a user starts ``name``: the venv's console script (``[project.scripts]`` in pyproject.toml), else
    the one on PATH, else ``python -m module`` -- and which of them it was, for the table."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return [str(beside)], f"{beside.parent.name}/{name}"
    on_path = shutil.which(name)
    if on_path:
        return [on_path], on_path
    return [sys.executable, "-m", module], f"python -m {module}"


def commands() -> list[Command]:
    """The baseline, ngffkit's import and commands, and the peer (absent peers get a row saying so)."""
    ngffkit, ngffkit_how = console_script("ngffkit", "ngffkit")
    out = [
        Command(BASELINE, [sys.executable, "-c", "pass"]),
        Command('python -c "import ngffkit"', [sys.executable, "-c", "import ngffkit"]),
        Command(f"ngffkit --help ({ngffkit_how})", [*ngffkit, "--help"], target=True),
        Command(f"ngffkit --version ({ngffkit_how})", [*ngffkit, "--version"], target=True),
    ]
    peer = OME_ZARR_PY.interpreter().parent / "ome_zarr"  # in its own environment (peers/), bytecode compiled
    python = OME_ZARR_PY.versions()["python"]
    out.append(Command(f"ome_zarr --help ({OME_ZARR_PY.label()}, its own environment, Python {python}; peer)",
                       [str(peer), "--help"]))  # fmt: skip
    return out


def run_once(argv: list[str]) -> float:
    """Seconds from starting the process to its exit; a command that fails or prints nothing is an error,
    not a fast result."""
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, env={**os.environ, "COLUMNS": "100"})
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or (argv[-1].startswith("--") and not proc.stdout.strip()):
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return elapsed


def measure(cmds: list[Command], repeat: int, warm: bool) -> None:
    """Round-robin over the commands, so that a busy moment of a shared machine spreads over all of them;
    with ``warm``, one untimed round first (the first start reads files the later ones find cached)."""
    runnable = [c for c in cmds if c.argv is not None]
    for round_ in range(repeat + (1 if warm else 0)):
        for cmd in runnable:
            assert cmd.argv is not None
            elapsed = run_once(cmd.argv)
            if round_ or not warm:
                cmd.times.append(elapsed)


def table(cmds: list[Command]) -> list[str]:
    """Ratios to ``python -c pass``: the interpreter's own start-up is not ngffkit's to save."""
    base = next(c for c in cmds if c.label == BASELINE).median
    lines = [
        f"| command | median | fastest | vs `{BASELINE}` | over `{BASELINE}` |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for c in cmds:
        if not c.times:
            lines.append(f"| {c.label} | not installed | | | |")
            continue
        lines.append(
            f"| {c.label} | {c.median:.3f} s | {min(c.times):.3f} s | {c.median / base:.1f}x | "
            f"{1000 * (c.median - base):+.0f} ms |"
        )
    return lines


def verdicts(cmds: list[Command]) -> list[str]:
    """The target, checked against the medians just measured."""
    out = []
    for c in cmds:
        if c.target and c.times:
            met = "met" if c.median < TARGET_SECONDS else "NOT MET"
            out.append(f"- {c.label}: {c.median:.3f} s, target < {TARGET_SECONDS} s: {met}.")
    peer = next((c for c in cmds if "peer" in c.label and c.times), None)
    ours = next((c for c in cmds if c.target and c.times), None)
    if peer and ours:
        out.append(f"- ome_zarr --help takes {peer.median / ours.median:.0f}x as long as ngffkit --help.")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """``--quick`` and ``--smoke`` write their own results files, never over the full run's."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help=f"{REPEATS['quick']} repetitions")
    group.add_argument("--smoke", action="store_true", help="one repetition, no warm-up: checks the benchmark runs")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    if mode != "smoke":
        ensure_bytecode()
        ensure_bytecode(OME_ZARR_PY)  # the peer's own environment, built without bytecode
    cmds = commands()
    measure(cmds, REPEATS[mode], warm=mode != "smoke")
    lines = [
        "# Start-up: how long the ngffkit command takes before doing anything",
        "",
        f"Machine: {machine()}",
        "",
        f"Each command in a new process, {REPEATS[mode]} repetition(s) (round-robin"
        f"{', after one untimed round' if mode != 'smoke' else ''}), median; mode {mode}.",
        "",
        *table(cmds),
        "",
        *verdicts(cmds),
    ]
    path = save("startup" + ("" if mode == "full" else f"_{mode}"), lines)
    print("\n".join(lines))
    print(f"\nsaved to {path}")


if __name__ == "__main__":
    main()
