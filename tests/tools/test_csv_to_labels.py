"""``ngffkit csv-to-labels``: table rows become label properties -- everywhere they belong, nowhere else."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
import zarr

import ngffkit
from ngffkit.samples.examples import write_plate

from ..clirun import one_line_error, run


def snapshot(root: pathlib.Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def properties(doc_path: pathlib.Path) -> list[dict]:
    doc = json.loads(doc_path.read_text())
    attrs = doc["attributes"]["ome"] if doc_path.name == "zarr.json" else doc
    return attrs["image-label"].get("properties", [])


@pytest.fixture
def image(tmp_path: pathlib.Path) -> pathlib.Path:
    labels = np.zeros((64, 64), np.uint16)
    labels[5:15, 5:15], labels[30:40, 30:50], labels[50:60, 2:9] = 1, 2, 7
    path = tmp_path / "cells.ome.zarr"
    ngffkit.write_image(np.zeros((64, 64), np.uint8), path, levels=2)
    ngffkit.write_labels(labels, path, "cells", properties={2: {"cell_id": "c-2", "kept": "yes"}})
    return path


def test_values_create_and_update_entries_and_nothing_else_changes(image: pathlib.Path, tmp_path: pathlib.Path) -> None:
    table = tmp_path / "cells.csv"
    table.write_text(
        "label,area,class,dividing,count\n1,100,round,true,3\n2,200.5,long,no,4\n7,49,tiny,1,\n42,1,ghost,0,1\n"
    )
    before = snapshot(image)
    proc = run(
        "csv-to-labels", str(table), "label", str(image), "cells", "--columns", "area#d,class,dividing#b,count#l"
    )
    assert proc.returncode == 0, proc.stderr
    assert "1 entries updated, 2 created from 4 rows" in proc.stdout
    assert "1 ids matched no label: 42" in proc.stderr
    doc = image / "labels" / "cells" / "zarr.json"
    by_value = {p["label-value"]: p for p in properties(doc)}
    assert by_value == {
        1: {"label-value": 1, "area": 100.0, "class": "round", "dividing": True, "count": 3},
        2: {"label-value": 2, "cell_id": "c-2", "kept": "yes", "area": 200.5, "class": "long", "dividing": False,
            "count": 4},
        7: {"label-value": 7, "area": 49.0, "class": "tiny", "dividing": True, "count": None},
    }  # fmt: skip
    after = snapshot(image)
    assert {k for k in after if after[k] != before.get(k)} == {"labels/cells/zarr.json"}
    old, new = json.loads(before["labels/cells/zarr.json"]), json.loads(after["labels/cells/zarr.json"])
    new["attributes"]["ome"]["image-label"].pop("properties")
    old["attributes"]["ome"]["image-label"].pop("properties")
    assert old == new  # only the properties list changed
    assert ngffkit.validate(image).valid
    label = ngffkit.open(image / "labels" / "cells")
    assert label.metadata.image_label is not None and len(label.metadata.image_label.properties) == 3


def test_match_an_existing_property_and_report_as_json(image: pathlib.Path, tmp_path: pathlib.Path) -> None:
    table = tmp_path / "ids.csv"
    table.write_text("id,score\nc-2,0.9\nc-9,0.1\n")
    proc = run("csv-to-labels", str(table), "id", str(image), "cells", "--columns", "score#d",
               "--match-property", "cell_id", "--json")  # fmt: skip
    report = json.loads(proc.stdout)
    assert report["unknown_ids"] == ["c-9"] and report["label_images"][0]["updated"] == 1
    assert properties(image / "labels" / "cells" / "zarr.json") == [
        {"label-value": 2, "cell_id": "c-2", "kept": "yes", "score": 0.9}
    ]


def test_every_field_of_a_04_plate_and_consolidated_metadata(tmp_path: pathlib.Path) -> None:
    plate = write_plate(tmp_path / "plate.zarr", "0.4", rows="AB", columns=("1", "2"), fields=2, labels=True)
    zarr.consolidate_metadata(str(plate), zarr_format=2)
    table = tmp_path / "wells.csv"
    table.write_text("value,well\n1,A1\n2,A2\n3,B1\n4,B2\n")
    proc = run("csv-to-labels", str(table), "value", str(plate), "cells", "--columns", "well")
    assert proc.returncode == 0, proc.stderr
    assert "updated 8 label images" in proc.stdout and "matched no label" not in proc.stderr
    for well, value in (("A/1", 1), ("A/2", 2), ("B/1", 3), ("B/2", 4)):
        for field in "01":
            entries = properties(plate / well / field / "labels" / "cells" / ".zattrs")
            assert entries == [{"label-value": value, "well": well.replace("/", "")}]
    consolidated = json.loads((plate / ".zmetadata").read_text())["metadata"]
    assert consolidated["B/2/1/labels/cells/.zattrs"]["image-label"]["properties"][0]["well"] == "B2"
    assert ngffkit.validate(plate).valid


def test_bad_tables_write_nothing(image: pathlib.Path, tmp_path: pathlib.Path) -> None:
    before = snapshot(image)
    cases = [
        ("label,area\n1,12\n2,big\n", "area#d", "line 3: could not convert string to float: 'big'"),
        ("label,flag\n1,maybe\n", "flag#b", "'maybe' is not a boolean"),
        ("label,area\n1,2\n1,3\n", "area#d", "line 3: id '1' appears twice"),
        ("label,area\n1,nan\n", "area#d", "'nan' is not a finite number"),
        ("label,area\n1,2\n", "area#x", "unknown type #x"),
        ("label,area\n1,2\n", "volume", "no column 'volume'"),
    ]
    for i, (text, columns, message) in enumerate(cases):
        table = tmp_path / f"bad{i}.csv"
        table.write_text(text)
        assert message in one_line_error(
            run("csv-to-labels", str(table), "label", str(image), "cells", "--columns", columns)
        )
    good = tmp_path / "good.csv"
    good.write_text("label,area\n1,2\n")
    assert "no label image 'nuclei'" in one_line_error(
        run("csv-to-labels", str(good), "label", str(image), "nuclei", "--columns", "area")
    )
    assert "would update 1 label images" in run("csv-to-labels", str(good), "label", str(image), "cells",
                                                "--columns", "area#d", "--dry-run").stdout  # fmt: skip
    assert snapshot(image) == before
