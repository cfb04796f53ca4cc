"""ngff-zarr's side (runs in its own environment): ``to_ngff_zarr`` and ``from_ngff_zarr``."""

from __future__ import annotations

from typing import Any

from . import load, main, save


def version() -> str:
    import ngff_zarr

    return str(ngff_zarr.__version__)


def write(path: str, data: str, dims: list[str], scale: dict[str, float], translation: dict[str, float],
          scale_factors: list[int], version: str) -> dict[str, Any]:  # fmt: skip
    """``to_ngff_zarr(path, to_multiscales(to_ngff_image(load(data), ...), scale_factors), version=version)``."""
    import ngff_zarr as nz

    image = nz.to_ngff_image(load(data), dims=dims, scale=scale, translation=translation)
    nz.to_ngff_zarr(path, nz.to_multiscales(image, scale_factors=scale_factors), version=version)
    return {"written": path}


def read(path: str, out: str, levels: list[int] | None = None) -> list[dict[str, Any]]:
    """``from_ngff_zarr(path)``: per image (level) its dims, scale and translation; the pixels of ``levels``
    (default all) as ``.npy`` in ``out``."""
    import ngff_zarr as nz

    found = []
    for k, image in enumerate(nz.from_ngff_zarr(path).images):
        pixels = save(image.data, out, f"level{k}") if levels is None or k in levels else None
        found.append({"dims": list(image.dims), "scale": dict(image.scale), "translation": dict(image.translation),
                      "pixels": pixels})  # fmt: skip
    return found


if __name__ == "__main__":
    main([version, write, read])
