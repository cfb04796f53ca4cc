"""ome-zarr-models' side (runs in its own environment): which of its models a group validates as."""

from __future__ import annotations

from . import main


def kinds(paths: list[str], version: str) -> list[str]:
    """For each group, the class ``ome_zarr_models.open_ome_zarr`` validates it as ("Image", "HCS" ...); a group
    it refuses raises (its validation error is the failure)."""
    import ome_zarr_models
    import zarr

    return [type(ome_zarr_models.open_ome_zarr(zarr.open_group(p, mode="r"), version=version)).__name__ for p in paths]


if __name__ == "__main__":
    main([kinds])
