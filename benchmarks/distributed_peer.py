"""ome-zarr-py's side of benchmarks/distributed.py: its ``write_image`` on a 2-worker LocalCluster, run by a process
of its own environment (peers/: ome-zarr-py with distributed; no ngffkit there).

    python -m benchmarks.distributed_peer SHAPE_JSON SCRATCH

For each layout of benchmarks/cluster_measure.py: the same lazy volume (benchmarks.common.synthetic_volume), 5
levels, 64^3 chunks, blosc-lz4 (what ngffkit's default compressor is), measured by the same code as ngffkit's
rows; prints one ``ROW {json}`` line per layout, with where it wrote (the benchmark validates it, then removes it).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import sys
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import dask

from benchmarks.cluster_measure import CHUNK, CORES, LAYOUTS, LEVELS, Row, cluster_label, import_modules, measure
from benchmarks.common import synthetic_volume

#: What a worker imports before anything is timed (the writer and what it uses on first call).
WORKER_MODULES = ("ome_zarr.writer", "ome_zarr.dask_utils", "zarr", "skimage.transform")


def ome_zarr_write(data: Any, dest: str, shards: Any) -> None:
    import zarr
    from ome_zarr.writer import write_image
    from zarr.codecs import BloscCodec

    factors = [{"z": 2**k, "y": 2**k, "x": 2**k} for k in range(1, LEVELS)]
    codec = BloscCodec(cname="lz4", clevel=5)  # what ngffkit's default compressor is
    options = {"chunks": CHUNK, "compressor": codec, **({"shards": shards} if shards else {})}
    write_image(data, zarr.open_group(dest, mode="w"), axes="zyx", scale_factors=factors, storage_options=options)


def main(shape: tuple[int, int, int], scratch: Path) -> None:
    import distributed
    import distributed.utils

    dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"})  # as benchmarks/distributed.py
    distributed.utils.get_mp_context().set_forkserver_preload(["distributed", *WORKER_MODULES])
    writer = f"ome-zarr-py {metadata.version('ome-zarr')}"
    data = synthetic_volume(shape)
    workers = 2
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(distributed.LocalCluster(
            n_workers=workers, threads_per_worker=max(1, CORES // workers), processes=True, dashboard_address=None,
            silence_logs=logging.ERROR))  # fmt: skip
        client = stack.enter_context(distributed.Client(cluster))
        client.run(import_modules, WORKER_MODULES)
        ome_zarr_write(synthetic_volume((8, 64, 64)), str(scratch / "peer-warm-up.zarr"), None)  # first-use costs
        for n, (layout, shards) in enumerate(LAYOUTS.items()):
            dest = str(scratch / f"peer-{n}.zarr")
            row = measure(Row(writer, cluster_label(workers), "disk", layout),
                          partial(ome_zarr_write, data, dest, shards), client, None)  # fmt: skip
            print("ROW " + json.dumps({**dataclasses.asdict(row), "dest": dest}), flush=True)


if __name__ == "__main__":
    main(tuple(json.loads(sys.argv[1])), Path(sys.argv[2]))
