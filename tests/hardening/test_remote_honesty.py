"""Servers that lie, drip, bomb or refuse: ngffkit never returns wrong pixels silently and never waits forever.

Every server is a real one on 127.0.0.1 (loopback/servers.py). The hostile ones (endless bodies, gzip bombs, one
byte every few seconds) run against a capped child process (bounded.py).
"""

from __future__ import annotations

import json
import pathlib
import warnings

import numpy as np
import pytest
from loopback.servers import FaultPlan, http_file_server

import ngffkit
from ngffkit.tools.download import download

from .bounded import run_cases

pytestmark = [pytest.mark.network, pytest.mark.timeout(600)]

PIXELS = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)


def image(path: pathlib.Path, **options: object) -> pathlib.Path:
    ngffkit.write_image(PIXELS, path, chunks=(32, 32), **options)  # type: ignore[arg-type]
    return path


def test_a_forbidden_existing_chunk_is_an_error_not_zeros(tmp_path: pathlib.Path) -> None:
    image(tmp_path / "img.zarr")
    plan = FaultPlan({"/img.zarr/0/c/1/1": ["always:403"]})
    with http_file_server(tmp_path, listing=False, faults=plan) as server:
        level = ngffkit.open(f"{server.url}/img.zarr").levels[0]
        np.testing.assert_array_equal(level[:32, :32].compute(), PIXELS[:32, :32])  # other chunks read fine
        with pytest.raises(ngffkit.LocationError, match="403"):
            level[32:, 32:].compute()


def test_401_is_never_missing(tmp_path: pathlib.Path) -> None:
    image(tmp_path / "img.zarr")
    plan = FaultPlan({"/img.zarr/0/c/0/0": ["always:401"]})
    with http_file_server(tmp_path, listing=False, forbidden_missing=True, faults=plan) as server:
        level = ngffkit.open(f"{server.url}/img.zarr").levels[0]
        with pytest.raises(ngffkit.LocationError, match="401"):
            level.compute()


def test_403_for_missing_keys_is_missing_where_the_server_proves_it(tmp_path: pathlib.Path) -> None:
    labels = np.zeros((64, 64), np.uint8)
    labels[:10, :10] = 3  # three of four label chunks are empty: never written
    image(tmp_path / "img.zarr")
    ngffkit.write_labels(labels, tmp_path / "img.zarr", "cells", chunks=(32, 32))
    with http_file_server(tmp_path, listing=False, forbidden_missing=True) as server:
        img = ngffkit.open(f"{server.url}/img.zarr")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            read = img.label("cells").levels[0].compute()
        np.testing.assert_array_equal(read, labels)
        said = [str(w.message) for w in caught if issubclass(w.category, ngffkit.NGFFWarning)]
        assert len(said) == 1 and "403" in said[0], said  # once for the array, not once per chunk


def test_a_failing_well_fails_the_plate_instead_of_a_zero_tile(tmp_path: pathlib.Path) -> None:
    ngffkit.write_plate(tmp_path / "plate.zarr", ["A"], ["1", "2"], ["A/1", "A/2"])
    for well in ("A/1", "A/2"):
        ngffkit.write_field(tmp_path / "plate.zarr", well, 0, PIXELS, chunks=(32, 32))
    plan = FaultPlan({"/plate.zarr/A/2/zarr.json": ["always:503"]})
    with http_file_server(tmp_path, listing=False, faults=plan) as server:
        # Opening reads the first well only; the view that shows A/2 must fail, not show a tile of zeros
        (data, _, _), *_ = ngffkit.layers(ngffkit.open(f"{server.url}/plate.zarr"))
        assert (np.asarray(data[..., :32]) != 0).any()  # A/1 alone: fine
        with pytest.raises(ngffkit.LocationError, match="503"):
            np.asarray(data)
    plan = FaultPlan({"/plate.zarr/A/1/0/labels/zarr.json": ["always:503"]})
    with (
        http_file_server(tmp_path, listing=False, faults=plan) as server,
        pytest.raises(ngffkit.LocationError, match="503"),
    ):
        ngffkit.layers(ngffkit.open(f"{server.url}/plate.zarr"))


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_names_special_in_urls_are_read_exactly(tmp_path: pathlib.Path, version: str) -> None:
    names = ["q?r", "x#y", "a%20b", "ü b"]
    levels = [PIXELS[:: 2**k, :: 2**k] for k in range(len(names))]
    root = tmp_path / "names.zarr"
    ngffkit.write_image(levels, root, chunks=(16, 16), version=version)
    for k, name in enumerate(names):  # rename levels 0..3 to the special names, in the metadata too
        (root / str(k)).rename(root / name)
    meta_file = root / ("zarr.json" if version == "0.5" else ".zattrs")
    doc = json.loads(meta_file.read_text())
    ome = doc["attributes"]["ome"] if version == "0.5" else doc
    for k, name in enumerate(names):
        ome["multiscales"][0]["datasets"][k]["path"] = name
    meta_file.write_text(json.dumps(doc))
    with http_file_server(tmp_path, listing=False) as server:
        img = ngffkit.open(f"{server.url}/names.zarr")
        assert img.level_paths == names
        for k in range(len(names)):
            np.testing.assert_array_equal(img.levels[k].compute(), levels[k])
        copy = download(f"{server.url}/names.zarr", tmp_path / "copy.zarr")
        requested = server.log.paths()
    assert not any(p.startswith("/names.zarr/q/") or p == "/names.zarr/x" for p in requested)
    copied = ngffkit.open(copy)
    assert copied.level_paths == names
    for k in range(len(names)):
        np.testing.assert_array_equal(copied.levels[k].compute(), levels[k])


def test_a_server_that_ignores_range_still_gives_the_right_bytes(tmp_path: pathlib.Path) -> None:
    image(tmp_path / "sharded.zarr", shards=(64, 64))
    with http_file_server(tmp_path, listing=False, ignore_range=True) as server:
        img = ngffkit.open(f"{server.url}/sharded.zarr")
        np.testing.assert_array_equal(img.levels[0][40:50, 3:60].compute(), PIXELS[40:50, 3:60])


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_html_not_found_pages_are_missing_keys(tmp_path: pathlib.Path, version: str) -> None:
    labels = np.zeros((64, 64), np.uint8)
    labels[40:, 40:] = 5  # one label chunk written; the others are missing and answered with HTML
    image(tmp_path / "img.zarr", version=version)
    ngffkit.write_labels(labels, tmp_path / "img.zarr", "cells", chunks=(32, 32))
    with http_file_server(tmp_path, listing=False, html_missing=True) as server:
        img = ngffkit.open(f"{server.url}/img.zarr")
        assert img.version == version and img.label_names == ("cells",)
        np.testing.assert_array_equal(img.levels[0].compute(), PIXELS)
        np.testing.assert_array_equal(img.label("cells").levels[0].compute(), labels)
        assert ngffkit.validate(f"{server.url}/img.zarr").valid


def test_bodies_sent_gzip_encoded_read_exactly(tmp_path: pathlib.Path) -> None:
    image(tmp_path / "img.zarr")
    with http_file_server(tmp_path, listing=False, faults=FaultPlan({"": ["always:gzip"]})) as server:
        np.testing.assert_array_equal(ngffkit.open(f"{server.url}/img.zarr").levels[0].compute(), PIXELS)


def test_hostile_servers_are_bounded_in_size_and_time(tmp_path: pathlib.Path) -> None:
    image(tmp_path / "img.zarr")
    plan = FaultPlan({
        "/endless.zarr/zarr.json": ["always:endless"],
        "/img.zarr/0/c/0/0": ["always:gzipbomb:512"],
        "/drip.zarr/zarr.json": ["always:drip:1"],
    })  # fmt: skip
    with http_file_server(tmp_path, listing=False, faults=plan) as server:
        outcomes = run_cases(
            {
                "endless": f"ngffkit.open({server.url + '/endless.zarr'!r})",
                "gzip-bomb": f"ngffkit.open({server.url + '/img.zarr'!r}).levels[0][:32, :32].compute()",
                "drip": f"ngffkit.open({server.url + '/drip.zarr'!r})",
            },
            env={"NGFFKIT_DEADLINE": "4"},
        )
    for name, outcome in outcomes.items():
        assert outcome.ngff, outcome
        assert outcome.peak_mib < 600, f"{name} peaked at {outcome.peak_mib:.0f} MiB"
    assert outcomes["endless"].raised == "LimitExceeded" and "NGFFKIT_MAX_DOCUMENT_BYTES" in outcomes["endless"].message
    assert outcomes["gzip-bomb"].raised == "CorruptData" and "larger than any chunk" in outcomes["gzip-bomb"].message
    assert outcomes["drip"].raised == "LimitExceeded" and "NGFFKIT_DEADLINE" in outcomes["drip"].message
