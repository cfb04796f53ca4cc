"""ngffkit.layers: napari layer data with every display setting, and no napari import."""

from __future__ import annotations

import pathlib

import pytest

import ngffkit


def test_image_and_label_layers(examples: dict[str, pathlib.Path]) -> None:
    (data, kw, kind), (_, lkw, lkind) = ngffkit.layers(ngffkit.open(examples["coins-0.5"]))
    assert kind == "image" and lkind == "labels"
    assert isinstance(data, list) and len(data) == 3 and kw["multiscale"] is True
    assert kw["name"] == "coins" and kw["colormap"] == "gray" and kw["contrast_limits"] == [1.0, 252.0]
    assert kw["scale"] == [0.5, 0.5] and kw["translate"] == [0.0, 0.0]
    assert kw["axis_labels"] == ["y", "x"] and kw["units"] == ["micrometer", "micrometer"]
    assert kw["metadata"]["ngff_version"] == "0.5"
    assert lkw["scale"] == kw["scale"] and lkw["visible"] is True  # labels overlay the image, shown
    assert lkw["colormap"][0] == [0.0, 0.0, 0.0, 0.0] and len(lkw["colormap"]) > 10


def test_multichannel_plate_layer(examples: dict[str, pathlib.Path]) -> None:
    (data, kw, kind), (wells, wkw, wkind) = ngffkit.layers(ngffkit.open(examples["plate-0.5"]))
    assert kind == "image" and kw["channel_axis"] == 0
    assert kw["name"] == ["GFP", "DAPI"] and kw["colormap"] == ["#00ff00", "#0000ff"]
    assert kw["contrast_limits"] == [[100.0, 4000.0], [100.0, 1100.0]] and kw["visible"] == [True, True]
    assert kw["scale"] == [0.65, 0.65] and kw["axis_labels"] == ["y", "x"]
    assert [d.shape for d in data] == [(2, 256, 384), (2, 128, 192)]
    assert kw["metadata"]["plate"]["tile_shape"] == [2, 128, 128]
    # the well names: one rectangle per position, on the wells' own cells, named
    assert wkind == "shapes" and wkw["scale"] == [0.65, 0.65] and len(wells) == 6
    assert wkw["features"]["well"][:3] == ["A/1", "A/2", "A/3"] and all(wkw["features"]["present"])
    assert wells[1].tolist() == [[0, 128], [0, 256], [128, 256], [128, 128]]  # A/2: row 0, column 1


def test_label_properties_become_features(tmp_path: pathlib.Path) -> None:
    import json

    from ngffkit.samples.examples import write_coins

    path = write_coins(tmp_path / "c.zarr", "0.4")
    attrs = json.loads((path / "labels/coins/.zattrs").read_text())
    attrs["image-label"]["properties"] = [
        {"label-value": 1, "area": 10.5, "class": "big"},
        {"label-value": 2, "area": 3.0},
    ]
    (path / "labels/coins/.zattrs").write_text(json.dumps(attrs))
    ((_, kw, _),) = ngffkit.layers(ngffkit.open(path / "labels" / "coins"))
    assert kw["features"] == {"index": [1, 2], "area": [10.5, 3.0], "class": ["big", None]}


def test_nothing_to_show_is_an_error(tmp_path: pathlib.Path) -> None:
    from .builders import attrs

    attrs(tmp_path / "s", {"ome": {"version": "0.6rc0", "scene": {"coordinateTransformations": []}}}, zarr_format=3)
    scene = ngffkit.open(tmp_path / "s")
    assert scene.kind == "scene" and ngffkit.layers(scene) == []
    with pytest.raises(ngffkit.NGFFError):
        ngffkit.layers(ngffkit.Node(scene.location, scene.metadata))
