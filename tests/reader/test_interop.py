"""What ome-zarr-py writes, ngffkit reads with identical pixels, axes, scales, channels and labels."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import ngffkit

ome_zarr = pytest.importorskip("ome_zarr", reason="ome-zarr-py is not installed")


@pytest.mark.parametrize("fmt_name", ["FormatV04", "FormatV05"])
@pytest.mark.parametrize("method", ["coins", "astronaut"])
def test_create_zarr_samples(tmp_path: pathlib.Path, fmt_name: str, method: str) -> None:
    from ome_zarr import data, format
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    path = tmp_path / f"{method}.zarr"
    data.create_zarr(str(path), method=getattr(data, method), fmt=getattr(format, fmt_name)())
    ref = list(Reader(parse_url(str(path)))())
    img = ngffkit.open(path)
    assert isinstance(img, ngffkit.Image) and img.version == getattr(format, fmt_name)().version
    ref_image = ref[0]
    assert len(img.levels) == len(ref_image.data)
    for ours, theirs in zip(img.levels, ref_image.data, strict=True):
        np.testing.assert_array_equal(ours.compute(), np.asarray(theirs))
    ref_axes = ref_image.metadata["axes"]
    assert list(img.axis_names) == [a["name"] for a in ref_axes]
    ref_scales = [t[0]["scale"] for t in ref_image.metadata["coordinateTransformations"]]
    assert [list(img.scale(i)) for i in range(len(img.levels))] == ref_scales
    names = ref_image.metadata.get("name")
    if isinstance(names, list):
        assert [c.name for c in img.channels] == names
    assert img.label_names == ("coins",)  # create_zarr names its label "coins" for every sample
    label = img.label(img.label_names[0])
    ref_label = next(n for n in ref if n is not ref_image and n.load(ome_zarr.reader.Label))
    np.testing.assert_array_equal(label.levels[0].compute(), np.asarray(ref_label.data[0]))


def test_write_image_labels_and_plate(tmp_path: pathlib.Path) -> None:
    import zarr
    from ome_zarr.writer import write_image, write_labels, write_plate_metadata, write_well_metadata

    rng = np.random.default_rng(3)
    data = rng.integers(0, 1000, (2, 3, 64, 64), dtype=np.uint16)  # c z y x
    root = zarr.open_group(str(tmp_path / "img.zarr"), mode="w")
    write_image(data, root, axes="czyx", scale_factors=[2], scale={"z": 2.0, "y": 0.5, "x": 0.5},
                axes_units={"z": "micrometer", "y": "micrometer", "x": "micrometer"})  # fmt: skip
    labels = (data[0] > 500).astype(np.uint8)
    write_labels(labels, root, name="mask", axes="zyx", scale_factors=[2],
                 label_metadata={"colors": [{"label-value": 1, "rgba": [255, 0, 0, 255]}]})  # fmt: skip
    img = ngffkit.open(tmp_path / "img.zarr")
    np.testing.assert_array_equal(img.levels[0].compute(), data)
    assert img.axis_names == ("c", "z", "y", "x") and img.channel_axis == 0
    assert img.scale(0)[1:] == (2.0, 0.5, 0.5)
    mask = img.label("mask")
    np.testing.assert_array_equal(mask.levels[0].compute(), labels)
    assert mask.image_label is not None and mask.image_label.color_map()[1] == (1.0, 0.0, 0.0, 1.0)

    plate = zarr.open_group(str(tmp_path / "plate.zarr"), mode="w")
    write_plate_metadata(plate, ["A", "B"], ["1", "2"], ["A/1", "B/2"])
    for well_path, value in (("A/1", 1), ("B/2", 2)):
        well = plate.require_group(well_path)
        write_well_metadata(well, ["0"])
        write_image(np.full((16, 16), value, dtype=np.uint8), well.require_group("0"), axes="yx", scale_factors=[])
    grid = ngffkit.open(tmp_path / "plate.zarr").grid(0).compute()
    assert grid.shape == (32, 32)
    assert (grid[:16, :16] == 1).all() and (grid[16:, 16:] == 2).all() and (grid[:16, 16:] == 0).all()
