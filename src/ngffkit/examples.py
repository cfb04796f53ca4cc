"""Small example datasets built offline (coins from scikit-image, a synthetic plate).

They serve the demo and the tests until the full writer lands: each is written with zarr directly from
the metadata model, in the requested NGFF version, arrays first and metadata last.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

import numpy as np
import zarr
from skimage import data as skdata
from skimage.measure import label as connected_components
from skimage.transform import downscale_local_mean

from ngffkit.formats import DEFAULT_WRITE, Format, get_format
from ngffkit.metadata import (
    Axis,
    Channel,
    Dataset,
    FieldRef,
    ImageLabel,
    LabelColor,
    Multiscale,
    OMEMetadata,
    Omero,
    Plate,
    Well,
    WellRef,
    Window,
)
from ngffkit.metadata.multiscales import scale_translation_transforms


def _pyramid(image: np.ndarray, levels: int, *, labels: bool) -> list[np.ndarray]:
    out = [image]
    for _ in range(levels - 1):
        prev = out[-1]
        if labels:
            out.append(prev[..., ::2, ::2])  # nearest: never invents label values
        else:
            factors = (1,) * (prev.ndim - 2) + (2, 2)
            out.append(downscale_local_mean(prev, factors).astype(prev.dtype))
    return out


def _write_group(path: pathlib.Path, meta: OMEMetadata, fmt: Format) -> None:
    group = zarr.open_group(path, mode="a", zarr_format=fmt.zarr_format)  # type: ignore[arg-type]
    group.attrs.update(meta.to_attributes(fmt))


def _write_levels(path: pathlib.Path, levels: Sequence[np.ndarray], axes: Sequence[Axis], fmt: Format) -> None:
    for i, level in enumerate(levels):
        chunks = tuple(min(s, 256) for s in level.shape)
        kwargs: dict = {"chunks": chunks, "zarr_format": fmt.zarr_format, "overwrite": True}
        if fmt.uses_zarr_v3:
            kwargs["dimension_names"] = [a.name for a in axes]
        else:
            kwargs["chunk_key_encoding"] = {"name": "v2", "separator": "/"}
        arr = zarr.create_array(str(path / str(i)), shape=level.shape, dtype=level.dtype, **kwargs)
        arr[...] = level


def _image_meta(levels: Sequence[np.ndarray], axes: tuple[Axis, ...], pixel: float, name: str) -> Multiscale:
    datasets = []
    for i, _ in enumerate(levels):
        f = 2.0**i
        scale = tuple(pixel * f if a.is_space else 1.0 for a in axes)
        translation = tuple(pixel * (f - 1) / 2 if a.is_space else 0.0 for a in axes)
        datasets.append(Dataset(str(i), scale_translation_transforms(scale, translation)))
    return Multiscale(tuple(datasets), axes, name=name)


def write_coins(path: str | pathlib.Path, version: str | Format = DEFAULT_WRITE, *, levels: int = 3) -> pathlib.Path:
    """The scikit-image coins photo as a 2D pyramid with a ``coins`` label image (connected components)."""
    fmt = get_format(version)
    path = pathlib.Path(path)
    image = skdata.coins()
    axes = (Axis("y", "space", "micrometer"), Axis("x", "space", "micrometer"))
    pyramid = _pyramid(image, levels, labels=False)
    _write_levels(path, pyramid, axes, fmt)
    lab = connected_components(image > 110).astype(np.uint16)
    label_path = path / "labels" / "coins"
    _write_levels(label_path, _pyramid(lab, levels, labels=True), axes, fmt)
    rng = np.random.default_rng(0)
    colors = tuple(
        LabelColor(int(v), (*(int(c) for c in rng.integers(40, 256, 3)), 255))  # type: ignore[arg-type]
        for v in np.unique(lab)
        if v
    )
    label_meta = OMEMetadata(
        format=fmt,
        multiscales=(_image_meta(pyramid, axes, 0.5, "coins"),),
        image_label=ImageLabel(colors=colors, source_image="../../"),
    )
    _write_group(label_path, label_meta, fmt)
    _write_group(path / "labels", OMEMetadata(format=fmt, labels=("coins",)), fmt)
    window = Window(float(image.min()), float(image.max()), 0.0, 255.0)
    meta = OMEMetadata(
        format=fmt,
        multiscales=(_image_meta(pyramid, axes, 0.5, "coins"),),
        omero=Omero((Channel("coins", "FFFFFF", window, True),)),
    )
    _write_group(path, meta, fmt)
    return path


def write_plate(
    path: str | pathlib.Path,
    version: str | Format = DEFAULT_WRITE,
    *,
    rows: str = "AB",
    columns: Sequence[str] = ("1", "2", "3"),
    fields: int = 2,
    labels: bool = False,
) -> pathlib.Path:
    """A small synthetic plate: every well has ``fields`` 2-channel fields of view with 2 levels, and with
    ``labels`` a ``cells`` label image per field (the blob, value 1 + well index)."""
    fmt = get_format(version)
    path = pathlib.Path(path)
    rng = np.random.default_rng(1)
    axes = (Axis("c", "channel"), Axis("y", "space", "micrometer"), Axis("x", "space", "micrometer"))
    wells = []
    for r, row in enumerate(rows):
        for c, col in enumerate(columns):
            well_path = path / row / col
            for f in range(fields):
                yy, xx = np.mgrid[0:128, 0:128]
                blob = np.exp(-((yy - 64 - 8 * f) ** 2 + (xx - 64) ** 2) / (200 + 40 * r + 20 * c))
                image = np.stack([blob * 4000, (1 - blob) * 1000]) + rng.normal(100, 10, (2, 128, 128))
                pyramid = _pyramid(image.astype(np.uint16), 2, labels=False)
                _write_levels(well_path / str(f), pyramid, axes, fmt)
                meta = OMEMetadata(
                    format=fmt,
                    multiscales=(_image_meta(pyramid, axes, 0.65, f"{row}{col} field {f}"),),
                    omero=Omero((
                        Channel("GFP", "00FF00", Window(100, 4000, 0, 65535), True),
                        Channel("DAPI", "0000FF", Window(100, 1100, 0, 65535), True),
                    )),
                )  # fmt: skip
                _write_group(well_path / str(f), meta, fmt)
                if labels:
                    _write_blob_labels(well_path / str(f), blob > 0.5, 1 + r * len(columns) + c, axes[1:], fmt)
            _write_group(
                well_path, OMEMetadata(format=fmt, well=Well(tuple(FieldRef(str(f)) for f in range(fields)))), fmt
            )
            zarr.open_group(path / row, mode="a", zarr_format=fmt.zarr_format)  # type: ignore[arg-type]
            wells.append(WellRef(f"{row}/{col}", r, c))
    plate = Plate(tuple(rows), tuple(columns), tuple(wells), name="demo plate", field_count=fields)
    _write_group(path, OMEMetadata(format=fmt, plate=plate), fmt)
    return path


def _write_blob_labels(image: pathlib.Path, mask: np.ndarray, value: int, axes: tuple[Axis, ...], fmt: Format) -> None:
    lab = (mask * value).astype(np.uint16)
    pyramid = _pyramid(lab, 2, labels=True)
    _write_levels(image / "labels" / "cells", pyramid, axes, fmt)
    meta = OMEMetadata(
        format=fmt,
        multiscales=(_image_meta(pyramid, axes, 0.65, "cells"),),
        image_label=ImageLabel(colors=(LabelColor(value, (255, 64, 0, 255)),), source_image="../../"),
    )
    _write_group(image / "labels" / "cells", meta, fmt)
    _write_group(image / "labels", OMEMetadata(format=fmt, labels=("cells",)), fmt)
