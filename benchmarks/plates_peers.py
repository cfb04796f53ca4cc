"""The peers' side of :mod:`benchmarks.plates`, run in each peer's own environment (never ngffkit's).

``python -m benchmarks.plates_peers PEER SERVER_URL`` serves jobs as :func:`benchmarks.client_process.serve` does:
``napari-ome-zarr`` opens a plate to napari layer data (its reader function, as napari calls it) and draws its
first view (every pixel of the lowest level); ``ome-zarr-models`` validates a plate with ``HCS.from_zarr`` over the
same server -- every well, field and array, as ``ngffkit.validate`` does. Imports nothing of ngffkit.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any

from benchmarks.client_process import serve


def napari_ome_zarr_jobs(url: str) -> dict[str, Callable[[], Any]]:
    import numpy as np
    from napari_ome_zarr._reader import napari_get_reader

    def layers() -> list[Any]:
        return napari_get_reader(url)(url)  # type: ignore[no-any-return, misc]

    def first_view() -> None:
        data = layers()[0][0]
        np.asarray(data[-1])

    return {"open": layers, "view": first_view}


def ome_zarr_models_jobs(url: str) -> dict[str, Callable[[], Any]]:
    import zarr
    from ome_zarr_models.v05.hcs import HCS

    return {"validate": lambda: HCS.from_zarr(zarr.open_group(url, mode="r"))}


JOBS = {"napari-ome-zarr": napari_ome_zarr_jobs, "ome-zarr-models": ome_zarr_models_jobs}


def main() -> None:
    peer, server_url = sys.argv[1], sys.argv[2]
    jobs_of = JOBS[peer]

    def warm_up() -> None:
        for job in jobs_of(f"{server_url}/warm.zarr").values():
            with contextlib.suppress(Exception):  # a warm-up pays imports; an image is no plate for the validator
                job()

    def job_named(line: str) -> Callable[[], Any]:
        job, url = line.split()
        return jobs_of(url)[job]

    serve(warm_up, job_named)


if __name__ == "__main__":
    main()
