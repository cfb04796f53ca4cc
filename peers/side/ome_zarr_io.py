"""ome-zarr-io's side (runs in its own environment): its ``validate`` and its ``Reader``."""

from __future__ import annotations

from typing import Any

from . import main, save


def validate(path: str) -> dict[str, Any]:
    """``ome_zarr_io.validate(path)``: whether it finds the fileset valid, what kind of node it is, and its errors."""
    from ome_zarr_io import validate as validate_fileset

    report = validate_fileset(path)
    return {"valid": bool(report), "kind": report.kind, "errors": [str(error) for error in report.errors]}


def read_channel(path: str, out: str, name: str, level: int = 0) -> dict[str, Any]:
    """``Reader(path).get_channel(name, level)``: the image's axes and one channel's pixels as ``.npy`` in ``out``."""
    from ome_zarr_io import Reader

    reader = Reader(path)
    return {"dims": list(reader.dims), "levels": reader.n_levels, "channels": list(reader.channel_names),
            "pixels": save(reader.get_channel(name, level=level), out, f"{name}-{level}")}  # fmt: skip


if __name__ == "__main__":
    main([validate, read_channel])
