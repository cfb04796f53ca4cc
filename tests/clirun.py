"""Running the ``ngffkit`` command the way a user does: a separate process, output captured."""

from __future__ import annotations

import subprocess
import sys


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``ngffkit ARGS...`` in a new interpreter; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "ngffkit", *args], capture_output=True, text=True, check=False, timeout=timeout
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The single ``ngffkit: error: ...`` line of a failed run (asserting there is no traceback)."""
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("ngffkit: error: "), proc.stderr
    return lines[0]
