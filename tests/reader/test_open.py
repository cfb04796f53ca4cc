"""ngffkit.open: every kind of node, every version, lazy levels, and clean errors."""

from __future__ import annotations

import json
import pathlib
import shutil
import warnings
from typing import Any

import numpy as np
import pytest
import zarr

import ngffkit
from ngffkit import (
    Image,
    InvalidMetadata,
    Labels,
    NGFFWarning,
    NotFound,
    NotOMEZarr,
    Plate,
    UnsafePath,
    UnsupportedVersion,
    Well,
)
from ngffkit.samples.examples import write_coins, write_plate

from . import builders


@pytest.mark.parametrize("name", ["coins-0.5", "coins-0.4"])
def test_image_levels_axes_placement_channels_labels(examples: dict[str, pathlib.Path], name: str) -> None:
    img = ngffkit.open(examples[name])
    assert isinstance(img, Image) and img.kind == "image"
    assert [lv.shape for lv in img.levels] == [(303, 384), (152, 192), (76, 96)]
    assert img.levels[0].chunksize == (303, 384)  # a dask block holds whole zarr chunks (256^2): here all four
    assert img.axis_names == ("y", "x") and img.units == ("micrometer", "micrometer")
    assert img.scale(0) == (0.5, 0.5) and img.scale(2) == (2.0, 2.0)
    assert img.translation(1) == (0.25, 0.25)
    assert [c.name for c in img.channels] == ["coins"] and img.channels[0].contrast_limits == (1.0, 252.0)
    assert img.label_names == ("coins",)
    label = img.label("coins")
    assert label.is_label and label.levels[0].dtype == np.uint16
    assert label.source_image().url == img.url
    from skimage import data

    np.testing.assert_array_equal(img.levels[0].compute(), data.coins())


def test_open_is_lazy_and_reads_metadata_only(
    examples: dict[str, pathlib.Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    original = zarr.AsyncArray.getitem

    async def counted(self: zarr.AsyncArray[Any], selection: Any, **kwargs: Any) -> Any:
        calls.append(selection)
        return await original(self, selection, **kwargs)

    monkeypatch.setattr(zarr.AsyncArray, "getitem", counted)
    img = ngffkit.open(examples["coins-0.5"])
    _ = img.levels
    assert calls == []
    img.levels[2][0:2, 0:2].compute()
    assert len(calls) == 1


def test_opening_a_label_a_dataset_a_labels_group_and_a_well(examples: dict[str, pathlib.Path]) -> None:
    root = examples["coins-0.4"]
    label = ngffkit.open(root / "labels" / "coins")
    assert isinstance(label, Image) and label.is_label
    assert label.source_image().url == str(root)
    assert ngffkit.open(root / "1").url == str(root)
    group = ngffkit.open(root / "labels")
    assert isinstance(group, Labels) and group.names == ("coins",) and group["coins"].is_label
    well = ngffkit.open(examples["plate-0.5"] / "B" / "2")
    assert isinstance(well, Well) and well.field_paths == ("0", "1")
    assert well.mosaic(0).shape == (2, 128, 256)  # 2 fields side by side


def test_plain_zarr_is_not_ome(tmp_path: pathlib.Path) -> None:
    builders.array(tmp_path / "plain", np.zeros((4, 4)))
    with pytest.raises(NotOMEZarr, match="plain zarr array"):
        ngffkit.open(tmp_path / "plain")
    builders.attrs(tmp_path / "group", {"something": 1})
    with pytest.raises(NotOMEZarr, match="no OME-NGFF metadata"):
        ngffkit.open(tmp_path / "group")
    with pytest.raises(NotFound):
        ngffkit.open(tmp_path / "nothing")


def test_v03_and_v01_images_get_unit_scales(tmp_path: pathlib.Path) -> None:
    v03 = ngffkit.open(builders.image_v03(tmp_path / "v03.zarr"))
    assert v03.version == "0.3" and v03.axis_names == ("z", "y", "x") and v03.scale(1) == (1.0, 1.0, 1.0)
    v01 = ngffkit.open(builders.image_v01(tmp_path / "v01.zarr"))
    assert v01.axis_names == ("t", "c", "z", "y", "x") and v01.channel_axis == 1
    # omero lists one channel, the data has two: padded, never misaligned
    assert [(c.name, c.color) for c in v01.channels] == [("A", "FF0000"), ("channel 1", "00FF00")]


def test_v06_coordinate_systems_and_affine(tmp_path: pathlib.Path) -> None:
    img = ngffkit.open(builders.image_v06(tmp_path / "a.zarr"))
    assert img.version == "0.6rc0" and img.scale(0) == (0.5, 0.25)
    assert img.scale(1) == (1.0, 0.5) and img.translation(1) == (0.25, 0.125)
    rotated = ngffkit.open(builders.image_v06(tmp_path / "b.zarr", rotation=True))
    matrix = rotated.transform(0)
    assert matrix is not None
    np.testing.assert_allclose(matrix, [[0, -0.25, 0], [0.5, 0, 0], [0, 0, 1]])
    ((_, kwargs, _),) = ngffkit.layers(rotated)
    assert "affine" in kwargs and "scale" not in kwargs


def test_plate_grid_uses_each_wells_own_field_and_fills_gaps(tmp_path: pathlib.Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plate = ngffkit.open(builders.odd_plate(tmp_path / "p.zarr"))
        assert isinstance(plate, Plate) and not plate.is_read("A/2")  # opening read the first well only
        lazy = plate.grid(0).compute()  # cells sized by A/1 (16 x 16); the view reads A/2 and B/1 by their own paths
        assert plate.well("B/1") is None
    messages = [str(w.message) for w in caught if issubclass(w.category, NGFFWarning)]
    assert any("B/1" in m and "does not exist" in m for m in messages), messages
    assert any("well A/2 is (1, 20, 12), larger than the plate's cells (1, 16, 16)" in m for m in messages), messages
    assert lazy.shape == (1, 32, 32)
    assert (lazy[0, :16, :16] == 1).all() and (lazy[0, :16, 16:28] == 2).all() and (lazy[0, :, 28:] == 0).all()
    assert (lazy[0, 16:, :] == 0).all()
    plate.fields(0)  # every well opened: cells take the largest field (20 x 16)
    grid = plate.grid(0).compute()
    assert grid.shape == (1, 40, 32)  # tiles padded to the largest well (20 x 16)
    assert (grid[0, :16, :16] == 1).all() and (grid[0, :20, 16:28] == 2).all()
    assert (grid[0, 16:20, :16] == 0).all() and (grid[0, 20:, :] == 0).all()


def test_plate_example_grid_levels_and_fields(examples: dict[str, pathlib.Path]) -> None:
    plate = ngffkit.open(examples["plate-0.4"])
    assert plate.rows == tuple("ABCD") and len(plate.columns) == 6 and plate.field_count == 4
    assert plate.level_count() == 2
    assert plate.grid(0).shape == (2, 4 * 128, 6 * 128) and plate.grid(1).shape == (2, 4 * 64, 6 * 64)
    field3 = plate.grid(0, field=3)
    first = plate.fields(3)["B/4"]
    assert first is not None
    np.testing.assert_array_equal(field3[:, 128:256, 384:512].compute(), first.levels[0].compute())


def test_plate_labels_are_stitched(tmp_path: pathlib.Path) -> None:
    plate = ngffkit.open(write_plate(tmp_path / "p.zarr", "0.5", labels=True))
    layers = ngffkit.layers(plate)
    assert [kind for _, _, kind in layers] == ["image", "labels", "shapes"]  # the well names last
    labels_data, kwargs, _ = layers[1]
    # Only the first well was read at open: its declared colours (napari's reader colours the other values)
    name = plate.label_names()[0]
    assert set(kwargs["colormap"]) - {0, None} == {1} and not plate.labels_read(name)
    grid = labels_data[0].compute()  # the whole overview: every well's label image read on the way
    assert grid.shape == (256, 384) and set(np.unique(grid)) == {0, 1, 2, 3, 4, 5, 6}
    assert plate.labels_read(name) and len(plate.label_fields(name)) == len(plate.well_paths) == 6
    _, kwargs, _ = ngffkit.layers(plate)[1]
    assert {1, 6} <= set(kwargs["colormap"])  # every well's declared colours, merged


@pytest.mark.parametrize(
    ("damage", "error", "match"),
    [
        (lambda p: shutil.rmtree(p / "0"), NotFound, "level 0 array does not exist"),
        (lambda p: (p / ".zattrs").write_text("{oops"), InvalidMetadata, r"\.zattrs: not valid JSON"),
        (
            lambda p: _edit(p, lambda a: a["multiscales"][0]["datasets"][0].update(path="../../etc")),
            UnsafePath,
            r"\.\./\.\./etc",
        ),
        (lambda p: _edit(p, lambda a: a["multiscales"][0].update(version="9.9")), UnsupportedVersion, "9.9"),
        (
            lambda p: _edit(p, lambda a: a["multiscales"][0]["axes"].pop(0)),
            InvalidMetadata,
            "2 dimensions but the image has 1 axes",
        ),
    ],
)
def test_bad_images_raise_one_clear_error(tmp_path: pathlib.Path, damage, error, match) -> None:  # type: ignore[no-untyped-def]
    path = write_coins(tmp_path / "c.zarr", "0.4")
    damage(path)
    with pytest.raises(error, match=match) as info:
        ngffkit.open(path)
    assert str(path) in str(info.value)


def _edit(path: pathlib.Path, change) -> None:  # type: ignore[no-untyped-def]
    attrs = json.loads((path / ".zattrs").read_text())
    change(attrs)
    (path / ".zattrs").write_text(json.dumps(attrs))


def test_missing_lower_level_warns_and_keeps_the_rest(tmp_path: pathlib.Path) -> None:
    path = write_coins(tmp_path / "c.zarr", "0.5")
    shutil.rmtree(path / "2")
    with pytest.warns(NGFFWarning, match="level 2 array does not exist; using levels 0-1"):
        img = ngffkit.open(path)
    assert len(img.levels) == 2


def test_label_whose_source_is_missing(tmp_path: pathlib.Path) -> None:
    path = write_coins(tmp_path / "c.zarr", "0.5")
    meta = json.loads((path / "labels/coins/zarr.json").read_text())
    meta["attributes"]["ome"]["image-label"]["source"]["image"] = "../../elsewhere"
    (path / "labels/coins/zarr.json").write_text(json.dumps(meta))
    with pytest.raises(NotFound, match="source image"):
        ngffkit.open(path / "labels" / "coins").source_image()


def test_label_source_may_not_leave_its_image(tmp_path: pathlib.Path) -> None:
    path = write_coins(tmp_path / "c.zarr", "0.5")
    meta = json.loads((path / "labels/coins/zarr.json").read_text())
    for escape in ("../../../elsewhere", "../../../../", "../../%2e%2e/x", "../..//etc"):
        meta["attributes"]["ome"]["image-label"]["source"]["image"] = escape
        (path / "labels/coins/zarr.json").write_text(json.dumps(meta))
        with pytest.raises(UnsafePath, match=r"image-label\.source\.image"):
            ngffkit.open(path / "labels" / "coins").source_image()


def test_slicing_one_plane_reads_only_its_chunks(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ngffkit.store.local import ConfinedLocalStore

    path = builders.volume(tmp_path / "v.zarr")
    read: list[str] = []
    original = ConfinedLocalStore.get

    async def counting_get(self, key, prototype, byte_range=None):  # type: ignore[no-untyped-def]
        if "/c/" in key:
            read.append(key)
        return await original(self, key, prototype, byte_range)

    monkeypatch.setattr(ConfinedLocalStore, "get", counting_get)
    img = ngffkit.open(path)
    plane = img.levels[0][5].compute()
    assert plane.shape == (128, 128)
    assert sorted(read) == sorted(f"0/c/5/{y}/{x}" for y in range(4) for x in range(4))


@pytest.mark.parametrize("listed", [True, False])
def test_bioformats2raw_collection(tmp_path: pathlib.Path, listed: bool) -> None:
    root = tmp_path / "c.zarr"
    for series in ("0", "1"):
        ngffkit.write_image(
            np.full((64, 64), int(series) + 1, dtype=np.uint8), root / series, version="0.4", name=f"s{series}"
        )
    builders.attrs(root, {"bioformats2raw.layout": 3})
    if listed:
        builders.attrs(root / "OME", {"series": ["0", "1"]})
    node = ngffkit.open(root)
    assert isinstance(node, ngffkit.Collection) and node.series == ("0", "1")
    assert [img.name for img in node.images()] == ["s0", "s1"]
    assert ngffkit.validate(root).valid
    if listed:
        import shutil as sh

        sh.rmtree(root / "1")
        assert {f.rule for f in ngffkit.validate(root).errors} == {"series-missing"}
