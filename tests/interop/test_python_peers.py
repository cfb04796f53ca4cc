"""ngffkit against the other Python readers and writers people use: bioio-ome-zarr and iohub.

Each direction is checked on pixels and on what a person sees (axes, physical sizes, channel names), for
0.4 and 0.5 where the peer supports them. The findings feed the compatibility table in the README.
"""

from __future__ import annotations

import importlib.util
import pathlib
from typing import Any

import numpy as np
import pytest

import ngffkit

from ..conftest import require
from .tools import python_with, run_json

VALUES = np.random.default_rng(7).integers(0, 4000, (2, 3, 5, 64, 48), dtype=np.uint16)  # t c z y x
SCALE = {"z": 2.0, "y": 0.5, "x": 0.25}
CHANNELS = ["DAPI", "GFP", "RFP"]
IOHUB = "iohub==0.2.3.post1"  # pins zarr 2: NGFF 0.4 only


def write_ours(path: pathlib.Path, version: str, data: np.ndarray = VALUES) -> pathlib.Path:
    axes = "tczyx"[-data.ndim :]
    ngffkit.write_image(data, path, axes=axes, scale=SCALE, units="micrometer", channels=CHANNELS, levels=2,
                        version=version)  # fmt: skip
    return path


def bioio() -> object:
    require(importlib.util.find_spec("bioio_ome_zarr") is not None, "bioio-ome-zarr is not installed")
    import bioio_ome_zarr

    return bioio_ome_zarr


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_bioio_reads_what_we_write(tmp_path: pathlib.Path, version: str) -> None:
    reader = bioio().Reader(write_ours(tmp_path / "ours.zarr", version))  # type: ignore[attr-defined]
    assert reader.dims.order == "TCZYX" and reader.dims.shape == VALUES.shape
    assert tuple(reader.physical_pixel_sizes) == (2.0, 0.5, 0.25)
    assert reader.channel_names == CHANNELS and tuple(reader.resolution_levels) == (0, 1)
    np.testing.assert_array_equal(np.asarray(reader.data), VALUES)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_we_read_what_bioio_writes(tmp_path: pathlib.Path, zarr_format: int) -> None:
    bioio()
    from bioio_ome_zarr.writers import OMEZarrWriter

    path = tmp_path / "theirs.zarr"
    writer = OMEZarrWriter(
        str(path), level_shapes=[VALUES.shape, (2, 3, 5, 32, 24)], dtype="uint16", zarr_format=zarr_format,
        axes_names=list("tczyx"), axes_types=["time", "channel", "space", "space", "space"],
        axes_units=[None, None, "micrometer", "micrometer", "micrometer"], physical_pixel_size=[1.0, 1.0, 2.0, 0.5, 0.25],
    )  # fmt: skip
    writer.write_full_volume(VALUES)
    image = ngffkit.open(path)
    assert image.version == ("0.4" if zarr_format == 2 else "0.5")
    assert image.axis_names == tuple("tczyx") and image.shapes[1] == (2, 3, 5, 32, 24)
    assert image.scale(0) == (1.0, 1.0, 2.0, 0.5, 0.25) and image.scale(1) == (1.0, 1.0, 2.0, 1.0, 0.5)
    np.testing.assert_array_equal(image.levels[0].compute(), VALUES)
    assert ngffkit.validate(path).valid


IOHUB_READ = """
import json, sys
import numpy as np
from iohub.ngff import open_ome_zarr
with open_ome_zarr(sys.argv[1], layout="fov", mode="r") as pos:
    data = np.asarray(pos.data)
    print(json.dumps({"shape": list(data.shape), "sum": int(data.astype("int64").sum()),
                      "channels": pos.channel_names, "scale": list(pos.scale)}))
"""

IOHUB_WRITE = """
import json, sys
import numpy as np
from iohub.ngff import open_ome_zarr
data = np.load(sys.argv[2])
with open_ome_zarr(sys.argv[1], layout="hcs", mode="w-", channel_names=["DAPI", "GFP", "RFP"]) as plate:
    for row, col in (("A", "1"), ("B", "2")):
        position = plate.create_position(row, col, "0")
        position.create_image("0", data, transform=[{"type": "scale", "scale": [1.0, 1.0, 2.0, 0.5, 0.25]}])
print(json.dumps({"written": sys.argv[1]}))
"""


@pytest.mark.network
def test_iohub_reads_what_we_write(tmp_path: pathlib.Path) -> None:
    python = python_with("iohub", IOHUB)
    found = run_json([str(python), "-c", IOHUB_READ, str(write_ours(tmp_path / "ours.zarr", "0.4"))])
    assert found["shape"] == list(VALUES.shape) and found["sum"] == int(VALUES.astype("int64").sum())
    assert found["channels"] == CHANNELS and found["scale"] == [1.0, 1.0, 2.0, 0.5, 0.25]


@pytest.mark.network
def test_we_read_what_iohub_writes(tmp_path: pathlib.Path) -> None:
    python = python_with("iohub", IOHUB)
    np.save(tmp_path / "values.npy", VALUES)
    run_json([str(python), "-c", IOHUB_WRITE, str(tmp_path / "plate.zarr"), str(tmp_path / "values.npy")])
    plate = ngffkit.open(tmp_path / "plate.zarr")
    assert isinstance(plate, ngffkit.Plate) and plate.version == "0.4"
    field = ngffkit.open(tmp_path / "plate.zarr" / "B" / "2" / "0")
    assert field.axis_names == tuple("TCZYX") and field.scale(0) == (1.0, 1.0, 2.0, 0.5, 0.25)
    assert [c.name for c in field.channels] == CHANNELS
    np.testing.assert_array_equal(field.levels[0].compute(), VALUES)
    # iohub adds an "identity" multiscale transformation, which 0.4 does not allow: read, but reported
    report = ngffkit.validate(tmp_path / "plate.zarr")
    assert {f.rule for f in report.errors} == {"transform-type", "transform-one-scale"}


def ngff_zarr() -> object:
    require(importlib.util.find_spec("ngff_zarr") is not None, "ngff-zarr is not installed")
    import ngff_zarr as nz

    return nz


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ngff_zarr_reads_what_we_write_and_we_read_its_output(tmp_path: pathlib.Path, version: str) -> None:
    nz: Any = ngff_zarr()
    theirs = nz.from_ngff_zarr(str(write_ours(tmp_path / "ours.zarr", version)))
    first = theirs.images[0]
    assert tuple(first.dims) == tuple("tczyx") and first.scale == {"t": 1.0, "c": 1.0, **SCALE}
    np.testing.assert_array_equal(np.asarray(first.data), VALUES)
    image = nz.to_ngff_image(
        VALUES[0, 0], dims=["z", "y", "x"], scale=SCALE, translation={"z": 0.0, "y": 1.0, "x": 2.0}
    )
    nz.to_ngff_zarr(str(tmp_path / "theirs.zarr"), nz.to_multiscales(image, scale_factors=[2]), version=version)
    ours = ngffkit.open(tmp_path / "theirs.zarr")
    assert ours.version == version and ours.axis_names == ("z", "y", "x")
    assert ours.scale(0) == (2.0, 0.5, 0.25) and ours.translation(0) == (0.0, 1.0, 2.0)
    np.testing.assert_array_equal(ours.levels[0].compute(), VALUES[0, 0])
    assert ngffkit.validate(tmp_path / "theirs.zarr").valid
