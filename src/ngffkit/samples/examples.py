"""Small example datasets written with ngffkit's own writer: coins with labels, a synthetic plate, a time-lapse.

Each writes to a path (and returns it as a :class:`pathlib.Path`) or into a zarr store given as an object (and
returns that store): napari's sample data lives in memory, and leaves no folder behind.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from ngffkit.formats import DEFAULT_WRITE, Format, get_format
from ngffkit.samples import data
from ngffkit.store.location import Location
from ngffkit.writer import write_field, write_image, write_labels
from ngffkit.writer import write_plate as write_plate_layout


def _result(dest: Any) -> Any:
    return pathlib.Path(dest) if isinstance(dest, str | os.PathLike) else dest


def write_coins(path: Any, version: str | Format = DEFAULT_WRITE, *, levels: int = 3, overwrite: bool = False) -> Any:
    """The coins photo as a 2D pyramid with a ``coins`` label image (one label per coin)."""
    path = _result(path)
    image = data.coins()
    write_image(image, path, axes="yx", scale=0.5, units="micrometer", levels=levels, chunks=(256, 256),
                version=get_format(version), name="coins", overwrite=overwrite,
                channels=[{"label": "coins", "color": "FFFFFF", "window": [float(image.min()), float(image.max())]}])  # fmt: skip
    write_labels(data.coins_labels(), path, "coins", colors="auto")
    return path


def _display_windows(images: Sequence[np.ndarray]) -> tuple[list[float], list[float]]:
    """Per channel, the window the whole plate is shown with: the 0.5th to the 99.8th percentile of its pixels
    (every well in one contrast, which a plate view compares; the extremes of noise do not set it)."""
    stacked = np.stack(list(images))  # field, channel, y, x
    low, high = np.percentile(stacked, [0.5, 99.8], axis=(0, 2, 3))
    return [float(round(v)) for v in low], [float(round(v)) for v in high]


def write_plate(
    path: Any,
    version: str | Format = DEFAULT_WRITE,
    *,
    rows: str = "AB",
    columns: Sequence[str] = ("1", "2", "3"),
    fields: int = 2,
    labels: bool = False,
    overwrite: bool = False,
) -> Any:
    """A small synthetic plate: every well has ``fields`` 2-channel fields with 2 levels, and with ``labels``
    a ``cells`` label image per field (the blob, labelled 1 + well index). Two acquisitions (a first and a
    second pass) share the fields: field ``f`` belongs to acquisition ``f % 2``."""
    path = _result(path)
    fmt = get_format(version)
    wells = [f"{r}/{c}" for r in rows for c in columns]
    passes = [{"id": i, "name": name} for i, name in enumerate(("first pass", "second pass")[: max(1, fields)])]
    write_plate_layout(path, list(rows), list(columns), wells, fields=fields, name="demo plate", version=fmt,
                       acquisitions=passes, field_acquisitions=[f % len(passes) for f in range(fields)],
                       overwrite=overwrite)  # fmt: skip
    by_well = data.plate(rows, tuple(columns), fields)
    low, high = _display_windows([image for field_data in by_well.values() for image, _ in field_data])
    channels = [
        {"label": "GFP", "color": "00FF00", "window": [low[0], high[0]]},
        {"label": "DAPI", "color": "0000FF", "window": [low[1], high[1]]},
    ]
    for well, field_data in by_well.items():
        for f, (image, cells) in enumerate(field_data):
            write_field(path, well, f, image, axes="cyx", scale={"y": 0.65, "x": 0.65}, units="micrometer",
                        levels=2, channels=channels, name=f"{well.replace('/', '')} field {f}")  # fmt: skip
            if labels:
                value = int(cells.max())
                field = Location.of(path, mode="w").child(well).child(str(f))
                write_labels(cells, field, "cells", colors={value: (255, 64, 0, 255)})
    return path


def write_plate_conditions(path: Any, rows: str = "AB", columns: Sequence[str] = ("1", "2", "3")) -> Any:
    """The conditions of :func:`write_plate`'s wells as a CSV a screening lab would keep: well, condition, drug
    and concentration (row A untreated controls, the other rows a dilution series across the columns)."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(data.plate_conditions(rows, tuple(columns)))
    return path


def write_timelapse(path: Any, version: str | Format = DEFAULT_WRITE, *, overwrite: bool = False) -> Any:
    """A 5D (t, c, z, y, x) time-lapse of drifting cells with a ``cells`` label image (see
    :func:`ngffkit.samples.data.timelapse`); z is sampled at twice the xy spacing, time points are 30 s apart."""
    path = _result(path)
    image, cells = data.timelapse()
    write_image(image, path, axes=data.TIMELAPSE_AXES, version=get_format(version), name="time-lapse", overwrite=overwrite,
                scale={"t": 30.0, "z": 1.0, "y": 0.5, "x": 0.5},
                units={"t": "second", "z": "micrometer", "y": "micrometer", "x": "micrometer"},
                scale_factors={"z": 1, "y": 2, "x": 2}, levels=3, chunks=(1, 1, 16, 96, 96),
                channels=[{"label": "body", "color": "FF00FF", "window": [0, 3200]},
                          {"label": "membrane", "color": "00FFFF", "window": [0, 2200]}])  # fmt: skip
    write_labels(cells, path, "cells", colors="auto")
    return path
