"""Remote stores that survive real networks: bounded retries, timeouts everywhere, errors that name the URL.

fsspec's HTTP and S3 file systems raise whatever their client raises (``ClientResponseError``,
``ServerDisconnectedError``, a bare ``TimeoutError``...), and zarr treats every ``FileNotFoundError`` as "this
chunk was never written" -- which turns a bucket deleted mid-read into an image of zeros. The store here:

* reads '403 Forbidden' as a missing key (public buckets without ListBucket answer 403 for absent keys);
* retries transient failures (5xx, 408/429, resets, truncated bodies, timeouts) with exponential backoff and
  jitter, a bounded number of times;
* turns everything else -- and a transient failure that persists -- into :class:`~ngffkit.LocationError`
  naming the URL, and a vanished bucket into an error instead of fill values;
* gives aiohttp finite timeouts (connect, and each read) so nothing hangs.

``NGFFKIT_RETRIES`` (attempts, default 5) and ``NGFFKIT_TIMEOUT`` (seconds per read, default 30) tune it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import pathlib
import random
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from zarr.storage import FsspecStore

from ngffkit.errors import LocationError

#: Requests in flight per store: enough for every well of a 96-well plate at once (clients default to 100
#: for HTTP and only 10 for S3, which turns one batch of metadata reads into many sequential waves).
MAX_CONNECTIONS = 256
#: HTTP statuses worth another try: the server is busy or briefly broken, not the request wrong.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    first_delay: float = 0.1
    max_delay: float = 4.0
    connect_timeout: float = 10.0
    read_timeout: float = 30.0

    @classmethod
    def from_environment(cls) -> RetryPolicy:
        def number(name: str, default: float) -> float:
            try:
                return float(os.environ.get(name, default))
            except ValueError:
                return default

        return cls(attempts=max(1, int(number("NGFFKIT_RETRIES", 5))), read_timeout=number("NGFFKIT_TIMEOUT", 30.0))

    def delay(self, attempt: int) -> float:
        """Full-jitter exponential backoff: spreads the retries of many concurrent requests."""
        return random.uniform(0, min(self.max_delay, self.first_delay * 2**attempt))


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None) or getattr(exc, "code", None)
    return status if isinstance(status, int) else None


def is_forbidden(exc: BaseException) -> bool:
    """A '403 Forbidden' answer: public buckets without ListBucket say this for keys that do not exist."""
    return isinstance(exc, PermissionError) or _status(exc) == 403


def is_transient(exc: BaseException) -> bool:
    """Whether trying again may help: busy or failing servers, dropped connections, short bodies, timeouts."""
    status = _status(exc)
    if status is not None:
        return status in RETRY_STATUSES
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, ConnectionError)):
        return True
    try:
        import aiohttp
    except ImportError:  # pragma: no cover - aiohttp is a dependency
        return False
    return isinstance(exc, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError))


def bucket_gone(exc: BaseException) -> bool:
    """s3fs reports a deleted bucket as FileNotFoundError, like a missing key; its cause says NoSuchBucket."""
    text = f"{exc} {exc.__cause__ or ''}"
    return "NoSuchBucket" in text or "bucket does not exist" in text


def _describe(exc: BaseException) -> str:
    status = _status(exc)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    if status is not None:
        return f"HTTP {status}" + (f" ({detail})" if detail and str(status) not in detail else "")
    return f"{name}: {detail}" if detail else name


class ResilientStore(FsspecStore):
    """An fsspec store with the behaviour described in this module's docstring."""

    policy: RetryPolicy
    #: Missing keys are recognised in :meth:`get` instead of by zarr, so that a vanished bucket is not one.
    MISSING = (FileNotFoundError, IsADirectoryError, NotADirectoryError)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed_exceptions = ()
        self.policy = RetryPolicy.from_environment()

    def _url(self, key: str) -> str:
        return f"{self.fs.unstrip_protocol(self.path).rstrip('/')}/{key}"

    async def get(self, key: str, prototype: Any, byte_range: Any = None) -> Any:
        policy = self.policy
        for attempt in range(policy.attempts):
            try:
                return await super().get(key, prototype, byte_range)
            except self.MISSING as exc:
                if bucket_gone(exc):
                    raise LocationError("the bucket no longer exists (NoSuchBucket)", where=self._url(key)) from None
                return None
            except Exception as exc:
                if bucket_gone(exc):
                    raise LocationError("the bucket no longer exists (NoSuchBucket)", where=self._url(key)) from None
                if is_forbidden(exc):
                    return None
                if not is_transient(exc):
                    raise LocationError(f"cannot read: {_describe(exc)}", where=self._url(key)) from None
                if attempt + 1 == policy.attempts:
                    raise LocationError(
                        f"still failing after {policy.attempts} attempts: {_describe(exc)}", where=self._url(key)
                    ) from None
                await asyncio.sleep(policy.delay(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def get_partial_values(self, prototype: Any, key_ranges: Any) -> list[Any]:
        """Each range through :meth:`get`, concurrently: the same retries and missing-key rules apply."""
        return list(await asyncio.gather(*(self.get(key, prototype, byte_range) for key, byte_range in key_ranges)))

    async def delete_dir(self, prefix: str) -> None:
        with contextlib.suppress(*self.MISSING):  # nothing there is fine (zarr relied on allowed_exceptions)
            await super().delete_dir(prefix)


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


#: Sessions this process opened. At exit they are closed while their event loops still run: fsspec only
#: closes their connectors, and aiohttp then prints "Unclosed client session" for each.
_SESSIONS: weakref.WeakSet[Any] = weakref.WeakSet()


async def _http_client(**kwargs: Any) -> Any:
    """An aiohttp session with a pool large enough for concurrent metadata batches, and finite timeouts."""
    import aiohttp

    policy = RetryPolicy.from_environment()
    kwargs.setdefault("connector", aiohttp.TCPConnector(limit=MAX_CONNECTIONS, limit_per_host=MAX_CONNECTIONS))
    connect, read = policy.connect_timeout, policy.read_timeout
    kwargs.setdefault(
        "timeout", aiohttp.ClientTimeout(total=None, connect=connect, sock_connect=connect, sock_read=read)
    )
    session = aiohttp.ClientSession(**kwargs)
    _SESSIONS.add(session)
    return session


@atexit.register
def _close_sessions() -> None:
    for session in list(_SESSIONS):
        loop = getattr(session, "_loop", None)
        if session.closed or loop is None or not loop.is_running():
            continue
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(session.close(), loop).result(timeout=2)


def fsspec_options(url: str, storage_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The fsspec options ngffkit uses for ``url``: anonymous S3 unless credentials exist, larger pools,
    timeouts."""
    protocol = url.split("://", 1)[0].lower() if "://" in url else ""
    options = dict(storage_options or {})
    if protocol in ("http", "https"):
        options.setdefault("get_client", _http_client)
    elif protocol in ("s3", "s3a"):
        has_keys = any(k in options for k in ("key", "secret", "token", "profile"))
        if "anon" not in options and not has_keys:
            options["anon"] = not aws_credentials_configured()
        policy = RetryPolicy.from_environment()
        config = dict(options.get("config_kwargs") or {})
        config.setdefault("max_pool_connections", MAX_CONNECTIONS)
        config.setdefault("connect_timeout", policy.connect_timeout)
        config.setdefault("read_timeout", policy.read_timeout)
        config.setdefault("retries", {"max_attempts": policy.attempts, "mode": "standard"})
        options["config_kwargs"] = config
    return options
