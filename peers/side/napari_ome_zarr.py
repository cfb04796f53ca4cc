"""napari-ome-zarr's side (runs in its own environment, with its own napari): its reader as napari calls it, and
the layers napari builds from it.

No window: napari's ``ViewerModel`` (the viewer without Qt) opens the data with ``plugin="napari-ome-zarr"``, as a
drop onto napari does; :func:`~peers.side.napari_layers.describe` says what each layer is.
"""

from __future__ import annotations

from typing import Any

from . import jsonable, main, save
from .napari_layers import describe


def reader(path: str, out: str | None = None) -> list[dict[str, Any]]:
    """``napari_get_reader(path)(path)``: per layer data tuple its kind, its levels' shapes and data type, and its
    keyword arguments (a colormap as its name, or its colours); with ``out``, each first level as ``.npy``."""
    from napari_ome_zarr._reader import napari_get_reader

    found = []
    for k, (data, kwargs, kind) in enumerate(napari_get_reader(path)(path)):
        levels = data if isinstance(data, list) else [data]
        options = {key: value for key, value in kwargs.items() if key not in ("metadata", "colormap")}
        colormap = kwargs.get("colormap")
        options["colormap"] = getattr(colormap, "name", None) or (colormap if isinstance(colormap, dict) else None)
        found.append({"kind": kind, "shapes": [list(level.shape) for level in levels], "dtype": str(levels[0].dtype),
                      "kwargs": jsonable(options),
                      "pixels": None if out is None else save(levels[0], out, f"data{k}")})  # fmt: skip
    return found


def layers(path: str, out: str | None = None) -> list[dict[str, Any]]:
    """The layers napari makes of ``path`` with napari-ome-zarr (``ViewerModel().open(path, plugin=...)``)."""
    import warnings

    import npe2
    from napari.components import ViewerModel

    npe2.PluginManager.instance().discover()
    viewer = ViewerModel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # napari's warnings about the colours napari-ome-zarr hands it
        opened = viewer.open(path, plugin="napari-ome-zarr")
    return [describe(layer, out, k) for k, layer in enumerate(opened)]


if __name__ == "__main__":
    main([reader, layers])
