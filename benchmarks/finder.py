"""Cataloguing a folder of OME-Zarr images (``ngffkit finder``), locally and over a slow HTTP server, and how
the cost grows with the number of images.

ome-zarr-py's ``finder`` walks the folders down to each dataset and reads its one metadata document, and
records paths and names only; ngffkit lists down to each dataset and then reads the metadata of all of them
(group, level-0 array, labels) in a few concurrent batches, so its table also has sizes, data type, channels
and labels. ngffkit's local runs are in this process, ome-zarr-py's in a client process of its own environment
(peers/; :mod:`benchmarks.peer_readers`); over HTTP, ngffkit runs in a client process of its own
(:mod:`benchmarks.client_process`) and the loopback server in this one, as a real server is. The growth table is
what a user with a big folder (or bucket) cares about: a finder whose round trips grow with the images would be
unusable remotely at 10,000 images.

Run: python -m benchmarks.finder [--quick | --smoke]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from loopback.servers import http_file_server
from peers import OME_ZARR_PY, process_environment

from benchmarks.client_process import ClientProcess, serve
from benchmarks.common import machine, peer_versions, save, timed
from ngffkit.samples.examples import write_coins
from ngffkit.store.remote import MAX_CONNECTIONS
from ngffkit.tools.finder import Catalogue, find

LATENCY = 0.02
PER_FOLDER = 50
#: (image counts, local repetitions) per mode; HTTP runs once per count (10,000 images take about a minute).
MODES: dict[str, tuple[tuple[int, ...], int]] = {
    "full": ((100, 1_000, 10_000), 3),
    "quick": ((100, 1_000), 1),
    "smoke": ((10, 30), 1),
}
NGFFKIT_LOCAL = ("ngffkit finder", "local disk")
OME_ZARR_LOCAL = ("ome-zarr-py finder (paths only)", "local disk")  # its version: in the results' text
NGFFKIT_HTTP = ("ngffkit finder", f"HTTP, +{LATENCY * 1000:.0f} ms per response")


@dataclass(frozen=True)
class Seed:
    """One written image, as the folders and files to recreate: copies are hard links to its files, so a
    10,000-image tree costs links and directories, not 10,000 pyramid writes (and every copy is a real,
    complete OME-Zarr: same bytes)."""

    root: Path
    folders: tuple[Path, ...]
    files: tuple[Path, ...]


@dataclass
class Measurement:
    """One configuration at one size: the times of its repetitions and, over HTTP, what the server saw."""

    images: int
    cataloguer: str
    where: str
    times: list[float] = field(default_factory=list)
    requests: int | None = None
    waves: int | None = None

    @property
    def time(self) -> float:
        return statistics.median(self.times)

    @property
    def per_image_ms(self) -> float:
        return 1000 * self.time / self.images


def write_seed(folder: Path) -> Seed:
    """A 3-level coins image with a label image (the same dataset as the finder tests use)."""
    root = write_coins(folder / "seed.ome.zarr")
    folders = tuple(sorted(p.relative_to(root) for p in root.rglob("*") if p.is_dir()))
    files = tuple(sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file()))
    return Seed(root, folders, files)


def grow_tree(data: Path, seed: Seed, start: int, stop: int) -> None:
    """Images ``start`` to ``stop - 1``, ``PER_FOLDER`` per folder; a larger size only adds images to the
    tree of the smaller one, so the sizes share their work."""
    for i in range(start, stop):
        image = data / f"batch{i // PER_FOLDER:04d}" / f"image{i:05d}.ome.zarr"
        image.mkdir(parents=True)
        for sub in seed.folders:
            (image / sub).mkdir()
        for name in seed.files:
            try:
                os.link(seed.root / name, image / name)
            except OSError:  # a file system without hard links: a real copy, slower but the same tree
                shutil.copyfile(seed.root / name, image / name)


def check_catalogue(catalogue: Catalogue, images: int, where: str) -> None:
    """Fail loudly unless every image was found and read fully: a fast wrong answer is not a result."""
    complete = [i for i in catalogue.images if i.levels == 3 and i.labels == ["coins"] and i.dtype and i.sizes]
    if len(catalogue.images) != images or len(complete) != images or catalogue.skipped:
        raise RuntimeError(
            f"ngffkit finder ({where}) found {len(catalogue.images)} images, {len(complete)} complete, "
            f"{len(catalogue.skipped)} skipped; expected {images}"
        )


def measure_local(data: Path, images: int, repeat: int, peer: ClientProcess) -> list[Measurement]:
    """Both finders on local disk, alternating, so that a slow moment of a shared machine hits both; ome-zarr-py's
    in its client process (its own environment: :func:`benchmarks.peer_readers.ome_zarr_finder`, which checks
    that it found every image), timed there as ngffkit's is here."""
    ours, theirs = Measurement(images, *NGFFKIT_LOCAL), Measurement(images, *OME_ZARR_LOCAL)
    for _ in range(repeat):
        ours.times += timed(lambda: check_catalogue(find(data), images, "local"), 1)
        theirs.times.append(peer.run(f"{data} {images}")["time"])
    return [ours, theirs]


def measure_http(client: ClientProcess, images: int) -> Measurement:
    """ngffkit in the client process over the loopback server; the request log gives the requests and waves."""
    result = client.run(str(images))
    remote = Measurement(images, *NGFFKIT_HTTP)
    remote.times, remote.requests, remote.waves = [result["time"]], result["requests"], result["waves"]
    return remote


def child(server_url: str) -> None:
    """The client process: each job is the number of images the tree now holds (the catalogue is checked). Its
    warm-up catalogues the tree once: imports and the HTTP session's set-up are paid once per process."""
    url = f"{server_url}/data/"
    serve(lambda: find(url), lambda images: lambda: check_catalogue(find(url), int(images), "HTTP"))


def warm_up(data: Path, images: int, peer: ClientProcess) -> None:
    """One untimed local run of each finder: the first would otherwise time imports (ome-zarr-py pulls in dask)."""
    find(data)
    peer.run(f"{data} {images}")


def run(sizes: Sequence[int], repeat: int) -> list[Measurement]:
    """Every configuration at every size, growing one tree."""
    tmp = Path(tempfile.mkdtemp(prefix="ngffkit-finder-"))
    out: list[Measurement] = []
    try:
        seed, data, made = write_seed(tmp), tmp / "data", 0
        with http_file_server(tmp, latency=LATENCY, keep_alive=True) as server, contextlib.ExitStack() as stack:
            client: ClientProcess | None = None
            peer = stack.enter_context(ClientProcess(None, OME_ZARR_PY.command("benchmarks.peer_readers", "finder"),
                                                     env=process_environment()))  # fmt: skip
            for images in sorted(sizes):
                grow_tree(data, seed, made, images)
                if client is None:  # started once there is a tree to warm up on
                    warm_up(data, images, peer)
                    command = [sys.executable, "-m", "benchmarks.finder", "--child", server.url]
                    client = stack.enter_context(ClientProcess(server, command))
                made = images
                out += measure_local(data, images, repeat, peer)
                out.append(measure_http(client, images))
                print(f"  {images} images done", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def table(measurements: list[Measurement]) -> list[str]:
    """One row per configuration and size; the ratio is to ome-zarr-py's local time at the same size."""
    peer = {m.images: m.time for m in measurements if (m.cataloguer, m.where) == OME_ZARR_LOCAL}
    lines = [
        "| images | cataloguer | where | time | per image | requests | sequential waves | vs ome-zarr-py (local) |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for m in measurements:
        requests = "" if m.requests is None else f"{m.requests:,}"
        waves = "" if m.waves is None else str(m.waves)
        lines.append(
            f"| {m.images:,} | {m.cataloguer} | {m.where} | {m.time:.2f} s | {m.per_image_ms:.2f} ms | {requests} | "
            f"{waves} | {ratio(m.time / peer[m.images])} |"
        )
    return lines


def ratio(value: float) -> str:
    """Two significant figures either side of 1 (0.08x, 1.3x, 63x)."""
    return f"{value:.2f}x" if value < 1 else f"{value:.1f}x" if value < 10 else f"{value:.0f}x"


def growth_exponent(small: Measurement, large: Measurement) -> float:
    """k in time ~ images**k between two sizes: 1 is linear, below 1 fixed costs still count, above 1 worse."""
    return math.log(large.time / small.time) / math.log(large.images / small.images)


def shape(measurements: list[Measurement]) -> list[str]:
    """The curve of each configuration in words, computed from the table (never written by hand)."""
    lines = []
    for config in (NGFFKIT_LOCAL, OME_ZARR_LOCAL, NGFFKIT_HTTP):
        runs = sorted((m for m in measurements if (m.cataloguer, m.where) == config), key=lambda m: m.images)
        first, last = runs[0], runs[-1]
        k = growth_exponent(runs[-2], last)
        verdict = (
            "linear" if 0.85 <= k <= 1.15 else "sublinear: fixed costs still count" if k < 0.85 else "WORSE THAN LINEAR"
        )
        text = (
            f"- {config[0]}, {config[1]}: {first.per_image_ms:.2f} ms per image at {first.images:,} images, "
            f"{last.per_image_ms:.2f} ms at {last.images:,}; time ~ images^{k:.2f} from {runs[-2].images:,} "
            f"to {last.images:,} ({verdict})"
        )
        if last.waves is not None and first.waves is not None:
            text += "; " + round_trips(first, last)
        lines.append(text + ".")
    return lines


def round_trips(first: Measurement, last: Measurement) -> str:
    """Whether the sequential waves stayed put as the images grew, and how much of the time the latency alone
    explains. Waves may grow without the finder making more batches: the request log starts a new wave
    whenever every request in flight has finished before the next one is sent, which a client busy parsing
    (or a busy machine) causes too. The latency floor is arithmetic, not a model: waves do not overlap, and with
    at most ``MAX_CONNECTIONS`` requests in flight ``requests`` requests need ``requests / MAX_CONNECTIONS``
    latencies in a row; the larger of the two is a lower bound."""
    assert first.waves is not None and last.waves is not None and last.requests is not None
    if last.waves - first.waves <= 2:
        waves = f"{first.waves} sequential waves at {first.images:,} images, {last.waves} at {last.images:,} (round trips constant)"
    else:
        waves = (
            f"sequential waves grow from {first.waves} at {first.images:,} images to {last.waves} at {last.images:,}"
        )
    floor = max(last.waves, math.ceil(last.requests / MAX_CONNECTIONS)) * LATENCY
    return (
        f"{waves}; at {last.images:,} images the latency alone needs at least {floor:.2f} s of the {last.time:.2f} s "
        f"({last.requests:,} requests, at most {MAX_CONNECTIONS} in flight), the rest is not waiting for the network"
    )


def report(measurements: list[Measurement], mode: str, repeat: int) -> list[str]:
    """The results file: what was measured and how, the table, the shape of each curve."""
    sizes = sorted({m.images for m in measurements})
    return [
        "# Finder: a BioFile Finder table of a folder of OME-Zarr images, and how its cost grows",
        "",
        f"Machine: {machine()}",
        "",
        f"{', '.join(f'{n:,}' for n in sizes)} images (coins, 3 levels + a label image each, hard-linked copies), "
        f"{PER_FOLDER} per folder; local: median of {repeat} repetition(s), HTTP: one run; mode {mode}. Over HTTP "
        "ngffkit runs in a process of its own, the server (loopback/servers.py, HTTP/1.1 keep-alive) in the "
        f"benchmark's. ome-zarr-py runs in a process of its own environment ({peer_versions(OME_ZARR_PY)}).",
        "",
        *table(measurements),
        "",
        *shape(measurements),
        "",
        "Every run is checked: each finder found every image, and ngffkit read each one fully (3 levels, the "
        "label image, sizes and data type).",
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """``--quick`` and ``--smoke`` write their own results files, never over the full run's."""
    if sys.argv[1:2] == ["--child"] and argv is None:
        child(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="100 and 1,000 images, one repetition")
    group.add_argument("--smoke", action="store_true", help="10 and 30 images: checks the benchmark still runs")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    sizes, repeat = MODES[mode]
    lines = report(run(sizes, repeat), mode, repeat)
    path = save("finder" + ("" if mode == "full" else f"_{mode}"), lines)
    print("\n".join(lines))
    print(f"\nsaved to {path}")


if __name__ == "__main__":
    main()
