"""Real servers on 127.0.0.1 for the tests and benchmarks: a static HTTP file server, moto's S3 server, and a
proxy that throttles writes to an S3 server as AWS does under load (``503 SlowDown``).

The HTTP server can refuse directory listings (as most real servers do), answer 403 instead of 404 for
missing files (as public S3 buckets without ListBucket do), add latency, inject faults (errors, resets,
stalls, truncated bodies; see :class:`FaultPlan`), and logs every request with its start and end time, so
tests can count requests and check that they overlapped.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import gzip
import http.server
import io
import os
import pathlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestLog:
    """Every request with its start and end time; an entry is made when the request arrives, so that a
    request answered before :meth:`clear` can never show up after it."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, method: str, path: str, client: Any = None, authorization: str | None = None) -> dict[str, Any]:
        """``client``: the (host, port) the request came from -- one connection, one port; ``authorization``:
        the request's Authorization header, if it had one (credentials must reach only the host they are for)."""
        entry = {"method": method, "path": path, "start": time.monotonic(), "end": None, "client": client,
                 "authorization": authorization}  # fmt: skip
        with self.lock:
            self.entries.append(entry)
        return entry

    def paths(self) -> list[str]:
        with self.lock:
            return [e["path"] for e in self.entries]

    def clear(self) -> None:
        with self.lock:
            self.entries = []

    def sequential_waves(self, keep: Callable[[str], bool] | None = None) -> int:
        """How many waves of requests there were: a new wave starts when a request begins after every earlier
        request has finished (so it could not have been sent together with them). ``keep`` picks the requests
        counted (by path), e.g. metadata documents only."""
        with self.lock:
            entries = sorted((e for e in self.entries if keep is None or keep(e["path"])), key=lambda e: e["start"])
        waves, horizon = 0, float("-inf")
        for entry in entries:
            if entry["start"] >= horizon:
                waves += 1
            horizon = max(horizon, entry["end"] or entry["start"])
        return waves

    def idle_for(self, seconds: float) -> bool:
        """True when no request is being answered and none ended in the last ``seconds``: a client's background
        reads (a napari layer fetching what its first view covers) have settled."""
        with self.lock:
            entries = list(self.entries)
        if any(e["end"] is None for e in entries):
            return False
        last = max((e["end"] for e in entries), default=float("-inf"))
        return time.monotonic() - last >= seconds

    def max_in_flight(self) -> int:
        """The largest number of requests that were being answered at the same moment."""
        with self.lock:
            done = [e for e in self.entries if e["end"] is not None]
        events = sorted([(e["start"], 1) for e in done] + [(e["end"], -1) for e in done])
        running = peak = 0
        for _, delta in events:
            running += delta
            peak = max(peak, running)
        return peak


class ConcurrencyGate:
    """Holds each request until ``parties`` requests are being answered at once, then lets every request through.

    A test of concurrency without timestamps: if the client sends its requests together, the gate opens at once;
    if it sends them one after another, the first waits out ``patience`` seconds and :attr:`opened` stays False.
    """

    def __init__(self, patience: float = 10.0) -> None:
        self.parties, self.patience = 0, patience
        self.opened = False
        self._waiting = 0
        self._condition = threading.Condition()

    def arm(self, parties: int) -> None:
        """From now on, hold requests until ``parties`` of them are in flight (before this, everything passes)."""
        with self._condition:
            self.parties, self.opened = parties, False

    def pass_through(self) -> None:
        with self._condition:
            if not self.parties:
                return
            self._waiting += 1
            if self._waiting >= self.parties:
                self.opened = True
                self._condition.notify_all()
            self._condition.wait_for(lambda: self.opened, timeout=self.patience)
            self._waiting -= 1


@dataclass
class FaultPlan:
    """Faults to inject, per request path: ``rules`` maps a path suffix to the actions its next requests
    get, one action per request, after which the path is served normally; an action written ``"always:X"``
    never runs out. Actions: an HTTP status ("500", "503"), "reset" (the connection is dropped with a TCP
    reset), "stall:S" (no answer for S seconds, then a normal one), "hold" (no answer until the test calls
    :meth:`release`, then a normal one: what a client does meanwhile is an event, not a matter of seconds;
    :attr:`hold_patience` bounds the wait, so a client that waits for the answer shows up as a late answer
    instead of a hung test), "truncate" (half the body, then the
    connection closes), "endless" (a 200 whose body never ends), "drip:S" (a 200 that sends one byte every S
    seconds), "gzip" (the file, sent gzip-encoded), "gzipbomb:N" (a small gzip body that inflates to N MiB, sent as
    ``Content-Encoding: gzip``) and "pass" (served as usual: a plan for the empty suffix faults the n-th request)."""

    rules: dict[str, list[str]]
    hold_patience: float = 120.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _released: threading.Event = field(default_factory=threading.Event, repr=False)
    _held: list[str] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        # Bomb bodies take seconds to compress: make them now, so that serving one is instant and a client's
        # deadline measures the client, not this server's preparation.
        for actions in self.rules.values():
            for action in actions:
                if action.removeprefix("always:").startswith("gzipbomb:"):
                    _gzip_zeros(int(action.removeprefix("always:").removeprefix("gzipbomb:")))

    def hold(self, path: str) -> None:
        """Keep the request for ``path`` unanswered until :meth:`release` (or :attr:`hold_patience`)."""
        with self._lock:
            self._held.append(path)
        self._released.wait(self.hold_patience)

    def held(self) -> list[str]:
        """The paths of the requests that were held (each once per request), in the order they came."""
        with self._lock:
            return list(self._held)

    def release(self) -> None:
        """Answer every held request, and from now on hold none."""
        self._released.set()

    @property
    def released(self) -> bool:
        return self._released.is_set()

    def take(self, path: str) -> str | None:
        with self._lock:
            for suffix, actions in self.rules.items():
                if path.endswith(suffix) and actions:
                    action = actions[0]
                    if action.startswith("always:"):
                        return action.removeprefix("always:")
                    return actions.pop(0)
        return None


def _reset(handler: http.server.BaseHTTPRequestHandler) -> None:
    """Drop the connection with a TCP RST (SO_LINGER 0), as a crashing proxy does."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    handler.connection.close()


def _handler(root: str, log: RequestLog, *, listing: bool, forbidden_missing: bool, latency: float,
             faults: FaultPlan | None = None, ignore_range: bool = False, html_missing: bool = False,
             gate: ConcurrencyGate | None = None, keep_alive: bool = False,
             basic_auth: tuple[str, str] | None = None) -> type:  # fmt: skip
    expected = None if basic_auth is None else "Basic " + base64.b64encode(":".join(basic_auth).encode()).decode()

    class Handler(http.server.SimpleHTTPRequestHandler):
        # HTTP/1.1 keeps connections open between requests, as S3, CDNs and nginx do; HTTP/1.0 (the default
        # here, which the fault tests rely on) makes a client connect anew for every request.
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=root, **kwargs)

        def log_message(self, *args):  # type: ignore[no-untyped-def]
            pass

        def _send_range(self, path: str, spec: str) -> None:
            """Answer ``Range: bytes=a-b`` (or ``a-`` / ``-n``) with 206 Partial Content, as real servers do."""
            size = os.path.getsize(path)
            first, _, last = spec.removeprefix("bytes=").partition("-")
            if first == "":
                start, end = max(0, size - int(last)), size - 1
            else:
                start, end = int(first), min(size - 1, int(last)) if last else size - 1
            if start >= size or start > end:
                self.send_error(416)
                return
            with open(path, "rb") as f:
                f.seek(start)
                body = f.read(end - start + 1)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            self.wfile.write(body)

        def end_headers(self) -> None:
            self.send_header("Accept-Ranges", "bytes")
            super().end_headers()

        def _html_page(self) -> None:
            body = b"<!DOCTYPE html><html><body><h1>Page not found</h1></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _missing(self) -> bool:
            path = self.translate_path(self.path)
            return not os.path.exists(path)

        def _fault(self, action: str) -> bool:
            """Apply ``action``; True when the request has been answered (or dropped) by it."""
            if action.isdigit():
                self.send_error(int(action))
                return True
            if action == "reset":
                _reset(self)
                return True
            if action.startswith("stall:"):
                time.sleep(float(action.removeprefix("stall:")))
                return False
            if action == "hold":
                assert faults is not None  # an action comes from a fault plan
                faults.hold(self.path)
                return False
            if action == "endless":
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                block = b"\0" * 65536
                with contextlib.suppress(OSError):
                    while True:
                        self.wfile.write(block)
                return True
            if action.startswith("drip:"):
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                with contextlib.suppress(OSError):
                    for _ in range(1000):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(float(action.removeprefix("drip:")))
                return True
            if action == "gzip":  # the file itself, gzip-encoded in transit (as many servers do for JSON)
                path = self.translate_path(self.path)
                if not os.path.isfile(path):
                    return False
                body = gzip.compress(pathlib.Path(path).read_bytes())
                self.send_response(200)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return True
            if action.startswith("gzipbomb:"):
                body = _gzip_zeros(int(action.removeprefix("gzipbomb:")))
                self.send_response(200)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(body)
                return True
            if action == "truncate":
                body = pathlib.Path(self.translate_path(self.path)).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                _reset(self)
                return True
            if action == "pass":  # this request is served as usual (so that the plan can fault a later one)
                return False
            raise ValueError(action)

        def _serve(self, head: bool) -> None:
            entry = log.start(
                "HEAD" if head else "GET", self.path, self.client_address, self.headers.get("Authorization")
            )
            if gate is not None:
                gate.pass_through()
            if latency:
                time.sleep(latency)
            action = faults.take(self.path) if faults is not None else None
            try:
                if expected is not None and self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="loopback"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if action is not None and self._fault(action):
                    return
                path = self.translate_path(self.path)
                if html_missing and (self._missing() or os.path.isdir(path)):
                    self._html_page()
                elif os.path.isdir(path) and not listing:
                    self.send_error(403 if forbidden_missing else 404)
                elif self._missing() and forbidden_missing:
                    self.send_error(403)
                elif head:
                    super().do_HEAD()
                elif self.headers.get("Range") and os.path.isfile(path) and not ignore_range:
                    self._send_range(path, self.headers["Range"])
                else:
                    super().do_GET()
            finally:
                entry["end"] = time.monotonic()

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            if not keep_alive:
                super().send_error(code, message, explain)
                return
            # http.server closes the connection after every error answer; object stores and web servers answer
            # a missing key and keep the connection, and a client pays for a new one otherwise
            body = f"{code} {message or self.responses.get(code, ('',))[0]}\n".encode()
            self.send_response(code, message)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            self._serve(head=False)

        def do_HEAD(self) -> None:
            self._serve(head=True)

    return Handler


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # injected resets make the handler's final flush fail; that is the point, not news


@dataclass
class HTTPFileServer:
    url: str
    log: RequestLog


@contextmanager
def http_file_server(
    root: str | os.PathLike[str],
    *,
    listing: bool = True,
    forbidden_missing: bool = False,
    latency: float = 0.0,
    faults: FaultPlan | None = None,
    ignore_range: bool = False,
    html_missing: bool = False,
    gate: ConcurrencyGate | None = None,
    keep_alive: bool = False,
    basic_auth: tuple[str, str] | None = None,
) -> Iterator[HTTPFileServer]:
    """Serve ``root`` over HTTP on a free port of 127.0.0.1 for the duration of the block.

    ``ignore_range`` answers ranged requests with the whole file (200), as many static hosts do;
    ``html_missing`` answers missing files with a 200 HTML page, as some hosts do; ``gate`` holds requests
    until enough are in flight together (see :class:`ConcurrencyGate`); ``keep_alive`` speaks HTTP/1.1 with
    persistent connections (the benchmarks use it: real object stores and web servers do); ``basic_auth``
    (user, password) answers 401 to every request without those credentials."""
    log = RequestLog()
    handler = _handler(os.fspath(root), log, listing=listing, forbidden_missing=forbidden_missing, latency=latency,
                       faults=faults, ignore_range=ignore_range, html_missing=html_missing, gate=gate,
                       keep_alive=keep_alive, basic_auth=basic_auth)  # fmt: skip
    with _serving(handler) as url:
        yield HTTPFileServer(url, log)


@contextmanager
def redirecting_server(target: str, *, host: str = "127.0.0.1") -> Iterator[HTTPFileServer]:
    """A server that answers every GET and HEAD with a 302 to the same path at ``target`` (another host, as CDNs
    and signed-URL services redirect); its log records what each request carried."""
    log = RequestLog()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            entry = log.start(self.command, self.path, self.client_address, self.headers.get("Authorization"))
            self.send_response(302)
            self.send_header("Location", target.rstrip("/") + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            entry["end"] = time.monotonic()

        do_HEAD = do_GET

    with _serving(Handler, host=host) as url:
        yield HTTPFileServer(url, log)


@contextmanager
def _serving(handler: type[http.server.BaseHTTPRequestHandler], *, host: str = "127.0.0.1") -> Iterator[str]:
    """A threading server on a free port of ``host`` (loopback) for the duration of the block; yields its URL."""
    server = _Server((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class ThrottlingProxy:
    url: str
    #: Every throttled write: (method, path).
    throttled: list[tuple[str, str]]


_SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)


@contextmanager
def throttling_proxy(upstream: str, *, times: int) -> Iterator[ThrottlingProxy]:
    """A proxy in front of the S3 server at ``upstream`` that answers ``503 SlowDown`` to the first ``times``
    PUTs of every key (S3's answer while it re-partitions a prefix under load) and forwards everything else
    unchanged, headers and signature included. Request bodies must carry a Content-Length (boto's do)."""
    import http.client
    from urllib.parse import urlsplit

    target = urlsplit(upstream)
    seen: dict[str, int] = {}
    throttled: list[tuple[str, str]] = []
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.command == "PUT":
                with lock:
                    seen[self.path] = count = seen.get(self.path, 0) + 1
                    if count <= times:
                        throttled.append((self.command, self.path))
                if count <= times:
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(_SLOW_DOWN)))
                    self.end_headers()
                    self.wfile.write(_SLOW_DOWN)
                    return
            connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=30)
            try:
                connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    connection.putheader(name, value)
                connection.endheaders(body or None)
                answer = connection.getresponse()
                content = answer.read()
            finally:
                connection.close()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            length = answer.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length or str(len(content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    with _serving(Handler) as url:
        yield ThrottlingProxy(url, throttled)


@functools.cache
def _gzip_zeros(mebibytes: int) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as f:
        block = b"\0" * (1 << 20)
        for _ in range(mebibytes):
            f.write(block)
    return out.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@functools.cache
def moto_available() -> bool:
    try:
        import moto.server  # noqa: F401
        import s3fs  # noqa: F401
    except ImportError:
        return False
    return True
