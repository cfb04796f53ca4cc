"""Sample data in code, offline: scikit-image's bundled photos and small synthetic arrays.

Used by ``ngffkit create``, the demo, the napari sample-data contribution and the tests.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage import data as skdata
from skimage import filters, segmentation
from skimage.measure import label as connected_components


def coins() -> np.ndarray:
    """The coins photo (303 x 384, uint8)."""
    return skdata.coins()


def coins_labels() -> np.ndarray:
    """One label per coin (all 24 of them, nothing else), uint16: scikit-image's own segmentation of this photo --
    a watershed of its edges grown from sure background (< 30) and sure coin (> 150), holes filled -- without specks
    under 100 pixels. A plain threshold labelled the bright background along the top edge as one huge "coin"."""
    image = coins()
    markers = np.zeros(image.shape, dtype=np.uint8)
    markers[image < 30], markers[image > 150] = 1, 2
    coin = ndimage.binary_fill_holes(segmentation.watershed(filters.sobel(image), markers) == 2)
    labels = connected_components(coin)
    labels[np.bincount(labels.ravel())[labels] < 100] = 0
    return connected_components(labels > 0).astype(np.uint16)


def astronaut() -> np.ndarray:
    """The astronaut photo as channels first (3 x 512 x 512, uint8)."""
    return np.ascontiguousarray(skdata.astronaut().transpose(2, 0, 1))


def well_field(row: int, column: int, field: int, size: int = 128) -> np.ndarray:
    """A 2-channel synthetic field of view, uint16: a blob (channel 0, GFP) and small nuclei (channel 1, DAPI)
    scattered over a dark background -- each channel has a range worth a display window, where a flat DAPI
    background showed as solid blue."""
    rng = np.random.default_rng(1 + row * 100 + column * 10 + field)
    yy, xx = np.mgrid[0:size, 0:size]
    blob = np.exp(-((yy - size / 2 - 8 * field) ** 2 + (xx - size / 2) ** 2) / (200 + 40 * row + 20 * column))
    nuclei = np.zeros((size, size))
    for y, x in rng.uniform(8, size - 8, (12, 2)):
        nuclei += np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / 18)
    image = np.stack([blob * 4000, np.minimum(nuclei, 1.5) * 2000]) + rng.normal(100, 10, (2, size, size))
    return image.astype(np.uint16)


def well_field_labels(row: int, column: int, field: int, value: int, size: int = 128) -> np.ndarray:
    """The blob of :func:`well_field` as a label image with label ``value``."""
    return ((well_field(row, column, field, size)[0] > 2000) * value).astype(np.uint16)


def plate(
    rows: str = "AB", columns: tuple[str, ...] = ("1", "2", "3"), fields: int = 2, size: int = 128
) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """A synthetic plate: ``{"A/1": [(image, labels), ...]}`` with one (2-channel image, labels) pair per field.

    Each well's blob is labelled ``1 + well index``, so label values are unique across the plate (what
    ``ngffkit csv-to-labels`` matches a table against).
    """
    out: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for r, row in enumerate(rows):
        for c, column in enumerate(columns):
            value = 1 + r * len(columns) + c
            out[f"{row}/{column}"] = [
                (well_field(r, c, f, size), well_field_labels(r, c, f, value, size)) for f in range(fields)
            ]
    return out


def plate_conditions(rows: str = "AB", columns: tuple[str, ...] = ("1", "2", "3")) -> str:
    """CSV text of per-well conditions for :func:`plate`: row A untreated (DMSO) controls; each later row a drug,
    its concentration doubling across the columns."""
    drugs = ("nocodazole", "taxol", "blebbistatin", "latrunculin")
    lines = ["well,condition,drug,concentration_uM"]
    for r, row in enumerate(rows):
        for c, column in enumerate(columns):
            if r == 0:
                lines.append(f"{row}{column},control,DMSO,0")
            else:
                lines.append(f"{row}{column},treated,{drugs[(r - 1) % len(drugs)]},{0.5 * 2**c:g}")
    return "\n".join(lines) + "\n"


#: Axes of :func:`timelapse`: the image is (t, c, z, y, x); its labels drop the channel axis.
TIMELAPSE_AXES = "tczyx"


def timelapse(timepoints: int = 6, depth: int = 16, size: int = 96, cells: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A 5D time-lapse of ``cells`` spherical cells drifting through a volume, with their segmentation.

    Returns ``(image, labels)``: image (t, 2, z, y, x) uint16 -- channel 0 the cell bodies, channel 1 their
    membranes -- and labels (t, z, y, x) uint16 with cell ``i`` labelled ``i + 1`` in every time point, so
    tracking and per-label properties have something real to work on.
    """
    rng = np.random.default_rng(7)
    start = rng.uniform([depth * 0.3, size * 0.25, size * 0.25], [depth * 0.7, size * 0.75, size * 0.75], (cells, 3))
    velocity = rng.uniform(-1.5, 1.5, (cells, 3)) * [0.3, 1, 1]
    radius = rng.uniform(size * 0.08, size * 0.14, cells)
    zz, yy, xx = np.mgrid[0:depth, 0:size, 0:size].astype(np.float32)
    image = np.empty((timepoints, 2, depth, size, size), np.uint16)
    labels = np.zeros((timepoints, depth, size, size), np.uint16)
    for t in range(timepoints):
        body = np.zeros((depth, size, size), np.float32)
        membrane = np.zeros_like(body)
        for i in range(cells):
            cz, cy, cx = start[i] + velocity[i] * t
            # z is sampled at twice the xy spacing: anisotropic, like most microscope stacks
            distance = np.sqrt(((zz - cz) * 2) ** 2 + (yy - cy) ** 2 + (xx - cx) ** 2)
            inside = distance < radius[i]
            labels[t][inside & (labels[t] == 0)] = i + 1
            body += np.clip(1 - distance / radius[i], 0, 1) * 3000
            membrane += np.exp(-(((distance - radius[i]) / 1.5) ** 2)) * 2000
        noise = rng.normal(100, 15, (2, depth, size, size))
        image[t] = np.clip(np.stack([body, membrane]) + noise, 0, 65535).astype(np.uint16)
    return image, labels
