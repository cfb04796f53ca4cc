"""The transformations conformance suite's side (runs in its own environment): ``oztc`` against a command.

``ome-zarr-transformations-conformance`` ships 24 cases (a metadata-only ``zarr.json`` each, in the older RFC-5 draft
the suite was written against) and a runner that calls ``PROG PATH SOURCE TARGET '[[x, y], ...]'`` and compares the
coordinates the program prints. The program is the caller's: ngffkit's ``transform`` command in ngffkit's own
environment, which this one does not have.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from . import main


def run_suite(command: list[str], timeout: float = 600) -> dict[str, Any]:
    """Every built-in case against ``command``: each case's status (pass, fail, error) and the runner's exit status."""
    proc = subprocess.run([sys.executable, "-m", "transformation_conformance", "--", *command], capture_output=True,
                          text=True, check=False, timeout=timeout)  # fmt: skip
    rows = [line.split("\t") for line in proc.stdout.splitlines() if "\t" in line]
    return {"statuses": {name: status for name, status in rows}, "returncode": proc.returncode, "stderr": proc.stderr}


if __name__ == "__main__":
    main([run_suite])
