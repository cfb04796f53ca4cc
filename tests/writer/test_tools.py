"""convert, create, download, upgrade and zip: through the CLI, as a user runs them."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import tifffile

import ngffkit
from ngffkit import UnsafePath, validate
from ngffkit.samples.examples import write_coins, write_plate
from ngffkit.tools.convert import convert

from ..servers import http_file_server


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


@pytest.mark.parametrize("kind", ["image", "labels", "plate"])
def test_create(tmp_path: pathlib.Path, kind: str) -> None:
    proc = run("create", "--kind", kind, "--version", "0.4", str(tmp_path / "out.zarr"))
    assert proc.returncode == 0, proc.stderr
    node = ngffkit.open(proc.stdout.split("wrote ", 1)[1].strip())
    assert node.version == "0.4" and (node.kind == "plate" if kind == "plate" else isinstance(node, ngffkit.Image))
    assert validate(tmp_path / "out.zarr").valid


@pytest.mark.network
def test_download_is_complete_and_resumable(examples: dict[str, pathlib.Path], tmp_path: pathlib.Path) -> None:
    plate = write_plate(tmp_path / "src" / "p.zarr", "0.5", labels=True)
    with http_file_server(tmp_path / "src", listing=False) as server:
        proc = run("download", f"{server.url}/p.zarr", str(tmp_path / "copy"))
        assert proc.returncode == 0, proc.stderr
        assert validate(tmp_path / "copy").valid
        np.testing.assert_array_equal(
            ngffkit.open(tmp_path / "copy").grid(0).compute(), ngffkit.open(plate).grid(0).compute()
        )
        # an interrupted download: chunks partly there, the marker present, no root metadata yet
        partial = tmp_path / "partial"
        subprocess.run(["cp", "-r", str(tmp_path / "copy"), str(partial)], check=True)
        (partial / "zarr.json").unlink()
        chunk = next(partial.rglob("c/0/0/0"))
        chunk.unlink()
        (partial / ".ngffkit-download").write_text("unfinished")
        server.log.clear()
        assert run("download", f"{server.url}/p.zarr", str(partial)).returncode == 0
        fetched = [p for p in server.log.paths() if "/c/" in p]
        assert len(fetched) == 1  # only the missing chunk was fetched again
        assert validate(partial).valid
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    assert run("download", "http://127.0.0.1:9/p.zarr", str(foreign)).returncode == 1
    assert (foreign / "keep.txt").exists()


def test_upgrade_keeps_chunks(tmp_path: pathlib.Path) -> None:
    path = write_coins(tmp_path / "c.zarr", "0.4")
    before = ngffkit.open(path)
    before_pixels = before.levels[0].compute()
    before_labels = before.label("coins").levels[2].compute()
    chunk_files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".z", "zarr.json")))
    digest = {p: p.read_bytes() for p in chunk_files}
    proc = run("upgrade", "--dry-run", str(path))
    assert proc.returncode == 0 and "would write zarr.json" in proc.stdout and not (path / "zarr.json").exists()
    proc = run("upgrade", str(path))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    after = ngffkit.open(path)
    assert after.version == "0.5" and not (path / ".zattrs").exists()
    assert {p: p.read_bytes() for p in chunk_files} == digest  # the chunks were not touched
    np.testing.assert_array_equal(after.levels[0].compute(), before_pixels)
    np.testing.assert_array_equal(after.label("coins").levels[2].compute(), before_labels)
    assert run("upgrade", str(path)).returncode == 1  # already v3: a clear refusal


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
