"""Run every benchmark: ``python -m benchmarks [--quick]``. Results go to benchmarks/results/*.md.

Not run from here: ``benchmarks.napari_open``, ``benchmarks.napari_latency`` and ``benchmarks.napari_plate`` (they
need a display: run them under ``xvfb-run -a``), ``benchmarks.codecs`` (the codec choice; rerun when it is
revisited), ``benchmarks.obstore_eval`` (needs obstore, which ngffkit does not depend on) and
``benchmarks.document_cpu`` (client CPU per metadata document over HTTP; ``--obstore`` adds obstore, in its own
environment)."""

from __future__ import annotations

import subprocess
import sys


def main() -> int:
    extra = ["--quick"] if "--quick" in sys.argv[1:] else []
    status = 0
    for module in (
        "benchmarks.write_pyramid",
        "benchmarks.write_growth",
        "benchmarks.edit_labels",
        "benchmarks.read",
        "benchmarks.remote",
        "benchmarks.plates",
        "benchmarks.finder",
        "benchmarks.startup",
        "benchmarks.distributed",
    ):
        print(f"== {module} {' '.join(extra)}", flush=True)
        status |= subprocess.run([sys.executable, "-m", module, *extra], check=False).returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
