"""Hostile cases run in a child Python whose address space and run time are capped.

A regression that reads ``/dev/zero`` or an endless HTTP body must fail its test, not take the machine down: the
child gets ``RLIMIT_AS`` (a hard ceiling on memory) and the parent a timeout. Several cases share one child (each
child pays ngffkit's import once); each reports what it raised and the child's peak resident memory.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import Any

#: Address space of the child: far above a normal run of these cases (~0.4 GiB resident, ~1.5 GiB of
#: thread-stack and allocator reservations), far below what a runaway read would take.
ADDRESS_SPACE = 4 * 1024**3

_CHILD = textwrap.dedent("""
    import json, sys, time, traceback, warnings
    warnings.simplefilter("ignore")
    import numpy as np
    import ngffkit

    def peak_mib():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    cases = json.loads(sys.argv[1])
    for name, code in cases.items():
        scope = {"ngffkit": ngffkit, "np": np}
        started = time.monotonic()
        try:
            exec(code, scope)
            outcome = {"raised": None, "message": "", "result": repr(scope.get("result"))}
        except BaseException as exc:
            outcome = {"raised": type(exc).__name__, "message": str(exc)[:2000],
                       "ngff": isinstance(exc, ngffkit.NGFFError), "trace": traceback.format_exc()[-3000:]}
        outcome.update(case=name, seconds=time.monotonic() - started, peak_mib=peak_mib())
        print("CASE " + json.dumps(outcome), flush=True)
    sys.stdout.flush()
    import os
    os._exit(0)  # a thread stuck on a hostile read must not keep the child alive
""")


@dataclass(frozen=True)
class Outcome:
    case: str
    raised: str | None
    message: str
    ngff: bool
    peak_mib: float
    result: str
    trace: str

    def __str__(self) -> str:
        return f"{self.case}: raised {self.raised}: {self.message}\n{self.trace}"


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_cases(cases: dict[str, str], *, timeout: float = 240, env: dict[str, str] | None = None) -> dict[str, Outcome]:
    """Run each case's code (it may set ``result``) in one capped child; every case must report back."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(cases)],
        capture_output=True, text=True, timeout=timeout, preexec_fn=_limit, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    found: dict[str, Outcome] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("CASE "):
            data: dict[str, Any] = json.loads(line[5:])
            found[data["case"]] = Outcome(
                data["case"], data.get("raised"), data.get("message", ""), bool(data.get("ngff")),
                float(data["peak_mib"]), data.get("result", ""), data.get("trace", ""),
            )  # fmt: skip
    missing = set(cases) - set(found)
    assert not missing, f"cases {sorted(missing)} never reported (status {proc.returncode}): {proc.stderr[-3000:]}"
    return found
