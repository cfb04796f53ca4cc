"""ngffkit create: every kind of example dataset, valid, in the version asked for."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

import ngffkit
from ngffkit import validate
from ngffkit.tools.well_columns import read_well_columns


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ngffkit", *args], capture_output=True, text=True, check=False, timeout=300
    )


@pytest.mark.parametrize("kind", ["image", "labels", "plate"])
def test_create(tmp_path: pathlib.Path, kind: str) -> None:
    proc = run("create", "--kind", kind, "--version", "0.4", str(tmp_path / "out.zarr"))
    assert proc.returncode == 0, proc.stderr
    node = ngffkit.open(proc.stdout.splitlines()[0].removeprefix("wrote ").strip())
    assert node.version == "0.4" and (node.kind == "plate" if kind == "plate" else isinstance(node, ngffkit.Image))
    assert validate(tmp_path / "out.zarr").valid
    if kind == "plate":  # with the conditions a screening lab keeps, matched to the wells by the navigator
        conditions = read_well_columns(tmp_path / "out.conditions.csv", node)
        assert conditions.columns == ("condition", "drug", "concentration_uM") and not conditions.unmatched
        assert conditions.values["A/1"]["drug"] == "DMSO" and conditions.values["B/3"]["concentration_uM"] == "2"
        assert node.acquisitions and {f.acquisition for f in node.well("A/1").metadata.well.images} == {0, 1}
