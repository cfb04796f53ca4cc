"""ngffkit create: every kind of example dataset, valid, in the version asked for."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

import ngffkit
from ngffkit import validate


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ngffkit", *args], capture_output=True, text=True, check=False, timeout=300
    )


@pytest.mark.parametrize("kind", ["image", "labels", "plate"])
def test_create(tmp_path: pathlib.Path, kind: str) -> None:
    proc = run("create", "--kind", kind, "--version", "0.4", str(tmp_path / "out.zarr"))
    assert proc.returncode == 0, proc.stderr
    node = ngffkit.open(proc.stdout.split("wrote ", 1)[1].strip())
    assert node.version == "0.4" and (node.kind == "plate" if kind == "plate" else isinstance(node, ngffkit.Image))
    assert validate(tmp_path / "out.zarr").valid
