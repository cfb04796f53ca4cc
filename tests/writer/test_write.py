"""write_image / write_labels / write_plate: valid output for every version, safety, and interop."""

from __future__ import annotations

import importlib.util
import json
import pathlib

import dask
import dask.array as da
import numpy as np
import pytest
from peers import OME_ZARR_MODELS, OME_ZARR_PY

import ngffkit
from ngffkit import AlreadyExists, InvalidArgument, NotFound, NotOMEZarr, validate

from ..conftest import require, use_peer

VERSIONS = ["0.4", "0.5", "0.6rc0"]


def volume(shape: tuple[int, ...] = (12, 150, 170), dtype: str = "uint16") -> np.ndarray:
    rng = np.random.default_rng(7)
    zz, yy, xx = np.meshgrid(*(np.linspace(0, 1, s) for s in shape[-3:]), indexing="ij")
    smooth = 3000 * np.exp(-((yy - 0.5) ** 2 + (xx - 0.4) ** 2) / 0.05) * (1 + zz)
    return (np.broadcast_to(smooth, shape) + rng.normal(200, 20, shape)).astype(dtype)


def assert_valid(path: pathlib.Path) -> None:
    report = validate(path)
    assert report.valid, [f.format() for f in report.errors]


@pytest.mark.parametrize("version", VERSIONS)
def test_image_round_trip(tmp_path: pathlib.Path, version: str) -> None:
    data = volume()
    img = ngffkit.write_image(
        data, tmp_path / "v.zarr", scale=(2.0, 0.5, 0.5), units="micrometer", version=version, chunks=(4, 64, 64)
    )
    assert img.version == version and img.axis_names == ("z", "y", "x")
    assert img.shapes == [(12, 150, 170), (12, 75, 85), (12, 38, 43)]
    np.testing.assert_array_equal(img.levels[0].compute(), data)
    assert img.scale(1) == (2.0, 1.0, 1.0) and img.translation(1) == (0.0, 0.25, 0.25)
    assert img.level_source(0)[0].chunks == (4, 64, 64)  # written as asked; read in dask blocks of whole chunks
    assert img.levels[0].chunksize == (12, 150, 170)
    assert_valid(tmp_path / "v.zarr")


@pytest.mark.peers
@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_every_writer_passes_ome_zarr_models(tmp_path: pathlib.Path, version: str) -> None:
    """ome-zarr-models is the strictest common reader: what every writer makes must pass it (in its own
    environment, peers/: one child process validates every group, then the kinds are compared)."""
    from skimage import data as skdata

    peer = use_peer(OME_ZARR_MODELS)
    path = tmp_path / "astro.zarr"
    ngffkit.write_image(
        skdata.astronaut().transpose(2, 0, 1), path, axes="cyx", version=version, channels=["R", "G", "B"]
    )
    cells = np.zeros((512, 512), dtype=np.uint8)
    cells[10:60, 10:60], cells[100:200, 100:200], cells[300:400, 50:90] = 1, 2, 3
    # colours for every value found, properties for some: the spec allows it, ome-zarr-models does not
    ngffkit.write_labels(cells, path, "cells", colors="auto", properties={2: {"class": "big"}})
    ngffkit.write_labels(cells, path, "painted", colors={1: (255, 0, 0, 255)}, properties={3: {"class": "odd"}})
    painted = ngffkit.open(path).label("painted").image_label
    assert painted is not None
    assert {c.value for c in painted.colors} == {p.value for p in painted.properties} == {1, 3}
    assert dict(next(p for p in painted.properties if p.value == 3).properties) == {"class": "odd"}
    ngffkit.write_label_image(cells, tmp_path / "alone.zarr", axes="yx", version=version,
                              properties={1: {"class": "small"}})  # fmt: skip
    plate = ngffkit.write_plate(tmp_path / "p.zarr", ["A"], ["1", "2"], ["A/1", "A/2"], version=version)
    for well in ("A/1", "A/2"):
        ngffkit.write_field(plate, well, 0, np.ones((32, 32), dtype=np.uint8))
    ngffkit.write_well(tmp_path / "w.zarr", ["0"], version=version)  # a well on its own
    ngffkit.write_image(np.ones((32, 32), dtype=np.uint8), tmp_path / "w.zarr" / "0", version=version)
    expected = {
        path: "Image",
        path / "labels" / "cells": "ImageLabel",
        path / "labels" / "painted": "ImageLabel",
        tmp_path / "alone.zarr": "ImageLabel",
        tmp_path / "p.zarr": "HCS",
        tmp_path / "p.zarr" / "A" / "1": "Well",
        tmp_path / "p.zarr" / "A" / "1" / "0": "Image",
        tmp_path / "w.zarr": "Well",
    }
    assert peer.call("kinds", paths=list(expected), version=version) == list(expected.values())


@pytest.mark.peers
def test_ome_zarr_py_reads_what_we_write(tmp_path: pathlib.Path) -> None:
    data = volume((2, 10, 64, 64))
    ngffkit.write_image(
        data, tmp_path / "i.zarr", axes="czyx", version="0.4", channels=[{"label": "a", "color": "FF0000"}, "b"]
    )
    nodes = use_peer(OME_ZARR_PY).call("read", path=tmp_path / "i.zarr", out=tmp_path / "theirs")
    np.testing.assert_array_equal(np.load(nodes[0]["levels"][0]), data)
    assert nodes[0]["metadata"]["channel_names"] == ["a", "b"]
    assert nodes[0]["metadata"]["colormap"][0][1] == [1.0, 0.0, 0.0]
    assert [a["name"] for a in nodes[0]["metadata"]["axes"]] == ["c", "z", "y", "x"]


def test_5d_with_guessed_axes_and_channels(tmp_path: pathlib.Path) -> None:
    data = np.random.default_rng(1).integers(0, 255, (2, 3, 4, 64, 64), dtype=np.uint8)
    img = ngffkit.write_image(
        data, tmp_path / "t.zarr", levels=2, channels=["a", "b", {"label": "c", "color": "#ff8800", "window": [0, 100]}]
    )
    assert img.axis_names == ("t", "c", "z", "y", "x")
    assert [c.name for c in img.channels] == ["a", "b", "c"] and img.channels[2].color == "FF8800"
    assert img.channels[2].contrast_limits == (0.0, 100.0)
    assert img.shapes[1] == (2, 3, 4, 32, 32)  # z, t and c are not downsampled by default
    assert_valid(tmp_path / "t.zarr")


def test_existing_pyramid_and_dask_input(tmp_path: pathlib.Path) -> None:
    base = da.from_array(volume(), chunks=(3, 50, 50))
    levels = [base, base[:, ::2, ::2], base[:, ::4, ::4]]
    img = ngffkit.write_image(levels, tmp_path / "given.zarr", method="nearest")
    assert img.shapes == [(12, 150, 170), (12, 75, 85), (12, 38, 43)] and img.translation(2) == (0.0, 0.0, 0.0)
    np.testing.assert_array_equal(img.levels[2].compute(), base[:, ::4, ::4].compute())


def test_int_factors_other_than_two_and_z(tmp_path: pathlib.Path) -> None:
    img = ngffkit.write_image(
        volume(), tmp_path / "f.zarr", scale_factors=[{"z": 1, "y": 3, "x": 3}, {"z": 3, "y": 9, "x": 9}]
    )
    assert img.shapes == [(12, 150, 170), (12, 50, 57), (4, 17, 19)]
    assert img.scale(2) == (3.0, 9.0, 9.0) and img.translation(2) == (1.0, 4.0, 4.0)


def test_sharded_v05(tmp_path: pathlib.Path) -> None:
    ngffkit.write_image(volume(), tmp_path / "s.zarr", chunks=(4, 32, 32), shards=(4, 64, 64), compressor="blosc")
    meta = json.loads((tmp_path / "s.zarr" / "0" / "zarr.json").read_text())
    assert meta["codecs"][0]["name"] == "sharding_indexed"
    assert meta["chunk_grid"]["configuration"]["chunk_shape"] == [4, 64, 64]
    assert_valid(tmp_path / "s.zarr")


@pytest.mark.parametrize("method", ["mean", "gaussian"])
def test_shards_too_large_for_a_super_block_are_written_level_by_level(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """Shards whose level-1 super-block passes the memory budget (256^3 uint16 shards in practice; here the budget
    is lowered), from an input whose chunks several shards share: gaussian smoothing (halos) writes each level in
    waves from the one before as written; the mean goes through the tree, its regions fed from input chunks
    computed once (writer/feeder.py). Either way the pixels are those the super-block path (unsharded)
    computes."""
    from ngffkit.writer import execute

    data = da.from_array(volume(), chunks=(6, 50, 64))
    expected = ngffkit.write_image(data, tmp_path / "chunks.zarr", chunks=(4, 32, 32), levels=3, method=method)
    for budget in ("SUPERBLOCK_BYTES", "SUPERBLOCK_MAX_BYTES"):  # less than one level-1 super-block
        monkeypatch.setattr(execute, budget, 64 * 64 * 4 * 2)
    ran: list[str] = []
    level_by_level = execute.Execution._level_by_level
    monkeypatch.setattr(execute.Execution, "_level_by_level",
                        lambda self, *args: ran.append("level by level") or level_by_level(self, *args))  # fmt: skip
    sharded = ngffkit.write_image(data, tmp_path / "s.zarr", chunks=(4, 32, 32), shards=(4, 64, 64), levels=3,
                                  method=method)  # fmt: skip
    assert ran == (["level by level"] if method == "gaussian" else [])
    for k in range(3):
        np.testing.assert_array_equal(sharded.levels[k].compute(), expected.levels[k].compute())
    assert_valid(tmp_path / "s.zarr")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"axes": "yx"}, "2 axes"),
        ({"method": "bicubic"}, "unknown method"),
        ({"chunks": (64, 64)}, "chunks"),
        ({"scale": (1, -1, 1)}, "positive"),
        ({"shards": (8, 64, 64), "version": "0.4"}, "sharding needs zarr v3"),
        ({"compressor": "lzma"}, "unknown compressor"),
        ({"scale_factors": [2, 3]}, "not a multiple"),
        ({"axes": "tcx"}, "2 or 3 space axes"),
    ],
)
def test_bad_arguments_write_nothing(tmp_path: pathlib.Path, kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidArgument, match=match):
        ngffkit.write_image(volume(), tmp_path / "bad.zarr", **kwargs)
    assert not (tmp_path / "bad.zarr").exists()


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_axes_in_an_order_the_version_forbids_are_refused_before_writing(tmp_path: pathlib.Path, version: str) -> None:
    """z, c, y, x passed the writer and then failed its own validator (``axes-order``); now every writer refuses
    it up front, says the allowed order and how to move the axis, and leaves nothing behind."""
    data = np.zeros((10, 3, 64, 64), "u2")
    with pytest.raises(InvalidArgument) as caught:
        ngffkit.write_image(data, tmp_path / "x.ome.zarr", axes="zcyx", version=version)
    message = str(caught.value)
    assert "time, then channel or custom axes, then space axes" in message
    assert "np.moveaxis(data, 0, 1)" in message and "axes='czyx'" in message
    assert not (tmp_path / "x.ome.zarr").exists()
    # the hint works: moved as it says, the same data is written and validates
    ngffkit.write_image(np.moveaxis(data, 0, 1), tmp_path / "x.ome.zarr", axes="czyx", version=version)
    assert_valid(tmp_path / "x.ome.zarr")
    labels = np.zeros((64, 10, 64), "u4")
    with pytest.raises(InvalidArgument, match=r"np\.moveaxis\(data, 0, 1\), and write it with axes='tyx'"):
        ngffkit.write_label_image(labels, tmp_path / "l.ome.zarr", axes=["y", "t", "x"], version=version)
    assert not (tmp_path / "l.ome.zarr").exists()
    ngffkit.write_plate(tmp_path / "p.zarr", ["A"], ["1"], ["A1"], version=version)
    with pytest.raises(InvalidArgument, match="axes='czyx'"):
        ngffkit.write_field(tmp_path / "p.zarr", "A/1", 0, data, axes="zcyx")
    assert not (tmp_path / "p.zarr" / "A" / "1" / "0").exists()


def test_ozx_with_misordered_axes_writes_nothing(tmp_path: pathlib.Path) -> None:
    with pytest.raises(InvalidArgument, match="axes='czyx'"):
        ngffkit.write_image(np.zeros((10, 3, 64, 64), "u2"), tmp_path / "x.ozx", axes="zcyx")
    assert list(tmp_path.iterdir()) == []


def test_0_6rc0_states_no_axis_order_and_writes_z_c_y_x(tmp_path: pathlib.Path) -> None:
    """Coordinate systems (0.6rc0) state no order, and the validator checks none there: the writer agrees."""
    ngffkit.write_image(np.zeros((10, 3, 64, 64), "u2"), tmp_path / "x.zarr", axes="zcyx", version="0.6rc0")
    assert_valid(tmp_path / "x.zarr")


def test_computed_scales_and_translations_are_written_as_the_decimals_meant(tmp_path: pathlib.Path) -> None:
    """Level 2 of scale 0.2 sits at 0.1 + 0.2, which binary floating point makes 0.30000000000000004: the
    metadata says 0.3. A number that is no short decimal (1/3) keeps every digit."""
    ngffkit.write_image(np.zeros((256, 256), "u2"), tmp_path / "f.zarr", scale=0.2, levels=3)
    text = (tmp_path / "f.zarr" / "zarr.json").read_text()
    assert "0000000" not in text and "9999999" not in text, text
    datasets = json.loads(text)["attributes"]["ome"]["multiscales"][0]["datasets"]
    assert datasets[2]["coordinateTransformations"][1]["translation"] == [0.3, 0.3]
    ngffkit.write_image(np.zeros((64, 64), "u2"), tmp_path / "third.zarr", scale=1 / 3, levels=1)
    assert ngffkit.open(tmp_path / "third.zarr").scale(0) == (1 / 3, 1 / 3)


@pytest.mark.parametrize(
    ("value", "written"),
    [(0.1 + 0.2, 0.3), (0.2 * 3, 0.6), (0.20000000000000004, 0.2), (1 / 3, 1 / 3), (0.30000000001, 0.30000000001),
     (1e-300 * 3, 3e-300), (1.1 * 1.1, 1.21), (-0.1 - 0.2, -0.3), (0.0, 0.0), (2.0**60, 2.0**60)],
)  # fmt: skip
def test_short_decimal_removes_representation_noise_only(value: float, written: float) -> None:
    from ngffkit.writer.plan import short_decimal

    assert short_decimal(value) == written


def test_zero_size_and_non_integer_labels(tmp_path: pathlib.Path) -> None:
    with pytest.raises(InvalidArgument, match="0-size"):
        ngffkit.write_image(np.zeros((0, 10)), tmp_path / "z.zarr")
    ngffkit.write_image(np.zeros((64, 64), dtype=np.uint8), tmp_path / "img.zarr")
    with pytest.raises(InvalidArgument, match="integers"):
        ngffkit.write_labels(np.zeros((64, 64), dtype=np.float32), tmp_path / "img.zarr", "cells")
    with pytest.raises(InvalidArgument, match="invent label values"):
        ngffkit.write_labels(np.zeros((64, 64), dtype=np.uint8), tmp_path / "img.zarr", "cells", method="mean")
    with pytest.raises(InvalidArgument, match="shape"):
        ngffkit.write_labels(np.zeros((32, 64), dtype=np.uint8), tmp_path / "img.zarr", "cells")
    assert not (tmp_path / "img.zarr" / "labels").exists()


def test_overwrite_protection(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "o.zarr"
    ngffkit.write_image(np.zeros((64, 64), dtype=np.uint8), path)
    with pytest.raises(AlreadyExists, match="already holds an OME-Zarr image"):
        ngffkit.write_image(np.ones((64, 64), dtype=np.uint8), path)
    assert ngffkit.open(path).levels[0].compute().max() == 0
    img = ngffkit.write_image(np.ones((32, 32), dtype=np.uint8), path, overwrite=True)
    assert img.shapes[0] == (32, 32) and img.levels[0].compute().min() == 1
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep")
    with pytest.raises(AlreadyExists, match="not zarr"):
        ngffkit.write_image(np.zeros((8, 8)), folder, overwrite=True)
    assert (folder / "notes.txt").read_text() == "keep"


class Boom(RuntimeError):
    pass


def test_an_image_overwritten_in_the_other_zarr_format_opens(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "img.zarr"
    ngffkit.write_image(volume(), path, version="0.5", chunks=(4, 64, 64))
    img = ngffkit.write_image(volume()[:, :40], path, version="0.4", chunks=(4, 64, 64), overwrite=True)
    assert img.version == "0.4" and img.shapes[0] == (12, 40, 170)
    assert not (path / "zarr.json").exists()


def test_interrupted_write_leaves_no_metadata(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ngffkit.store.local import ConfinedLocalStore

    original = ConfinedLocalStore.set
    writes = {"n": 0}

    async def failing_set(self, key, value, byte_range=None):  # type: ignore[no-untyped-def]
        if "/c/" in key:
            writes["n"] += 1
            if writes["n"] == 5:
                raise Boom("disk full")
        return await original(self, key, value)

    monkeypatch.setattr(ConfinedLocalStore, "set", failing_set)
    with pytest.raises(Boom):
        ngffkit.write_image(volume(), tmp_path / "i.zarr", chunks=(2, 32, 32))
    monkeypatch.undo()
    # zarr may have made an empty parent group, but no OME metadata claims any level
    root = tmp_path / "i.zarr" / "zarr.json"
    assert not root.exists() or json.loads(root.read_text()).get("attributes", {}) == {}
    with pytest.raises((NotFound, NotOMEZarr)):
        ngffkit.open(tmp_path / "i.zarr")
    assert not validate(tmp_path / "i.zarr").valid
    img = ngffkit.write_image(volume(), tmp_path / "i.zarr", overwrite=True)  # a rerun finishes the job
    assert len(img.levels) == 3


def test_compute_false_and_progress(tmp_path: pathlib.Path) -> None:
    delayed = ngffkit.write_image(volume(), tmp_path / "d.zarr", compute=False)
    with pytest.raises(NotOMEZarr):  # nothing claims to be an image until the graph has run
        ngffkit.open(tmp_path / "d.zarr")
    dask.compute(delayed)
    assert_valid(tmp_path / "d.zarr")
    seen: list[tuple[int, int]] = []
    ngffkit.write_image(volume(), tmp_path / "p.zarr", progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1] > 0


def test_labels_keep_existing_entries_and_metadata(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "i.zarr"
    data = volume((2, 4, 128, 128))
    ngffkit.write_image(data, path, axes="czyx", scale={"z": 3.0, "y": 0.5, "x": 0.5})
    cells = (data[0] > 1500).astype(np.uint16)
    ngffkit.write_labels(cells, path, "cells", colors={1: (255, 0, 0, 255)}, properties={1: {"class": "cell"}})
    ngffkit.write_labels(cells * 2, path, "nuclei", colors="auto")
    img = ngffkit.open(path)
    assert img.label_names == ("cells", "nuclei")
    cells_img = img.label("cells")
    assert cells_img.axis_names == ("z", "y", "x") and cells_img.scale(1) == img.scale(1)[1:]
    assert cells_img.translation(1) == img.translation(1)[1:]
    assert cells_img.image_label is not None and cells_img.image_label.color_map() == {1: (1.0, 0.0, 0.0, 1.0)}
    assert cells_img.image_label.properties[0].properties == {"class": "cell"}
    nuclei = img.label("nuclei")
    assert set(np.unique(nuclei.levels[-1].compute())) <= {0, 2} and nuclei.image_label.colors[0].value == 2  # type: ignore[union-attr]
    assert_valid(path)
    with pytest.raises(AlreadyExists):
        ngffkit.write_labels(cells, path, "cells")


def _write_one_field(args: tuple[str, str, int]) -> str:
    plate, well, value = args
    ngffkit.write_field(plate, well, 0, np.full((2, 64, 64), value, dtype=np.uint8), axes="cyx")
    return well


def test_plate_fields_written_by_parallel_processes(tmp_path: pathlib.Path) -> None:
    import multiprocessing

    wells = [f"{r}/{c}" for r in "AB" for c in "123"]
    plate = ngffkit.write_plate(tmp_path / "p.zarr", ["A", "B"], ["1", "2", "3"], wells, name="screen")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        done = pool.map(_write_one_field, [(str(tmp_path / "p.zarr"), w, i + 1) for i, w in enumerate(wells)])
    assert sorted(done) == sorted(wells)
    assert_valid(tmp_path / "p.zarr")
    grid = ngffkit.open(plate).grid(0).compute()
    assert grid.shape == (2, 128, 192) and grid[0, 64, 128] == 6 and grid[1, 0, 0] == 1  # B/3 is the 6th well
    with pytest.raises(InvalidArgument, match="no well"):
        ngffkit.write_field(plate, "C/1", 0, np.zeros((8, 8)))


@pytest.mark.cluster
def test_distributed_local_cluster(tmp_path: pathlib.Path) -> None:
    require(
        importlib.util.find_spec("distributed") is not None, "dask.distributed is not installed (the cluster extra)"
    )
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster):  # fmt: skip
        data = da.from_array(volume((24, 256, 256)), chunks=(8, 128, 128))
        img = ngffkit.write_image(data, tmp_path / "dist.zarr", chunks=(8, 64, 64))
    assert_valid(tmp_path / "dist.zarr")
    np.testing.assert_array_equal(
        img.levels[1].compute(), ngffkit.writer.pyramid.reduce_mean(data.compute(), (1, 2, 2))
    )


@pytest.mark.network
def test_write_to_s3(moto_server: str, tmp_path: pathlib.Path) -> None:
    import boto3

    s3 = boto3.client(
        "s3", endpoint_url=moto_server, aws_access_key_id="k", aws_secret_access_key="s", region_name="us-east-1"
    )
    s3.create_bucket(Bucket="write-target")
    options = {"key": "k", "secret": "s", "client_kwargs": {"endpoint_url": moto_server, "region_name": "us-east-1"},
               "skip_instance_cache": True}  # fmt: skip
    data = volume((4, 100, 100))
    img = ngffkit.write_image(data, "s3://write-target/img.zarr", storage_options=options, chunks=(2, 32, 32))
    assert img.url == "s3://write-target/img.zarr"
    np.testing.assert_array_equal(
        ngffkit.open("s3://write-target/img.zarr", storage_options=options).levels[0].compute(), data
    )
    assert validate("s3://write-target/img.zarr", storage_options=options).valid
    with pytest.raises(AlreadyExists):
        ngffkit.write_image(data, "s3://write-target/img.zarr", storage_options=options)


@pytest.mark.parametrize(("shape", "levels"), [((64, 5), 3), ((100, 37), 4), ((7, 64), 4)])
def test_labels_of_an_image_with_odd_sizes_match_its_levels(tmp_path: pathlib.Path, shape: tuple, levels: int) -> None:
    """Level sizes round up (5 -> 3 -> 2): the labels' factors come from the image's scales, not from ratios of
    those sizes (5 / 2 rounds to 3 -- a label level that did not overlay its image, or a refusal)."""
    ngffkit.write_image(np.zeros(shape, np.uint8), tmp_path / "i.zarr", axes="yx", levels=levels)
    labels = np.arange(np.prod(shape), dtype=np.uint16).reshape(shape) % 5
    ngffkit.write_labels(labels, tmp_path / "i.zarr", "cells")
    image, label = ngffkit.open(tmp_path / "i.zarr"), ngffkit.open(tmp_path / "i.zarr" / "labels" / "cells")
    assert label.shapes == image.shapes
    assert [label.scale(k) for k in range(levels)] == [image.scale(k) for k in range(levels)]
    assert_valid(tmp_path / "i.zarr")
