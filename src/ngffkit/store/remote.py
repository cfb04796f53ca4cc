"""Remote stores that survive real networks and do not believe everything a server says.

fsspec's HTTP and S3 file systems raise whatever their client raises, read bodies of any size for as long as
they drip, and zarr treats every ``FileNotFoundError`` as "this chunk was never written" -- which turns a
bucket deleted mid-read into an image of zeros. :class:`ResilientStore`:

* retries transient failures (5xx, 408/429, resets, truncated bodies, timeouts) of reads and writes with
  exponential backoff and jitter, a bounded number of times -- the only retry layer: the clients' own retries
  are switched off (s3fs's and botocore's);
* gives every read a total deadline (all attempts together) and a size bound
  (:class:`~ngffkit.store.limits.ReadBudget`), enforced while the body streams; neither is retried;
* reads HTTP through :mod:`ngffkit.store.http` (percent-encoded keys, ranges checked, HTML "not found" pages);
* treats '403 Forbidden' as a missing key only where a probe proved that this store answers 403 for keys
  that do not exist (public S3 buckets without ListBucket); otherwise a 403 is an error, and a 401 or a
  credential error always is. Chunks read as missing that way are reported once per array;
* turns everything else -- and a transient failure that persists -- into :class:`~ngffkit.LocationError`
  naming the URL, and a vanished bucket into an error instead of fill values.

The policy is explicit: :class:`RetryPolicy` (its defaults come from ``NGFFKIT_RETRIES`` and
``NGFFKIT_TIMEOUT``), and :class:`~ngffkit.store.limits.Limits` for the deadline and sizes.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import pathlib
import random
import threading
import uuid
import warnings
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zarr.abc.store import ByteRequest, OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.buffer import default_buffer_prototype
from zarr.storage import FsspecStore

from ngffkit.errors import PROGRAMMING_ERRORS, LocationError, NGFFError, NGFFWarning, safe_cause
from ngffkit.store import adapter, http
from ngffkit.store.failures import bucket_gone, describe, is_forbidden, is_transient, status_of
from ngffkit.store.limits import DOCUMENT_NAMES, Bound, Limits, ReadBudget, exceeded

#: Requests in flight per store: enough for every well of a 96-well plate at once (clients default to 100
#: for HTTP and only 10 for S3, which turns one batch of metadata reads into many sequential waves).
MAX_CONNECTIONS = 256


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently one read is tried.

    A transient failure (a dropped connection, a timeout, a 5xx answer, throttling) is tried again after a random
    pause (:meth:`delay`); anything else fails at once. Pass one to :func:`ngffkit.open`, the writers or the
    validator; None there means :meth:`from_environment`.

    :param attempts: how many times one request is tried in all (1: no retry). Default 5.
    :param first_delay: the longest pause, in seconds, before the first retry; it doubles with each retry.
        Default 0.1.
    :param max_delay: the longest pause, in seconds, between two attempts. Default 4.
    :param connect_timeout: seconds a connection to a server may take to open. Default 10.
    :param read_timeout: seconds a read may wait for the next bytes from a server. Default 30.
    """

    attempts: int = 5
    first_delay: float = 0.1
    max_delay: float = 4.0
    connect_timeout: float = 10.0
    read_timeout: float = 30.0

    @classmethod
    def from_environment(cls) -> RetryPolicy:
        """The defaults, with ``attempts`` from ``NGFFKIT_RETRIES`` and ``read_timeout`` from ``NGFFKIT_TIMEOUT``
        when they are set (a value that is not a number is ignored)."""

        def number(name: str, default: float) -> float:
            try:
                return float(os.environ.get(name, default))
            except ValueError:
                return default

        return cls(attempts=max(1, int(number("NGFFKIT_RETRIES", 5))), read_timeout=number("NGFFKIT_TIMEOUT", 30.0))

    @classmethod
    def given_or_default(cls, policy: RetryPolicy | None) -> RetryPolicy:
        """``policy`` when one was given, else the environment's (the one place that decides the default).

        :param policy: the caller's policy, or None.
        """
        return policy if policy is not None else cls.from_environment()

    def delay(self, attempt: int) -> float:
        """Full-jitter exponential backoff: spreads the retries of many concurrent requests.

        :param attempt: the index of the attempt that just failed (0: the first).
        :returns: seconds to wait: random, between 0 and ``min(max_delay, first_delay * 2**attempt)``.
        """
        return random.uniform(0, min(self.max_delay, self.first_delay * 2**attempt))

    def write_delay(self, attempt: int) -> float:
        """The backoff of a write: five times a read's. S3 throttles writes per prefix (``503 SlowDown``) while it
        re-partitions, which takes seconds, not the tenths a dropped read connection needs.

        :param attempt: as for :meth:`delay`.
        :returns: seconds to wait.
        """
        return random.uniform(0, min(5 * self.max_delay, 5 * self.first_delay * 2**attempt))


class _Forbidden(Exception):
    """A 403 answer, to be judged by the store's probe."""


class ResilientStore(FsspecStore):
    """An fsspec store with the behaviour described in this module's docstring."""

    policy: RetryPolicy
    budget: ReadBudget
    #: Missing keys are recognised in :meth:`get` instead of by zarr, so that a vanished bucket is not one.
    MISSING = (FileNotFoundError, IsADirectoryError, NotADirectoryError)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # zarr reads some client exceptions as "key missing" (allowed_exceptions); this store decides that itself,
        # so that a vanished bucket or a 403 is never read as fill values
        kwargs["allowed_exceptions"] = ()
        super().__init__(*args, **kwargs)
        self.policy = RetryPolicy()  # make_store sets the caller's policy (or the environment's)
        self.budget = ReadBudget()
        #: Whether a 403 answer means "no such key" here (None: not known yet), and the probe that finds out.
        self._forbidden_verdict: bool | None = None
        self._forbidden_probe: asyncio.Future[bool | None] | None = None
        self._warned: set[str] = set()
        adapter.disable_client_retries(self.fs)  # s3fs retries on its own; ngffkit's loop below is the only one

    @classmethod
    def with_policy(
        cls, url: str, options: Mapping[str, Any], policy: RetryPolicy, *, read_only: bool, limits: Limits | None = None
    ) -> ResilientStore:
        """zarr's ``from_url`` with this store's retry policy and limits (None: the environment's) set before any
        read."""
        store = cls.from_url(url, storage_options=dict(options), read_only=read_only)
        assert isinstance(store, ResilientStore)  # from_url builds an instance of the class it is called on
        store.policy = policy
        store.budget = ReadBudget(limits)
        return store

    def _means_missing(self, exc: BaseException) -> bool:
        """Whether the file system said "no such key". fsspec's zip file system says so with the KeyError of
        Python's zipfile in some releases (2026.7) and with FileNotFoundError in others."""
        return isinstance(exc, self.MISSING) or (isinstance(exc, KeyError) and _protocols(self.fs) & {"zip"} != set())

    def with_read_only(self, read_only: bool = False) -> FsspecStore:
        """The same store with another mode, keeping its retry policy and limits (zarr reopens stores this way)."""
        other = super().with_read_only(read_only)
        if isinstance(other, ResilientStore):
            other.policy = self.policy
            other.budget = ReadBudget(self.budget.limits)
        return other

    @property
    def _is_http(self) -> bool:
        return bool(_protocols(self.fs) & {"http", "https"})

    def _url(self, key: str) -> str:
        root = self.fs.unstrip_protocol(self.path).rstrip("/")
        return http.key_url(root, key) if self._is_http else f"{root}/{key}"

    async def get(self, key: str, prototype: Any = None, byte_range: ByteRequest | None = None) -> Any:
        if byte_range is not None and not isinstance(
            byte_range, RangeByteRequest | OffsetByteRequest | SuffixByteRequest
        ):
            raise TypeError(f"Unexpected byte_range, got {byte_range!r}")  # the caller's mistake: never retried
        prototype = prototype or default_buffer_prototype()
        bound = self.budget.bound(key)
        deadline = self.budget.limits.deadline
        try:
            async with asyncio.timeout(deadline):
                data = await self._get_with_retries(key, byte_range, bound)
        except TimeoutError:
            # the TimeoutError says nothing the message does not (and its traceback is asyncio's cancellation)
            raise exceeded("deadline", deadline, deadline, what="seconds without a complete answer",
                           where=self._url(key)) from None  # fmt: skip
        return None if data is None else prototype.buffer.from_bytes(data)

    async def _get_with_retries(self, key: str, byte_range: ByteRequest | None, bound: Bound) -> bytes | None:
        policy = self.policy
        for attempt in range(policy.attempts):
            try:
                return await self._fetch(key, byte_range, bound)
            except _Forbidden:
                if await self._probe_forbidden_means_missing():
                    self._note_forbidden_as_missing(key)
                    return None
                raise LocationError(
                    "HTTP 403 Forbidden: no permission to read this key", where=self._url(key)
                ) from None  # _Forbidden is this module's own signal, with nothing to add
            except NGFFError:
                raise
            except PROGRAMMING_ERRORS:
                raise  # a changed client API or a bad argument: not a failed read, never retried
            except Exception as exc:
                if self._means_missing(exc) and not bucket_gone(exc):
                    return None
                if bucket_gone(exc):
                    raise LocationError(
                        "the bucket no longer exists (NoSuchBucket)", where=self._url(key)
                    ) from safe_cause(exc)
                if not is_transient(exc):
                    raise LocationError(f"cannot read: {describe(exc)}", where=self._url(key)) from safe_cause(exc)
                if attempt + 1 == policy.attempts:
                    raise LocationError(
                        f"still failing after {policy.attempts} attempts: {describe(exc)}", where=self._url(key)
                    ) from safe_cause(exc)
                await asyncio.sleep(policy.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _fetch(self, key: str, byte_range: ByteRequest | None, bound: Bound) -> bytes | None:
        """One attempt. 403 becomes :class:`_Forbidden`; other failures propagate as the client raised them."""
        if self._is_http:
            session = await adapter.http_session(self.fs)
            try:
                return await http.get(session, self._url(key), byte_range=byte_range, bound=bound,
                                      request_kwargs=adapter.http_request_options(self.fs))  # fmt: skip
            except http.HTTPStatus as exc:
                if exc.status == 403:
                    raise _Forbidden from None  # an internal signal: the LocationError it becomes says all
                raise
        # Other clients read whole bodies: ask for at most one byte more than the bound allows.
        asked = byte_range if byte_range is not None else RangeByteRequest(0, bound.limit + 1)
        try:
            buffer = await self._get_range(key, asked)
        except Exception as exc:
            if is_forbidden(exc):
                raise _Forbidden from None  # an internal signal: the LocationError it becomes says all
            if byte_range is None and (status_of(exc) == 416 or "InvalidRange" in str(exc)):
                buffer = await super().get(key, _PROTOTYPE)  # an empty object: ranges of it are unsatisfiable
            else:
                raise
        data = None if buffer is None else buffer.to_bytes()
        if data is not None and len(data) > bound.limit:
            raise bound.error(len(data), self._url(key))
        return data

    async def _get_range(self, key: str, byte_range: ByteRequest) -> Any:
        """zarr's ranged read of ``key``; in a zip archive (a remote .ozx) one at a time per archive.

        fsspec's zip file system reads a range by opening the entry with ``zipfile`` and seeking it, and zipfile's
        seek in a stored entry moves the archive's one shared file relative to wherever another thread's read
        left it (CPython 3.12, 3.13): concurrent ranges -- a shard's index, a shard's chunks -- came back holding
        other entries' bytes. zipfile serialises every read of that shared file anyway, so taking turns costs no
        concurrency the reads had."""
        zipped = getattr(self.fs, "sync_fs", None)  # fsspec's wrapper around the (synchronous) zip file system
        if "zip" not in _protocols(self.fs) or zipped is None:
            return await super().get(key, _PROTOTYPE, byte_range)
        root = self.path.rstrip("/")
        path = f"{root}/{key}" if root else key
        return _PROTOTYPE.buffer.from_bytes(await asyncio.to_thread(_read_zipped, zipped, path, byte_range))

    async def _probe_forbidden_means_missing(self) -> bool:
        """Whether this store answers 403 for keys that do not exist (asked with a key nobody wrote).

        The probe runs in a task of its own, which every 403 waits for (each within its own deadline): a caller
        cancelled meanwhile -- its deadline, dask giving up after another chunk failed -- leaves it running for the
        others. A verdict is kept for the life of the store; "could not tell" (the probe kept failing) is not: the
        403 at hand stays an error, and the next 403 asks again."""
        if self._forbidden_verdict is not None:
            return self._forbidden_verdict
        if self._forbidden_probe is None or self._forbidden_probe.done():
            self._forbidden_probe = asyncio.ensure_future(self._probe_once())  # never cancelled with the asking read
        return bool(await asyncio.shield(self._forbidden_probe))

    async def _probe_once(self) -> bool | None:
        """One probe, retried like a read; True or False once the answer is clear, None when it is not."""
        key = f".ngffkit-missing-key-probe-{uuid.uuid4().hex}"
        policy = self.policy
        verdict: bool | None = None
        try:
            async with asyncio.timeout(self.budget.limits.deadline):
                for attempt in range(policy.attempts):
                    try:
                        await self._fetch(key, None, Bound(1 << 20, "max_object_bytes"))
                        verdict = False  # answered (as missing, or even found): a 403 means "forbidden"
                    except _Forbidden:
                        verdict = True
                    except PROGRAMMING_ERRORS:
                        raise  # a bug, not an answer: every waiting 403 sees it
                    except Exception as exc:
                        if self._means_missing(exc) and not bucket_gone(exc):
                            verdict = False
                        elif is_transient(exc) and attempt + 1 < policy.attempts:
                            await asyncio.sleep(policy.delay(attempt))
                            continue
                    break
        except TimeoutError:
            verdict = None
        if verdict is not None:
            self._forbidden_verdict = verdict
        return verdict

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_forbidden_probe"] = None  # a task of this process's event loop
        return state

    def _note_forbidden_as_missing(self, key: str) -> None:
        """Say once per array that 403 answers were read as missing chunks (documents are probed quietly)."""
        name = key.rsplit("/", 1)[-1]
        if name in DOCUMENT_NAMES:
            return
        array = key.split("/c/", 1)[0] if "/c/" in key else key.rsplit("/", 1)[0]
        if array not in self._warned:
            self._warned.add(array)
            warnings.warn(
                f"{self._url(array)}: chunks answered '403 Forbidden' are read as never written (fill value): this "
                "server answers 403 for keys that do not exist, so the two cannot be told apart",
                NGFFWarning,
                stacklevel=2,
            )

    async def set(self, key: str, value: Any, byte_range: tuple[int, int] | None = None) -> None:
        """A write, retried on transient failures like a read (throttling above all): putting the same bytes again
        is harmless, and one throttled PUT among the millions of a large write must not fail -- and remove -- the
        whole write. The last failure propagates as the client raised it; the writer names it."""
        policy = self.policy
        for attempt in range(policy.attempts):
            try:
                await super().set(key, value, byte_range)
                return
            except Exception as exc:
                if attempt + 1 == policy.attempts or not is_transient(exc):
                    raise
                await asyncio.sleep(policy.write_delay(attempt))

    async def get_partial_values(self, prototype: Any, key_ranges: Any) -> list[Any]:
        """Each range through :meth:`get`, concurrently: the same retries, bounds and missing-key rules apply."""
        return list(await asyncio.gather(*(self.get(key, prototype, byte_range) for key, byte_range in key_ranges)))

    async def delete_dir(self, prefix: str) -> None:
        with contextlib.suppress(*self.MISSING):  # nothing there is fine (zarr relied on allowed_exceptions)
            await super().delete_dir(prefix)


_PROTOTYPE = default_buffer_prototype()

#: One lock per zip file system: fsspec shares an instance -- and its one open archive -- among stores.
_ZIP_LOCKS: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_ZIP_LOCKS_GUARD = threading.Lock()


def _read_zipped(fs: Any, path: str, byte_range: ByteRequest) -> bytes:
    """``fs.cat_file`` of ``byte_range`` (as zarr's FsspecStore asks it), while no other thread reads ``fs``."""
    if isinstance(byte_range, RangeByteRequest):
        start, end = byte_range.start, byte_range.end
    elif isinstance(byte_range, OffsetByteRequest):
        start, end = byte_range.offset, None
    else:
        start, end = -byte_range.suffix, None
    with _ZIP_LOCKS_GUARD:
        lock = _ZIP_LOCKS.setdefault(fs, threading.Lock())
    with lock:
        return bytes(fs.cat_file(path, start=start, end=end))


def _protocols(fs: Any) -> set[str]:
    protocol = fs.protocol
    return set(protocol if isinstance(protocol, tuple) else (protocol,))


def aws_credentials_configured() -> bool:
    """Whether this machine has AWS credentials configured (environment, profile or credentials file).

    Used to choose anonymous access to ``s3://`` URLs by default: public data then opens with no setup,
    and whoever configured credentials gets signed requests. Instance roles are not probed (that costs a
    network timeout off-cloud); on EC2 pass ``storage_options={"anon": False}``.
    """
    env = os.environ
    if env.get("AWS_ACCESS_KEY_ID") or env.get("AWS_PROFILE") or env.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        return True
    if env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        return True
    home = pathlib.Path.home()
    files = [env.get("AWS_SHARED_CREDENTIALS_FILE") or home / ".aws" / "credentials"]
    return any(pathlib.Path(f).is_file() for f in files)


#: Sessions this process opened, each with the event loop it was opened in. At exit they are closed while their
#: loops still run: fsspec only closes their connectors, and aiohttp then prints "Unclosed client session" for each.
_SESSIONS: weakref.WeakKeyDictionary[Any, asyncio.AbstractEventLoop] = weakref.WeakKeyDictionary()


async def _http_client(policy: RetryPolicy, **kwargs: Any) -> Any:
    """An aiohttp session with a pool large enough for concurrent metadata batches, and the policy's timeouts."""
    import aiohttp

    kwargs.setdefault("connector", aiohttp.TCPConnector(limit=MAX_CONNECTIONS, limit_per_host=MAX_CONNECTIONS))
    connect, read = policy.connect_timeout, policy.read_timeout
    # ``connect`` would also count the wait for a free pooled connection: a batch of thousands of reads (a large
    # plate, a finder run) then fails with "Connection timeout" while the server is fine. Only the socket
    # connect itself is bounded; the total deadline per read (Limits) bounds the rest.
    kwargs.setdefault("timeout", aiohttp.ClientTimeout(total=None, connect=None, sock_connect=connect, sock_read=read))
    session = aiohttp.ClientSession(**kwargs)
    _SESSIONS[session] = asyncio.get_running_loop()
    return session


@atexit.register
def _close_sessions() -> None:
    for session, loop in list(_SESSIONS.items()):
        if session.closed or not loop.is_running():
            continue
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(session.close(), loop).result(timeout=2)


def fsspec_options(
    url: str, storage_options: Mapping[str, Any] | None, policy: RetryPolicy | None = None
) -> dict[str, Any]:
    """The fsspec options ngffkit uses for ``url``: anonymous S3 unless credentials exist, larger pools,
    the policy's timeouts (default: the environment's), and no retries of the client's own
    (:class:`ResilientStore` retries)."""
    protocol = url.split("://", 1)[0].lower() if "://" in url else ""
    options = dict(storage_options or {})
    policy = RetryPolicy.given_or_default(policy)
    if protocol in ("http", "https"):
        # fsspec caches filesystems by the repr of their options: equal policies share one client
        options.setdefault("get_client", functools.partial(_http_client, policy))
    elif protocol in ("s3", "s3a"):
        has_keys = any(k in options for k in ("key", "secret", "token", "profile"))
        if "anon" not in options and not has_keys:
            options["anon"] = not aws_credentials_configured()
        config = dict(options.get("config_kwargs") or {})
        config.setdefault("max_pool_connections", MAX_CONNECTIONS)
        config.setdefault("connect_timeout", policy.connect_timeout)
        config.setdefault("read_timeout", policy.read_timeout)
        # one attempt: botocore's "max_attempts" counts retries, "total_max_attempts" every attempt
        config.setdefault("retries", {"total_max_attempts": 1, "mode": "standard"})
        options["config_kwargs"] = config
    return options
