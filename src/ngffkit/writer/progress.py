"""Progress for long computations (writes, statistics): a rich bar, a callback, or nothing -- fed by dask
task completions."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from dask.callbacks import Callback

from ngffkit.writer import scheduling


class _TaskCounter(Callback):
    """Calls ``report(done, total)`` as dask finishes tasks (local schedulers)."""

    def __init__(self, report: Callable[[int, int], None]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # dask.callbacks.Callback is not annotated
        self.report = report
        self.done = 0
        self.total = 0

    def _start_state(self, dsk: Any, state: Any) -> None:
        self.total = sum(len(state[k]) for k in ("ready", "waiting", "running")) + len(state.get("finished", ()))
        self.report(0, self.total)

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        self.done += 1
        self.report(self.done, self.total)


Report = Callable[[int, int], None]


@contextmanager
def reporting(progress: bool | Report | None, description: str) -> Iterator[Report | None]:
    """The ``report(done, total)`` function a ``progress`` argument asks for: the caller's callback, a rich bar
    on stderr (``True``; stdout stays clean for a command's results, ``--json``), or None."""
    if not progress:
        yield None
    elif callable(progress):
        yield progress
    else:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      transient=True, console=Console(stderr=True)) as bar:  # fmt: skip
            task = bar.add_task(description, total=None)
            yield lambda done, total: bar.update(task, completed=done, total=total)


class Ticker:
    """Counts finished pieces of work from any thread and reports ``(done, total)`` after each one.

    It travels inside task functions: pickled (to a ``dask.distributed`` worker) it becomes silent, as a
    callback in this process cannot be called from there."""

    def __init__(self, report: Report | None) -> None:
        self.report, self.total, self.done = report, 0, 0
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(None)  # type: ignore[misc]

    def start(self, total: int) -> None:
        self.total = total
        if self.report is not None:
            self.report(0, total)

    def tick(self, count: int = 1) -> None:
        if self.report is None:
            return
        with self._lock:
            self.done = min(self.total, self.done + count)
            done = self.done
        self.report(done, self.total)


def run_with_progress(work: Any, progress: bool | Report | None, description: str) -> Any:
    """Compute ``work`` (a dask collection, or a tuple of them) with the requested progress reporting."""
    with reporting(progress, description) as report:
        if report is None:
            return scheduling.compute(work)[0]
        with _TaskCounter(report):
            return scheduling.compute(work)[0]
