"""A failed read cancels the fetches it started (``GuardedArray._read``) -- and only those: a task that other
reads of the same store wait for, though this read happened to start it, must go on for them."""

from __future__ import annotations

import asyncio
import pathlib
import threading
from typing import Any

import numpy as np
import pytest
from loopback.servers import FaultPlan, http_file_server

import ngffkit
from ngffkit.store import adapter

PROBE = "missing-key-probe"


class ProbeHeld(FaultPlan):
    """The remote store's 403 probe (a key nobody wrote) held until :meth:`answer_probe`, apart from the rules'
    holds (released by :meth:`release`)."""

    def __init__(self, rules: dict[str, list[str]]) -> None:
        super().__init__(rules, hold_patience=60)
        self.probe_gate = threading.Event()
        self.probes: list[str] = []

    def take(self, path: str) -> str | None:
        return "hold" if PROBE in path and not self.probe_gate.is_set() else super().take(path)

    def hold(self, path: str) -> None:
        if PROBE not in path:
            super().hold(path)
            return
        with self._lock:
            self.probes.append(path)
        self.probe_gate.wait(self.hold_patience)

    def answer_probe(self) -> None:
        self.probe_gate.set()


async def _waiting_for_the_probe() -> int:
    """How many tasks on zarr's loop are waiting for the store's 403 probe (their coroutines' await chains)."""
    count = 0
    for task in asyncio.all_tasks():
        coro: Any = task.get_coro()
        while coro is not None and hasattr(coro, "cr_code"):
            if coro.cr_code.co_name == "_probe_forbidden_means_missing":
                count += 1
                break
            coro = coro.cr_await
    return count


def test_a_failed_read_leaves_the_403_probe_to_the_other_reads(tmp_path: pathlib.Path) -> None:
    """Read A meets a 403 first (it starts the store's probe: do 403s mean missing?) and then a damaged chunk;
    read B, in another thread, meets a 403 meanwhile and waits for the same probe. A's failure cancelled the
    probe with its own fetches, and B's read ended in a bare CancelledError instead of its LocationError."""
    data = np.arange(64 * 64, dtype=np.uint16).reshape(1, 64, 64)
    path = tmp_path / "img.zarr"
    ngffkit.write_image(data, path, axes="zyx", chunks=(1, 32, 32), levels=1)
    (path / "0" / "c" / "0" / "0" / "1").write_bytes(b"not a chunk")
    # two chunks answered 403 (the first 403s this store meets: it probes), one held and then damaged
    faults = ProbeHeld({"/0/c/0/0/0": ["always:403"], "/0/c/0/1/0": ["always:403"], "/0/c/0/0/1": ["always:hold"]})
    outcome: dict[str, Any] = {}

    def read_b(level: Any) -> None:
        try:
            outcome["b"] = level[:, 32:, :32].compute()
        except BaseException as exc:  # what B saw is the test's subject
            outcome["b"] = exc

    with http_file_server(tmp_path, faults=faults) as server:
        level = ngffkit.open(f"{server.url}/img.zarr").levels[0]
        a = threading.Thread(target=lambda: outcome.setdefault("a", _raised(level[:, :32, :].compute)))
        try:
            a.start()
            _until(lambda: faults.probes and faults.held())  # A started the probe; its damaged chunk is held
            b = threading.Thread(target=read_b, args=(level,))
            b.start()
            _until(lambda: adapter.sync(_waiting_for_the_probe()) >= 2)  # A's 403 and B's wait for it
            faults.release()  # A's damaged chunk: A fails
            a.join(30)
            assert isinstance(outcome.get("a"), ngffkit.CorruptData), outcome.get("a")
        finally:
            faults.release()
            faults.answer_probe()
        b.join(30)
    assert not b.is_alive()
    # the probe (its key answered 404) says a 403 here means "forbidden": B's clear error, not asyncio's
    assert isinstance(outcome["b"], ngffkit.LocationError), repr(outcome["b"])
    assert "403" in str(outcome["b"])


def _raised(read: Any) -> BaseException | None:
    try:
        read()
    except BaseException as exc:
        return exc
    return None


def _until(condition: Any, timeout: float = 30.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        done.wait(0.01)
    pytest.fail("the reads never got there")


def test_a_failed_read_cancels_zarrs_fetches_and_leaves_other_libraries_shared_work(tmp_path: pathlib.Path) -> None:
    """Of the tasks a failed read started, only zarr's are cancelled (and with them the requests they await): a
    library's shared work that the read happened to start first -- aiohttp's one DNS lookup per host, which other
    requests wait for -- goes on (asyncio's own sleep stands for it here)."""
    import zarr

    data = np.arange(64 * 64, dtype=np.uint16).reshape(1, 64, 64)
    ngffkit.write_image(data, tmp_path / "img.zarr", axes="zyx", chunks=(1, 32, 32), levels=1)
    faults = FaultPlan({"/0/c/0/0/0": ["always:hold"]}, hold_patience=60)
    shared: list[asyncio.Task[Any]] = []
    reading: list[asyncio.Task[Any]] = []
    with http_file_server(tmp_path, faults=faults) as server:
        array = zarr.open_array(f"{server.url}/img.zarr/0", mode="r")

        async def read_and_fail() -> None:
            loop = asyncio.get_running_loop()
            shared.append(loop.create_task(asyncio.sleep(60)))
            reading.append(loop.create_task(array.async_array.getitem((0, slice(0, 32), slice(0, 32)))))
            while not faults.held():  # the chunk's request is at the server, unanswered
                await asyncio.sleep(0.01)
            raise ValueError("another chunk of the read failed")

        job = adapter.OwnTasks()
        try:
            with pytest.raises(ValueError, match="another chunk"):
                job.run(read_and_fail())
            job.cancel()
            states = (reading[0].cancelled(), shared[0].done())
        finally:
            faults.release()

            async def tidy() -> None:
                for task in shared:
                    task.cancel()

            adapter.sync(tidy())
    assert states == (True, False)
