"""Version strings that writers actually emit for the RFC-5 draft read as 0.6rc0, end to end.

ngff-zarr >= 0.50 writes "0.6", acquire-zarr "0.6.dev3", ngff-zarr also accepts "0.6.dev4", "0.6-dev" is the
same family's dash spelling (spatialdata's own strings: test_spatialdata_versions.py); the specification repository calls the draft "0.6rc0". Each must open, give layers,
validate, describe itself, download and serve; an unknown future version stays a clear refusal.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import warnings

import numpy as np
import pytest
from loopback.servers import http_file_server
from peers import NGFF_ZARR

import ngffkit
from ngffkit.samples.examples import write_coins, write_plate
from ngffkit.tools.serve import serving

from ..clirun import one_line_error, run
from ..conftest import use_peer

#: (version string, the writer known to emit it)
IN_THE_WILD = [("0.6", "ngff-zarr 0.50"), ("0.6.dev3", "acquire-zarr"), ("0.6.dev4", "ngff-zarr"),
               ("0.6-dev", "the dash spelling")]  # fmt: skip


def restamp(root: pathlib.Path, version: str) -> int:
    """Write ``version`` into every OME group of the hierarchy, as the writer named above would; returns how many."""
    count = 0
    for doc_path in root.rglob("zarr.json"):
        doc = json.loads(doc_path.read_text())
        ome = doc.get("attributes", {}).get("ome")
        if isinstance(ome, dict) and "version" in ome:
            ome["version"] = version
            doc_path.write_text(json.dumps(doc))
            count += 1
    return count


@pytest.fixture(scope="module")
def rc0_image(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return write_coins(tmp_path_factory.mktemp("rc0") / "coins.zarr", "0.6rc0", levels=2)


@pytest.mark.network
@pytest.mark.parametrize(("stated", "writer"), IN_THE_WILD)
def test_prerelease_strings_read_as_0_6rc0(rc0_image: pathlib.Path, tmp_path: pathlib.Path, stated: str,
                                           writer: str) -> None:  # fmt: skip
    path = tmp_path / "coins.zarr"
    shutil.copytree(rc0_image, path)
    assert restamp(path, stated) >= 3, writer  # the image, its labels group and the label image
    reference = ngffkit.open(rc0_image)
    with pytest.warns(ngffkit.NGFFWarning, match=rf"'{stated}' read as 0\.6rc0"):
        image = ngffkit.open(path)
    assert isinstance(image, ngffkit.Image) and image.version == "0.6rc0"
    assert image.scale(1) == reference.scale(1) and image.translation(1) == reference.translation(1)
    np.testing.assert_array_equal(image.levels[1].compute(), reference.levels[1].compute())
    assert image.label_names == ("coins",) and image.label("coins").version == "0.6rc0"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ngffkit.NGFFWarning)
        layers = ngffkit.layers(image)
    assert [kind for _, _, kind in layers] == [kind for _, _, kind in ngffkit.layers(reference)]

    report = ngffkit.validate(path)
    assert report.valid, report.findings
    assert any(f.rule == "version-alias" and stated in f.message for f in report.findings)

    info = run("info", "--json", str(path))
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["version"] == "0.6rc0"

    with http_file_server(tmp_path, listing=False) as server:
        copy = tmp_path / "copy.zarr"
        downloaded = run("download", f"{server.url}/coins.zarr", str(copy))
        assert downloaded.returncode == 0, downloaded.stderr
    assert json.loads((copy / "zarr.json").read_text())["attributes"]["ome"]["version"] == stated  # copied as is
    with serving(path) as url, pytest.warns(ngffkit.NGFFWarning, match="read as"):
        served = ngffkit.open(url)
    np.testing.assert_array_equal(served.levels[0].compute(), reference.levels[0].compute())


def test_a_plate_says_it_once(tmp_path: pathlib.Path) -> None:
    plate_path = write_plate(tmp_path / "p.zarr", "0.6rc0", rows="AB", columns=("1", "2"), fields=2)
    assert restamp(plate_path, "0.6.dev3") > 5
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plate = ngffkit.open(plate_path)
        plate.grid(0)
    said = [w for w in caught if "read as" in str(w.message)]
    assert len(said) == 1 and "0.6.dev3" in str(said[0].message)
    assert plate.version == "0.6rc0" and ngffkit.validate(plate_path).valid


def test_an_unknown_future_version_is_refused_clearly(rc0_image: pathlib.Path, tmp_path: pathlib.Path) -> None:
    path = tmp_path / "future.zarr"
    shutil.copytree(rc0_image, path)
    restamp(path, "0.7")
    with pytest.raises(ngffkit.UnsupportedVersion, match=r"0\.7"):
        ngffkit.open(path)
    report = ngffkit.validate(path)
    assert not report.valid and [f.rule for f in report.errors] == ["version-unknown"]
    assert "0.7" in one_line_error(run("info", str(path)))


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_upgrade_to_0_6rc0_keeps_pixels_and_places(tmp_path: pathlib.Path, version: str) -> None:
    path = write_coins(tmp_path / "c.zarr", version, levels=3)
    before = ngffkit.open(path)
    pixels = [level.compute() for level in before.levels]
    chunks = {p: p.read_bytes() for p in path.rglob("*") if p.is_file() and p.name not in ("zarr.json", ".zattrs",
                                                                                             ".zarray", ".zgroup")}  # fmt: skip
    proc = run("upgrade", "--to", "0.6rc0", str(path))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    after = ngffkit.open(path)
    assert after.version == "0.6rc0" and after.label("coins").version == "0.6rc0"
    for i, level in enumerate(after.levels):
        assert after.scale(i) == before.scale(i) and after.translation(i) == before.translation(i)
        np.testing.assert_array_equal(level.compute(), pixels[i])
    assert {p: p.read_bytes() for p in chunks} == chunks  # chunk files untouched
    assert ngffkit.validate(path).valid
    assert "already" in one_line_error(run("upgrade", "--to", "0.6rc0", str(path)))


@pytest.mark.peers
def test_what_ngff_zarr_writes_as_0_6(tmp_path: pathlib.Path) -> None:
    """ngff-zarr (its own environment, peers/) writes "0.6"; ngffkit reads it as 0.6rc0."""
    peer = use_peer(NGFF_ZARR)
    release = peer.call("version")
    if tuple(int(x) for x in release.split(".")[:2]) < (0, 50):
        pytest.skip(f"ngff-zarr {release} predates its 0.6 output")
    values = np.arange(96 * 80, dtype=np.uint16).reshape(96, 80)
    np.save(tmp_path / "values.npy", values)
    peer.call("write", path=tmp_path / "nz.zarr", data=tmp_path / "values.npy", dims=["y", "x"],
              scale={"y": 0.5, "x": 0.25}, translation={"y": 1.0, "x": 2.0}, scale_factors=[2], version="0.6")  # fmt: skip
    assert json.loads((tmp_path / "nz.zarr" / "zarr.json").read_text())["attributes"]["ome"]["version"] == "0.6"
    with pytest.warns(ngffkit.NGFFWarning, match="'0.6' read as 0.6rc0"):
        ours = ngffkit.open(tmp_path / "nz.zarr")
    assert ours.axis_names == ("y", "x") and ours.scale(0) == (0.5, 0.25) and ours.translation(0) == (1.0, 2.0)
    np.testing.assert_array_equal(ours.levels[0].compute(), values)
    assert ngffkit.validate(tmp_path / "nz.zarr").valid


@pytest.mark.peers
def test_ngff_zarr_reads_our_0_6rc0(rc0_image: pathlib.Path, tmp_path: pathlib.Path) -> None:
    theirs = use_peer(NGFF_ZARR).call("read", path=rc0_image, out=tmp_path, levels=[1])
    ours = ngffkit.open(rc0_image)
    assert [tuple(img["dims"]) for img in theirs] == [ours.axis_names] * len(ours.levels)
    assert [tuple(img["scale"][a] for a in img["dims"]) for img in theirs] == [ours.scale(k) for k in range(2)]
    np.testing.assert_array_equal(np.load(theirs[1]["pixels"]), ours.levels[1].compute())


def test_a_prerelease_string_on_the_0_5_layout_reads_as_0_5(tmp_path: pathlib.Path) -> None:
    """A 0.6 pre-release version stamped on metadata that still has 0.5's axes and no coordinate systems (hand
    written, as a writer mid-way to RFC-5 produces it): the axes and scales are read, and the reason is said."""
    values = np.arange(64 * 48, dtype=np.uint16).reshape(64, 48)
    path = ngffkit.write_image(values, tmp_path / "mid.zarr", scale={"y": 0.5, "x": 0.25}, levels=2).location.url
    restamp(pathlib.Path(path), "0.6.dev3")
    with pytest.warns(ngffkit.NGFFWarning, match=r"'0\.6\.dev3' read as 0\.5"):
        image = ngffkit.open(path)
    assert image.axis_names == ("y", "x") and image.scale(0) == (0.5, 0.25) and image.scale(1) == (1.0, 0.5)
    np.testing.assert_array_equal(image.levels[0].compute(), values)
    report = ngffkit.validate(path)
    assert report.valid and any("0.5 layout" in f.message for f in report.findings if f.rule == "version-alias")
