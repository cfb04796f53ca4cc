"""iohub's side (runs in its own environment; iohub 0.2 pins zarr 2, NGFF 0.4): a field of view read, an HCS plate
written."""

from __future__ import annotations

from typing import Any

from . import load, main


def read_fov(path: str) -> dict[str, Any]:
    """``open_ome_zarr(path, layout="fov")``: the data's shape and sum, the channel names and the scale."""
    import numpy as np
    from iohub.ngff import open_ome_zarr

    with open_ome_zarr(path, layout="fov", mode="r") as position:
        data = np.asarray(position.data)
        return {"shape": list(data.shape), "sum": int(data.astype("int64").sum()),
                "channels": list(position.channel_names), "scale": list(position.scale)}  # fmt: skip


def write_hcs(path: str, data: str, channel_names: list[str], wells: list[list[str]], scale: list[float]) -> dict:
    """A plate (``layout="hcs"``) with one position "0" per (row, column) in ``wells``, each holding ``load(data)``
    as image "0" with a scale transformation."""
    from iohub.ngff import open_ome_zarr

    values = load(data)
    with open_ome_zarr(path, layout="hcs", mode="w-", channel_names=channel_names) as plate:
        for row, column in wells:
            position = plate.create_position(row, column, "0")
            position.create_image("0", values, transform=[{"type": "scale", "scale": scale}])
    return {"written": path}


if __name__ == "__main__":
    main([read_fov, write_hcs])
