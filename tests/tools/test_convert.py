"""ngffkit convert: TIFF and NumPy files to OME-Zarr, through the CLI and the API."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tifffile

import ngffkit
from ngffkit.tools.convert import convert


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ngffkit", *args], capture_output=True, text=True, check=False, timeout=300
    )


def test_convert_ome_tiff_keeps_sizes_and_channel_names(tmp_path: pathlib.Path) -> None:
    data = np.random.default_rng(0).integers(0, 1000, (3, 5, 128, 160), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "s.ome.tif", data, ome=True, metadata={
        "axes": "CZYX", "PhysicalSizeX": 0.2, "PhysicalSizeY": 0.2, "PhysicalSizeZ": 1.5, "Channel": {"Name": ["DAPI", "GFP", "RFP"]}})  # fmt: skip
    proc = run("convert", str(tmp_path / "s.ome.tif"), str(tmp_path / "s.zarr"), "--levels", "2")
    assert proc.returncode == 0, proc.stderr
    img = ngffkit.open(tmp_path / "s.zarr")
    assert img.axis_names == ("c", "z", "y", "x") and img.scale(0) == (1.0, 1.5, 0.2, 0.2)
    assert img.units[1:] == ("micrometer",) * 3 and [c.name for c in img.channels] == ["DAPI", "GFP", "RFP"]
    np.testing.assert_array_equal(img.levels[0].compute(), data)


def test_convert_imagej_tiff_and_npy(tmp_path: pathlib.Path) -> None:
    data = np.random.default_rng(1).integers(0, 255, (6, 2, 96, 96), dtype=np.uint8)  # z c y x
    tifffile.imwrite(
        tmp_path / "ij.tif",
        data,
        imagej=True,
        resolution=(1 / 0.3, 1 / 0.3),
        metadata={"spacing": 2.0, "unit": "um", "axes": "ZCYX"},
    )
    img = convert(tmp_path / "ij.tif", tmp_path / "ij.zarr")
    assert img.axis_names == ("c", "z", "y", "x")  # reordered to the NGFF order
    assert img.scale(0) == pytest.approx((1.0, 2.0, 0.3, 0.3))
    np.testing.assert_array_equal(img.levels[0].compute(), data.transpose(1, 0, 2, 3))
    np.save(tmp_path / "v.npy", data[:, 0])
    proc = run(
        "convert",
        str(tmp_path / "v.npy"),
        str(tmp_path / "v.zarr"),
        "--axes",
        "zyx",
        "--factors",
        '{"z": 2, "y": 2, "x": 2}',
        "--levels",
        "2",
    )
    assert proc.returncode == 0, proc.stderr
    assert ngffkit.open(tmp_path / "v.zarr").shapes == [(6, 96, 96), (3, 48, 48)]


def test_convert_bad_input_is_one_line(tmp_path: pathlib.Path) -> None:
    (tmp_path / "x.txt").write_text("hello")
    for args in (["convert", str(tmp_path / "x.txt"), str(tmp_path / "o.zarr")], ["convert", str(tmp_path / "nope.tif"), str(tmp_path / "o.zarr")],
                 ["convert", str(tmp_path / "x.txt"), str(tmp_path / "o.zarr"), "--factors", "{oops"]):  # fmt: skip
        proc = run(*args)
        assert (
            proc.returncode in (1, 2) and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
        )
    assert not (tmp_path / "o.zarr").exists()
