"""Hand-built datasets for reader tests: written with zarr and raw JSON, so they test the reader, not our
own writer. Each returns the path it wrote."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import numpy as np
import zarr


def array(path: pathlib.Path, data: np.ndarray, *, zarr_format: int = 2, chunks: tuple[int, ...] | None = None,
          dimension_names: list[str] | None = None) -> None:  # fmt: skip
    kwargs: dict[str, Any] = {"zarr_format": zarr_format, "chunks": chunks or data.shape}
    if zarr_format == 3 and dimension_names:
        kwargs["dimension_names"] = dimension_names
    arr = zarr.create_array(str(path), shape=data.shape, dtype=data.dtype, **kwargs)
    arr[...] = data


def attrs(path: pathlib.Path, attributes: dict[str, Any], *, zarr_format: int = 2) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if zarr_format == 2:
        (path / ".zgroup").write_text(json.dumps({"zarr_format": 2}))
        (path / ".zattrs").write_text(json.dumps(attributes))
    else:
        (path / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": attributes}))


def ramp(shape: tuple[int, ...], dtype: str = "uint16") -> np.ndarray:
    return (np.arange(int(np.prod(shape))) % 1000).reshape(shape).astype(dtype)


def image_v03(root: pathlib.Path) -> pathlib.Path:
    data = ramp((4, 32, 32))
    array(root / "0", data)
    array(root / "1", data[:, ::2, ::2])
    attrs(
        root, {"multiscales": [{"version": "0.3", "axes": ["z", "y", "x"], "datasets": [{"path": "0"}, {"path": "1"}]}]}
    )
    return root


def image_v01(root: pathlib.Path) -> pathlib.Path:
    array(root / "0", ramp((1, 2, 1, 16, 16)))
    attrs(root, {"multiscales": [{"version": "0.1", "datasets": [{"path": "0"}]}],
                 "omero": {"channels": [{"label": "A", "color": "FF0000"}]}})  # fmt: skip
    return root


def image_v06(root: pathlib.Path, *, rotation: bool = False) -> pathlib.Path:
    data = ramp((16, 24))
    array(root / "s0", data, zarr_format=3, dimension_names=["y", "x"])
    array(root / "s1", data[::2, ::2], zarr_format=3, dimension_names=["y", "x"])
    axes = [{"name": "y", "type": "space", "unit": "micrometer"}, {"name": "x", "type": "space", "unit": "micrometer"}]
    ms: dict[str, Any] = {
        "name": "v06",
        "coordinateSystems": [{"name": "physical", "axes": axes}],
        "datasets": [
            {"path": "s0", "coordinateTransformations": [
                {"type": "scale", "scale": [0.5, 0.25], "input": {"path": "s0"}, "output": {"name": "physical"}}]},
            {"path": "s1", "coordinateTransformations": [
                {"type": "sequence", "input": {"path": "s1"}, "output": {"name": "physical"}, "transformations": [
                    {"type": "scale", "scale": [1.0, 0.5]}, {"type": "translation", "translation": [0.25, 0.125]}]}]},
        ],
    }  # fmt: skip
    if rotation:
        ms["coordinateSystems"].append({"name": "rotated", "axes": axes})
        ms["coordinateTransformations"] = [
            {
                "type": "rotation",
                "rotation": [[0, -1], [1, 0]],
                "input": {"name": "physical"},
                "output": {"name": "rotated"},
            }
        ]
    attrs(root, {"ome": {"version": "0.6rc0", "multiscales": [ms]}}, zarr_format=3)
    return root


def odd_plate(root: pathlib.Path) -> pathlib.Path:
    """2x2 plate: A/1 field '0' (16x16), A/2 field 'fx' (20x12, its OWN path), B/1 listed but absent,
    B/2 no wells metadata entry at all. Pixel values identify the well."""
    for well, field, shape, value in (("A/1", "0", (16, 16), 1), ("A/2", "fx", (20, 12), 2)):
        data = np.full((1, *shape), value, dtype="uint8")
        array(root / well / field / "0", data)
        axes = [{"name": "c", "type": "channel"}, {"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
        ds = [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 1]}]}]
        attrs(root / well / field, {"multiscales": [{"version": "0.4", "axes": axes, "datasets": ds}]})
        attrs(root / well, {"well": {"version": "0.4", "images": [{"path": field}]}})
    attrs(root, {"plate": {"version": "0.4", "rows": [{"name": "A"}, {"name": "B"}], "columns": [{"name": "1"}, {"name": "2"}],
                           "wells": [{"path": "A/1", "rowIndex": 0, "columnIndex": 0},
                                     {"path": "A/2", "rowIndex": 0, "columnIndex": 1},
                                     {"path": "B/1", "rowIndex": 1, "columnIndex": 0}]}})  # fmt: skip
    return root


def volume(root: pathlib.Path) -> pathlib.Path:
    """A 0.5 zyx volume 8 x 128 x 128 chunked (1, 32, 32): one plane touches 16 chunks."""
    data = ramp((8, 128, 128))
    names = ["z", "y", "x"]
    array(root / "0", data, zarr_format=3, chunks=(1, 32, 32), dimension_names=names)
    axes = [{"name": n, "type": "space"} for n in names]
    ds = [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [2.0, 0.5, 0.5]}]}]
    attrs(root, {"ome": {"version": "0.5", "multiscales": [{"axes": axes, "datasets": ds}]}}, zarr_format=3)
    return root
