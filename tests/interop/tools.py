"""Running another tool's script and reading its answer (the tools themselves live in peers/, each in an
environment of its own)."""

from __future__ import annotations

import json
import pathlib
import subprocess

from peers import ZARRITA, Unavailable

from ..conftest import require


def zarrita() -> tuple[str, pathlib.Path]:
    """``(node, folder)`` of zarrita's Node folder (built once; skips without Node or npm, fails in CI)."""
    try:
        return ZARRITA.node()
    except Unavailable as error:
        require(False, f"zarrita's Node folder could not be built: {error}")
        raise


def run_json(command: list[str], *, cwd: pathlib.Path | None = None) -> dict:
    """Run another tool's script and read the JSON object it prints last."""
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])
