"""A write never pays for dask.distributed unless the program uses it: dask imports it (1.3 s) to look for a
client on its first compute or rechunk, which a small write would spend most of its time on."""

from __future__ import annotations

import subprocess
import sys

import dask
import dask.local

from ngffkit.writer import scheduling

WRITE_IN_A_FRESH_PROCESS = """
import sys
import dask.array as da
import numpy as np
import ngffkit
import zarr
values = np.arange(64 * 128 * 128, dtype="uint16").reshape(64, 128, 128)
data = da.from_array(values, chunks=(32, 64, 64))
ngffkit.write_image(data, sys.argv[1], levels=3, chunks=(16, 32, 32))
ngffkit.write_image(data, sys.argv[1] + "-sharded", levels=2, chunks=(16, 32, 32), shards=(32, 64, 64))
print("distributed" in sys.modules)
assert (zarr.open_array(sys.argv[1] + "-sharded/0", mode="r")[...] == values).all()
"""


def test_a_write_does_not_import_distributed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc = subprocess.run([sys.executable, "-c", WRITE_IN_A_FRESH_PROCESS, str(tmp_path / "img.zarr")],
                          capture_output=True, text=True, check=False, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "False"
    assert (tmp_path / "img.zarr" / "2" / "zarr.json").is_file()


def test_a_configured_scheduler_is_used_as_configured() -> None:
    with dask.config.set(scheduler="sync"):
        chosen = scheduling.chosen_scheduler()
    assert chosen is None if scheduling.client_possible() else chosen is dask.local.get_sync
    with dask.config.set({"array.rechunk.method": "p2p"}):
        assert scheduling.rechunk_method() is None  # dask reads its own setting
