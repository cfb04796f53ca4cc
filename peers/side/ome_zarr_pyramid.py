"""ome-zarr-pyramid's side (runs in its own environment): ``io.read_pyramid``."""

from __future__ import annotations

from typing import Any

from . import main, save


def read(path: str, out: str) -> dict[str, Any]:
    """``io.read_pyramid(path)``: its axes, level paths and scales, and level 0's pixels as ``.npy`` in ``out``."""
    from ome_zarr_pyramid import io

    pyramid = io.read_pyramid(path)
    levels = list(pyramid.meta.resolution_paths)
    return {"axes": pyramid.axes, "levels": levels, "scales": [list(pyramid.meta.get_scale(p)) for p in levels],
            "pixels": save(pyramid.base_array, out, "level0")}  # fmt: skip


if __name__ == "__main__":
    main([read])
