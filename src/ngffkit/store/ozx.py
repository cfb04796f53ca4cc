"""Zipped OME-Zarr (``.ozx``, RFC-9): one file holding a whole hierarchy.

Packing follows the RFC: the archive root is the OME-Zarr root; entries are stored (no ZIP compression --
chunks are already compressed); ZIP64 is allowed; every ``zarr.json`` comes first, root first and then
breadth-first, so a reader can learn the whole hierarchy from the start of the file and the first entries of
the central directory; the archive comment says so in JSON. Nested ``.ozx`` files are refused.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import os
import pathlib
import shutil
import tempfile
import threading
import warnings
import zipfile
import zlib
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import IO, Any, BinaryIO

import numpy as np
from zarr.abc.store import ByteRequest, Store
from zarr.buffer import default_buffer_prototype

from ngffkit.errors import AlreadyExists, CorruptData, InvalidArgument, LocationError, NGFFWarning, UnsafePath
from ngffkit.formats import Format
from ngffkit.store import zip_directory, zip_entries, zip_layout
from ngffkit.store.limits import Limits, ReadBudget
from ngffkit.store.local import byte_span, check_byte_range

SUFFIX = ".ozx"
#: The signatures of a zip local file header and of the end of a central directory.
_LOCAL_HEADER, _END_OF_DIRECTORY = b"PK\x03\x04", b"PK\x05\x06"
#: How far before an archive's first entry the end record of another archive can begin (22 bytes, and a comment
#: of at most 65,535).
_END_RECORD_REACH = 22 + 65_535


class OzxStore(Store):
    """A read-only zarr store over a zipped OME-Zarr, read with Python's ``zipfile``.

    Each entry's declared size is checked against the store's :class:`ReadBudget` before it is read (a document
    against ``max_document_bytes``, a chunk against what its array's chunk can be), and an entry is never inflated
    past that size: ``zipfile`` checks the CRC only at the end of an entry, and an entry that declares a few bytes
    but inflates to gigabytes would otherwise be inflated whole first. An archive that is ambiguous -- another
    archive before it, or entry names that repeat -- is read as ``zipfile`` reads it, with an
    :class:`~ngffkit.NGFFWarning` when it is opened (the validator reports it as an error).
    """

    supports_writes: bool = False
    supports_deletes: bool = False
    supports_listing: bool = True

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = True, limits: Limits | None = None) -> None:
        if not read_only:
            raise ValueError("a zipped OME-Zarr is read-only; the writer writes it whole")
        super().__init__(read_only=True)
        self.path = pathlib.Path(path)
        #: The caller's limits (None: the environment's, read when the first read needs them).
        self.limits = limits
        self._budget: ReadBudget | None = None
        self._archive: zipfile.ZipFile | None = None
        #: The archive's file, opened here and handed to ``zipfile``: bulk reads use its descriptor with
        #: ``os.pread`` (no shared position), without reaching into ``ZipFile``'s undocumented ``fp``.
        self._file: BinaryIO | None = None
        #: Where the entries begin and the file's size (read at the first bulk read: a sort of every offset).
        self._layout: zip_directory.Layout | None = None
        self._lock = threading.Lock()
        self._size = 0  # the archive file's size, read when it is opened
        #: How many entries this store has read (every :meth:`get_sync`, :meth:`read_entries` and :meth:`read_fixed` key that was
        #: there): what tests and benchmarks count to prove a picture reads only the chunks it shows.
        self.entries_read = 0

    @property
    def budget(self) -> ReadBudget:
        if self._budget is None:
            self._budget = ReadBudget(self.limits)
        return self._budget

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OzxStore) and self.path == other.path

    def __hash__(self) -> int:
        return hash((OzxStore, self.path))

    def __str__(self) -> str:
        return f"zip://{self.path.as_posix()}"

    def __repr__(self) -> str:
        return f"OzxStore('{self}')"

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "limits": self.limits}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], limits=state.get("limits"))  # type: ignore[misc]

    def close(self) -> None:
        with self._lock:
            if self._archive is not None:
                self._archive.close()
                self._archive = None
            if self._file is not None:
                self._file.close()
                self._file = None
            self._layout = None
        super().close()

    def archive(self) -> zipfile.ZipFile:
        """The open archive (opened at the first read; reading its central directory once, and warning once when
        it is ambiguous)."""
        with self._lock:
            if self._archive is None:
                file = None
                try:
                    file = open(self.path, "rb")  # noqa: SIM115 -- kept open with the archive, closed by close()
                    self._archive = zipfile.ZipFile(file)
                except (OSError, zipfile.BadZipFile, ValueError) as exc:
                    if file is not None:
                        file.close()
                    raise LocationError(f"not a readable zip archive: {exc}", where=str(self.path)) from exc
                self._file = file
                self._size = os.fstat(file.fileno()).st_size
                for problem in ambiguities(self._archive):
                    warnings.warn(f"{self.path}: {problem}", NGFFWarning, stacklevel=4)
            return self._archive

    # --- reading -------------------------------------------------------------------------------------------

    def get_sync(self, key: str, *, prototype: Any = None, byte_range: ByteRequest | None = None) -> Any:
        """:meth:`get` in the calling thread."""
        check_byte_range(byte_range)
        archive = self.archive()
        try:
            info = archive.getinfo(key)
        except KeyError:
            return None
        if info.is_dir():
            return None
        where = f"{self.path}/{key}"
        zip_entries.check_place(info, self._size, where)  # zipfile would seek before the file: an OSError
        bound = self.budget.bound(key)
        if info.file_size > bound.limit:
            raise bound.error(info.file_size, where)
        start, length = byte_span(info.file_size, byte_range)
        data = self._read_part(key, start, length, where) if start else None
        if data is None:
            data = self._read_through_zipfile(archive, info, start, length, where)
        with self._lock:  # dask's threads read at once: no count is lost
            self.entries_read += 1
        return (prototype or default_buffer_prototype()).buffer.from_bytes(data)

    def _read_part(self, key: str, start: int, length: int, where: str) -> bytes | None:
        """Part of a stored entry read without ``zipfile`` (whose seek in a stored entry races with other
        threads' reads: :func:`~ngffkit.store.zip_entries.read_part`); None when zipfile must read it."""
        fd, layout = self._bulk_source()
        if not layout.stored[layout.index[key]]:
            return None  # zipfile seeks in a compressed entry by reading: no race
        return zip_entries.read_part(fd, layout, key, start, length, where)

    def _read_through_zipfile(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, start: int, length: int,
                              where: str) -> bytes:  # fmt: skip
        try:
            # zipfile counts the archive's open entries without a lock of its own: opening and closing take ours
            with self._lock:
                entry = archive.open(info)
            try:
                _skip(entry, start)
                data = entry.read(length)  # never more: zipfile inflates at most what is asked for
            finally:
                with self._lock:
                    entry.close()
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, UnicodeDecodeError) as exc:
            raise CorruptData(f"cannot read this entry of the archive: {exc}", where=where) from exc
        return data

    def read_entries(self, keys: builtins.list[str]) -> builtins.list[bytes | None]:
        """The whole contents of many entries (None: no such entry), read in bulk and checked as ``zipfile`` checks
        them (:func:`ngffkit.store.zip_entries.read_entries`): a read of the file per span of neighbouring entries
        instead of ``zipfile``'s open, seek and read of each (~100 µs an entry, against a few there)."""
        fd, layout = self._bulk_source()
        contents, read = zip_entries.read_entries(
            fd, keys, self.budget, self.get_sync, where=str(self.path), layout=layout
        )
        self._count(read)
        return contents

    def read_fixed(self, keys: builtins.list[str], size: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`read_entries` for entries of ``size`` bytes each (the chunks of an uncompressed array): one
        ``(len(keys), size)`` uint8 array holding every entry of that size in its row, and each entry's length
        (-1: no such entry; a row whose length is not ``size`` is undefined) -- no Python object per entry
        (:func:`ngffkit.store.zip_entries.read_fixed`)."""
        fd, layout = self._bulk_source()
        rows, lengths, read = zip_entries.read_fixed(
            fd, keys, size, self.budget, self.get_sync, where=str(self.path), layout=layout
        )
        self._count(read)
        return rows, lengths

    def _bulk_source(self) -> tuple[int, zip_directory.Layout]:
        archive = self.archive()
        assert self._file is not None  # opened with the archive
        with self._lock:
            if self._layout is None:
                self._layout = zip_directory.Layout(archive, self._size)
            return self._file.fileno(), self._layout

    def _count(self, read: int) -> None:
        with self._lock:
            self.entries_read += read

    async def get(self, key: str, prototype: Any = None, byte_range: ByteRequest | None = None) -> Any:
        check_byte_range(byte_range)
        return await asyncio.to_thread(self.get_sync, key, prototype=prototype, byte_range=byte_range)

    async def get_partial_values(self, prototype: Any, key_ranges: Any) -> builtins.list[Any]:
        return list(await asyncio.gather(*(self.get(key, prototype, byte_range) for key, byte_range in key_ranges)))

    async def exists(self, key: str) -> bool:
        info = await asyncio.to_thread(self._info, key)
        return info is not None and not info.is_dir()

    def _info(self, key: str) -> zipfile.ZipInfo | None:
        try:
            return self.archive().getinfo(key)
        except KeyError:
            return None

    async def getsize(self, key: str) -> int:
        info = await asyncio.to_thread(self._info, key)
        if info is None or info.is_dir():
            raise FileNotFoundError(key)
        return info.file_size

    async def list(self) -> AsyncIterator[str]:
        for name in await asyncio.to_thread(self._names):
            yield name

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        for name in await asyncio.to_thread(self._names):
            if name.startswith(prefix):
                yield name

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        prefix = prefix.rstrip("/")
        start = f"{prefix}/" if prefix else ""
        seen: set[str] = set()
        for name in await asyncio.to_thread(self._names):
            if name.startswith(start):
                child = name[len(start) :].split("/", 1)[0]
                if child and child not in seen:
                    seen.add(child)
                    yield child

    def _names(self) -> builtins.list[str]:
        return list(dict.fromkeys(info.filename for info in self.archive().infolist() if not info.is_dir()))

    # --- writing: refused ----------------------------------------------------------------------------------

    async def set(self, key: str, value: Any) -> None:
        self._check_writable()

    async def delete(self, key: str) -> None:
        self._check_writable()

    def set_sync(self, key: str, value: Any) -> None:
        """Refused, as :meth:`set` (zarr's synchronous path wants all three synchronous methods, or none)."""
        self._check_writable()

    def delete_sync(self, key: str) -> None:
        self._check_writable()


#: At most this much of an entry is held at once while skipping to a part of it.
_SKIP_STEP = 2**20


def _skip(entry: IO[bytes], count: int) -> None:
    """Move ``count`` bytes into an open entry by reading them, never by ``entry.seek``: in a stored entry zipfile
    seeks relative to wherever another thread's read left the archive's shared file (CPython 3.12, 3.13) and reads
    another entry's bytes."""
    while count > 0:
        skipped = len(entry.read(min(count, _SKIP_STEP)))
        if not skipped:
            raise EOFError("the entry ends before the part asked for")
        count -= skipped


def ambiguities(archive: zipfile.ZipFile) -> list[str]:
    """What makes a zip archive ambiguous -- readers disagree on what it holds: another archive before the one
    whose central directory ends the file (two archives concatenated: Python's zipfile reads the last one, other
    readers the first), and entry names that occur more than once."""
    problems = []
    before = _bytes_before_another_archive(archive)
    if before:
        problems.append(
            f"holds another zip archive before the one it ends with ({before} bytes before its first entry); readers "
            "disagree on which of the two they read"
        )
    problems.extend(
        f"holds {name!r} more than once; readers disagree on which copy is read" for name in _repeated(archive)
    )
    return problems


def _bytes_before_another_archive(archive: zipfile.ZipFile) -> int:
    """How many bytes precede ``archive``'s first entry when they hold another zip archive (a local file header at
    the file's start, or the end record of another central directory just before the first entry), else 0."""
    first = min((info.header_offset for info in archive.infolist()), default=0)
    if first <= 0 or archive.filename is None:
        return 0
    with open(archive.filename, "rb") as file:
        if file.read(4) == _LOCAL_HEADER:
            return first
        start = max(0, first - _END_RECORD_REACH)
        file.seek(start)
        return first if _END_OF_DIRECTORY in file.read(first - start) else 0


def _repeated(archive: zipfile.ZipFile) -> list[str]:
    seen: set[str] = set()
    twice: list[str] = []
    for name in archive.namelist():
        if name in seen and name not in twice:
            twice.append(name)
        seen.add(name)
    return twice


def archive_problems(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """What the validator reports of a zip archive itself, as (rule, message) pairs, from one read of its central
    directory: another archive before it (``ozx-concatenated``), names that repeat (``ozx-duplicate-entry``) and
    what :func:`ngffkit.store.zip_layout.layout_problems` finds -- overlapping entries, entries out of range,
    unclean names, local headers naming another entry. (An archive that cannot be read has none here; reading it
    reports that.)"""
    try:
        with open(path, "rb") as file, zipfile.ZipFile(file) as archive:
            problems = []
            before = _bytes_before_another_archive(archive)
            if before:
                problems.append(
                    (
                        "ozx-concatenated",
                        f"holds another zip archive before the one it ends with ({before} bytes); "
                        "readers disagree on which of the two they read",
                    )
                )
            problems.extend(
                ("ozx-duplicate-entry", f"holds {name!r} more than once; readers disagree on which copy is read")
                for name in _repeated(archive)
            )
            problems.extend(zip_layout.layout_problems(archive, file.fileno()))
            return problems
    except (OSError, zipfile.BadZipFile, ValueError):
        return []


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
        with (
            _file_system_errors(src, out),
            zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive,
        ):
            for path in _entries(src):
                archive.write(path, path.relative_to(src).as_posix())
            archive.comment = archive_comment(fmt)
        with _file_system_errors(src, out):
            partial.replace(out)  # atomic: a reader never sees half an archive
    finally:
        partial.unlink(missing_ok=True)  # our own temporary file, if anything failed before the rename
    return out


@contextmanager
def _file_system_errors(source: pathlib.Path, out: pathlib.Path) -> Iterator[None]:
    """The file system's refusals while packing as one :class:`~ngffkit.LocationError`: a file of the folder
    being packed that cannot be read names that file; anything else (read-only, no space, a file too large, a
    parent that is a file) is the archive's and names it."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        named = exc.filename if isinstance(exc.filename, str) else None
        if named is not None and pathlib.Path(named).resolve().is_relative_to(source.resolve()):
            raise LocationError(f"cannot read a file to pack: {reason}", where=named) from exc
        raise LocationError(f"cannot write the archive here: {reason}", where=str(out)) from exc


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
    try:
        parent.mkdir(parents=True, exist_ok=True)
        folder = pathlib.Path(tempfile.mkdtemp(prefix=".ngffkit-", dir=parent))
    except OSError as exc:  # read-only, no space, a parent that is a file: the destination's failure, named so
        reason = exc.strerror or str(exc) or type(exc).__name__
        if isinstance(exc, FileExistsError):  # what mkdir says of a parent that is a file
            reason = "a part of the path is a file, not a folder"
        raise LocationError(f"cannot write the archive here: {reason}", where=os.fspath(dest)) from exc
    try:
        yield folder / "root.zarr"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
