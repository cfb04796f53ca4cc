"""Write markers: one writer per destination, and a way to tell an unfinished write from finished data.

While an image is written, its folder holds a small marker (``.ngffkit-writing``: process id, host, start
time). Arrays are written first and the metadata last, so a writer killed half-way leaves arrays, the marker
and no OME metadata: nothing that looks like a valid image. The next write to the same place sees a marker
whose process is gone, treats what is there as its own debris and starts again -- no ``overwrite`` needed.
A marker whose process is alive means another writer is at work: the second one stops with a clear error
instead of interleaving chunks.

On local disks the marker is created atomically (``O_EXCL``), so two writers racing for one folder cannot
both win. On object stores it is written but not exclusive (S3 offers no portable create-if-absent).

This module reads and writes markers only (the reader and the validator read them too); taking a destination
and deleting anything is the writer's job (:mod:`ngffkit.writer.destination`).
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import Any

from ngffkit.errors import InvalidMetadata
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


def new_owner() -> dict[str, Any]:
    """The marker body of a write by this process, starting now."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}


def is_ours(marker: dict[str, Any] | None, owner: dict[str, Any]) -> bool:
    """Whether ``marker`` is the one ``owner`` wrote (same process, host and start time)."""
    return marker is not None and all(marker.get(k) == owner.get(k) for k in ("pid", "host", "started"))


def write_marker(location: Location, owner: dict[str, Any]) -> None:
    """Put the marker in place; on a local disk, fail if another writer got there first (``O_EXCL``)."""
    body = json.dumps(owner).encode()
    folder = location.local_path()
    if folder is None:
        location.write_bytes(MARKER, body)
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / MARKER, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)  # FileExistsError: taken
    with os.fdopen(fd, "wb") as f:
        f.write(body)


def remove_marker(location: Location) -> None:
    location.remove(MARKER)
