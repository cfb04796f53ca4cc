"""Hostile datasets on disk: FIFOs, devices, sparse giants, absurd fan-out and chunk counts.

Each case runs in a capped child (see bounded.py): it must end -- with one NGFFError or a bounded result -- within
the timeout, and the child's peak memory must stay a few hundred MiB whatever the input claims.
"""

from __future__ import annotations

import json
import os
import pathlib
import stat

import numpy as np
import pytest

import ngffkit

from ..clirun import one_line_error, run
from .bounded import run_cases

pytestmark = pytest.mark.timeout(600)

#: Peak resident memory a case may reach: ngffkit, numpy, dask and zarr loaded take ~200 MiB.
PEAK_MIB = 600


def coins_like(path: pathlib.Path, version: str = "0.5") -> pathlib.Path:
    ngffkit.write_image(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64), path, chunks=(32, 32), version=version)
    return path


def set_attrs(path: pathlib.Path, mutate: object) -> None:
    doc = json.loads((path / "zarr.json").read_text())
    mutate(doc["attributes"]["ome"])  # type: ignore[operator]
    (path / "zarr.json").write_text(json.dumps(doc))


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pathlib.Path]:
    root = tmp_path_factory.mktemp("hostile")
    made: dict[str, pathlib.Path] = {}
    # a FIFO where zarr.json should be: reading it would block forever
    fifo = coins_like(root / "fifo.zarr")
    (fifo / "zarr.json").unlink()
    os.mkfifo(fifo / "zarr.json")
    made["fifo"] = fifo
    # a FIFO as a chunk
    fifo_chunk = coins_like(root / "fifo-chunk.zarr")
    (fifo_chunk / "0" / "c" / "0" / "0").unlink()
    os.mkfifo(fifo_chunk / "0" / "c" / "0" / "0")
    made["fifo-chunk"] = fifo_chunk
    # a character device (like /dev/zero) as a chunk: reading it never ends
    device = coins_like(root / "device.zarr")
    chunk = device / "0" / "c" / "0" / "1"
    chunk.unlink()
    try:
        os.mknod(chunk, stat.S_IFCHR | 0o600, os.makedev(1, 5))
        made["device"] = device
    except PermissionError:
        pass  # not root: the FIFO cases cover non-regular files
    # a 3 GiB sparse zarr.json
    sparse = coins_like(root / "sparse.zarr")
    with (sparse / "zarr.json").open("r+b") as f:
        f.truncate(3 * 1024**3)
    made["sparse"] = sparse
    # 200 000 datasets in one multiscale
    levels = coins_like(root / "levels.zarr")
    set_attrs(levels, lambda ome: ome["multiscales"][0].update(datasets=[
        {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1]}]}] * 200_000))  # fmt: skip
    made["levels"] = levels
    # a plate listing 100 000 wells, and a 2000 x 2000 plate grid holding one well
    for name, rows, columns, wells in (
        ("wells", 400, 250, [(r, c) for r in range(400) for c in range(250)]),
        ("grid", 2000, 2000, [(0, 0)]),
    ):
        plate = root / f"{name}.zarr"
        plate.mkdir()
        plate_meta = {
            "rows": [{"name": f"r{i}"} for i in range(rows)],
            "columns": [{"name": f"{i}"} for i in range(columns)],
            "wells": [{"path": f"r{r}/{c}", "rowIndex": r, "columnIndex": c} for r, c in wells],
        }
        doc = {"zarr_format": 3, "node_type": "group", "attributes": {"ome": {"version": "0.5", "plate": plate_meta}}}
        (plate / "zarr.json").write_text(json.dumps(doc))
        made[name] = plate
    # 10 000 channels: napari would get 10 000 layers
    channels = root / "channels.zarr"
    ngffkit.write_image(np.zeros((10_000, 4, 4), np.uint8), channels, axes="cyx", chunks=(1000, 4, 4))
    made["channels"] = channels
    # 10^12 one-element chunks in a row
    many = coins_like(root / "many-chunks.zarr")
    array_doc = json.loads((many / "0" / "zarr.json").read_text())
    array_doc["shape"] = [1, 10**12]
    array_doc["chunk_grid"]["configuration"]["chunk_shape"] = [1, 1]
    (many / "0" / "zarr.json").write_text(json.dumps(array_doc))
    (many / "0" / "c" / "0").mkdir(parents=True, exist_ok=True)
    made["many-chunks"] = many
    return made


def test_non_regular_files_sparse_giants_and_fan_out_end_quickly_and_small(hostile: dict[str, pathlib.Path]) -> None:
    cases = {
        "fifo-open": f"ngffkit.open({str(hostile['fifo'])!r})",
        "fifo-validate": f"result = ngffkit.validate({str(hostile['fifo'])!r}).valid",
        "fifo-chunk": f"ngffkit.open({str(hostile['fifo-chunk'])!r}).levels[0].compute()",
        "sparse": f"ngffkit.open({str(hostile['sparse'])!r})",
        "levels": f"ngffkit.open({str(hostile['levels'])!r})",
        "levels-validate": f"result = [f.rule for f in ngffkit.validate({str(hostile['levels'])!r}).errors]",
        "wells": f"ngffkit.open({str(hostile['wells'])!r})",
        "grid": f"ngffkit.open({str(hostile['grid'])!r})",
        "channels": f"result = [k.get('channel_axis') for _, k, _ in ngffkit.layers(ngffkit.open({str(hostile['channels'])!r}))]",
        "many-chunks": (
            "from ngffkit.store.local import ConfinedLocalStore\n"
            "reads = []\n"
            "original = ConfinedLocalStore.get\n"
            "async def counting(self, key, prototype=None, byte_range=None):\n"
            "    reads.append(key)\n"
            "    return await original(self, key, prototype, byte_range)\n"
            "ConfinedLocalStore.get = counting\n"
            f"level = ngffkit.open({str(hostile['many-chunks'])!r}).levels[0]\n"
            "pixels = level[0, 10**9 : 10**9 + 4].compute()\n"
            "result = (pixels.tolist(), sorted(k for k in reads if '/c/' in k))"
        ),
    }
    if "device" in hostile:
        cases["device"] = f"ngffkit.open({str(hostile['device'])!r}).levels[0].compute()"
    outcomes = run_cases(cases)
    for name, outcome in outcomes.items():
        assert outcome.peak_mib < PEAK_MIB, f"{name} peaked at {outcome.peak_mib:.0f} MiB"
    for name in ("fifo-open", "fifo-chunk", "device"):
        if name in outcomes:
            assert outcomes[name].raised == "UnsafePath" and "not a regular file" in outcomes[name].message, outcomes[
                name
            ]
    assert outcomes["fifo-validate"].raised is None and outcomes["fifo-validate"].result == "False"
    assert outcomes["sparse"].raised == "LimitExceeded" and "NGFFKIT_MAX_DOCUMENT_BYTES" in outcomes["sparse"].message
    for name, setting in (("levels", "MAX_LEVELS"), ("wells", "MAX_WELLS"), ("grid", "MAX_PLATE_CELLS")):
        assert outcomes[name].raised == "LimitExceeded" and f"NGFFKIT_{setting}" in outcomes[name].message, outcomes[
            name
        ]
    assert "limit-exceeded" in outcomes["levels-validate"].result
    assert outcomes["channels"].raised is None and outcomes["channels"].result == "[None]"  # one layer, not 10 000
    pixels, reads = eval(outcomes["many-chunks"].result)
    assert pixels == [0, 0, 0, 0] and len(reads) <= 4, reads[:10]


def test_limits_can_be_raised(hostile: dict[str, pathlib.Path]) -> None:
    outcomes = run_cases(
        {"grid": f"result = type(ngffkit.open({str(hostile['grid'])!r})).__name__"},
        env={"NGFFKIT_MAX_PLATE_CELLS": "5000000"},
    )
    # raised past the grid's limit, the next check is the well itself (absent here): a clear NotFound
    assert outcomes["grid"].raised == "NotFound", outcomes["grid"]


def test_cli_and_finder_on_a_fifo(hostile: dict[str, pathlib.Path], tmp_path: pathlib.Path) -> None:
    line = one_line_error(run("info", str(hostile["fifo"]), timeout=120))
    assert "not a regular file" in line
    proc = run("validate", str(hostile["fifo"]), timeout=120)
    assert proc.returncode == 1 and "not a regular file" in proc.stdout
    from ngffkit.tools.finder import find

    catalogue = find(hostile["fifo"].parent / "fifo.zarr")
    assert not catalogue.images and catalogue.skipped


def test_serve_answers_a_fifo_at_once_and_keeps_serving(hostile: dict[str, pathlib.Path]) -> None:
    import urllib.error
    import urllib.request

    from ngffkit.tools.serve import serving

    with serving(hostile["fifo-chunk"]) as url:
        for _ in range(3):  # each request would have held a server thread forever
            with pytest.raises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(f"{url}/0/c/0/0", timeout=10)
            assert caught.value.code == 403
        with urllib.request.urlopen(f"{url}/zarr.json", timeout=10) as answer:
            assert json.loads(answer.read())["node_type"] == "group"
