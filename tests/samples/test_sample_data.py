"""``ngffkit.samples.data`` and ``ngffkit create``: offline sample data that is what it claims to be."""

from __future__ import annotations

import pathlib

import numpy as np

import ngffkit
from ngffkit.samples import data
from ngffkit.samples.examples import write_plate

from ..clirun import run


def test_timelapse_cells_move_and_labels_follow() -> None:
    image, labels = data.timelapse()
    assert image.shape == (6, 2, 16, 96, 96) and labels.shape == (6, 16, 96, 96)
    assert image.dtype == labels.dtype == np.uint16
    assert set(np.unique(labels)) == {0, 1, 2, 3}
    centroids = [np.argwhere(labels[t] == 1).mean(axis=0) for t in (0, 5)]
    assert np.abs(centroids[1] - centroids[0]).sum() > 2  # cell 1 drifts
    for t in (0, 5):
        assert image[t, 0][labels[t] > 0].mean() > 5 * image[t, 0][labels[t] == 0].mean()
    assert np.array_equal(data.timelapse()[1], labels)  # deterministic


def test_the_coins_labels_are_the_24_coins_and_nothing_else() -> None:
    """A threshold labelled the bright background along the photo's top edge as one huge 'coin' (72,783 pixels,
    a quarter of the image) among 87 specks and coins."""
    image, labels = data.coins(), data.coins_labels()
    assert labels.dtype == np.uint16 and labels.shape == image.shape
    assert set(np.unique(labels)) == set(range(25))
    sizes = np.bincount(labels.ravel())[1:]
    assert sizes.min() > 900 and sizes.max() < 4000  # coins, not specks nor the background
    assert image[labels > 0].mean() > 2 * image[labels == 0].mean()
    assert not (labels[0] > 0).any()  # the top row is background


def test_plate_has_unique_label_values_per_well() -> None:
    plate = data.plate(rows="AB", columns=("1", "2"), fields=3, size=64)
    assert list(plate) == ["A/1", "A/2", "B/1", "B/2"]
    values = {well: {int(v) for _, lab in fields for v in np.unique(lab)} - {0} for well, fields in plate.items()}
    assert values == {"A/1": {1}, "A/2": {2}, "B/1": {3}, "B/2": {4}}
    assert all(img.shape == (2, 64, 64) for fields in plate.values() for img, _ in fields)


def test_create_every_kind(tmp_path: pathlib.Path) -> None:
    for kind, version in (("image", "0.5"), ("labels", "0.4"), ("plate", "0.4"), ("timelapse", "0.5")):
        out = tmp_path / f"{kind}.zarr"
        proc = run("create", "--kind", kind, "--version", version, str(out))
        assert proc.returncode == 0, proc.stderr
        assert ngffkit.validate(out).valid
    movie = ngffkit.open(tmp_path / "timelapse.zarr")
    assert movie.axis_names == ("t", "c", "z", "y", "x") and movie.label_names == ("cells",)
    assert [s[-1] for s in movie.shapes] == [96, 48, 24] and all(s[2] == 16 for s in movie.shapes)


def test_the_sample_plate_channels_are_shown_with_windows_that_fit_them(tmp_path: pathlib.Path) -> None:
    """The DAPI channel was a flat background of about 1100 shown with the window 100-1100: the plate looked solid
    blue. Now each channel's window is measured from the plate (percentiles), and a field is mostly dark with
    bright objects: the background sits in the lowest quarter of the window, little saturates."""
    plate = ngffkit.open(write_plate(tmp_path / "plate.zarr"))
    image = plate.fields(0)["A/1"]
    assert image is not None
    pixels = image.levels[0].compute()
    for channel, info in enumerate(image.channels):
        assert info.contrast_limits is not None
        low, high = info.contrast_limits
        values = pixels[channel]
        assert low < np.median(values) < low + (high - low) / 4, (info.name, info.contrast_limits)
        assert (values >= high).mean() < 0.01 and values.max() > low + (high - low) / 2, info.name
