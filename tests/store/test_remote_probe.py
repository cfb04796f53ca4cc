"""The probe that decides whether this server's '403 Forbidden' means "no such key" (public S3 buckets without
ListBucket answer so), through a real loopback HTTP server that answers 403 for missing keys.

issue 31: a first caller cancelled during the probe left every later 403 waiting until its own deadline, and one
transient failure during the probe fixed the verdict ("a 403 is an error") for the life of the store."""

from __future__ import annotations

import asyncio
import contextlib
import pathlib

import pytest
from loopback.servers import FaultPlan, http_file_server
from zarr.buffer import default_buffer_prototype

import ngffkit
from ngffkit.store import adapter
from ngffkit.store.factory import make_store
from ngffkit.store.remote import RetryPolicy

pytestmark = pytest.mark.network

PROTOTYPE = default_buffer_prototype()


def is_probe(path: str) -> bool:
    return "missing-key-probe" in path


def test_a_cancelled_first_caller_leaves_the_probe_to_the_others(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first 403 starts the probe and is cancelled while the probe's request is held by the server; the next
    403 gets the probe's verdict (missing), not a wait until its deadline."""
    monkeypatch.setenv("NGFFKIT_DEADLINE", "20")
    faults = FaultPlan({"": ["pass", "stall:2"]})  # the first read passes; the probe's request is held 2 s
    with http_file_server(tmp_path, forbidden_missing=True, faults=faults) as server:
        store, _ = make_store(server.url + "/data.zarr", retry=RetryPolicy(attempts=2))

        async def scenario() -> object:
            first = asyncio.ensure_future(store.get("0/c/0", PROTOTYPE))
            while not any(is_probe(path) for path in server.log.paths()):
                await asyncio.sleep(0.01)  # until the probe's request has reached the server
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await first
            return await store.get("0/c/1", PROTOTYPE)

        assert adapter.sync(scenario()) is None  # read as never written, after the probe's answer
        assert sum(is_probe(path) for path in server.log.paths()) == 1


def test_could_not_tell_is_never_kept(tmp_path: pathlib.Path) -> None:
    """A probe that fails for good leaves this 403 an error, and the next 403 asks again; a probe that fails once
    is retried, like any read."""
    policy = RetryPolicy(attempts=2, first_delay=0.01)
    faults = FaultPlan({"": ["pass", "503", "503", "pass", "503"]})
    with http_file_server(tmp_path, forbidden_missing=True, faults=faults) as server:
        store, _ = make_store(server.url + "/data.zarr", retry=policy)
        # first read: 403; the probe fails twice (503, 503): cannot tell, so the 403 stays an error
        with pytest.raises(ngffkit.LocationError, match="403"):
            adapter.sync(store.get("0/c/0", PROTOTYPE))
        # second read: 403; the probe is asked again: 503, then 403 -- missing keys answer 403 here
        assert adapter.sync(store.get("0/c/1", PROTOTYPE)) is None
        probes = sum(is_probe(path) for path in server.log.paths())
        assert probes == 4
        # the verdict is kept: no further probe
        assert adapter.sync(store.get("0/c/2", PROTOTYPE)) is None
        assert sum(is_probe(path) for path in server.log.paths()) == probes
