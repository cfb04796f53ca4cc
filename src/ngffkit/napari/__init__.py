"""ngffkit's napari integration: the only package of ngffkit that imports napari."""

from __future__ import annotations

from collections.abc import Sequence


def show_paths(paths: Sequence[str]) -> None:
    """Open OME-Zarr datasets in a new napari viewer and run it (blocks until the window closes)."""
    import napari

    import ngffkit

    viewer = napari.Viewer(title="ngffkit demo")
    for path in paths:
        for data, kwargs, kind in ngffkit.layers(ngffkit.open(path)):
            getattr(viewer, f"add_{kind}")(data, **kwargs)
    napari.run()
