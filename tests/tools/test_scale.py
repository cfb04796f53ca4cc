"""``ngffkit scale``: a plain zarr array (local or over HTTP) becomes a valid OME-Zarr pyramid."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
import zarr
from loopback.servers import http_file_server

import ngffkit

from ..clirun import one_line_error, run


@pytest.fixture
def volume(tmp_path: pathlib.Path) -> tuple[pathlib.Path, np.ndarray]:
    values = np.random.default_rng(0).integers(0, 4000, (24, 90, 120), dtype=np.uint16)
    z = zarr.create_array(tmp_path / "raw.zarr", shape=values.shape, chunks=(8, 32, 32), dtype=values.dtype,
                          dimension_names=["z", "y", "x"])  # fmt: skip
    z[:] = values
    return tmp_path / "raw.zarr", values


def test_scale_uses_dimension_names_and_honours_factors(volume: tuple[pathlib.Path, np.ndarray]) -> None:
    raw, values = volume
    out = raw.parent / "out.ome.zarr"
    proc = run("scale", str(raw), str(out), "--factors", "3", "--levels", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["axes"] == "zyx"
    assert summary["shapes"] == [[24, 90, 120], [24, 30, 40], [24, 10, 14]]  # the factor 3 is used, per level
    image = ngffkit.open(out)
    np.testing.assert_array_equal(image.levels[0].compute(), values)
    level1 = image.levels[1].compute()
    np.testing.assert_allclose(level1[5, 2, 3], values[5, 6:9, 9:12].mean(), atol=1)  # mean of a 3x3 block
    assert ngffkit.validate(out).valid


def test_scale_v2_array_to_04_with_per_axis_factors(tmp_path: pathlib.Path) -> None:
    z = zarr.open_array(tmp_path / "v2.zarr", mode="w", shape=(16, 64, 64), chunks=(8, 32, 32), dtype="u1",
                        zarr_format=2)  # fmt: skip
    z[:] = 7
    out = tmp_path / "out.zarr"
    proc = run("scale", str(tmp_path / "v2.zarr"), str(out), "--axes", "zyx", "--version", "0.4",
               "--factors", '{"z": 2, "y": 2, "x": 2}', "--levels", "2", "--method", "nearest")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    image = ngffkit.open(out)
    assert image.format.version == "0.4"
    assert image.shapes[1] == (8, 32, 32)
    assert int(image.levels[-1].max().compute()) == 7


def test_scale_reads_a_remote_array(volume: tuple[pathlib.Path, np.ndarray], tmp_path: pathlib.Path) -> None:
    raw, values = volume
    with http_file_server(raw.parent) as server:
        out = tmp_path / "remote.ome.zarr"
        proc = run("scale", f"{server.url}/raw.zarr", str(out), "--axes", "zyx")
        assert proc.returncode == 0, proc.stderr
        assert any(p.startswith("/raw.zarr/c/") for p in server.log.paths())  # chunks came over HTTP
    np.testing.assert_array_equal(ngffkit.open(out).levels[0].compute(), values)


def test_scale_errors_are_one_line_and_write_nothing(
    volume: tuple[pathlib.Path, np.ndarray], examples: dict[str, pathlib.Path]
) -> None:
    raw, _ = volume
    tmp = raw.parent
    assert "expected a zarr array, found a group (an OME-Zarr image" in one_line_error(
        run("scale", str(examples["coins-0.5"]), str(tmp / "a.zarr"))
    )
    assert "overlaps the input" in one_line_error(run("scale", str(raw), str(raw / "inside")))
    assert "do not fit the 3D array" in one_line_error(run("scale", str(raw), str(tmp / "b.zarr"), "--axes", "yx"))
    assert "no zarr array here" in one_line_error(run("scale", str(tmp / "missing.zarr"), str(tmp / "c.zarr")))
    bad_method = run("scale", str(raw), str(tmp / "d.zarr"), "--method", "bicubic")
    assert bad_method.returncode == 2 and "invalid choice: 'bicubic'" in bad_method.stderr
    assert not any((tmp / name).exists() for name in ("a.zarr", "b.zarr", "c.zarr", "d.zarr"))
    assert sorted(p.name for p in raw.iterdir()) == ["c", "zarr.json"]  # the input is untouched
    assert run("scale", str(raw), str(tmp / "e.zarr")).returncode == 0
    assert "pass --overwrite" in one_line_error(run("scale", str(raw), str(tmp / "e.zarr")))
