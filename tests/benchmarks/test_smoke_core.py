"""The write, plate, remote, read, codec and label-edit benchmarks still run (``--smoke``), and their tables hold every row."""

from __future__ import annotations

import pathlib
import re

import pytest
from peers import NAPARI_OME_ZARR, NGFF_ZARR, OME_ZARR_IO, OME_ZARR_MODELS, OME_ZARR_PY, OME_ZARR_PYRAMID

from ..conftest import use_peer
from .test_smoke_finder_startup import run_smoke, table_rows

#: Each benchmark times a peer in a process of the peer's own environment (peers/): built before the run's clock.
pytestmark = pytest.mark.peers


def test_write_growth_benchmark_runs(tmp_path: pathlib.Path) -> None:
    use_peer(OME_ZARR_PY)
    (row,) = table_rows(run_smoke("write_growth", tmp_path))
    assert row[0] == "16 MiB"
    for cell in row[1:5]:  # three ngffkit layouts and ome-zarr-py: time and peak memory, measured
        assert " s, " in cell and cell.split(" s, ")[1].split(" MiB")[0].isdigit(), row
    chunked, sharded = row[6].split(" / ")  # the reference jobs for each layout, and their share of ngffkit's time
    assert chunked.endswith(" s") and sharded.endswith(" s") and all("%" in cell for cell in row[1:4]), row


@pytest.mark.network
def test_plates_benchmark_runs(tmp_path: pathlib.Path) -> None:
    use_peer(NAPARI_OME_ZARR)
    use_peer(OME_ZARR_MODELS)
    text = run_smoke("plates", tmp_path)
    sections = text.split("### ")[1:]
    assert [section.split(" ")[0] for section in sections] == ["First", "Validation", "Open"], sections
    view, validation, opened = ([row for row in table_rows("\n" + section) if row[0] == "24"] for section in sections)
    assert "RT" in view[0][1] and "RT" in view[0][2], view  # ngffkit and napari-ome-zarr, each in its environment
    ours, peer = validation[0][1], validation[0][2]
    for cell in (ours, peer):  # every well and field visited, by both: the node count beside the time
        assert int(cell.split("**")[1].split(" nodes")[0]) >= 24 * 2, cell
    assert "goal" in opened[0][1] and "req" in opened[0][2] and "lazy" in text and "eager" in text


@pytest.mark.network
def test_remote_benchmark_runs(tmp_path: pathlib.Path) -> None:
    use_peer(NAPARI_OME_ZARR)
    use_peer(OME_ZARR_PY)
    text = run_smoke("remote", tmp_path)
    titles = [line for line in text.splitlines() if line.startswith("### ")]
    # case 6, validation, is plates.py's (against ome-zarr-models, a real peer visiting the same nodes)
    assert [t.split(".")[0] for t in titles] == ["### 3", "### 4", "### 5", "### 7"]
    assert "lazy" in titles[0] and "eager" in titles[0]  # opening a plate is not the same work on both sides
    rows = [row for row in table_rows(text) if row[0] not in ("reader", "---")]  # every table's header left out
    assert len(rows) == 3 + 2 + 2 + 2, rows


def test_write_pyramid_and_codecs_benchmarks_run(tmp_path: pathlib.Path) -> None:
    for peer in (OME_ZARR_PY, NGFF_ZARR, OME_ZARR_IO, OME_ZARR_PYRAMID):
        use_peer(peer)
    text = run_smoke("write_pyramid", tmp_path)
    rows = table_rows(text)
    chunks, shards, own = "64^3 chunks", "256^3 shards of 64^3 chunks", "each writer's own"
    every = [(chunks, "matched"), (shards, "matched"), (own, "defaults")]
    y_x = [(chunks, "matched (y-x mean)"), (shards, "matched (y-x mean)")]
    expected = {  # each peer in its own environment (its release in its name); ome-zarr-io: y-x means only
        "ngffkit": every[:2] + y_x + every[2:],
        "ome-zarr-py": every,
        "ngff-zarr": [every[0], every[2]],  # its sharding is another API: no shard row
        "ome-zarr-io": [*y_x, every[2]],
        "ome-zarr-pyramid": every,
    }
    for writer, runs in expected.items():
        ran = [row for row in rows if row[0].split(" ")[0] == writer]
        assert [(row[2], row[1]) for row in ran] == runs, rows
        assert all(float(row[3].split(" s")[0]) > 0 for row in ran), ran
    assert any(row[0] == "reference job (not a bound)" for row in rows)
    # every matched output was read back and found as asked (a wrong setting stops the run: test_pyramid_check.py)
    checked = [line for line in text.splitlines() if line.startswith("- ") and ", matched" in line]
    assert len(checked) == sum(settings != "defaults" for runs in expected.values() for _, settings in runs), text
    assert all(": as asked; level 1 the " in line and " block mean of level 0, " in line for line in checked), checked
    defaults = [line for line in text.splitlines() if line.startswith("- ") and ", defaults, " in line]
    assert len(defaults) == len(expected) and all(": 5 levels [" in line for line in defaults), defaults
    codecs = run_smoke("codecs", tmp_path)
    assert codecs.count("### ") == 3 and len(table_rows(codecs)) >= 3 * 4


@pytest.mark.network
def test_read_benchmark_runs(tmp_path: pathlib.Path) -> None:
    text = run_smoke("read", tmp_path)
    rows = [row for row in table_rows(text) if row[0] != "layout" and not row[0].startswith("---")]
    assert len(rows) == 2 * 3, rows  # ngffkit's layout, local and over HTTP: whole level, a z-plane, a window
    for row in rows:
        zarr_cell, compute, read = row[2], row[3], row[5]
        assert zarr_cell.endswith(("s", "MiB")) and "%**" in compute and "%**" in read, row  # measured, and compared
    assert "peak memory of a whole-level read" in text


def test_edit_labels_benchmark_runs(tmp_path: pathlib.Path) -> None:
    use_peer(OME_ZARR_PY)
    text = run_smoke("edit_labels", tmp_path)
    save, *levels = (row for row in table_rows(text) if row[0] not in ("level", "how", "---"))
    assert re.match(r"[\d.]+ s\b", save[0]) and "shards" in save[1] and save[3].startswith("yes"), save
    per_level = [row for row in levels if row[0].isdigit()]
    assert per_level[0][1:] == ["8", "8"], per_level  # level 0: the 8 shards the strokes are in, each written
    assert all(0 < int(written) <= int(touched) for _, touched, written in per_level), per_level
    assert sum(int(row[2]) for row in per_level) == int(save[1].split(" shards")[0])
    rewrites = [row[0] for row in levels if row[1].endswith(" s") and not row[0].isdigit()]
    assert len(rewrites) == 3 and rewrites[2].startswith("ome-zarr-py"), rewrites
