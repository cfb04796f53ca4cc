"""ngffkit against the other Python readers and writers people use: bioio-ome-zarr, iohub, ngff-zarr, ome-zarr-io,
ome-zarr-pyramid and tensorstore.

Each direction is checked on pixels and on what a person sees (axes, physical sizes, channel names), for
0.4 and 0.5 where the peer supports them. The findings feed the compatibility tables in the README and
docs/reference/compatibility.md. Every peer runs in its own environment (peers/): it reads what ngffkit wrote,
or writes, in a child process; arrays come and go as ``.npy`` files.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from peers import BIOIO_OME_ZARR, IOHUB, NGFF_ZARR, OME_ZARR_IO, OME_ZARR_PYRAMID, TENSORSTORE

import ngffkit

from ..conftest import use_peer

pytestmark = pytest.mark.peers

VALUES = np.random.default_rng(7).integers(0, 4000, (2, 3, 5, 64, 48), dtype=np.uint16)  # t c z y x
SCALE = {"z": 2.0, "y": 0.5, "x": 0.25}
CHANNELS = ["DAPI", "GFP", "RFP"]


def write_ours(path: pathlib.Path, version: str, data: np.ndarray = VALUES) -> pathlib.Path:
    axes = "tczyx"[-data.ndim :]
    ngffkit.write_image(data, path, axes=axes, scale=SCALE, units="micrometer", channels=CHANNELS, levels=2,
                        version=version)  # fmt: skip
    return path


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_bioio_reads_what_we_write(tmp_path: pathlib.Path, version: str) -> None:
    path = write_ours(tmp_path / "ours.zarr", version)
    reader = use_peer(BIOIO_OME_ZARR).call("read", path=path, out=tmp_path / "theirs")
    assert reader["order"] == "TCZYX" and tuple(reader["shape"]) == VALUES.shape
    assert tuple(reader["physical_pixel_sizes"]) == (2.0, 0.5, 0.25)
    assert reader["channel_names"] == CHANNELS and tuple(reader["resolution_levels"]) == (0, 1)
    np.testing.assert_array_equal(np.load(reader["data"]), VALUES)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_we_read_what_bioio_writes(tmp_path: pathlib.Path, zarr_format: int) -> None:
    path = tmp_path / "theirs.zarr"
    np.save(tmp_path / "values.npy", VALUES)
    use_peer(BIOIO_OME_ZARR).call(
        "write", path=path, data=tmp_path / "values.npy", level_shapes=[VALUES.shape, (2, 3, 5, 32, 24)],
        dtype="uint16", zarr_format=zarr_format, axes_names=list("tczyx"),
        axes_types=["time", "channel", "space", "space", "space"],
        axes_units=[None, None, "micrometer", "micrometer", "micrometer"], physical_pixel_size=[1.0, 1.0, 2.0, 0.5, 0.25],
    )  # fmt: skip
    image = ngffkit.open(path)
    assert image.version == ("0.4" if zarr_format == 2 else "0.5")
    assert image.axis_names == tuple("tczyx") and image.shapes[1] == (2, 3, 5, 32, 24)
    assert image.scale(0) == (1.0, 1.0, 2.0, 0.5, 0.25) and image.scale(1) == (1.0, 1.0, 2.0, 1.0, 0.5)
    np.testing.assert_array_equal(image.levels[0].compute(), VALUES)
    assert ngffkit.validate(path).valid


@pytest.mark.network
def test_iohub_reads_what_we_write(tmp_path: pathlib.Path) -> None:
    found = use_peer(IOHUB).call("read_fov", path=write_ours(tmp_path / "ours.zarr", "0.4"))
    assert found["shape"] == list(VALUES.shape) and found["sum"] == int(VALUES.astype("int64").sum())
    assert found["channels"] == CHANNELS and found["scale"] == [1.0, 1.0, 2.0, 0.5, 0.25]


@pytest.mark.network
def test_we_read_what_iohub_writes(tmp_path: pathlib.Path) -> None:
    np.save(tmp_path / "values.npy", VALUES)
    use_peer(IOHUB).call("write_hcs", path=tmp_path / "plate.zarr", data=tmp_path / "values.npy",
                         channel_names=CHANNELS, wells=[["A", "1"], ["B", "2"]], scale=[1.0, 1.0, 2.0, 0.5, 0.25])  # fmt: skip
    plate = ngffkit.open(tmp_path / "plate.zarr")
    assert isinstance(plate, ngffkit.Plate) and plate.version == "0.4"
    field = ngffkit.open(tmp_path / "plate.zarr" / "B" / "2" / "0")
    assert field.axis_names == tuple("TCZYX") and field.scale(0) == (1.0, 1.0, 2.0, 0.5, 0.25)
    assert [c.name for c in field.channels] == CHANNELS
    np.testing.assert_array_equal(field.levels[0].compute(), VALUES)
    # iohub adds an "identity" multiscale transformation, which 0.4 does not allow: read, but reported
    report = ngffkit.validate(tmp_path / "plate.zarr")
    assert {f.rule for f in report.errors} == {"transform-type", "transform-one-scale"}


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ngff_zarr_reads_what_we_write_and_we_read_its_output(tmp_path: pathlib.Path, version: str) -> None:
    peer = use_peer(NGFF_ZARR)
    theirs = peer.call("read", path=write_ours(tmp_path / "ours.zarr", version), out=tmp_path / "theirs", levels=[0])
    first = theirs[0]
    assert tuple(first["dims"]) == tuple("tczyx") and first["scale"] == {"t": 1.0, "c": 1.0, **SCALE}
    np.testing.assert_array_equal(np.load(first["pixels"]), VALUES)
    np.save(tmp_path / "volume.npy", VALUES[0, 0])
    peer.call("write", path=tmp_path / "theirs.zarr", data=tmp_path / "volume.npy", dims=["z", "y", "x"], scale=SCALE,
              translation={"z": 0.0, "y": 1.0, "x": 2.0}, scale_factors=[2], version=version)  # fmt: skip
    ours = ngffkit.open(tmp_path / "theirs.zarr")
    assert ours.version == version and ours.axis_names == ("z", "y", "x")
    assert ours.scale(0) == (2.0, 0.5, 0.25) and ours.translation(0) == (0.0, 1.0, 2.0)
    np.testing.assert_array_equal(ours.levels[0].compute(), VALUES[0, 0])
    assert ngffkit.validate(tmp_path / "theirs.zarr").valid


@pytest.mark.parametrize("shards", [None, (1, 3, 5, 64, 48)])
def test_tensorstore_reads_what_we_write(tmp_path: pathlib.Path, shards: tuple[int, ...] | None) -> None:
    """The engine the read benchmark measures ngffkit against reads ngffkit's level 0 to the same pixels, chunked
    and sharded (its zarr3 driver, from the array's folder)."""
    path = tmp_path / "ours.zarr"
    ngffkit.write_image(VALUES, path, axes="tczyx", levels=2, chunks=(1, 1, 5, 32, 16), shards=shards)
    found = use_peer(TENSORSTORE).call("read", path=path, out=tmp_path / "theirs")
    assert found["shape"] == list(VALUES.shape) and found["dtype"] == "uint16"
    np.testing.assert_array_equal(np.load(found["pixels"]), VALUES)


def test_ome_zarr_io_validates_and_reads_what_we_write(tmp_path: pathlib.Path) -> None:
    path = write_ours(tmp_path / "ours.zarr", "0.5")
    peer = use_peer(OME_ZARR_IO)
    report = peer.call("validate", path=path)
    assert report == {"valid": True, "kind": "image", "errors": []}, report
    found = peer.call("read_channel", path=path, out=tmp_path / "theirs", name="GFP")
    assert found["dims"] == list("tczyx") and found["levels"] == 2 and found["channels"] == CHANNELS
    np.testing.assert_array_equal(np.load(found["pixels"]), VALUES[:, 1])


def test_ome_zarr_pyramid_reads_what_we_write(tmp_path: pathlib.Path) -> None:
    found = use_peer(OME_ZARR_PYRAMID).call("read", path=write_ours(tmp_path / "ours.zarr", "0.5"),
                                            out=tmp_path / "theirs")  # fmt: skip
    assert found["axes"] == "tczyx" and found["levels"] == ["0", "1"]
    assert found["scales"][0] == [1.0, 1.0, 2.0, 0.5, 0.25]
    np.testing.assert_array_equal(np.load(found["pixels"]), VALUES)
