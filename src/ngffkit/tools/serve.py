"""Serving one local OME-Zarr (folder or ``.ozx``) over HTTP, the way web viewers need it.

Browsers refuse cross-origin reads without CORS headers, and zarr readers (and ``.ozx`` readers above all)
fetch byte ranges; Python's ``http.server`` has neither. Only the dataset is reachable: it appears under
``/<its name>``, every path is checked against the dataset root (``..``, NUL, backslashes, symlinks that
lead outside), and anything else is a 404.
"""

from __future__ import annotations

import email.utils
import http.server
import mimetypes
import os
import pathlib
import re
import shutil
import stat
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ngffkit.errors import LocationError, NotFound

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Range, If-None-Match, If-Modified-Since",
    "Access-Control-Expose-Headers": "Content-Length, Content-Range, Accept-Ranges, ETag, Last-Modified",
    "Access-Control-Max-Age": "86400",
}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
#: zarr's metadata documents, whatever their name: web viewers parse these as JSON.
_JSON_NAMES = frozenset({".zattrs", ".zgroup", ".zarray", ".zmetadata", "zarr.json"})


def content_type(name: str) -> str:
    """The MIME type of a dataset file: JSON for zarr metadata, octets for chunks."""
    if name in _JSON_NAMES or name.endswith(".json"):
        return "application/json"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


_BLOCK = 1 << 20


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """``(first, last)`` of a single ``Range: bytes=...`` header (RFC 9110), or None when unsatisfiable.

    Raises ValueError for a header this server does not honour (several ranges, another unit); the whole
    file is then sent, as the RFC allows."""
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        raise ValueError(header)
    first, last = match.groups()
    if first == "":  # the last N bytes
        length = int(last)
        return (max(0, size - length), size - 1) if length and size else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    return (start, end) if start < size and start <= end else None


class DatasetHandler(http.server.SimpleHTTPRequestHandler):
    """GET/HEAD/OPTIONS for the files of one dataset, with CORS and byte ranges.

    HTTP/1.1 with keep-alive: a viewer fetching hundreds of chunks reuses its connections instead of opening
    one per chunk (every answer states its Content-Length, so the connection stays usable).
    """

    protocol_version = "HTTP/1.1"

    dataset: pathlib.Path  # set on the subclass made by :func:`make_server`
    name: str
    quiet: bool = False

    def log_message(self, format: str, *args: object) -> None:
        if not self.quiet:
            super().log_message(format, *args)

    def end_headers(self) -> None:
        for header, value in CORS_HEADERS.items():
            self.send_header(header, value)
        super().end_headers()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors keep the connection open too (the base class closes it): readers ask for many absent keys."""
        if code >= 500:
            super().send_error(code, message, explain)
            return
        body = f"{code} {message or self.responses.get(code, ('',))[0]}\n".encode()
        self.send_response(code, message)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def do_GET(self) -> None:
        self._answer(body=True)

    # --- what a request path means ------------------------------------------------------------------

    def resolve(self) -> pathlib.Path | None:
        """The file or folder a request names, or None when it is outside the dataset (or absent)."""
        raw = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        prefix = "/" + self.name
        if raw != prefix and not raw.startswith(prefix + "/"):
            return None
        parts = [p for p in raw[len(prefix) :].split("/") if p]
        if any(p in (".", "..") or "\\" in p or "\x00" in p for p in parts):
            return None
        candidate = self.dataset.joinpath(*parts)
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        root = self.dataset.resolve()
        return real if real == root or real.is_relative_to(root) else None

    # --- answers ------------------------------------------------------------------------------------

    def _answer(self, *, body: bool) -> None:
        target = self.resolve()
        if target is None:
            self.send_error(404)
        elif target.is_dir():
            # A folder URL gets a listing at its trailing-slash form, as static web servers do.
            parts = urllib.parse.urlsplit(self.path)
            if parts.path.endswith("/"):
                listing = self.list_directory(os.fspath(target))
                if listing is not None and body:
                    shutil.copyfileobj(listing, self.wfile)
            else:
                self.send_response(301)
                self.send_header("Location", parts._replace(path=parts.path + "/").geturl())
                self.send_header("Content-Length", "0")
                self.end_headers()
        else:
            self._send_file(target, body=body)

    def _send_file(self, path: pathlib.Path, *, body: bool) -> None:
        # Regular files only, opened without blocking: a FIFO or a device inside the dataset must not hold a
        # thread forever (or stream /dev/zero to the client).
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            self.send_error(404)
            return
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                self.send_error(403, "not a regular file")
                return
            self._send_open_file(f, path, info, body=body)

    def _send_open_file(self, f: Any, path: pathlib.Path, info: os.stat_result, *, body: bool) -> None:
        size = info.st_size
        first, last, status = 0, size - 1, 200
        if "Range" in self.headers:
            try:
                wanted = byte_range(self.headers["Range"], size)
            except ValueError:
                wanted = (0, size - 1)  # not a form we honour: the whole file, as HTTP allows
            else:
                if wanted is None:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            first, last = wanted
        self.send_response(status)
        self.send_header("Content-Type", content_type(path.name))
        self.send_header("Content-Length", str(max(0, last - first + 1)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", email.utils.formatdate(info.st_mtime, usegmt=True))
        if status == 206:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.end_headers()
        if not body:
            return
        f.seek(first)
        remaining = last - first + 1
        while remaining > 0:
            block = f.read(min(_BLOCK, remaining))
            if not block:
                break
            self.wfile.write(block)
            remaining -= len(block)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up mid-transfer is not the server's problem


@dataclass
class DatasetServer:
    """A running server: ``url`` is where the dataset can be opened."""

    server: http.server.ThreadingHTTPServer
    url: str

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.2)

    def close(self) -> None:
        self.server.server_close()


def make_server(path: str | os.PathLike[str], *, host: str = "127.0.0.1", port: int = 8000,
                quiet: bool = False) -> DatasetServer:  # fmt: skip
    """A server (not yet running) for the folder or ``.ozx`` file at ``path``; ``port=0`` picks a free one."""
    dataset = pathlib.Path(path).absolute()
    if not dataset.exists():
        raise NotFound("nothing to serve here", where=str(path))
    handler = type("Handler", (DatasetHandler,), {"dataset": dataset, "name": dataset.name, "quiet": quiet})
    try:
        server = _Server((host, port), handler)
    except OSError as exc:
        raise LocationError(f"cannot listen on {host}:{port}: {exc.strerror}; try --port 0 for a free port") from exc
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    return DatasetServer(server, f"http://{shown}:{bound_port}/{urllib.parse.quote(dataset.name)}")


@contextmanager
def serving(path: str | os.PathLike[str], *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``path`` quietly in a background thread for the duration of the block; yields its URL."""
    running = make_server(path, host=host, port=port, quiet=True)
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    try:
        yield running.url
    finally:
        running.server.shutdown()
        running.close()
        thread.join(timeout=5)
