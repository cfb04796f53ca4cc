"""Safe handling of the relative paths written inside OME-Zarr metadata.

Dataset paths, well and field paths, label names and bioformats2raw series all come from documents that
anyone can write. Before ngffkit follows one, it must be a plain relative path below the group that names
it: no ``..``, no absolute path, no scheme or drive letter, no backslash, no empty or ``.`` segment, no
percent-encoded escape, no control character. One function decides, so the reader, the validator and the
writers agree.
"""

from __future__ import annotations

import re
import urllib.parse

from ngffkit.errors import LocationError, UnsafePath

_SCHEME_OR_DRIVE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def refuse_nul(target: str) -> None:
    """:class:`~ngffkit.LocationError` for a path or URL holding a NUL character: no file system or URL has one,
    and the OS would raise a bare ``ValueError`` from deep inside a read or a write."""
    if "\x00" in target:
        raise LocationError("the path contains a NUL character (\\x00); no file can have that name", where=repr(target))


def unsafe_reason(path: object) -> str | None:
    """Why ``path`` may not be followed, or None when it is a safe relative path."""
    if not isinstance(path, str):
        return f"must be a string, not {type(path).__name__}"
    if path == "":
        return "is empty"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path):
        return "contains a control character"
    if "\\" in path:
        return "contains a backslash"
    if path.startswith("/"):
        return "is absolute"
    if _SCHEME_OR_DRIVE.match(path):
        return "has a URL scheme or drive letter"
    decoded = urllib.parse.unquote(path)
    if decoded != path:
        inner = unsafe_reason(decoded)
        if inner is not None:
            return f"is percent-encoded and, decoded, {inner}"
        if decoded.count("/") != path.count("/"):
            return "hides a path separator in percent-encoding"
    for segment in path.split("/"):
        if segment == "":
            return "has an empty segment"
        if segment == ".":
            return "has a '.' segment"
        if segment == "..":
            return "leaves its group ('..')"
    return None


def check_relative(path: object, *, where: str | None = None, key: str | None = None) -> str:
    """Return ``path`` if it is a safe relative path; raise :class:`UnsafePath` naming it otherwise."""
    reason = unsafe_reason(path)
    if reason is not None:
        raise UnsafePath(f"path {path!r} {reason}; refusing to follow it", where=where, key=key)
    assert isinstance(path, str)
    return path


def join(base: str, relative: str) -> str:
    """Join a store-internal group path and a checked relative path with ``/``."""
    base = base.strip("/")
    return f"{base}/{relative}" if base else relative
