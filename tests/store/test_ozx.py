"""Zipped OME-Zarr (.ozx): the layout ngffkit zip writes, reading it locally and over HTTP, nesting refused."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from loopback.servers import http_file_server

import ngffkit
from ngffkit import UnsafePath, validate
from ngffkit.samples.examples import write_coins, write_plate


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ngffkit", *args], capture_output=True, text=True, check=False, timeout=300
    )


def test_zip_ozx_layout_and_reading(tmp_path: pathlib.Path) -> None:
    plate = write_plate(tmp_path / "p.zarr", "0.5", labels=True)
    proc = run("zip", str(plate), str(tmp_path / "p.ozx"))
    assert proc.returncode == 0, proc.stderr
    archive = zipfile.ZipFile(tmp_path / "p.ozx")
    names = [i.filename for i in archive.infolist()]
    metadata = [n for n in names if n.endswith("zarr.json")]
    assert names[: len(metadata)] == metadata and metadata[0] == "zarr.json"  # every zarr.json first, root first
    depths = [n.count("/") for n in metadata]
    assert depths == sorted(depths)  # breadth-first
    assert {i.compress_type for i in archive.infolist()} == {zipfile.ZIP_STORED}
    assert json.loads(archive.comment)["ome"]["zipFile"]["centralDirectory"]["jsonFirst"] is True
    opened = ngffkit.open(tmp_path / "p.ozx")
    np.testing.assert_array_equal(opened.grid(0).compute(), ngffkit.open(plate).grid(0).compute())
    assert validate(tmp_path / "p.ozx").valid
    assert (
        run("zip", str(write_coins(tmp_path / "c4.zarr", "0.4")), str(tmp_path / "c4.ozx")).returncode == 1
    )  # 0.4 has no zip form


def test_write_image_to_ozx_and_read_over_http(tmp_path: pathlib.Path) -> None:
    data = np.arange(200 * 300, dtype=np.uint16).reshape(200, 300)
    ngffkit.write_image(data, tmp_path / "i.ozx")
    with pytest.raises(ngffkit.AlreadyExists):
        ngffkit.write_image(data, tmp_path / "i.ozx")
    with http_file_server(tmp_path, listing=False) as server:
        img = ngffkit.open(f"{server.url}/i.ozx")
        np.testing.assert_array_equal(img.levels[0].compute(), data)
        assert any(e["path"] == "/i.ozx" for e in server.log.entries)


def test_nested_ozx_is_refused(tmp_path: pathlib.Path) -> None:
    ngffkit.write_image(np.zeros((64, 64), dtype=np.uint8), tmp_path / "inner.ozx")
    attrs = {"ome": {"version": "0.5", "labels": ["inner.ozx"]}}
    (tmp_path / "outer.zarr").mkdir()
    (tmp_path / "outer.zarr" / "zarr.json").write_text(
        json.dumps({"zarr_format": 3, "node_type": "group", "attributes": attrs})
    )
    labels = ngffkit.open(tmp_path / "outer.zarr")
    with pytest.raises(UnsafePath, match=r"nested \.ozx"):
        labels["inner.ozx"]  # type: ignore[index]
