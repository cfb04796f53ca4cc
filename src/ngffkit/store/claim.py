"""One writer per destination, and a way to tell an unfinished write from finished data.

While an image is written, its folder holds a small marker (``.ngffkit-writing``: process id, host, start
time). Arrays are written first and the metadata last, so a writer killed half-way leaves arrays, the marker
and no OME metadata: nothing that looks like a valid image. The next write to the same place sees a marker
whose process is gone, treats what is there as its own debris and starts again -- no ``overwrite`` needed.
A marker whose process is alive means another writer is at work: the second one stops with a clear error
instead of interleaving chunks.

On local disks the marker is created atomically (``O_EXCL``), so two writers racing for one folder cannot
both win. On object stores it is written but not exclusive (S3 offers no portable create-if-absent).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from ngffkit.errors import AlreadyExists, InvalidMetadata, NGFFError
from ngffkit.store.location import Location

MARKER = ".ngffkit-writing"


def read_marker(location: Location) -> dict[str, Any] | None:
    """The marker of an unfinished or ongoing write at ``location``, or None (a garbled one reads as {})."""
    try:
        doc = location.read_document(MARKER)
    except InvalidMetadata:
        return {}
    if doc is None:
        return None
    return doc if isinstance(doc, dict) else {}


def writer_alive(owner: dict[str, Any]) -> bool:
    """Whether the process that wrote ``owner`` still runs (a writer on another host is assumed alive)."""
    if owner.get("failed"):
        return False
    if owner.get("host") != socket.gethostname():
        return True
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def describe(owner: dict[str, Any]) -> str:
    started = owner.get("started")
    when = time.strftime(" since %H:%M:%S", time.localtime(started)) if isinstance(started, (int, float)) else ""
    return f"process {owner.get('pid', '?')} on {owner.get('host', '?')}{when}"


def status(owner: dict[str, Any]) -> str:
    """What a marker means, for messages: a write in progress, or the leftovers of one that stopped."""
    state = "still being written by" if writer_alive(owner) else "an unfinished write by"
    return f"{state} ngffkit ({describe(owner)})"


def check_not_busy(location: Location, overwrite: bool) -> bool:
    """Refuse while another writer works here; True when a dead writer's leftovers are here to replace."""
    owner = read_marker(location)
    if owner is None:
        return False
    local_host = owner.get("host") == socket.gethostname()
    if writer_alive(owner) and (local_host or not overwrite):
        hint = "" if local_host else "; if it is gone, pass overwrite=True"
        raise AlreadyExists(f"another ngffkit writer is writing here ({describe(owner)}){hint}", where=location.url)
    return True


def acquire(location: Location) -> None:
    """Put the marker in place; on a local disk, fail if another writer got there first."""
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    body = json.dumps(owner).encode()
    folder = location.local_path()
    if folder is None:
        location.write_bytes(MARKER, body)
        return
    folder.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(folder / MARKER, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        other = read_marker(location) or {}
        raise AlreadyExists(
            f"another ngffkit writer started here first ({describe(other)})", where=location.url
        ) from None
    with os.fdopen(fd, "wb") as f:
        f.write(body)


def release(location: Location) -> None:
    location.remove(MARKER)


def mark_failed(location: Location) -> None:
    """A write that stopped with an error: its leftovers are anyone's to replace, this process included."""
    owner = read_marker(location) or {}
    owner["failed"] = True
    # If the store itself is failing, the next writer finds the older marker (or none) instead.
    with contextlib.suppress(NGFFError, OSError):
        location.write_bytes(MARKER, json.dumps(owner).encode())


def claim(location: Location, overwrite: bool, prepare: Callable[[Location, bool], None]) -> None:
    """Make ``location`` ours: refuse if another writer is busy there, clear a dead writer's leftovers (or
    let ``prepare`` apply the overwrite rules), then put our marker in place."""
    local = location.local_path()
    if local is not None and local.is_file():
        raise AlreadyExists("is a file; refusing to write an OME-Zarr over it", where=location.url)
    if check_not_busy(location, overwrite):
        location.delete()
    else:
        prepare(location, overwrite)
    acquire(location)
