"""Make the README pictures: napari showing an OME-Zarr image with labels, a stitched plate, the export widget
opened the way a person opens it (napari builds it from the manifest), and a 0.6rc0 scene registering two images
onto each other (docs/coordinate-systems.md).

Run under a display (or ``xvfb-run -a python docs/screenshots.py``); writes docs/images/*.png.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from skimage.io import imsave

import napari
from ngffkit.samples.examples import write_coins, write_plate, write_plate_conditions

OUT = Path(__file__).parent / "images"


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    for first, path in (("coins-with-labels", write_coins(tmp / "coins.zarr")),
                        ("plate-grid", write_plate(tmp / "plate.zarr", labels=True))):  # fmt: skip
        viewer = napari.Viewer(show=True)
        viewer.window.resize(900, 700)
        viewer.open(str(path), plugin="ngffkit")
        _settle()
        viewer.reset_view()
        if first == "coins-with-labels":
            _shoot(viewer, first)
            viewer.window.add_plugin_dock_widget("ngffkit", "Export as OME-Zarr")
            viewer.window.resize(1300, 760)
            second = "export-widget"
        else:  # the plate: first as it opens, then a well chosen in the navigator that docked itself
            _, navigator = viewer.window.add_plugin_dock_widget("ngffkit", "Plate navigator")
            viewer.window.resize(1300, 760)
            _settle()
            viewer.reset_view()
            _shoot(viewer, first)
            write_plate_conditions(tmp / "conditions.csv")
            navigator.add_columns_from(str(tmp / "conditions.csv"))
            navigator.select("B/2")
            _wait(lambda layers=viewer.layers: any(layer.name.startswith("B/2") for layer in layers))
            second = "plate-navigator"
        _shoot(viewer, second)
        viewer.close()
    viewer = napari.Viewer(show=True)
    viewer.window.resize(1300, 760)
    fixed, moving = viewer.open(str(write_registration(tmp / "registration.ome.zarr")), plugin="ngffkit")
    fixed.colormap, moving.colormap, moving.blending = "magenta", "green", "additive"
    viewer.window.add_plugin_dock_widget("ngffkit", "Coordinate systems")
    _settle()
    viewer.reset_view()
    _shoot(viewer, "scene-registered")
    viewer.close()


def write_registration(root: Path) -> Path:
    """A scene of two images: ``fixed`` (the coins) and ``moving`` (the coins rotated by 20 degrees and shifted),
    which an affine places back onto ``fixed`` in the scene's ``world`` system."""
    import json

    import numpy as np
    from scipy import ndimage
    from skimage import data

    import ngffkit

    coins = data.coins()
    angle = np.deg2rad(20)
    matrix = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    offset = np.array([40.0, -60.0])
    moving = ndimage.affine_transform(coins, matrix, offset, output_shape=(360, 420))  # moving[o] = coins[M o + c]
    ngffkit.write_image(coins, root / "fixed", axes="yx", version="0.6rc0", name="fixed")
    ngffkit.write_image(moving, root / "moving", axes="yx", version="0.6rc0", name="moving")
    placed = np.hstack([matrix, offset[:, None]]).tolist()
    steps = [
        {"type": "identity", "input": {"path": "fixed", "name": "physical"}, "output": {"name": "world"}},
        {
            "type": "affine",
            "affine": placed,
            "input": {"path": "moving", "name": "physical"},
            "output": {"name": "world"},
        },
    ]
    axes = [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}]
    scene = {"ome": {"version": "0.6rc0", "scene": {"coordinateSystems": [{"name": "world", "axes": axes}],
                                                    "coordinateTransformations": steps}}}  # fmt: skip
    (root / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": scene}))
    return root


def _wait(condition: Callable[[], bool], seconds: float = 30) -> None:
    from qtpy.QtWidgets import QApplication

    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.02)


def _settle() -> None:
    """Let Qt apply a resize or lay out a newly docked widget: ``reset_view`` fits the data to the canvas size Qt
    has applied, so called straight after ``resize`` it fits the old, smaller canvas (plates came out cropped)."""
    from qtpy.QtWidgets import QApplication

    for _ in range(5):
        QApplication.processEvents()
        time.sleep(0.02)


def _shoot(viewer: napari.Viewer, name: str) -> None:
    _settle()
    imsave(OUT / f"{name}.png", viewer.screenshot(canvas_only=False, flash=False), check_contrast=False)
    print(OUT / f"{name}.png")  # noqa: T201 -- a script for people: it says what it wrote


if __name__ == "__main__":
    main()
