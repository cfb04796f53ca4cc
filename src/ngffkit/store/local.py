"""A local zarr store that stays inside its folder, reads regular files only, and reads them bounded.

Paths in metadata are checked before use (:mod:`ngffkit.store.paths`), but a dataset folder can still hold
traps that no path check sees:

* a symbolic link leading anywhere (a level folder linked to ``/home/someone/secret.zarr``) -- every key is
  resolved and refused when its real path leaves the root (links that stay inside are fine);
* a FIFO named ``zarr.json`` (reading it blocks forever) or a character device (``/dev/zero`` made with mknod
  streams until memory runs out) -- files are opened non-blocking and anything but a regular file is refused;
* a 3 GiB sparse ``zarr.json`` -- sizes are checked against the store's :class:`~ngffkit.store.limits.ReadBudget`
  before reading, and the read itself stops at the bound (a file that grows meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import stat
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from zarr.abc.store import ByteRequest, OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.core.buffer import default_buffer_prototype
from zarr.storage import LocalStore

from ngffkit.errors import UnsafePath
from ngffkit.store.limits import Bound, ReadBudget


class ConfinedLocalStore(LocalStore):
    """:class:`zarr.storage.LocalStore` that refuses keys whose real path leaves the root, reads only regular
    files, and bounds every read (see the module docstring)."""

    _real_root: str | None = None
    _budget: ReadBudget | None = None
    #: Folders (keys' parents) whose real path was found inside the root: a write of thousands of chunks
    #: resolved every folder of every key on zarr's event loop, 13% of a 256 MiB pyramid write.
    _inside: set[str] | None = None
    #: Beyond this many, the folders known to be inside are forgotten and checked again.
    MAX_KNOWN_FOLDERS = 100_000

    @property
    def budget(self) -> ReadBudget:
        if self._budget is None:
            self._budget = ReadBudget()
        return self._budget

    def _confine(self, key: str) -> None:
        """Refuse ``key`` when its real path leaves the root: its folder is resolved once (then remembered), the
        key itself whenever it is a symbolic link -- the same verdict as resolving the whole path every time."""
        if self._real_root is None or self._inside is None:
            self._real_root, self._inside = os.path.realpath(self.root), set()
        folder = key.rpartition("/")[0]
        if folder not in self._inside:
            self._check_inside(key, os.path.realpath(self.root / folder) if folder else self._real_root)
            if len(self._inside) >= self.MAX_KNOWN_FOLDERS:
                self._inside.clear()
            self._inside.add(folder)
        path = self.root / key
        if os.path.islink(path):
            self._check_inside(key, os.path.realpath(path))

    def _check_inside(self, key: str, real: str) -> None:
        root = self._real_root
        assert root is not None
        if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
            raise UnsafePath(
                f"{key!r} leads through a symbolic link to {real}, outside the dataset; refusing to follow it",
                where=str(self.root),
            )

    async def get(self, key: str, prototype: Any = None, byte_range: ByteRequest | None = None) -> Any:
        self._confine(key)
        data = await asyncio.to_thread(read_regular_file, str(self.root / key), byte_range, self.budget.bound(key))
        if data is None:
            return None
        return (prototype or default_buffer_prototype()).buffer.from_bytes(data)

    async def get_partial_values(self, prototype: Any, key_ranges: Iterable[tuple[str, Any]]) -> list[Any]:
        return list(await asyncio.gather(*(self.get(key, prototype, byte_range) for key, byte_range in key_ranges)))

    async def set(self, key: str, value: Any) -> None:
        self._confine(key)
        await super().set(key, value)

    async def exists(self, key: str) -> bool:
        self._confine(key)
        return await super().exists(key)

    def put_file(self, key: str, data: Any | Sequence[Any]) -> None:
        """Write ``key`` now, from the calling thread (see :mod:`ngffkit.writer.chunks`): confined like
        :meth:`set`, and atomic like zarr's own writes -- a temporary file in the same folder, renamed over the
        key, so that a reader never sees half a chunk. Its folder is made only when the first write misses it.

        ``data`` is one buffer or a list of them (a shard's chunks and index), never joined into one: they are
        written one after the other, in calls of at most :data:`WRITE_CALL_BYTES` (see there for why)."""
        self._check_writable()
        self._confine(key)
        path = os.path.join(self.root, key)
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
            os.replace(partial, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
            raise

    def remove_file(self, key: str) -> None:
        """Remove ``key`` if it is there (an empty chunk is no file), confined like :meth:`set`."""
        self._check_writable()
        self._confine(key)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.root, key))


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
        start, length = _span(info.st_size, byte_range)
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


def _span(size: int, byte_range: ByteRequest | None) -> tuple[int, int]:
    """(start, length) of the requested bytes of a file of ``size`` bytes."""
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
    raise TypeError(f"unknown byte request {byte_range!r}")
