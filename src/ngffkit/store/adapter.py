"""The private parts of zarr, fsspec, s3fs and CPython that ngffkit cannot avoid, in one place.

Everything else in ngffkit uses those libraries' public API. Each function here wraps one thing that has no public
equivalent on every supported release -- a private module or attribute -- so that when a new release moves it,
this file changes and nothing else. tests/store/test_adapter.py pins every one of them against the installed
releases and fails naming what moved; docs/architecture.md lists them. Where safety depends on one of them, it
fails closed: ngffkit refuses instead of quietly taking another path.

* zarr's event loop (``zarr.core.sync``): every store call runs on the one loop zarr's own synchronous API uses,
  because stores and their client sessions (aiohttp, s3fs) belong to the loop that first used them.
* CPython's thread-shutdown hooks (``threading._register_atexit``): see :func:`settle_at_exit`.
* CPython's zipfile: where an archive's central directory begins (``ZipFile.start_dir``), which bounds its last
  entry: see :func:`zip_central_directory_start`.
* fsspec's asynchronous listing (``AsyncFileSystem._ls``: fsspec's async API is its methods with a leading
  underscore), its HTTP file system's client session (``set_session``) and request options (``kwargs``).
* s3fs's own retry count (``S3FileSystem.retries``: no constructor option sets it), and its botocore client
  (``S3FileSystem.get_s3``) for the conditional PUT and HEAD of one key that s3fs's file API does not offer.

(The bounded codecs of ``bounded_codecs.py`` use zarr's codec hooks ``_decode_single`` and ``_decode_sync``, the
methods zarr's documentation tells codec authors to implement; they check at first use that zarr calls them.)
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
import weakref
import zipfile
from collections.abc import Coroutine
from typing import Any, TypeVar

import zarr.core.sync

T = TypeVar("T")


def sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on zarr's own event loop thread and wait for it (``zarr.core.sync.sync``): one loop
    for every store, so that stores and their client sessions are shared across calls."""
    return zarr.core.sync.sync(coroutine)


def zarr_loop_if_started() -> asyncio.AbstractEventLoop | None:
    """zarr's event loop, or None if zarr has not started one (never starts one): ``zarr.core.sync.loop``, a
    one-element list holding it."""
    return zarr.core.sync.loop[0]


#: How long reads abandoned by a failed computation may go on when the program ends, before they are cancelled.
SETTLE_AT_EXIT = 2.0
_settle_registered = threading.Lock()
_settle_done: list[bool] = []


def settle_at_exit() -> None:
    """Have the program's end wait for (then cancel) reads that a failed computation abandoned.

    When one chunk of a read fails, dask raises at once while the computation's other reads go on in zarr's loop.
    If the program then ends (a script, the CLI, after the clean error), Python shuts its thread pools down under
    them, and each one fails on its way out: hundreds of lines of "Task exception was never retrieved", "Task
    was destroyed but it is pending!" and "Event loop is closed" after the one message that mattered. Python's
    thread-shutdown hooks (``threading._register_atexit``) run newest first, so this one (registered after
    ``concurrent.futures``') runs while the pools still work: the reads finish, or are cancelled after
    ``SETTLE_AT_EXIT`` seconds, and nothing is left. (``atexit`` runs after the pools are gone: too late. Only
    the quiet end of a failed program depends on this, so a Python without the hook ends noisily, nothing worse.)
    """
    with _settle_registered:
        if not _settle_done:
            register = getattr(threading, "_register_atexit", None)
            if register is not None:
                register(_settle_zarr_loop)
            _settle_done.append(True)


def _settle_zarr_loop() -> None:
    running_loop = zarr_loop_if_started()
    if running_loop is None or not running_loop.is_running():
        return

    async def settle() -> None:
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        if not others:
            return
        _, pending = await asyncio.wait(others, timeout=SETTLE_AT_EXIT)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)

    with contextlib.suppress(Exception):  # the program is ending: nothing here may stop it
        asyncio.run_coroutine_threadsafe(settle(), running_loop).result(SETTLE_AT_EXIT + 2.0)


def zip_central_directory_start(archive: zipfile.ZipFile) -> int | None:
    """Where ``archive``'s central directory begins in its file, which is where its last entry must end
    (``ZipFile.start_dir``: zipfile computes it from the end record, prepended bytes included, and bounds that
    entry with it; nothing public says it). None when this Python's zipfile has no such number: the caller then
    reads the last entry through zipfile, which checks it -- slower for a large entry, never less safe."""
    value = getattr(archive, "start_dir", None)
    return value if type(value) is int else None


# --- one job's own tasks on zarr's loop ----------------------------------------------------------------------------

#: The job (a write, a read) whose coroutine is running, in the context its tasks inherit.
_JOB: contextvars.ContextVar[OwnTasks | None] = contextvars.ContextVar("ngffkit_job", default=None)
_factory_lock = threading.Lock()


class OwnTasks:
    """The tasks one job started on zarr's event loop, itself or through zarr.

    When one chunk of a zarr write fails, zarr's ``gather`` raises at once while the array's other chunk writes go
    on in the loop; a writer that deletes what it wrote must let those land first, or they leave debris behind.
    Waiting for every task on zarr's loop would also wait for everyone else's (napari's background reads, other
    threads' writes): up to minutes. So a job runs its coroutines through :meth:`run`, and every task created
    while one of them runs -- by it, by zarr, by their children -- is recorded here (a task factory on zarr's loop
    reads the job from the creating task's context). :meth:`drain` waits for those only. If the factory is not
    in place (someone replaced it), the job cannot know its tasks and :meth:`drain` waits for all of them, as
    before: slower, never unsafe.
    """

    def __init__(self) -> None:
        self._tasks: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        self._lock = threading.Lock()
        self.untracked = False

    def __getstate__(self) -> dict[str, Any]:  # a copy on another process starts with no tasks
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on zarr's loop (as :func:`sync`), recording the tasks it starts."""
        _install_task_factory()
        return sync(self._within(coroutine))

    async def _within(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if asyncio.get_running_loop().get_task_factory() is not _record_task:
            self.untracked = True
        token = _JOB.set(self)
        try:
            return await coroutine
        finally:
            _JOB.reset(token)

    def _add(self, task: asyncio.Task[Any]) -> None:
        with self._lock:
            self._tasks.add(task)

    def pending(self) -> list[asyncio.Task[Any]]:
        with self._lock:
            return [t for t in self._tasks if not t.done()]

    def drain(self, timeout: float = 120.0) -> None:
        """Wait (at most ``timeout`` seconds) until every task this job started has finished."""
        running_loop = zarr_loop_if_started()
        if running_loop is None or not running_loop.is_running():
            return
        untracked = self.untracked or running_loop.get_task_factory() is not _record_task

        async def done() -> None:
            if untracked:
                waiting = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            else:
                waiting = self.pending()
            if waiting:
                await asyncio.wait(waiting, timeout=timeout)

        sync(done())

    def cancel(self, timeout: float = 5.0) -> None:
        """Cancel the tasks zarr started for this job that have not finished (cancelling one cancels what it
        awaits: its requests), and wait (at most ``timeout`` seconds) until they have stopped. Other tasks the job
        happened to start are left alone: shared work -- aiohttp's one DNS lookup per host, a remote store's one
        probe of what its 403s mean -- is created by whichever request needs it first, and other requests wait for
        it: cancelling it with that request failed theirs with a bare CancelledError.
        Does nothing when the job could not record its tasks: never cancel someone else's."""
        running_loop = zarr_loop_if_started()
        if running_loop is None or not running_loop.is_running() or self.untracked:
            return

        async def stop() -> None:
            pending = [task for task in self.pending() if _runs_zarrs_code(task)]
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=timeout)

        sync(stop())


def _runs_zarrs_code(task: asyncio.Task[Any]) -> bool:
    """Whether ``task`` runs a coroutine of zarr's own (its concurrent chunk reads and decodes): the module of the
    coroutine's frame (``cr_frame``, a documented attribute of coroutine objects)."""
    frame = getattr(task.get_coro(), "cr_frame", None)
    module = frame.f_globals.get("__name__", "") if frame is not None else ""
    return isinstance(module, str) and module.partition(".")[0] == "zarr"


def _record_task(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
    """zarr's loop's task factory: an ordinary task, recorded for the job running in the creating context."""
    task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, **kwargs)
    job = _JOB.get()
    if job is not None:
        job._add(task)
    return task


def _install_task_factory() -> None:
    running_loop = zarr_loop_if_started()
    if running_loop is not None and running_loop.get_task_factory() is _record_task:
        return

    async def install() -> None:
        loop = asyncio.get_running_loop()
        if loop.get_task_factory() is None:  # never replace a factory someone else set: their tasks are theirs
            loop.set_task_factory(_record_task)

    with _factory_lock:
        sync(install())


# --- fsspec and s3fs ----------------------------------------------------------------------------------------------


async def list_folder(fs: Any, path: str) -> list[dict[str, Any]]:
    """One folder's entries from an async fsspec file system (``_ls``: the coroutine behind ``ls``)."""
    entries: list[dict[str, Any]] = await fs._ls(path, detail=True)
    return entries


async def http_session(fs: Any) -> Any:
    """The aiohttp session of fsspec's HTTP file system (``set_session`` makes it on first use)."""
    return await fs.set_session()


def http_request_options(fs: Any) -> dict[str, Any]:
    """The options fsspec's HTTP file system sends with every request (headers, auth ...: its ``kwargs``)."""
    options = getattr(fs, "kwargs", None)
    if not isinstance(options, dict):
        raise TypeError(f"fsspec's {type(fs).__name__} keeps no request options in 'kwargs' any more")
    return dict(options)


def disable_client_retries(fs: Any) -> None:
    """Switch off the retry loop of s3fs (``S3FileSystem.retries``, 5 by default): ngffkit's is the only one."""
    if isinstance(getattr(type(fs), "retries", None), int):
        fs.retries = 1


async def s3_client(fs: Any, bucket: str) -> Any:
    """The botocore S3 client of an s3fs file system for ``bucket`` (``get_s3``, the coroutine s3fs's own calls go
    through, after ``set_session`` makes the client on first use): for a PUT with ``If-Match`` / ``If-None-Match``,
    which s3fs's file API cannot send."""
    await fs.set_session()
    client = await fs.get_s3(bucket)
    if not callable(getattr(client, "put_object", None)):
        raise TypeError(f"s3fs's {type(fs).__name__}.get_s3 no longer gives a botocore client")
    return client
