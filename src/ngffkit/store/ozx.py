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
from typing import Any

from zarr.storage import ZipStore

from ngffkit.errors import AlreadyExists, InvalidArgument, UnsafePath
from ngffkit.formats import Format
from ngffkit.store.limits import ReadBudget

SUFFIX = ".ozx"


class BoundedZipStore(ZipStore):
    """zarr's ZipStore, with each entry's declared size checked against a :class:`ReadBudget` before it is
    read. Python's zipfile never returns more than the declared size (and checks the CRC), so a deflate bomb
    or an entry whose declared size lies stops at the bound."""

    _budget: ReadBudget | None = None

    @property
    def budget(self) -> ReadBudget:
        if self._budget is None:
            self._budget = ReadBudget()
        return self._budget

    async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
        self._open_once()
        return await super().get(key, prototype, byte_range)

    def _open_once(self) -> None:
        """zarr's ZipStore is opened by zarr's own API before use (before 3.2 its reads need the lock that opening
        makes); ngffkit reads documents through the store directly, so it opens it here, once."""
        if not self._is_open:
            self._sync_open()

    def _get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
        self._open_once()
        try:
            info = self._zf.getinfo(key)
        except KeyError:
            return None
        bound = self.budget.bound(key)
        if info.file_size > bound.limit:
            raise bound.error(info.file_size, f"{self.path}/{key}")
        return super()._get(key, prototype, byte_range)


def duplicate_entries(path: str | os.PathLike[str]) -> list[str]:
    """Entry names that occur more than once in a zip archive: readers disagree on which copy wins.
    (An archive that cannot be read has none here; reading it reports that.)"""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return []
    seen: set[str] = set()
    twice: list[str] = []
    for name in names:
        if name in seen and name not in twice:
            twice.append(name)
        seen.add(name)
    return twice


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
    if out.resolve().is_relative_to(src.resolve()):
        raise InvalidArgument(f"the archive would be written inside the folder it packs ({src})", where=str(out))
    check_replaceable(out, overwrite)
    partial = out.with_name(out.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            for path in _entries(src):
                archive.write(path, path.relative_to(src).as_posix())
            archive.comment = archive_comment(fmt)
        partial.replace(out)  # atomic: a reader never sees half an archive
    finally:
        partial.unlink(missing_ok=True)  # our own temporary file, if anything failed before the rename
    return out


def check_replaceable(out: pathlib.Path, overwrite: bool) -> None:
    """Refuse to write an archive at ``out`` unless nothing is there, or a zipped OME-Zarr that the caller
    asked to replace: a folder, or any other file, is never replaced."""
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_file():
        raise AlreadyExists("exists and is not a file; refusing to replace it with an archive", where=str(out))
    if not overwrite:
        raise AlreadyExists("already exists; pass overwrite=True to replace it", where=str(out))
    try:
        with zipfile.ZipFile(out) as archive:
            is_ozx = "zarr.json" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        is_ozx = False
    if not is_ozx:
        raise AlreadyExists("is not a zipped OME-Zarr; refusing to replace it (even with overwrite)", where=str(out))


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
