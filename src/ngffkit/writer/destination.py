"""Taking a destination before writing -- and the only code in ngffkit that deletes anything.

It deletes only what it has proved is its own:

* a zarr node that the caller asked to replace (``overwrite=True``), and only when every key below it is zarr
  (metadata documents, chunk keys of its arrays): a folder that also holds ``thesis.txt`` or ``raw.npy`` is
  refused, naming them;
* the leftovers of an unfinished ngffkit write, recognised by its marker (:mod:`ngffkit.store.claim`) whose
  process is gone;
* its own claimed write, when that write fails or is cancelled (the marker it holds says so);
* a zarr node replaced by a write staged beside it (:func:`take_unproven`), once that write is complete -- for
  data that cannot be proven not to read from the node (:mod:`ngffkit.writer.sources`): the node is read until
  the new one is whole, then the two swap places on the file system and the old one is deleted, by the same
  rules as above, checked again at that moment.

Nothing else: not a file, not a folder that is not zarr, not another writer's work in progress.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ngffkit.errors import AlreadyExists, InvalidArgument, LocationError, NGFFError, WriteCancelled, safe_cause
from ngffkit.metadata import parse_attributes
from ngffkit.store import adapter, claim
from ngffkit.store.limits import DOCUMENT_NAMES
from ngffkit.store.location import Location
from ngffkit.store.nodes import V2_ARRAY, V3_META
from ngffkit.writer.chunks import ChunkWriter

#: A chunk key below its array: ``c/0/1`` (v3 default), ``0.1`` or ``0/1`` (v2), ``c`` or ``0`` (0-d arrays).
_CHUNK_KEY = re.compile(r"(c|c[./]\d+([./]\d+)*|\d+([./]\d+)*)")
#: zarr's local store writes each key to ``<name>.<32 hex>.partial`` and renames it: a killed writer leaves these.
_ZARR_TEMPORARY = re.compile(r".*\.[0-9a-f]{32}\.partial")
#: How many foreign names an error lists.
_SHOWN = 5
#: The start of the names of the folders a staged write makes beside its destination (short, whatever the
#: destination's name: a name near the file system's 255 characters must stage as well).
BESIDE = ".ngffkit-"


@contextlib.contextmanager
def storage_errors(where: str) -> Iterator[None]:
    """The file system's refusals (no space, name too long, read-only, not a folder) as one
    :class:`~ngffkit.LocationError` naming the destination -- unless the error names a file elsewhere: the
    caller's own input failed (a dask array over a TIFF on a network drive that went away), and telling them
    the destination cannot be written would send them to the wrong place."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        source = _elsewhere(exc, where)
        if source is not None:
            raise LocationError(f"reading the data to write failed: {reason}; nothing was written to {where}",
                                where=source) from safe_cause(exc)  # fmt: skip
        raise LocationError(f"cannot write here: {reason}", where=where) from safe_cause(exc)


def _elsewhere(exc: OSError, where: str) -> str | None:
    """The file an error names, when that file is neither the destination nor inside it (nor in a folder ngffkit
    writes beside it: :func:`take_unproven`)."""
    named = exc.filename if isinstance(exc.filename, str) else None
    if not named:
        return None
    destination = os.path.realpath(where.removeprefix("file://")).rstrip(os.sep)
    path = os.path.realpath(named)
    beside = os.path.join(os.path.dirname(destination), BESIDE)
    inside = path == destination or path.startswith((destination + os.sep, beside))
    return None if inside or "://" in where.removeprefix("file://") else named


def describe_existing(location: Location) -> str | None:
    """What is at ``location`` in words ("an OME-Zarr image", "a zarr group"), or None when nothing is."""
    node = location.read()
    if not node.exists:
        return None
    what = f"a zarr {node.node_type}"
    with contextlib.suppress(NGFFError):
        kind = parse_attributes(node.attributes, zarr_format=node.zarr_format).kind
        if kind:
            what = f"an OME-Zarr {kind}"
    return what


def prepare(location: Location, overwrite: bool) -> None:
    """Refuse to replace data unless asked; never delete something that is not entirely zarr."""
    if replaceable(location, overwrite):
        location.delete()


def replaceable(location: Location, overwrite: bool) -> bool:
    """Whether something is at ``location`` to be replaced (zarr data the caller asked to replace, or a dead
    ngffkit writer's leftovers): :class:`~ngffkit.AlreadyExists` for anything that may not be replaced -- a file,
    a folder that is not zarr, data without ``overwrite``, keys that are not zarr's, another writer at work."""
    local = location.local_path()
    name = _name(location)
    if local is not None and local.is_file():
        raise AlreadyExists(f"{name} is a file; refusing to write an OME-Zarr over it", where=location.url)
    owner = claim.read_marker(location)
    if owner is not None:
        _refuse_busy(location, owner, overwrite)
        refuse_foreign_keys(location)  # a dead writer's debris is zarr; anything else was not ours
        return True
    existing = describe_existing(location)
    if existing is None:
        if local is not None and local.is_dir() and any(local.iterdir()):
            raise AlreadyExists(
                f"the folder {name} is not empty and is not zarr; refusing to write into it (even with overwrite)",
                where=location.url,
            )
        return False
    if not overwrite:
        raise AlreadyExists(f"{name} already holds {existing}; pass overwrite=True to replace it", where=location.url)
    refuse_foreign_keys(location)
    return True


def replace_refusal(target: str | os.PathLike[str]) -> NGFFError | None:
    """Why the data at ``target`` may not be replaced even if a person agrees -- a folder that is not zarr, files
    among the data that are not zarr's, another writer at work, metadata that cannot be read -- or None when it
    may be. Asked before a person is asked "replace it?", so that nobody answers yes to a replacement that is then
    refused. Reads only; deletes nothing."""
    try:
        replaceable(Location.of(target), overwrite=True)
    except NGFFError as refusal:
        return refusal
    return None


def refuse_foreign_keys(location: Location) -> None:
    """:class:`~ngffkit.AlreadyExists` naming the keys below ``location`` that are not zarr's: a replace would
    delete them."""
    foreign = foreign_keys(location)
    if foreign:
        shown = ", ".join(foreign[:_SHOWN]) + (f" and {len(foreign) - _SHOWN} more" if len(foreign) > _SHOWN else "")
        raise AlreadyExists(
            f"{_name(location)} holds files that are not part of the zarr data ({shown}); refusing to replace it -- "
            "move them away first",
            where=location.url,
        )


def _name(location: Location) -> str:
    """The last part of the destination's path or URL, which messages name (people act on names, not on paths
    that notifications cut off)."""
    return repr(location.url.rstrip("/").rsplit("/", 1)[-1] or location.url)


def foreign_keys(location: Location) -> list[str]:
    """Keys below ``location`` that are neither metadata documents nor chunk keys of an array (relative paths)."""
    keys = sorted(location.relative_key(k) for k in adapter.sync(_list(location)))
    folders_with_metadata: dict[str, str] = {}
    for key in keys:
        folder, _, name = key.rpartition("/")
        if name in DOCUMENT_NAMES:
            folders_with_metadata.setdefault(folder, name)
    arrays = {folder for folder, name in folders_with_metadata.items() if _is_array(location, folder, name, keys)}
    foreign = []
    for key in keys:
        folder, _, name = key.rpartition("/")
        if name in DOCUMENT_NAMES and folder in folders_with_metadata:
            continue
        if _ZARR_TEMPORARY.fullmatch(name) and _nearest(folder, folders_with_metadata) is not None:
            continue
        owner = _nearest(folder, folders_with_metadata)
        if owner is not None and owner in arrays and _CHUNK_KEY.fullmatch(key[len(owner) + 1 if owner else 0 :]):
            continue
        foreign.append(key)
    return foreign


async def _list(location: Location) -> list[str]:
    prefix = f"{location.path}/" if location.path else ""
    return [key async for key in location.store.list_prefix(prefix)]


def _nearest(folder: str, candidates: dict[str, str]) -> str | None:
    """The deepest folder of ``candidates`` that is ``folder`` or holds it."""
    while True:
        if folder in candidates:
            return folder
        if not folder:
            return None
        folder = folder.rpartition("/")[0]


def _is_array(location: Location, folder: str, document: str, keys: list[str]) -> bool:
    """Whether the node in ``folder`` is an array (v2: it has ``.zarray``; v3: its ``zarr.json`` says so)."""
    prefix = f"{folder}/" if folder else ""
    if f"{prefix}{V2_ARRAY}" in keys:
        return True
    if f"{prefix}{V3_META}" not in keys:
        return False
    doc = location.read_document(f"{prefix}{V3_META}")
    return isinstance(doc, dict) and doc.get("node_type") == "array"


class WriteGate:
    """Lets chunk writes through until the write is abandoned, then waits for those already in flight.

    When one dask task fails, the scheduler raises while other tasks are still writing; deleting the destination
    then would race with them and leave debris without a marker. Every write of a claimed destination goes
    through :meth:`open`; :meth:`close` stops new ones and returns once the running ones are done. (On a
    ``dask.distributed`` cluster each worker holds its own copy: there the scheduler's cancellation is all.)
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._active = 0
        self._closed = False
        #: The tasks this write's zarr calls started on zarr's event loop (see :meth:`drain`).
        self.tasks = adapter.OwnTasks()

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]

    @contextlib.contextmanager
    def open(self) -> Iterator[None]:
        with self._condition:
            if self._closed:
                raise WriteCancelled("the write was abandoned")
            self._active += 1
        try:
            yield
        finally:
            with self._condition:
                self._active -= 1
                self._condition.notify_all()

    def close(self, timeout: float = 120.0) -> None:
        with self._condition:
            self._closed = True
            self._condition.wait_for(lambda: self._active == 0, timeout=timeout)

    def drain(self, timeout: float = 120.0) -> None:
        """Wait for the chunk writes this write's zarr calls left running: when one chunk of a zarr write fails,
        zarr raises at once while the array's other chunk writes go on in its event loop. Only this write's own:
        other threads' and napari's reads on the same loop are not waited for."""
        self.tasks.drain(timeout)


class GatedTarget:
    """A zarr array that dask writes regions into through a :class:`WriteGate`. With ``direct``, whole-chunk
    regions of an array on a local disk are encoded and written in the calling thread
    (:class:`~ngffkit.writer.chunks.ChunkWriter`) -- for writers whose threads already keep every core busy."""

    def __init__(self, array: Any, gate: WriteGate, *, direct: bool = False) -> None:
        self.array = array
        self.gate = gate
        self.shape = array.shape
        self.dtype = array.dtype
        self.ndim = array.ndim
        self.chunk_writer = ChunkWriter.for_array(array) if direct else None

    def __setitem__(self, index: Any, value: Any) -> None:
        with self.gate.open():
            if self.chunk_writer is None or not self.chunk_writer.write(index, value):
                # zarr's own write, run so that the gate knows the tasks it starts (see WriteGate.drain)
                self.gate.tasks.run(self.array.async_array.setitem(index, value))


@dataclass
class Claim:
    """A destination this process writes into; its marker proves it (see :mod:`ngffkit.store.claim`)."""

    location: Location
    owner: dict[str, Any] = field(default_factory=claim.new_owner)
    #: Whether the destination was an empty folder before: then it is left in place when the write is undone.
    folder_existed: bool = False
    gate: WriteGate = field(default_factory=WriteGate)
    #: The node this (staging) write replaces once complete (:func:`take_unproven`); None: it is written in place.
    replaces: Location | None = None

    def release(self) -> None:
        """The write is complete: put it in the place it replaces (when staged), and take the marker away."""
        if self.replaces is None:
            claim.remove_marker(self.location)
            return
        _swap(self.location, self.replaces)
        claim.remove_marker(self.replaces)

    def abandon(self) -> None:
        """The write failed or was cancelled: remove what it wrote, provided the marker is still ours. If the
        store refuses (the network is down), mark the leftovers as a failed write for the next writer."""
        self.gate.close()
        self.gate.drain()  # chunk writes of a failed zarr call may still be landing
        try:
            if not claim.is_ours(claim.read_marker(self.location), self.owner):
                return
            self.location.delete()
            folder = self.location.local_path()
            if self.folder_existed and folder is not None:
                folder.mkdir(parents=True, exist_ok=True)
        except (NGFFError, OSError):
            with contextlib.suppress(NGFFError, OSError):
                self.location.write_bytes(claim.MARKER, json.dumps({**self.owner, "failed": True}).encode())


def take(location: Location, overwrite: bool) -> Claim:
    """Make ``location`` ours: refuse if another writer is busy there, clear a dead ngffkit writer's leftovers
    (or apply the overwrite rules of :func:`replaceable`), then put our marker in place."""
    local = location.local_path()
    empty_folder = local is not None and local.is_dir() and not any(local.iterdir())
    prepare(location, overwrite)
    return _claim(Claim(location, folder_existed=empty_folder))


def take_unproven(location: Location, overwrite: bool, why: str) -> Claim:
    """:func:`take` for data that may read from ``location`` (``why`` says what could not be located). With
    nothing there to replace, the write goes in place. Else the claim is of a staging folder beside ``location``,
    which replaces it only once the write into it is complete (:meth:`Claim.release`): until then ``location`` is
    untouched, and a write that fails leaves it as it was. The overwrite rules are those of :func:`take`, checked
    now and again before the swap. Only a local folder is replaced in one step: elsewhere (object stores, other
    stores) replacing data on trust is refused."""
    if not replaceable(location, overwrite):
        return take(location, overwrite)
    local = location.local_path()
    if local is None:
        raise InvalidArgument(
            f"cannot tell whether the data reads from the destination ({why}); replacing it could destroy the data "
            "while it is read, and only a local folder can be replaced once the write is complete. Write to a new "
            "place, or compute the data first",
            where=location.url,
        )
    staging = Location.of(local.parent / f"{BESIDE}staging-{secrets.token_hex(6)}", mode="w")
    return _claim(Claim(staging, replaces=location))


def _claim(taken: Claim) -> Claim:
    try:
        claim.write_marker(taken.location, taken.owner)
    except FileExistsError:
        other = claim.read_marker(taken.location) or {}
        raise AlreadyExists(
            f"another ngffkit writer started here first ({claim.describe(other)})", where=taken.location.url
        ) from None  # "File exists" of the marker: the message says what it means
    return taken


def _swap(staged: Location, final: Location) -> None:
    """Put the complete write at ``staged`` in the place of ``final`` (both local folders): ``final`` is moved
    aside, ``staged`` renamed into its place, and what was moved aside deleted -- after proving, once more, that it
    may be replaced (it is zarr only, and no other writer is at work there)."""
    new, old = staged.local_path(), final.local_path()
    assert new is not None and old is not None
    if replaceable(final, overwrite=True):
        aside = old.with_name(f"{BESIDE}replaced-{secrets.token_hex(6)}")
        os.rename(old, aside)
        try:
            os.rename(new, old)
        except OSError:
            os.rename(aside, old)
            raise
        Location.of(aside, mode="w").delete()
        if aside.is_dir():  # a store may keep its emptied root folder
            aside.rmdir()
    else:
        if old.is_dir():
            old.rmdir()  # an empty folder, left where the caller made it: the new data takes its place
        os.rename(new, old)
    final.state.forget_documents()


def _refuse_busy(location: Location, owner: dict[str, Any], overwrite: bool) -> None:
    local_host = owner.get("host") == socket.gethostname()
    if claim.writer_alive(owner) and (local_host or not overwrite):
        hint = "" if local_host else "; if it is gone, pass overwrite=True"
        raise AlreadyExists(
            f"another ngffkit writer is writing here ({claim.describe(owner)}){hint}", where=location.url
        )
