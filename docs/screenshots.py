"""Make the README pictures: napari showing an OME-Zarr image with labels, and a stitched plate.

Run under a display (or ``xvfb-run -a python docs/screenshots.py``); writes docs/images/*.png.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import napari
from skimage.io import imsave

from ngffkit.samples.examples import write_coins, write_plate

OUT = Path(__file__).parent / "images"


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    for name, path in (("coins-with-labels", write_coins(tmp / "coins.zarr")),
                       ("plate-grid", write_plate(tmp / "plate.zarr", labels=True))):  # fmt: skip
        viewer = napari.Viewer(show=True)
        viewer.window.resize(900, 700)
        viewer.open(str(path), plugin="ngffkit")
        viewer.reset_view()
        imsave(OUT / f"{name}.png", viewer.screenshot(canvas_only=False, flash=False), check_contrast=False)
        viewer.close()
        print(OUT / f"{name}.png")


if __name__ == "__main__":
    main()
