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

from ..clirun import one_line_error


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


def test_a_plain_tiff_converts_with_axes_and_says_so_without(tmp_path: pathlib.Path) -> None:
    """A plain TIFF's stack axis is tifffile's ``Q``: ``--axes`` names it (it failed with "cannot map TIFF axis
    'Q'" even then); without ``--axes`` the one-line error names the file and asks for them."""
    data = np.random.default_rng(2).integers(0, 4000, (10, 64, 64), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "p.tif", data)
    line = one_line_error(run("convert", str(tmp_path / "p.tif"), str(tmp_path / "o.ome.zarr")))
    assert str(tmp_path / "p.tif") in line and "--axes zyx" in line and "'Q' (size 10)" in line
    assert not (tmp_path / "o.ome.zarr").exists()
    proc = run("convert", str(tmp_path / "p.tif"), str(tmp_path / "o.ome.zarr"), "--axes", "zyx")
    assert proc.returncode == 0, proc.stderr
    img = ngffkit.open(tmp_path / "o.ome.zarr")
    assert img.axis_names == ("z", "y", "x")
    np.testing.assert_array_equal(img.levels[0].compute(), data)
    line = one_line_error(run("convert", str(tmp_path / "p.tif"), str(tmp_path / "t.ome.zarr"), "--axes", "cyx4"))
    assert str(tmp_path / "p.tif") in line and "do not fit the 3D data" in line


def test_axes_given_out_of_ngff_order_are_moved(tmp_path: pathlib.Path) -> None:
    """``--axes zcyx`` names the file's axes as stored; the data is moved into c, z, y, x (a command-line user
    cannot transpose)."""
    data = np.random.default_rng(3).integers(0, 4000, (5, 2, 32, 32), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "zc.tif", data)
    proc = run("convert", str(tmp_path / "zc.tif"), str(tmp_path / "zc.ome.zarr"), "--axes", "zcyx")
    assert proc.returncode == 0, proc.stderr
    img = ngffkit.open(tmp_path / "zc.ome.zarr")
    assert img.axis_names == ("c", "z", "y", "x")
    np.testing.assert_array_equal(img.levels[0].compute(), np.moveaxis(data, 1, 0))
    assert ngffkit.validate(tmp_path / "zc.ome.zarr").valid


def test_every_input_gets_display_windows(tmp_path: pathlib.Path) -> None:
    """OME-TIFF got measured omero windows, ImageJ TIFF and .npy none: all three now get them, measured alike."""
    data = np.zeros((2, 4, 64, 64), np.uint16)  # c z y x
    data[0, :, 10:20, 10:20], data[1, :, 30:40, 30:40] = 500, 3000
    tifffile.imwrite(tmp_path / "s.ome.tif", data, ome=True, metadata={"axes": "CZYX"})
    tifffile.imwrite(tmp_path / "ij.tif", data.transpose(1, 0, 2, 3), imagej=True, metadata={"axes": "ZCYX"})
    np.save(tmp_path / "v.npy", data)
    windows = {}
    for name in ("s.ome.tif", "ij.tif", "v.npy"):
        img = convert(tmp_path / name, tmp_path / f"{name}.zarr")
        windows[name] = [c.contrast_limits for c in img.channels]
    assert windows["s.ome.tif"] == [(0.0, 500.0), (0.0, 3000.0)]
    assert windows["ij.tif"] == windows["s.ome.tif"] and windows["v.npy"] == windows["s.ome.tif"]
