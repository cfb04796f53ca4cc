"""Run every benchmark: ``python -m benchmarks [--quick]``. Results go to benchmarks/results/*.md."""

from __future__ import annotations

import subprocess
import sys


def main() -> int:
    extra = ["--quick"] if "--quick" in sys.argv[1:] else []
    status = 0
    for module in ("benchmarks.write_pyramid", "benchmarks.remote", "benchmarks.finder"):
        print(f"== {module} {' '.join(extra)}", flush=True)
        status |= subprocess.run([sys.executable, "-m", module, *extra], check=False).returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
