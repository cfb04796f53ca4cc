"""ome-zarr-py's side (runs in its own environment): its sample writer, its writers, its Reader.

Arrays come and go as ``.npy`` paths; formats are named by version ("0.4", "0.5"), as ome-zarr-py's ``FormatV04``
and ``FormatV05``.
"""

from __future__ import annotations

from typing import Any

from . import load, main, save

FORMATS = {"0.1": "FormatV01", "0.2": "FormatV02", "0.3": "FormatV03", "0.4": "FormatV04", "0.5": "FormatV05"}


def _format(version: str | None) -> Any:
    from ome_zarr import format as formats

    return None if version is None else getattr(formats, FORMATS[version])()


def _group(path: str, mode: Any, version: str | None) -> Any:
    """The zarr group to write into: zarr v2 for 0.4 and earlier, v3 for 0.5 (zarr's default when unsaid)."""
    import zarr

    if version is None:
        return zarr.open_group(path, mode=mode)
    return zarr.open_group(path, mode=mode, zarr_format=2 if version < "0.5" else 3)


def create_zarr(path: str, method: str, version: str | None = None) -> dict[str, Any]:
    """``ome_zarr.data.create_zarr`` with one of its sample methods ("coins", "astronaut") in format ``version``
    (None: ome-zarr-py's default, as ``ome_zarr create --method coins`` writes)."""
    from ome_zarr import data

    fmt = _format(version)
    if fmt is None:
        data.create_zarr(path, method=getattr(data, method))
        return {"version": None}
    data.create_zarr(path, method=getattr(data, method), fmt=fmt)
    return {"version": fmt.version}


def read(path: str, out: str) -> list[dict[str, Any]]:
    """What ``Reader(parse_url(path))()`` finds: per node its levels (``.npy`` in ``out``), its metadata, and
    which specs it matched (``Multiscales``, ``Label``, ``Plate`` ...)."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Label, Reader

    nodes = []
    for k, node in enumerate(Reader(parse_url(path))()):
        nodes.append({
            "levels": [save(level, out, f"node{k}-level{i}") for i, level in enumerate(node.data)],
            "metadata": node.metadata,
            "specs": [type(spec).__name__ for spec in node.specs],
            "is_label": bool(node.load(Label)),
        })  # fmt: skip
    return nodes


def write(path: str, data: str, *, labels: list[dict[str, Any]] | None = None, mode: str = "w",
          fmt: str | None = None, **options: Any) -> dict[str, Any]:  # fmt: skip
    """``write_image(load(data), group, **options)`` into a new group at ``path``, then ``write_labels`` for
    each of ``labels`` (``{"data": npy, "name": ..., **options}``) into the same group, in this order."""
    from ome_zarr.writer import write_image, write_labels

    root = _group(path, mode, fmt)
    write_image(load(data), root, fmt=_format(fmt), **options)
    for label in labels or []:
        label_options = {k: v for k, v in label.items() if k != "data"}
        write_labels(load(label["data"]), root, fmt=_format(fmt), **label_options)
    return {"written": path}


def write_plate(path: str, rows: list[str], columns: list[str], wells: dict[str, list[str]], *,
                fmt: str | None = None, **options: Any) -> dict[str, Any]:  # fmt: skip
    """A plate: ``write_plate_metadata``, then per well ``write_well_metadata`` and one ``write_image`` per field
    (``wells``: well path -> the fields' ``.npy`` paths; fields are named 0, 1, ...)."""
    from ome_zarr.writer import write_image, write_plate_metadata, write_well_metadata

    plate = _group(path, "w", fmt)
    write_plate_metadata(plate, rows, columns, list(wells), fmt=_format(fmt))
    for well_path, fields in wells.items():
        well = plate.require_group(well_path)
        write_well_metadata(well, [str(k) for k in range(len(fields))], fmt=_format(fmt))
        for k, field in enumerate(fields):
            write_image(load(field), well.require_group(str(k)), fmt=_format(fmt), **options)
    return {"written": path}


if __name__ == "__main__":
    main([create_zarr, read, write, write_plate])
