"""The peers' side of the reading benchmarks: their jobs, run by a client process in the peer's own environment.

A peer is never imported in ngffkit's environment (peers/), so the benchmarks that time one start this module with
the peer's interpreter (:class:`~benchmarks.client_process.ClientProcess`, ``env=peers.process_environment()``):

    python -m benchmarks.peer_readers plates SERVER_URL                      # napari-ome-zarr's environment
    python -m benchmarks.peer_readers plates-validate SERVER_URL             # ome-zarr-models' environment
    python -m benchmarks.peer_readers remote-napari-ome-zarr SERVER_URL WELLS  # napari-ome-zarr's environment
    python -m benchmarks.peer_readers remote-ome-zarr-py SERVER_URL         # ome-zarr-py's environment
    python -m benchmarks.peer_readers finder                                # ome-zarr-py's environment

The jobs are the same work the benchmarks timed in their own process before; ngffkit is not imported here (that
environment has none), only the peer, numpy and the standard library.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.client_process import serve

Jobs = dict[str, Callable[[], Any]]


def napari_ome_zarr_layers(url: str) -> list[Any]:
    """napari-ome-zarr's reader, as napari calls it: the layer data tuples."""
    from napari_ome_zarr._reader import napari_get_reader

    return napari_get_reader(url)(url)


def ome_zarr_nodes(url: str) -> list[Any]:
    """ome-zarr-py's ``Reader``: every node it finds."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    return list(Reader(parse_url(url))())


def plates_jobs(url: str) -> Jobs:
    """benchmarks/plates.py: napari layer data of the plate, and that plus every pixel of its lowest level."""

    def first_view() -> None:
        data = napari_ome_zarr_layers(url)[0][0]
        np.asarray(data[-1])

    return {"open": lambda: napari_ome_zarr_layers(url), "view": first_view}


def plates_validate_jobs(url: str) -> Jobs:
    """benchmarks/plates.py: ome-zarr-models validates the plate -- every well, field and array, as
    ``ngffkit.validate`` does -- with ``HCS.from_zarr`` over the same server."""
    import zarr
    from ome_zarr_models.v05.hcs import HCS

    return {"validate": lambda: HCS.from_zarr(zarr.open_group(url, mode="r"))}


def remote_napari_ome_zarr_jobs(server_url: str, wells: list[str]) -> Jobs:
    """benchmarks/remote.py, napari-ome-zarr's cases: plate open, image first view, switching wells (by opening
    the field's URL: napari-ome-zarr returns no layers for a well's URL)."""
    plate, image = f"{server_url}/plate.zarr", f"{server_url}/image.zarr"
    others = itertools.cycle(wells)

    def first_view() -> None:
        data = napari_ome_zarr_layers(image)[0][0]
        np.asarray(data[-1][0])

    def switch() -> None:
        data = napari_ome_zarr_layers(f"{plate}/{next(others)}/0")[0][0]
        np.asarray(data[0][0])

    return {"plate": lambda: napari_ome_zarr_layers(plate), "view": first_view, "switch": switch}


def remote_ome_zarr_py_jobs(server_url: str) -> Jobs:
    """benchmarks/remote.py, ome-zarr-py's cases: plate open, and one z-plane of a 3D level."""
    plate, volume = f"{server_url}/plate.zarr", f"{server_url}/volume.zarr"
    return {"plate": lambda: ome_zarr_nodes(plate), "plane": lambda: np.asarray(ome_zarr_nodes(volume)[0].data[0][20])}


def ome_zarr_finder(data: Path, images: int) -> None:
    """benchmarks/finder.py: ome-zarr-py's finder without its browser and server; it writes
    ``biofile_finder.csv`` into the folder, whose rows are checked so that it, too, found every image."""
    from ome_zarr.utils import finder

    with contextlib.redirect_stdout(io.StringIO()):
        finder(str(data), dry_run=True)
    with open(data / "biofile_finder.csv", newline="") as f:
        rows = sum(1 for _ in csv.reader(f)) - 1
    (data / "biofile_finder.csv").unlink()  # not left for ngffkit's listing
    if rows != images:
        raise RuntimeError(f"ome-zarr-py finder found {rows} images; expected {images}")


def warm_up(*readers: Callable[[], Any]) -> None:
    """Pay the imports (and the HTTP client's set-up) before anything is timed; a failure here is not a result."""
    for reader in readers:
        with contextlib.suppress(Exception):
            reader()


def main(argv: list[str]) -> None:
    which, *args = argv
    if which == "plates":
        warm = f"{args[0]}/warm.zarr"
        serve(lambda: warm_up(*plates_jobs(warm).values()), lambda line: plates_jobs(line.split()[1])[line.split()[0]])
    elif which == "plates-validate":  # the warm-up pays the imports; an image is no plate to the validator
        warm = f"{args[0]}/warm.zarr"
        serve(lambda: warm_up(*plates_validate_jobs(warm).values()),
              lambda line: plates_validate_jobs(line.split()[1])[line.split()[0]])  # fmt: skip
    elif which == "remote-napari-ome-zarr":
        jobs = remote_napari_ome_zarr_jobs(args[0], args[1].split(","))
        serve(lambda: warm_up(lambda: napari_ome_zarr_layers(f"{args[0]}/warm.zarr")), jobs.__getitem__)
    elif which == "remote-ome-zarr-py":
        jobs = remote_ome_zarr_py_jobs(args[0])
        serve(lambda: warm_up(lambda: ome_zarr_nodes(f"{args[0]}/warm.zarr")), jobs.__getitem__)
    elif which == "finder":  # jobs: "FOLDER IMAGES"; the warm-up is the benchmark's first (untimed) job
        serve(
            lambda: None,
            lambda line: lambda: ome_zarr_finder(Path(line.rsplit(" ", 1)[0]), int(line.rsplit(" ", 1)[1])),
        )
    else:
        raise SystemExit(f"unknown job set {which!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
