"""A local zarr store that stays inside its folder, reads regular files only, and reads them bounded.

Paths in metadata are checked before use (:mod:`ngffkit.store.paths`), but a dataset folder can still hold
traps that no path check sees:

* a symbolic link leading anywhere (a level folder linked to ``/home/someone/secret.zarr``) -- every key is
  resolved and refused when its real path leaves the root (links that stay inside are fine), and listings never
  descend into a folder outside it;
* a FIFO named ``zarr.json`` (reading it blocks forever) or a character device (``/dev/zero`` made with mknod
  streams until memory runs out) -- files are opened non-blocking and anything but a regular file is refused;
* a 3 GiB sparse ``zarr.json`` -- sizes are checked against the store's :class:`~ngffkit.store.limits.ReadBudget`
  before reading, and the read itself stops at the bound (a file that grows meanwhile).

:class:`ConfinedLocalStore` is a :class:`zarr.abc.store.Store` of its own, not a subclass of zarr's
``LocalStore``: every method it has is one written here with those checks, and a method a new zarr release adds to
``Store`` is built by zarr from these (a method added to ``LocalStore`` would have skipped them). It implements
zarr's synchronous store methods too (``get_sync``, ``set_sync``, ``delete_sync``), which zarr 3.1.6 and later call
for local reads without its event loop.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import errno
import os
import shutil
import stat
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from zarr.abc.store import ByteRequest, OffsetByteRequest, RangeByteRequest, Store, SuffixByteRequest
from zarr.buffer import default_buffer_prototype

from ngffkit.errors import UnsafePath
from ngffkit.store.limits import Bound, Limits, ReadBudget


class ConfinedLocalStore(Store):
    """A zarr store over a local folder that refuses keys whose real path leaves the root, reads only regular
    files, and bounds every read (see the module docstring). Writes are atomic: a temporary file in the same
    folder, renamed over the key."""

    supports_writes: bool = True
    supports_deletes: bool = True
    supports_listing: bool = True

    #: Beyond this many, the folders known to be inside are forgotten and checked again.
    MAX_KNOWN_FOLDERS = 100_000

    def __init__(self, root: Path | str, *, read_only: bool = False, limits: Limits | None = None) -> None:
        super().__init__(read_only=read_only)
        if not isinstance(root, str | os.PathLike):
            raise TypeError(f"'root' must be a string or a path, not {type(root).__name__}")
        self.root = Path(root)
        #: The caller's limits (None: the environment's, read when the first read needs them).
        self.limits = limits
        self._budget: ReadBudget | None = None
        self._real_root: str | None = None
        #: Folders (keys' parents) whose real path was found inside the root: a write of thousands of chunks
        #: resolved every folder of every key on zarr's event loop, 13% of a 256 MiB pyramid write.
        self._inside: set[str] = set()

    # --- what the store is ---------------------------------------------------------------------------------

    @property
    def budget(self) -> ReadBudget:
        if self._budget is None:
            self._budget = ReadBudget(self.limits)
        return self._budget

    def with_read_only(self, read_only: bool = False) -> ConfinedLocalStore:
        return type(self)(self.root, read_only=read_only, limits=self.limits)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self)) and self.root == other.root and self.read_only == other.read_only

    def __hash__(self) -> int:
        return hash((type(self), self.root, self.read_only))

    def __str__(self) -> str:
        return f"file://{self.root.as_posix()}"

    def __repr__(self) -> str:
        return f"ConfinedLocalStore('{self}', read_only={self.read_only})"

    def __getstate__(self) -> dict[str, Any]:
        return {"root": self.root, "read_only": self.read_only, "limits": self.limits}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["root"], read_only=state["read_only"], limits=state.get("limits"))  # type: ignore[misc]

    async def _open(self) -> None:
        """Opening makes the root folder of a writable store; a local store needs nothing else (its reads and
        writes never wait for an open)."""
        if not self.read_only:
            await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        await super()._open()

    # --- confinement ---------------------------------------------------------------------------------------

    def _confine(self, key: str) -> str:
        """The path of ``key``, refused when its real path leaves the root: its folder is resolved once (then
        remembered), the key itself whenever it is a symbolic link -- the same verdict as resolving the whole path
        every time."""
        self._confine_folder(key)
        path = os.path.join(self.root, key)
        if os.path.islink(path):
            self._check_inside(key, os.path.realpath(path))
        return path

    def _confine_folder(self, key: str) -> None:
        """Refuse ``key`` when its folder's real path leaves the root (remembered once found inside)."""
        folder = key.rpartition("/")[0]
        if folder not in self._inside:
            real = os.path.realpath(os.path.join(self.root, folder)) if folder else os.path.realpath(self.root)
            self._check_inside(key, real)
            if len(self._inside) >= self.MAX_KNOWN_FOLDERS:
                self._inside.clear()
            self._inside.add(folder)

    def _is_inside(self, real: str) -> bool:
        if self._real_root is None:
            self._real_root = os.path.realpath(self.root)
        root = self._real_root
        return real == root or real.startswith(root.rstrip(os.sep) + os.sep)

    def _check_inside(self, key: str, real: str) -> None:
        if not self._is_inside(real):
            raise UnsafePath(
                f"{key!r} leads through a symbolic link to {real}, outside the dataset; refusing to follow it",
                where=str(self.root),
            )

    # --- reading -------------------------------------------------------------------------------------------

    def get_sync(self, key: str, *, prototype: Any = None, byte_range: ByteRequest | None = None) -> Any:
        """:meth:`get` in the calling thread (zarr's synchronous read path)."""
        data = read_regular_file(self._confine(key), byte_range, self.budget.bound(key))
        if data is None:
            return None
        return (prototype or default_buffer_prototype()).buffer.from_bytes(data)

    async def get(self, key: str, prototype: Any = None, byte_range: ByteRequest | None = None) -> Any:
        check_byte_range(byte_range)
        return await asyncio.to_thread(self.get_sync, key, prototype=prototype, byte_range=byte_range)

    async def get_partial_values(self, prototype: Any, key_ranges: Iterable[tuple[str, Any]]) -> builtins.list[Any]:
        return list(await asyncio.gather(*(self.get(key, prototype, byte_range) for key, byte_range in key_ranges)))

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._exists, key)

    def _exists(self, key: str) -> bool:
        try:
            info = os.stat(self._confine(key))
        except (FileNotFoundError, NotADirectoryError):
            return False
        if stat.S_ISDIR(info.st_mode):
            return False
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath("is not a regular file (a FIFO, device or socket)", where=os.path.join(self.root, key))
        return True

    async def getsize(self, key: str) -> int:
        """The size of ``key`` from the file system, nothing read (a regular file inside the root only)."""
        return await asyncio.to_thread(self._getsize, key)

    def _getsize(self, key: str) -> int:
        path = self._confine(key)
        info = os.stat(path)  # FileNotFoundError for a missing key, as zarr expects
        if stat.S_ISDIR(info.st_mode):
            raise FileNotFoundError(errno.ENOENT, "a folder is not a key", path)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath("is not a regular file (a FIFO, device or socket)", where=path)
        return info.st_size

    async def getsize_prefix(self, prefix: str) -> int:
        sizes = [await self.getsize(key) async for key in self.list_prefix(prefix)]
        return sum(sizes)

    # --- listing -------------------------------------------------------------------------------------------

    async def list(self) -> AsyncIterator[str]:
        for key in await asyncio.to_thread(self._keys, ""):
            yield key

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        for key in await asyncio.to_thread(self._keys, prefix.strip("/")):
            yield key

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        for name in await asyncio.to_thread(self._children, prefix.strip("/")):
            yield name

    def _keys(self, prefix: str) -> builtins.list[str]:
        """Every key below folder ``prefix``; folders whose real path leaves the root are not entered."""
        start = os.path.join(self.root, prefix) if prefix else str(self.root)
        if not os.path.isdir(start) or not self._is_inside(os.path.realpath(start)):
            return []
        keys: builtins.list[str] = []
        seen: set[str] = set()
        for folder, names in self._walk(start, seen):
            relative = os.path.relpath(folder, self.root).replace(os.sep, "/")
            keys.extend(name if relative == "." else f"{relative}/{name}" for name in names)
        return keys

    def _walk(self, start: str, seen: set[str]) -> Iterator[tuple[str, builtins.list[str]]]:
        for folder, dirnames, filenames in os.walk(start, followlinks=False):
            seen.add(os.path.realpath(folder))
            yield folder, [name for name in filenames if not name.endswith(".partial")]
            for name in dirnames:
                linked = os.path.join(folder, name)
                real = os.path.realpath(linked)
                if os.path.islink(linked) and self._is_inside(real) and real not in seen:
                    yield from self._walk(linked, seen)

    def _children(self, prefix: str) -> builtins.list[str]:
        folder = os.path.join(self.root, prefix) if prefix else str(self.root)
        if not os.path.isdir(folder) or not self._is_inside(os.path.realpath(folder)):
            return []
        with os.scandir(folder) as entries:
            return [entry.name for entry in entries if not entry.name.endswith(".partial")]

    # --- writing -------------------------------------------------------------------------------------------

    async def set(self, key: str, value: Any) -> None:
        self._check_writable()
        await asyncio.to_thread(self._put, key, _bytes_of(value))

    def set_sync(self, key: str, value: Any) -> None:
        """:meth:`set` in the calling thread (zarr's synchronous write path)."""
        self._check_writable()
        self._put(key, _bytes_of(value))

    async def set_if_not_exists(self, key: str, value: Any) -> None:
        self._check_writable()
        await asyncio.to_thread(self._put, key, _bytes_of(value), exclusive=True)

    async def delete(self, key: str) -> None:
        self._check_writable()
        await asyncio.to_thread(self._delete, key)

    def delete_sync(self, key: str) -> None:
        """:meth:`delete` in the calling thread (zarr's synchronous write path)."""
        self._check_writable()
        self._delete(key)

    def _delete(self, key: str) -> None:
        """Remove ``key``: a file (or a link: the link, never what it leads to), or a whole folder (zarr deletes
        nodes this way)."""
        path = self._confine_link_itself(key)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def _confine_link_itself(self, key: str) -> str:
        """The path of ``key`` to remove it: its folder must be inside the root; a link there may lead anywhere,
        since removing it leaves what it leads to alone."""
        path = os.path.join(self.root, key)
        if os.path.islink(path):
            self._confine_folder(key)
            return path
        return self._confine(key)

    async def delete_dir(self, prefix: str) -> None:
        self._check_writable()
        await asyncio.to_thread(self._delete_dir, prefix.strip("/"))

    def _delete_dir(self, prefix: str) -> None:
        if not prefix:
            if os.path.isdir(self.root) and not os.path.islink(self.root):
                shutil.rmtree(self.root)
            return
        path = self._confine_link_itself(prefix)
        if os.path.islink(path):
            os.unlink(path)  # the link goes, what it leads to stays
        elif os.path.isdir(path):
            shutil.rmtree(path)

    def put_file(self, key: str, data: Any | Sequence[Any]) -> None:
        """Write ``key`` now, from the calling thread (:mod:`ngffkit.writer.chunks`), as :meth:`set` does.

        ``data`` is one buffer or a list of them (a shard's chunks and index), never joined into one: they are
        written one after the other, in calls of at most :data:`WRITE_CALL_BYTES` (see there for why)."""
        self._check_writable()
        self._put(key, data)

    def _put(self, key: str, data: Any | Sequence[Any], *, exclusive: bool = False) -> None:
        """Write ``key``: confined, and atomic -- a temporary file in the same folder, renamed over the key
        (``exclusive``: linked to it, so that an existing key stays), so that a reader never sees half a chunk.
        Its folder is made only when the first write misses it."""
        path = self._confine(key)
        partial = f"{path}.{uuid.uuid4().hex}.partial"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        try:
            fd = os.open(partial, flags, 0o666)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(partial, flags, 0o666)
        try:
            try:
                _write_all(fd, data if isinstance(data, list | tuple) else [data])
            finally:
                os.close(fd)
            if exclusive:
                with contextlib.suppress(FileExistsError):
                    os.link(partial, path)
            else:
                os.replace(partial, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)

    def remove_file(self, key: str) -> None:
        """Remove ``key`` if it is there (an empty chunk is no file), confined like :meth:`delete`."""
        self._check_writable()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._confine_link_itself(key))


def _bytes_of(value: Any) -> Any:
    """The bytes of a zarr buffer (as a numpy view: nothing copied)."""
    if not hasattr(value, "as_numpy_array"):
        raise TypeError(f"ConfinedLocalStore.set(): value must be a zarr Buffer, not {type(value).__name__}")
    return value.as_numpy_array()


def check_byte_range(byte_range: Any) -> None:
    if byte_range is not None and not isinstance(byte_range, RangeByteRequest | OffsetByteRequest | SuffixByteRequest):
        raise TypeError(f"Unexpected byte_range, got {byte_range!r}")


#: Most bytes handed to the kernel in one write. Larger writes to a new file cost far more kernel time per byte on
#: Linux 6.x ext4 (the page cache takes them in large folios): a 0.5 GiB sharded pyramid (10 MiB shards) spent
#: 3.0 s of system time in whole-shard writes, 0.2 s in writes of 1 MiB or 256 KiB (4 MiB: 1.9 s).
WRITE_CALL_BYTES = 2**20


def _write_all(fd: int, buffers: Sequence[Any]) -> None:
    """Write every byte of ``buffers`` to ``fd`` (at most :data:`WRITE_CALL_BYTES` per system call; ``writev``
    gathers small buffers, such as a shard's chunks, into one call, and may write less than asked)."""
    pending: deque[memoryview] = deque()
    for buffer in buffers:
        view = memoryview(buffer).cast("B")
        pending.extend(view[i : i + WRITE_CALL_BYTES] for i in range(0, view.nbytes, WRITE_CALL_BYTES))
    while pending:
        batch = [pending.popleft()]
        size = batch[0].nbytes
        while pending and len(batch) < 1024 and size + pending[0].nbytes <= WRITE_CALL_BYTES:  # 1024: IOV_MAX
            size += pending[0].nbytes
            batch.append(pending.popleft())
        written, rest = os.writev(fd, batch), []
        for view in batch:  # what was not written goes back to the front, in order
            if written >= view.nbytes:
                written -= view.nbytes
            else:
                rest.append(view[written:])
                written = 0
        pending.extendleft(reversed(rest))


def read_regular_file(path: str, byte_range: ByteRequest | None, bound: Bound) -> bytes | None:
    """The bytes of a regular file (or the requested part of it); None when there is no file at ``path``.

    Opened with ``O_NONBLOCK`` so that a FIFO cannot block the open; its type is checked on the open descriptor
    (no race with a swap), and neither its size nor what is read may pass ``bound``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EISDIR):
            return None
        raise
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            return None  # a folder is not a key (zarr asks for group paths sometimes)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePath("is not a regular file (a FIFO, device or socket); refusing to read it", where=path)
        start, length = byte_span(info.st_size, byte_range)
        if length > bound.limit:
            raise bound.error(length, path)
        os.lseek(fd, start, os.SEEK_SET)
        parts: list[bytes] = []
        remaining = length
        while remaining > 0:
            block = os.read(fd, min(remaining, 1 << 24))
            if not block:
                break
            parts.append(block)
            remaining -= len(block)
        return b"".join(parts)
    finally:
        os.close(fd)


def byte_span(size: int, byte_range: ByteRequest | None) -> tuple[int, int]:
    """(start, length) of the requested bytes of a file (or an archive's entry) of ``size`` bytes."""
    if byte_range is None:
        return 0, size
    if isinstance(byte_range, RangeByteRequest):
        start = min(byte_range.start, size)
        return start, max(0, min(byte_range.end, size) - start)
    if isinstance(byte_range, OffsetByteRequest):
        start = min(byte_range.offset, size)
        return start, size - start
    if isinstance(byte_range, SuffixByteRequest):
        length = min(byte_range.suffix, size)
        return size - length, length
    raise TypeError(f"Unexpected byte_range, got {byte_range!r}")
