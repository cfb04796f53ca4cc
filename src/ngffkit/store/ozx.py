"""Zipped OME-Zarr (``.ozx``, RFC-9): one file holding a whole hierarchy.

Packing follows the RFC: the archive root is the OME-Zarr root; entries are stored (no ZIP compression --
chunks are already compressed); ZIP64 is allowed; every ``zarr.json`` comes first, root first and then
breadth-first, so a reader can learn the whole hierarchy from the start of the file and the first entries of
the central directory; the archive comment says so in JSON. Nested ``.ozx`` files are refused.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

from ngffkit.errors import AlreadyExists, InvalidArgument, UnsafePath
from ngffkit.formats import Format

SUFFIX = ".ozx"


def is_ozx(target: object) -> bool:
    """Whether a path or URL names a zipped OME-Zarr."""
    if isinstance(target, str | os.PathLike):
        return os.fspath(target).rstrip("/").lower().endswith(SUFFIX)
    return False


def archive_comment(fmt: Format) -> bytes:
    return json.dumps({"ome": {"version": fmt.version, "zipFile": {"centralDirectory": {"jsonFirst": True}}}}).encode()


def _entries(root: pathlib.Path) -> list[pathlib.Path]:
    """Files in RFC-9 order: zarr.json documents breadth-first (root first), then everything else."""
    files = [p for p in root.rglob("*") if p.is_file()]
    for p in files:
        rel = p.relative_to(root)
        if any(part.lower().endswith(SUFFIX) for part in rel.parts):
            raise UnsafePath(f"refusing to pack a nested {SUFFIX} ({rel})", where=str(root))
    metadata = sorted(
        (p for p in files if p.name == "zarr.json"), key=lambda p: (len(p.relative_to(root).parts), str(p))
    )
    others = sorted(p for p in files if p.name != "zarr.json")
    return metadata + others


def pack(
    source: str | os.PathLike[str], dest: str | os.PathLike[str], fmt: Format, *, overwrite: bool = False
) -> pathlib.Path:
    """Pack the local OME-Zarr folder ``source`` into ``dest`` (.ozx); written to a temporary file first."""
    src, out = pathlib.Path(source), pathlib.Path(dest)
    if not fmt.uses_zarr_v3:
        raise InvalidArgument(f"zipped OME-Zarr (.ozx) needs NGFF 0.5 or later (zarr v3), not {fmt}")
    if not (src / "zarr.json").is_file():
        raise InvalidArgument("is not a zarr v3 hierarchy (no zarr.json at its root)", where=str(src))
    if out.exists() and not overwrite:
        raise AlreadyExists("already exists; pass overwrite=True to replace it", where=str(out))
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for path in _entries(src):
            archive.write(path, path.relative_to(src).as_posix())
        archive.comment = archive_comment(fmt)
    partial.replace(out)  # atomic: a reader never sees half an archive
    return out


@contextmanager
def staging(dest: str | os.PathLike[str]) -> Iterator[pathlib.Path]:
    """A temporary folder beside ``dest`` to write a hierarchy into before packing it."""
    parent = pathlib.Path(dest).resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    folder = pathlib.Path(tempfile.mkdtemp(prefix=".ngffkit-", dir=parent))
    try:
        yield folder / "root.zarr"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
