"""``ngffkit transform PATH SOURCE TARGET POINTS``: the calling convention of the transformations conformance suite
(``oztc``): JSON coordinates on stdout; a failure is a non-zero exit with ``{"message": ...}`` on stdout and one line
on stderr -- never a traceback, never a password."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
from loopback.servers import http_file_server

import ngffkit

from ..clirun import one_line_error, run
from ..reader.test_coordinates import BY_DIMENSION, between, scene, stored_scene

SECRET = "s3cr3t-Pa55"


def test_points_are_printed_as_the_suite_reads_them(tmp_path: pathlib.Path) -> None:
    path = scene(tmp_path / "s.ome.zarr", [between(BY_DIMENSION)])
    proc = run("transform", str(path), "output", "input", "[[1,20],[3,40]]")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"coordinates": [[1.0, 2.0], [3.0, 4.0]]}


def test_a_classic_image_maps_its_levels_into_physical(tmp_path: pathlib.Path) -> None:
    ngffkit.write_image(np.zeros((32, 32), dtype="uint8"), tmp_path / "img.zarr", axes="yx",
                        scale={"y": 0.5, "x": 2.0}, levels=1, version="0.4")  # fmt: skip
    proc = run("transform", str(tmp_path / "img.zarr"), "0", "physical", "[[2, 3]]")
    assert json.loads(proc.stdout) == {"coordinates": [[1.0, 6.0]]}


@pytest.mark.parametrize(
    ("args", "status", "said"),
    [
        (("input", "potato", "[[1,2]]"), 1, "no coordinate system 'potato'"),
        (("input", "output", "[[1,2"), 2, "POINTS is not JSON"),
        (("input", "output", "[[1,2,3]]"), 1, "have 2 coordinates"),
    ],
)
def test_failures_are_a_message_and_a_status(tmp_path: pathlib.Path, args: tuple[str, ...], status: int,
                                             said: str) -> None:  # fmt: skip
    path = scene(tmp_path / "s.ome.zarr", [between({"type": "identity"})])
    proc = run("transform", str(path), *args)
    assert proc.returncode == status
    assert said in json.loads(proc.stdout)["message"]
    assert said in one_line_error(proc)


@pytest.mark.network
def test_the_password_of_a_url_is_never_printed(tmp_path: pathlib.Path) -> None:
    scene(tmp_path / "s.ome.zarr", [between({"type": "identity"})])
    with http_file_server(tmp_path, listing=False) as server:
        url = server.url.replace("http://", f"http://reader:{SECRET}@", 1) + "/s.ome.zarr"
        proc = run("transform", url, "input", "nowhere", "[[1, 2]]")
    assert proc.returncode == 1 and "nowhere" in proc.stdout
    assert SECRET not in proc.stdout and SECRET not in proc.stderr


def test_parameters_kept_in_an_array_are_read(tmp_path: pathlib.Path) -> None:
    path = stored_scene(tmp_path / "s.ome.zarr", "affine", np.array([[0, 2, 5], [-2, 0, 7]], dtype=float))
    proc = run("transform", str(path), "input", "output", "[[1, 2]]")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"coordinates": [[9.0, 5.0]]}


def test_a_missing_parameter_array_is_a_message_naming_it(tmp_path: pathlib.Path) -> None:
    path = scene(tmp_path / "s.ome.zarr", [between({"type": "scale", "path": "coordinateTransformations/gone"})])
    proc = run("transform", str(path), "input", "output", "[[1, 2]]")
    said = one_line_error(proc)
    assert proc.returncode == 1
    assert "s.ome.zarr/coordinateTransformations/gone" in said and "'coordinateTransformations/gone'" in said
