"""bioio-ome-zarr's side (runs in its own environment): its ``Reader`` and its ``OMEZarrWriter``."""

from __future__ import annotations

from typing import Any

from . import load, main, save


def read(path: str, out: str) -> dict[str, Any]:
    """What ``bioio_ome_zarr.Reader(path)`` says: dims, physical pixel sizes, channel names, resolution levels;
    its data as ``.npy`` in ``out``."""
    from bioio_ome_zarr import Reader

    reader = Reader(path)
    return {"order": reader.dims.order, "shape": list(reader.dims.shape),
            "physical_pixel_sizes": list(reader.physical_pixel_sizes), "channel_names": list(reader.channel_names),
            "resolution_levels": list(reader.resolution_levels), "data": save(reader.data, out, "data")}  # fmt: skip


def write(path: str, data: str, **options: Any) -> dict[str, Any]:
    """``OMEZarrWriter(path, **options).write_full_volume(load(data))``."""
    from bioio_ome_zarr.writers import OMEZarrWriter

    OMEZarrWriter(path, **options).write_full_volume(load(data))
    return {"written": path}


if __name__ == "__main__":
    main([read, write])
