"""The same datasets over a loopback HTTP server and moto's S3 server open identically, with few round trips."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from loopback.servers import http_file_server

import ngffkit

from ..conftest import upload_tree

pytestmark = pytest.mark.network


def assert_same_image(remote: ngffkit.Image, local: ngffkit.Image) -> None:
    assert remote.axes == local.axes and remote.shapes == local.shapes
    assert [remote.scale(i) for i in range(len(local.levels))] == [local.scale(i) for i in range(len(local.levels))]
    assert remote.channels == local.channels and remote.label_names == local.label_names
    for a, b in zip(remote.levels, local.levels, strict=True):
        np.testing.assert_array_equal(a.compute(), b.compute())


@pytest.mark.parametrize("listing", [True, False])
@pytest.mark.parametrize("name", ["coins-0.5", "coins-0.4"])
def test_http_image_and_labels(examples: dict[str, pathlib.Path], listing: bool, name: str) -> None:
    with http_file_server(examples[name].parent, listing=listing) as server:
        url = f"{server.url}/{examples[name].name}"
        remote = ngffkit.open(url)
        assert isinstance(remote, ngffkit.Image)
        assert_same_image(remote, ngffkit.open(examples[name]))
        label = ngffkit.open(f"{url}/labels/coins")  # a label opened by URL finds its image remotely
        assert label.source_image().url == url


def test_http_403_server(examples: dict[str, pathlib.Path]) -> None:
    with http_file_server(examples["coins-0.5"].parent, listing=False, forbidden_missing=True) as server:
        img = ngffkit.open(f"{server.url}/{examples['coins-0.5'].name}")
        assert_same_image(img, ngffkit.open(examples["coins-0.5"]))


def test_remote_plate_costs_a_handful_of_round_trips(examples: dict[str, pathlib.Path]) -> None:
    plate_path = examples["plate-0.4"]  # 24 wells x 4 fields x 2 levels
    local = ngffkit.open(plate_path).grid(1).compute()
    # 50 ms per answer: requests that could be sent together overlap, so the log counts round trips
    with http_file_server(plate_path.parent, listing=False, keep_alive=True, latency=0.05) as server:
        plate = ngffkit.open(f"{server.url}/{plate_path.name}")
        (data, _, _), *_ = ngffkit.layers(plate)
        opened = server.log.paths()
        # Opening (to napari layer data) reads the plate and its first well only: the same handful of documents
        # whatever the number of wells, in one round trip per depth.
        assert all(p.startswith(f"/{plate_path.name}/" + ("A/1/" if p.count("/") > 2 else "")) for p in opened), opened
        assert len(opened) <= 14 and server.log.sequential_waves() <= 5, opened
        assert data[1].shape == (2, 256, 384)
        server.log.clear()
        grid = np.asarray(data[1])  # the whole plate at level 1: every other well read on the way, in batches
        requests = server.log.paths()
        # Breadth first: the wells, then their fields, then their arrays, then every chunk, each one batch.
        depths = [p.removeprefix(f"/{plate_path.name}/").count("/") for p in requests]
        chunks = [p for p in requests if not p.rsplit("/", 1)[-1].startswith((".z", "zarr.json"))]
        assert server.log.sequential_waves() <= 5, server.log.sequential_waves()
        metadata_depths = depths[: len(depths) - len(chunks)]
        assert len(requests) - len(chunks) <= 23 * 3 + 23 + 23 * 2 * 2
        assert metadata_depths == sorted(metadata_depths)
        assert len(chunks) == 24 * 2  # one chunk per channel and well at level 1, each read once
        np.testing.assert_array_equal(grid, local)
        server.log.clear()
        np.asarray(data[1][:, :64, :128])  # a view of two wells, already read: their chunks alone
        assert len(server.log.paths()) == 2 * 2 and server.log.sequential_waves() == 1


def test_public_and_private_s3(examples: dict[str, pathlib.Path], moto_server: str, monkeypatch: pytest.MonkeyPatch,
                               tmp_path: pathlib.Path) -> None:  # fmt: skip
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    upload_tree(moto_server, "reader-public", examples["coins-0.5"], "coins.zarr", public=True)
    upload_tree(moto_server, "reader-private", examples["plate-0.5"], "plate.zarr", public=False)
    endpoint = {"client_kwargs": {"endpoint_url": moto_server}, "skip_instance_cache": True}
    public = ngffkit.open("s3://reader-public/coins.zarr", storage_options=endpoint)
    assert_same_image(public, ngffkit.open(examples["coins-0.5"]))  # type: ignore[arg-type]
    private = ngffkit.open(
        "s3://reader-private/plate.zarr", storage_options={**endpoint, "key": "testing", "secret": "testing"}
    )
    assert isinstance(private, ngffkit.Plate)
    np.testing.assert_array_equal(private.grid(0).compute(), ngffkit.open(examples["plate-0.5"]).grid(0).compute())


def test_missing_keys_keep_the_connection(tmp_path: pathlib.Path) -> None:
    """A "not found" answer is read to its end, so that the next request reuses the connection: aiohttp closes
    one whose body was left unread, and a walk meeting many missing keys paid a new connection for each."""
    labels = np.zeros((64, 64), np.uint8)
    labels[:8, :8] = 1  # three of the four chunks are empty: never written, so every read of them is a 404
    ngffkit.write_image(np.ones((64, 64), np.uint8), tmp_path / "img.zarr", chunks=(32, 32), levels=1)
    ngffkit.write_labels(labels, tmp_path / "img.zarr", "cells", chunks=(32, 32))
    with http_file_server(tmp_path, listing=False, keep_alive=True) as server:
        level = ngffkit.open(f"{server.url}/img.zarr").label("cells").levels[0]
        with server.log.lock:
            opened = {entry["client"] for entry in server.log.entries}  # the connections the open made
        server.log.clear()
        for y, x in [(0, 32), (32, 0), (32, 32), (0, 0), (32, 32)]:  # one request at a time, 404s among them
            np.testing.assert_array_equal(level[y : y + 32, x : x + 32].compute(), labels[y : y + 32, x : x + 32])
        with server.log.lock:
            reads = [entry["client"] for entry in server.log.entries]
    assert len(reads) == 5 and set(reads) <= opened, (reads, opened)  # no new connection
