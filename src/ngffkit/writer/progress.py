"""Progress for long computations (writes, statistics): a rich bar, a callback, or nothing -- fed by dask
task completions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask
from dask.callbacks import Callback


class _TaskCounter(Callback):
    """Calls ``report(done, total)`` as dask finishes tasks (local schedulers)."""

    def __init__(self, report: Callable[[int, int], None]) -> None:
        super().__init__()
        self.report = report
        self.done = 0
        self.total = 0

    def _start_state(self, dsk: Any, state: Any) -> None:
        self.total = sum(len(state[k]) for k in ("ready", "waiting", "running")) + len(state.get("finished", ()))
        self.report(0, self.total)

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        self.done += 1
        self.report(self.done, self.total)


def run_with_progress(work: Any, progress: bool | Callable[[int, int], None] | None, description: str) -> Any:
    """Compute ``work`` (a dask collection, or a tuple of them) with the requested progress reporting.

    The bar goes to stderr, so that a command's stdout stays clean for its results (``--json``)."""
    if not progress:
        return dask.compute(work)[0]
    if callable(progress):
        with _TaskCounter(progress):
            return dask.compute(work)[0]
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True, console=Console(stderr=True)) as bar:  # fmt: skip
        task = bar.add_task(description, total=None)

        def report(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        with _TaskCounter(report):
            return dask.compute(work)[0]
