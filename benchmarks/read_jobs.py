"""One timed read in a fresh process, by one reader: the child side of :mod:`benchmarks.read`.

``python -m benchmarks.read_jobs READER CALL WHAT URL SPEC`` imports the reader's libraries and opens the array (not
timed), then reads once -- WHAT is ``full``, ``plane`` or ``window``; CALL the way ngffkit is asked (``compute``,
``asarray``, ``read``; one way for the others) -- and prints one JSON line: the seconds of the read, the peak
resident memory above what the process held after its imports and the open (the kernel's high-water mark is reset
there: ``/proc/self/clear_refs``), the result's size and a checksum.
Runs in ngffkit's environment and in the peers' own ones (tensorstore, ome-zarr-py): this module imports nothing
but the standard library until the reader is chosen, and nothing of ngffkit or the benchmarks package.

SPEC is JSON: ``{"array": path of the level-0 array below URL, "plane": [...], "window": [...]}``; a selection is a
list with one entry per axis, an integer or ``[start, stop]``.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable
from typing import Any

Selection = tuple[Any, ...]


def _status(field: str) -> float:
    """A memory figure of this process from /proc (MiB)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def selection_of(entries: list[Any] | None) -> Selection:
    if entries is None:
        return (Ellipsis,)
    return tuple(e if isinstance(e, int) else slice(e[0], e[1]) for e in entries)


def _dask_first_compute() -> None:
    """dask imports ``distributed`` on its first computation when it is installed (about a second): an import,
    paid before the clock by every reader that computes through dask."""
    with contextlib.suppress(ImportError):
        import distributed  # noqa: F401


def ngffkit_reader(url: str, spec: dict[str, Any], call: str) -> Callable[[Selection], Any]:
    import numpy as np

    import ngffkit

    _dask_first_compute()
    image = ngffkit.open(url)
    level = image.levels[0]
    if call == "read":
        return lambda sel: image.read(0, None if sel == (Ellipsis,) else sel)
    if call == "asarray":
        return lambda sel: np.asarray(level[sel])
    return lambda sel: level[sel].compute()


def zarr_reader(url: str, spec: dict[str, Any], call: str) -> Callable[[Selection], Any]:
    import zarr

    array = zarr.open_array(f"{url}/{spec['array']}", mode="r")
    return lambda sel: array[sel]


def tensorstore_reader(url: str, spec: dict[str, Any], call: str) -> Callable[[Selection], Any]:
    import tensorstore as ts

    path = f"{url}/{spec['array']}/"
    kvstore = {"driver": "http", "base_url": path} if url.startswith("http") else {"driver": "file", "path": path}
    driver = "zarr3" if spec.get("zarr_format", 3) == 3 else "zarr"
    array = ts.open({"driver": driver, "kvstore": kvstore}, read=True).result()
    return lambda sel: array[sel].read().result()


def ome_zarr_reader(url: str, spec: dict[str, Any], call: str) -> Callable[[Selection], Any]:
    import numpy as np
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    _dask_first_compute()
    nodes = list(Reader(parse_url(url))())
    level = nodes[0].data[0]  # a dask array (da.from_zarr), as napari-ome-zarr and scripts get it
    return lambda sel: np.asarray(level[sel])


def copy_reader(url: str, spec: dict[str, Any], call: str) -> Callable[[Selection], Any]:
    """Not a reader: the level read with zarr before the clock, then copied into new memory on it -- the one
    step dask's compute adds to reading its blocks (its finalisation concatenates them into a new array), timed
    alone, so the table shows what that step costs on this machine."""
    import numpy as np

    source = zarr_reader(url, spec, call)((Ellipsis,))
    return lambda sel: np.array(source[sel], copy=True)


READERS = {"ngffkit": ngffkit_reader, "zarr": zarr_reader, "tensorstore": tensorstore_reader,
           "ome-zarr-py": ome_zarr_reader, "copy": copy_reader}  # fmt: skip


def reset_peak() -> None:
    """Make the kernel's high-water mark (VmHWM) start again from the memory held now."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass  # an older kernel: the peak then includes the imports' own, which only makes it larger


def main() -> None:
    reader, call, what, url, raw = sys.argv[1:6]
    spec = json.loads(raw)
    read = READERS[reader](url, spec, call)
    sel = selection_of(spec.get(what)) if what in ("plane", "window") else (Ellipsis,)
    import gc

    gc.collect()
    base = _status("VmRSS")
    reset_peak()
    start = time.perf_counter()
    result = read(sel)
    seconds = time.perf_counter() - start
    peak = _status("VmHWM") - base
    import numpy as np

    pixels = np.asarray(result)
    sample = pixels[tuple(slice(None, None, 7) for _ in range(pixels.ndim))] if pixels.ndim else pixels
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "result_mib": pixels.nbytes / 2**20,
                      "shape": list(pixels.shape), "checksum": int(sample.astype("int64").sum())}))  # fmt: skip


if __name__ == "__main__":
    main()
