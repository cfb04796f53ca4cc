"""Which dask scheduler runs a write, and how many threads it has -- without paying for ``distributed``.

dask looks for a ``dask.distributed`` client by importing ``distributed`` (when it is installed) the first time it
computes or rechunks anything: 1.3 s, as long as writing a 128 MiB pyramid. A client can only exist if the
program imported ``distributed`` itself, so until then a write names the threaded scheduler (dask's default
for arrays) instead of letting dask look. A scheduler set in dask's configuration is used as set.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import dask


def client_possible() -> bool:
    """Whether a dask.distributed client may be running: only if this process imported ``distributed``."""
    return "distributed" in sys.modules


def configured_scheduler() -> str:
    """The scheduler named in dask's configuration, lower case ("threads" when none is: dask's default for arrays)."""
    return str(dask.config.get("scheduler", None) or "threads").lower()


def chosen_scheduler() -> Any:
    """The scheduler to hand ``dask.compute``: None (dask decides) when a client may exist, else the local
    scheduler configured (threads by default, as dask would choose) as the function itself -- dask looks for
    ``distributed`` even when given a scheduler's name."""
    if client_possible():
        return None
    import dask.local
    import dask.threaded

    configured = configured_scheduler()
    local = {"threads": dask.threaded.get, "threading": dask.threaded.get, "sync": dask.local.get_sync,
             "synchronous": dask.local.get_sync, "single-threaded": dask.local.get_sync}  # fmt: skip
    return local.get(configured)  # anything else (processes, a custom one): dask decides


def compute(*work: Any) -> tuple[Any, ...]:
    """``dask.compute(*work)`` on the scheduler dask would choose, without its search for a client."""
    return tuple(dask.compute(*work, scheduler=chosen_scheduler()))


def rechunk_method() -> str | None:
    """The method to name in ``rechunk``: None (dask decides, maybe "p2p" on a cluster) when one is configured or
    a client may exist, else "tasks" (what dask would choose, without its import)."""
    return None if dask.config.get("array.rechunk.method", None) or client_possible() else "tasks"


def _client() -> Any | None:
    """The running dask.distributed client, if any (looked for only when ``distributed`` was imported)."""
    if not client_possible():
        return None
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def on_cluster() -> bool:
    """Whether a dask.distributed client is running: computations go to its workers (which spill to disk, and
    for which reading back what was written costs network traffic rather than a page cache hit)."""
    return _client() is not None


def worker_count() -> int:
    """Threads that will run tasks: a dask.distributed client's, the configured pool's, or the cores'."""
    client = _client()
    if client is not None:
        return max(1, int(sum(client.nthreads().values())))
    return int(dask.config.get("num_workers", None) or os.cpu_count() or 1)


def on_local_threads() -> bool:
    """Whether computations run on dask's threaded scheduler in this process (no cluster, no other scheduler
    configured): then a writer may run independent tasks from its own threads (see execute.compute_bounded)."""
    return configured_scheduler() in ("threads", "threading") and not on_cluster()
