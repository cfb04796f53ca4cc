"""Readers measured in a process of their own, while the server that counts their requests runs in the benchmark's.

A loopback server in the readers' process competes with them for the GIL: its ~0.5 ms of CPU per request was
counted in every reader's time, as no real server's would be. The benchmark starts ``python -m MODULE --child ...``
(:class:`ClientProcess`); the child (:func:`serve`) pays its imports, says ``ready``, then runs each job named on
a line of its stdin and answers with the job's time. Its stdout is the protocol: what readers print is dropped.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

READY = "ready"


def timed(job: Callable[[], Any]) -> float:
    """Seconds one job takes, from a collected heap (a peer's large runs leave garbage behind)."""
    gc.collect()
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        job()
    return time.perf_counter() - start


def serve(warm_up: Callable[[], None], job_named: Callable[[str], Callable[[], Any]]) -> None:
    """The child's side: ``warm_up()`` (imports, first uses), then time ``job_named(line)`` for each line of stdin."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warm_up()
    print(READY, flush=True)
    for line in sys.stdin:
        print(json.dumps({"time": timed(job_named(line.strip()))}), flush=True)


class ClientProcess:
    """The benchmark's side: a child running ``command`` (which calls :func:`serve`); :meth:`run` clears the
    server's request log, has the child run one job, and returns its time with the requests the server saw.
    A peer's child runs in the peer's own environment: ``command`` is its interpreter and ``env`` the
    environment :func:`peers.process_environment` gives (no server: no requests are counted)."""

    def __init__(self, server: Any, command: list[str], env: dict[str, str] | None = None) -> None:
        self.server, self.command, self.env = server, command, env
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> ClientProcess:
        self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     env=self.env)  # fmt: skip
        self._answer(READY)
        return self

    def __exit__(self, *exc: object) -> None:
        """End of stdin ends the child; a child still busy (the benchmark failed mid-job) is killed."""
        assert self.proc and self.proc.stdin
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def run(self, job: str) -> dict[str, Any]:
        """``time`` (s), ``requests``, ``waves`` (sequential round trips) and ``paths`` of one job."""
        assert self.proc and self.proc.stdin
        if self.server is not None:
            self.server.log.clear()
        self.proc.stdin.write(job + "\n")
        self.proc.stdin.flush()
        elapsed = json.loads(self._answer())["time"]
        if self.server is None:
            return {"time": elapsed}
        log = self.server.log
        return {"time": elapsed, "requests": len(log.entries), "waves": log.sequential_waves(), "paths": log.paths()}

    def _answer(self, expected: str | None = None) -> str:
        assert self.proc and self.proc.stdout
        line = self.proc.stdout.readline().strip()
        if not line or (expected and line != expected):
            raise RuntimeError(f"the client process ended or said {line!r} (exit status {self.proc.poll()})")
        return line
