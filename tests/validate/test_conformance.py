"""The specification's own 406 test cases, run through the real CLI by the specification's tool."""

from __future__ import annotations

import shutil
import subprocess
import sys

from ..conftest import CONFORMANCE, require


def test_conformance_all_406_cases() -> None:
    require(CONFORMANCE.is_file(), f"the conformance tool is not at {CONFORMANCE}")
    cli = shutil.which("ngffkit") or ""
    cmd = [cli, "validate", "--json"] if cli else [sys.executable, "-m", "ngffkit", "validate", "--json"]
    proc = subprocess.run(
        [sys.executable, str(CONFORMANCE), "--show-failures", "--", *cmd],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    last = proc.stdout.strip().splitlines()[-1]
    assert last == "conformance: 406/406 passed", proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0
