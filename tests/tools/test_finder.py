"""``ngffkit finder``: a folder (or bucket) of OME-Zarr data as a BioFile Finder table."""

from __future__ import annotations

import csv
import json
import pathlib

import numpy as np
import pytest
import zarr

import ngffkit
from ngffkit.samples.examples import write_plate, write_timelapse
from ngffkit.tools.finder import COLUMNS

from ..clirun import run
from ..conftest import upload_tree


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """Images, a plate, a time-lapse, an .ozx, a plain group holding an image, a hidden folder and
    two broken datasets."""
    root = tmp_path_factory.mktemp("tree")
    ngffkit.write_image(np.zeros((64, 64), np.uint8), root / "a" / "flat.ome.zarr", name="flat")
    write_plate(root / "a" / "b" / "plate.zarr", "0.4", rows="A", columns=("1", "2"), fields=2, labels=True)
    write_timelapse(root / "movie.ome.zarr")
    ngffkit.write_image(np.ones((32, 32), np.uint16), root / "packed.ozx")
    zarr.open_group(root / "plain.zarr", mode="w")
    ngffkit.write_image(np.zeros((8, 32, 32), np.uint8), root / "plain.zarr" / "inner.ome.zarr", axes="zyx")
    ngffkit.write_image(np.zeros((16, 16), np.uint8), root / ".cache" / "hidden.ome.zarr")
    (root / "broken.zarr").mkdir()
    (root / "broken.zarr" / "zarr.json").write_text("{not json")
    ngffkit.write_image(np.zeros((16, 16), np.uint8), root / "escaping.zarr")
    doc = json.loads((root / "escaping.zarr" / "zarr.json").read_text())
    doc["attributes"]["ome"]["multiscales"][0]["datasets"][0]["path"] = "../../secret"
    (root / "escaping.zarr" / "zarr.json").write_text(json.dumps(doc))
    return root


def rows_by_path(text: str) -> dict[str, dict[str, str]]:
    reader = csv.DictReader(text.splitlines())
    assert tuple(reader.fieldnames or ()) == COLUMNS
    return {row["File Path"]: row for row in reader}


def test_finder_writes_one_row_per_image(tree: pathlib.Path, tmp_path: pathlib.Path) -> None:
    out = tmp_path / "table.csv"
    proc = run("finder", str(tree), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout and "8 images (2 skipped)" in proc.stdout
    rows = rows_by_path(out.read_text())
    plate = tree / "a" / "b" / "plate.zarr"
    fields = [plate / well / f for well in ("A/1", "A/2") for f in "01"]
    others = [
        tree / "a" / "flat.ome.zarr",
        tree / "movie.ome.zarr",
        tree / "packed.ozx",
        tree / "plain.zarr" / "inner.ome.zarr",
    ]
    assert sorted(rows) == sorted(str(p) for p in fields + others)
    field = rows[str(plate / "A" / "2" / "1")]
    assert (field["Kind"], field["Plate"], field["Well"], field["Field"]) == ("field", "demo plate", "A2", "1")
    assert (field["NGFF Version"], field["Axes"], field["Size C"], field["Size Y"]) == ("0.4", "cyx", "2", "128")
    assert (field["Data Type"], field["Channels"], field["Labels"], field["Folder"]) == (
        "uint16",
        "GFP;DAPI",
        "cells",
        "a/b",
    )
    movie = rows[str(tree / "movie.ome.zarr")]
    assert [movie[f"Size {a}"] for a in "TCZYX"] == ["6", "2", "16", "96", "96"]
    assert (movie["Levels"], movie["Channels"], movie["Labels"]) == ("3", "body;membrane", "cells")
    assert rows[str(tree / "packed.ozx")]["Size Y"] == "32"
    assert rows[str(tree / "plain.zarr" / "inner.ome.zarr")]["Size Z"] == "8"
    assert not any(".cache" in path for path in rows)
    # the broken datasets are reported, by name, and do not stop the walk
    assert "broken.zarr" in proc.stderr and "escaping.zarr" in proc.stderr and "Traceback" not in proc.stderr


def test_finder_json_base_url_and_no_overwrite(tree: pathlib.Path) -> None:
    proc = run("finder", str(tree), "--json", "--base-url", "https://data.example.org/lab/")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    paths = {row["File Path"] for row in doc["images"]}
    assert "https://data.example.org/lab/movie.ome.zarr" in paths
    assert {s["url"].rsplit("/", 1)[-1] for s in doc["skipped"]} == {"broken.zarr", "escaping.zarr"}
    assert not (tree / "biofile_finder.csv").exists()  # --json alone writes no file
    assert run("finder", str(tree)).returncode == 0
    again = run("finder", str(tree))
    assert again.returncode == 2 and "pass --overwrite" in again.stderr
    assert run("finder", "s3://bucket/x").returncode == 2  # remote needs --output or --json
    missing = run("finder", str(tree / "absent"))
    assert missing.returncode == 1 and "no such folder" in missing.stderr


def test_finder_over_s3(tree: pathlib.Path, moto_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    upload_tree(moto_server, "finder", tree / "a", "project/a", public=False)
    options = json.dumps({"client_kwargs": {"endpoint_url": moto_server}, "skip_instance_cache": True})
    proc = run("finder", "s3://finder/project", "--json", "--storage-options", options)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert sorted(row["File Path"] for row in doc["images"]) == [
        "s3://finder/project/a/b/plate.zarr/A/1/0", "s3://finder/project/a/b/plate.zarr/A/1/1",
        "s3://finder/project/a/b/plate.zarr/A/2/0", "s3://finder/project/a/b/plate.zarr/A/2/1",
        "s3://finder/project/a/flat.ome.zarr",
    ]  # fmt: skip
    assert doc["skipped"] == []


@pytest.mark.network
def test_a_plate_beyond_the_well_limit_is_skipped_before_its_wells_are_read(tmp_path: pathlib.Path) -> None:
    """A plate whose metadata lists 100,000 wells is refused at the reader's well limit, at once: none of its
    wells is asked for (it took over 20 s to read them all), and the rest of the folder is catalogued."""
    from loopback.servers import http_file_server

    from ngffkit.tools.finder import find

    ngffkit.write_image(np.zeros((16, 16), np.uint8), tmp_path / "data" / "img.zarr")
    rows, columns = [f"R{r}" for r in range(100)], [str(c) for c in range(1000)]
    wells = [{"path": f"{row}/{column}", "rowIndex": r, "columnIndex": c}
             for r, row in enumerate(rows) for c, column in enumerate(columns)]  # fmt: skip
    plate = {"version": "0.5", "plate": {"rows": [{"name": r} for r in rows],
                                         "columns": [{"name": c} for c in columns], "wells": wells}}  # fmt: skip
    (tmp_path / "data" / "huge.zarr").mkdir()
    group = {"zarr_format": 3, "node_type": "group", "attributes": {"ome": plate}}
    (tmp_path / "data" / "huge.zarr" / "zarr.json").write_text(json.dumps(group))
    with http_file_server(tmp_path) as server:
        catalogue = find(f"{server.url}/data")
        asked = server.log.paths()
    assert [image.name for image in catalogue.images] == ["img.zarr"]
    ((where, reason),) = catalogue.skipped
    assert where.endswith("huge.zarr") and "100000" in reason and "NGFFKIT_MAX_WELLS" in reason
    assert not [path for path in asked if path.startswith("/data/huge.zarr/R")]
