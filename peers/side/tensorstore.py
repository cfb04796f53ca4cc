"""tensorstore's side (runs in its own environment): one array read through its zarr drivers."""

from __future__ import annotations

from typing import Any

from . import main, save


def read(path: str, out: str, array: str = "0", zarr_format: int = 3) -> dict[str, Any]:
    """The array ``array`` of the image at ``path`` (a folder, or an ``http://`` URL), read whole with tensorstore's
    ``zarr3`` (or, for ``zarr_format`` 2, ``zarr``) driver: its shape and data type, the pixels as ``.npy`` in
    ``out``."""
    import tensorstore as ts

    where = f"{path}/{array}/"
    kvstore = {"driver": "http", "base_url": where} if where.startswith("http") else {"driver": "file", "path": where}
    store = ts.open({"driver": "zarr3" if zarr_format == 3 else "zarr", "kvstore": kvstore}, read=True).result()
    pixels = store.read().result()
    return {"shape": list(pixels.shape), "dtype": str(pixels.dtype), "pixels": save(pixels, out, "pixels")}


if __name__ == "__main__":
    main([read])
