"""Make the README pictures: napari showing an OME-Zarr image with labels, a stitched plate, and the export
widget opened the way a person opens it (napari builds it from the manifest).

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
        viewer.reset_view()
        if first == "coins-with-labels":
            _shoot(viewer, first)
            viewer.window.add_plugin_dock_widget("ngffkit", "Export as OME-Zarr")
            viewer.window.resize(1300, 760)
            second = "export-widget"
        else:  # the plate: first as it opens, then a well chosen in the navigator that docked itself
            _, navigator = viewer.window.add_plugin_dock_widget("ngffkit", "Plate navigator")
            viewer.window.resize(1300, 760)
            viewer.reset_view()
            _shoot(viewer, first)
            write_plate_conditions(tmp / "conditions.csv")
            navigator.add_columns_from(str(tmp / "conditions.csv"))
            navigator.select("B/2")
            _wait(lambda layers=viewer.layers: any(layer.name.startswith("B/2") for layer in layers))
            second = "plate-navigator"
        _shoot(viewer, second)
        viewer.close()


def _wait(condition: Callable[[], bool], seconds: float = 30) -> None:
    from qtpy.QtWidgets import QApplication

    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        QApplication.processEvents()
        time.sleep(0.02)


def _shoot(viewer: napari.Viewer, name: str) -> None:
    from qtpy.QtWidgets import QApplication

    for _ in range(5):  # let Qt lay out a newly docked widget before the picture is taken
        QApplication.processEvents()
    imsave(OUT / f"{name}.png", viewer.screenshot(canvas_only=False, flash=False), check_contrast=False)
    print(OUT / f"{name}.png")  # noqa: T201 -- a script for people: it says what it wrote


if __name__ == "__main__":
    main()
