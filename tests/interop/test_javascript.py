"""zarrita (the JavaScript zarr library under vizarr and ome-zarr.js) reads what ``ngffkit serve`` serves.

A web viewer's route: Node fetches over HTTP from ``ngffkit serve``, opens the OME group, then every level
array, and reports shapes, data types, scales and pixel sums. zarrita lives in a Node folder of its own
(peers/, built once). Skips without Node (fails under CI=true).
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import ngffkit
from ngffkit.tools.serve import serving

from .tools import run_json, zarrita

pytestmark = pytest.mark.peers

READ_PYRAMID = """
import * as zarr from "zarrita";
const root = zarr.root(new zarr.FetchStore(process.argv[2]));
let group;
try { group = await zarr.open.v3(root, { kind: "group" }); } catch { group = await zarr.open.v2(root, { kind: "group" }); }
const ome = group.attrs.ome ?? group.attrs;
const ms = ome.multiscales[0];
const out = { version: ome.version ?? ms.version, axes: ms.axes.map((a) => a.name), levels: [] };
for (const ds of ms.datasets) {
  const array = await zarr.open(root.resolve(ds.path), { kind: "array" });
  const { data } = await zarr.get(array);
  let sum = 0;
  for (const v of data) sum += Number(v);
  out.levels.push({ shape: array.shape, dtype: array.dtype, sum, scale: ds.coordinateTransformations[0].scale });
}
console.log(JSON.stringify(out));
"""

PIXELS = np.random.default_rng(3).integers(0, 60000, (2, 96, 80), dtype=np.uint16)


@pytest.mark.network
@pytest.mark.parametrize(("version", "shards"), [("0.4", None), ("0.5", None), ("0.5", (2, 64, 64))])
def test_zarrita_reads_what_we_serve(tmp_path: pathlib.Path, version: str, shards: tuple[int, ...] | None) -> None:
    node, folder = zarrita()
    script = folder / "read_pyramid.mjs"  # inside the folder, so that "zarrita" resolves to its node_modules
    script.write_text(READ_PYRAMID)
    path = tmp_path / "cells.zarr"
    image = ngffkit.write_image(PIXELS, path, axes="cyx", scale={"y": 0.5, "x": 0.5}, levels=2, version=version,
                                chunks=(1, 32, 32), shards=shards)  # fmt: skip
    with serving(path) as url:
        found = run_json([node, str(script), url], cwd=folder)
    assert found["version"] == version and found["axes"] == ["c", "y", "x"]
    for k, level in enumerate(found["levels"]):
        ours = image.levels[k].compute()
        assert level["shape"] == list(ours.shape) and level["dtype"] == "uint16"
        assert level["sum"] == int(ours.astype("int64").sum())
        assert level["scale"] == list(image.scale(k))
