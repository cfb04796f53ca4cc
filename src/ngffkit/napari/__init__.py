"""ngffkit's napari plugin: the only package of ngffkit that imports napari, Qt or magicgui.

The manifest is ``napari.yaml`` beside this file (also linked at the repository root).
"""

from __future__ import annotations

from collections.abc import Sequence


def show_paths(paths: Sequence[str]) -> None:
    """Open OME-Zarr datasets in a new napari viewer and run it (blocks until the window closes)."""
    import napari

    viewer = napari.Viewer(title="ngffkit")
    for path in paths:
        viewer.open(path, plugin="ngffkit")
    napari.run()
