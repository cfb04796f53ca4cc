"""Where a plate's wells are in napari's world: the overview layer's grid, placed by its scale and translation.
Apart from the navigator's widget code, so that each is small; the cells themselves come from the GUI-free core
(:func:`ngffkit.reader.plate_map.grid_cells`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from napari.layers import Shapes

import ngffkit
from ngffkit.layer_data import well_names_layer
from ngffkit.napari._layers import fit
from ngffkit.napari._napari_adapter import camera, canvas_size
from ngffkit.reader.plate_map import WellRow, grid_cells


def grid_shape(overview: Any) -> tuple[int, ...]:
    """The shape of the overview's level 0 (the grid the cells divide)."""
    data = overview.data
    return tuple((data[0] if overview.multiscale else data).shape)


def cell_origin(overview: Any, plate: ngffkit.Plate, rows: Sequence[WellRow], well: str) -> tuple[float, float]:
    """The world position of the top left corner of ``well``'s cell in the overview."""
    row = next(r for r in rows if r.path == well)
    cell = grid_cells(plate, grid_shape(overview))[(row.row_index, row.column_index)]
    scale, translate = overview.scale[-2:], overview.translate[-2:]
    return cell.y * scale[0] + translate[0], cell.x * scale[1] + translate[1]


def zoom_to(viewer: Any, overview: Any, plate: ngffkit.Plate, rows: Sequence[WellRow], well: str) -> None:
    """Centre the view on ``well``'s cell, zoomed so that the whole cell shows: the zoom that fits the plate
    (as napari's ``reset_view`` would), times 0.9 x the smaller of its rows and columns.

    The zoom is computed, not got from ``reset_view`` and then changed: every change of the camera moves every
    visual of the canvas (5-10 ms each on napari's thread), and from well to well only the centre changes."""
    y, x = cell_origin(overview, plate, rows, well)
    cell = next(iter(grid_cells(plate, grid_shape(overview)).values()))
    height, width = cell.height * overview.scale[-2], cell.width * overview.scale[-1]
    view, fit = camera(viewer), _fit_zoom(viewer, overview)
    if fit is None:  # no canvas to measure, or a 3D view: napari fits the plate first
        viewer.reset_view()
        fit = view.zoom
    center = (y + height / 2, x + width / 2)
    if tuple(view.center)[-2:] != center:
        view.center = center
    view.zoom = fit * 0.9 * max(1, min(len(plate.rows), len(plate.columns)))  # unchanged: napari emits nothing


def _fit_zoom(viewer: Any, overview: Any) -> float | None:
    """The zoom at which the plate's overview fills the canvas with napari's margin of 5% (``reset_view``'s),
    or None without a canvas or in 3D."""
    size = canvas_size(viewer)
    if size is None or viewer.dims.ndisplay != 2:
        return None
    extent = np.asarray(overview.extent.world, dtype=float)[:, -2:]  # the pixels' centres: napari adds a pixel
    span = extent[1] - extent[0] + np.abs(np.asarray(overview.scale[-2:], dtype=float))
    if not np.all(span > 0):
        return None
    return float(0.95 * min(size[0] / span[0], size[1] / span[1]))


def inside_grid(overview: Any, y: float, x: float) -> bool:
    shape = grid_shape(overview)
    return 0 <= y < shape[-2] and 0 <= x < shape[-1]


def wells_layer(plate: ngffkit.Plate, shape: Sequence[int], overview: Any) -> Shapes:
    """The plate's wells layer (:func:`ngffkit.layer_data.well_names_layer`) for cells dividing a grid of ``shape``,
    placed like the overview layer."""
    placement = {"scale": list(overview.scale), "translate": list(overview.translate),
                 "units": [str(u) for u in overview.units], "axis_labels": list(overview.axis_labels)}  # fmt: skip
    ((data, kwargs, _),) = fit([well_names_layer(plate, shape, placement)])
    return Shapes(data, **kwargs)
