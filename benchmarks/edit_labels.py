"""Proofreading in place: saving brush strokes on a huge label image writes only the shards they touch (issue 34).

The case: a 4096 x 4096 x 512 (x, y, z) uint32 label image, made lazily and mostly empty (small on disk), NGFF
0.5 in 256^3 shards of 64^3 chunks, its pyramid halving y and x down to 64 pixels (7 levels). 20 brush strokes of
radius 10 px, each on one z-plane, spread over at most 8 level-0 shards (painting existing labels, new labels and
background), plus 2 flood fills bounded to that region, are made with :class:`ngffkit.LabelEditor` and saved.
Reported: the save's time, the files it wrote per level against the shards the edits touch per level, the time
per written shard, and that every other file of the label image is byte for byte as it was.

Against (not in ``--quick``): rewriting a whole 1 GiB label image with the same edits, with ngffkit
(``write_label_image``) and with ome-zarr-py (``write_labels``, in its own environment, peers/), beside saving the
same edits with the editor on that volume.

Run: python -m benchmarks.edit_labels [--quick] [--smoke]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import shutil
import subprocess
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
from peers import OME_ZARR_PY, Unavailable, process_environment
from scipy import ndimage

from benchmarks.common import machine, peer_versions, save

#: The objects: cubes of CUBE pixels, aligned to CUBE, so that every level (y and x halved) holds them exactly.
CUBE = 64


@dataclass(frozen=True)
class Case:
    """One volume and its storage: shape (z, y, x), shard and chunk shapes."""

    shape: tuple[int, int, int]
    shard: tuple[int, int, int]
    chunk: tuple[int, int, int]
    cube: int = CUBE

    @property
    def gib(self) -> float:
        return float(np.prod(self.shape)) * 4 / 2**30

    @property
    def edited(self) -> tuple[int, int, int]:
        """The corner the edits stay in: 2 x 2 x 2 shards."""
        return tuple(min(2 * s, n) for s, n in zip(self.shard, self.shape, strict=True))  # type: ignore[return-value]


def cubes(case: Case) -> list[tuple[int, int, int, int]]:
    """(z, y, x, label) of every cube: a grid of them in the edited corner, and a sparse diagonal elsewhere."""
    step = 2 * case.cube
    out = []
    corner = case.edited
    label = 1
    for z in range(0, corner[0] - case.cube + 1, step):
        for y in range(0, corner[1] - case.cube + 1, step):
            for x in range(0, corner[2] - case.cube + 1, step):
                out.append((z, y, x, label))
                label += 1
    far = 4 * case.shard[1]
    for i, y in enumerate(range(far, case.shape[1] - case.cube + 1, far)):
        out.append((0, y, y, 1000 + i))
    return out


def level_block(block: np.ndarray, objects: list[tuple[int, int, int, int]], cube: int, factor: int,
                block_info: Any = None) -> np.ndarray:  # fmt: skip
    """One block of level ``k`` (y and x shrunk by ``factor``): the cubes inside it, exactly as at level 0."""
    (z0, z1), (y0, y1), (x0, x1) = block_info[None]["array-location"]
    out = np.zeros((z1 - z0, y1 - y0, x1 - x0), np.uint32)
    size = cube // factor
    for z, y, x, label in objects:
        ys, xs = y // factor, x // factor
        box = (slice(max(z, z0) - z0, min(z + cube, z1) - z0), slice(max(ys, y0) - y0, min(ys + size, y1) - y0),
               slice(max(xs, x0) - x0, min(xs + size, x1) - x0))  # fmt: skip
        if all(s.stop > s.start for s in box):
            out[box] = label
    return out


def lazy_pyramid(case: Case) -> list[da.Array]:
    """Every level, lazily: what the writer's mode pyramid gives for aligned cubes (each level halves y and x)."""
    objects, levels = cubes(case), []
    factor = 1
    while True:
        shape = (case.shape[0], -(-case.shape[1] // factor), -(-case.shape[2] // factor))
        chunks = tuple(min(s, n) for s, n in zip(case.shard, shape, strict=True))
        template = da.empty(shape, chunks=chunks, dtype=np.uint32)
        levels.append(template.map_blocks(level_block, objects, case.cube, factor, dtype=np.uint32))
        if max(shape[1:]) <= 64 or case.cube // (2 * factor) < 1:
            return levels
        factor *= 2


@dataclass(frozen=True)
class Stroke:
    z: int
    y: int
    x: int
    value: int


def strokes(case: Case, count: int = 20, radius: int = 10) -> list[Stroke]:
    """``count`` strokes inside the edited corner: existing labels, new labels (2000+) and background."""
    rng = np.random.default_rng(34)
    corner = case.edited
    labels = [label for *_, label in cubes(case) if label < 1000]
    out = []
    for i in range(count):
        value = [int(rng.choice(labels)), 2000 + i, 0][i % 3]
        out.append(Stroke(int(rng.integers(0, corner[0])), int(rng.integers(radius, corner[1] - radius)),
                          int(rng.integers(radius, corner[2] - radius)), value))  # fmt: skip
    return out


def paint(editor: Any, stroke: Stroke, radius: int) -> None:
    """A round brush on one plane, as napari's paint tool: only the disc changes."""
    box = (stroke.z, slice(stroke.y - radius, stroke.y + radius + 1), slice(stroke.x - radius, stroke.x + radius + 1))
    plane = editor.read(box)
    yy, xx = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    plane[yy**2 + xx**2 <= radius**2] = stroke.value
    editor.write(box, plane)


def fill(editor: Any, z: int, y: int, x: int, value: int, reach: int) -> None:
    """A flood fill from (z, y, x) on its plane, bounded to ``reach`` pixels around it (napari fills a plane)."""
    box = (z, slice(max(0, y - reach), y + reach), slice(max(0, x - reach), x + reach))
    plane = editor.read(box)
    seed = plane[y - box[1].start, x - box[2].start]
    parts, _ = ndimage.label(plane == seed)
    plane[parts == parts[y - box[1].start, x - box[2].start]] = value
    editor.write(box, plane)


def edit(editor: Any, case: Case, radius: int = 10) -> list[Stroke]:
    made = strokes(case, radius=radius)
    for stroke in made:
        paint(editor, stroke, radius)
    c = case.cube
    fill(editor, c // 2, 2 * c + c // 2, 2 * c + c // 2, 3000, reach=2 * c)  # a cube's cross-section relabelled
    fill(editor, c // 2 + 1, c, c, 3001, reach=c // 2)  # background around a corner, bounded
    return made


def apply_to_array(volume: np.ndarray, case: Case, radius: int = 10) -> None:
    """The same edits on an in-memory volume (for the whole-image rewrites)."""

    class Plain:
        def read(self, box: tuple[Any, ...]) -> np.ndarray:
            return volume[box].copy()

        def write(self, box: tuple[Any, ...], values: np.ndarray) -> None:
            volume[box] = values

    edit(Plain(), case, radius)


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*")
            if p.is_file()}  # fmt: skip


def touched_shards(editor: Any) -> dict[int, int]:
    """Per level, the shards the edited boxes reach (the geometry; the writer may find some unchanged)."""
    from ngffkit.writer.edit_levels import level_boxes

    out: dict[int, set[tuple[int, ...]]] = {}
    shards = [editor.labels.level_source(k)[0].shards for k in range(len(editor.labels.shapes))]
    for box in editor.edited_boxes:
        for k, level_box in enumerate(level_boxes(editor.rule, box)):
            ranges = [range(lo // s, -(-hi // s)) for (lo, hi), s in zip(level_box, shards[k], strict=True)]
            out.setdefault(k, set()).update(itertools.product(*ranges))
    return {k: len(v) for k, v in sorted(out.items())}


def write_lazy(case: Case, dest: Path) -> float:
    import ngffkit

    start = time.perf_counter()
    ngffkit.write_label_image(lazy_pyramid(case), dest, axes="zyx", chunks=case.chunk, shards=case.shard,
                              colors=None, version="0.5")  # fmt: skip
    return time.perf_counter() - start


def proofread(case: Case, dest: Path) -> dict[str, Any]:
    """Edit and save on the label image at ``dest``; what was written, against what the edits touch."""
    import ngffkit

    before = digests(dest)
    editor = ngffkit.edit_labels(dest)
    start = time.perf_counter()
    edit(editor, case)
    editing = time.perf_counter() - start
    touched = touched_shards(editor)
    report = editor.save()
    after = digests(dest)
    changed = {key for key in after if before.get(key) != after[key]}
    written = {key for keys in report.written.values() for key in keys}
    return {
        "editing": editing,
        "save": report.seconds,
        "written": {k: len(v) for k, v in sorted(report.written.items())},
        "touched": touched,
        "metadata": report.metadata_written,
        "identical": changed == written | ({"zarr.json"} if report.metadata_written else set())
        and set(before) <= set(after),
        "others": len(after) - len(changed),
        "bytes": report.bytes_written,
    }


OME_ZARR_WRITE = textwrap.dedent("""
    import json, sys, time
    import numpy as np, zarr
    from ome_zarr.writer import write_labels
    data = np.load(sys.argv[1])
    dest, chunk, shard, levels = sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5])
    group = zarr.open_group(dest, mode="w")
    start = time.perf_counter()
    write_labels(data, group, "cells", axes="zyx", scale_factors=[{"y": 2**k, "x": 2**k} for k in range(1, levels)],
                 storage_options={"chunks": chunk, "shards": shard})
    print(json.dumps({"seconds": time.perf_counter() - start}))
""")


def rewrite_comparison(case: Case, tmp: Path, with_peer: bool) -> list[str]:
    """Saving the edits with the editor against rewriting the whole edited label image (ngffkit, ome-zarr-py)."""
    import ngffkit

    dest = tmp / "compare.zarr"
    write_lazy(case, dest)
    levels = len(ngffkit.open(dest).shapes)  # type: ignore[union-attr]
    result = proofread(case, dest)
    volume = np.asarray(lazy_pyramid(case)[0])
    apply_to_array(volume, case)
    start = time.perf_counter()
    ngffkit.write_label_image(volume, tmp / "rewrite.zarr", axes="zyx", chunks=case.chunk, shards=case.shard,
                              levels=levels, colors=None, version="0.5")  # fmt: skip
    rewrite = time.perf_counter() - start
    rows = [f"| ngffkit `LabelEditor.save` (the changed shards) | {result['save']:.2f} s |",
            f"| ngffkit `write_label_image` (the whole image) | {rewrite:.2f} s |"]  # fmt: skip
    if with_peer:
        try:
            OME_ZARR_PY.environment()
            np.save(tmp / "volume.npy", volume)
            command = [str(OME_ZARR_PY.interpreter()), "-c", OME_ZARR_WRITE, str(tmp / "volume.npy"),
                       str(tmp / "peer.zarr"), json.dumps(case.chunk), json.dumps(case.shard), str(levels)]  # fmt: skip
            proc = subprocess.run(command, capture_output=True, text=True, check=False, env=process_environment())
            if proc.returncode != 0:
                raise RuntimeError(proc.stderr[-1000:])
            seconds = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
            rows.append(f"| {OME_ZARR_PY.label()} `write_labels` (the whole image; nearest) | {seconds:.2f} s |")
        except (Unavailable, RuntimeError) as failure:
            rows.append(f"| ome-zarr-py | not measured: {str(failure)[-200:]} |")
    return [
        f"### Against rewriting the whole label image ({case.gib:.2f} GiB uint32 {case.shape}, the same edits)",
        "",
        "| how | time |",
        "| --- | --- |",
        *rows,
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="the 32 GiB case; a 256 MiB rewrite, ngffkit only")
    parser.add_argument("--smoke", action="store_true", help="small volumes, to check the script runs")
    parser.add_argument("--repeat", type=int, default=None, help="saves measured, each on a fresh copy (default 5)")
    args = parser.parse_args()
    repeat = args.repeat or (1 if args.smoke else 5)
    args.quick = args.quick and not args.smoke  # the smoke run checks the peer's part too, on a tiny volume
    if args.smoke:
        big = Case((64, 512, 512), (32, 128, 128), (16, 32, 32), cube=32)
        small = Case((64, 256, 256), (32, 64, 64), (16, 32, 32), cube=32)
    else:
        big = Case((512, 4096, 4096), (256, 256, 256), (64, 64, 64))
        small = Case((128, 1024, 512), (128, 256, 256), (64, 64, 64)) if args.quick else Case(
            (256, 1024, 1024), (256, 256, 256), (64, 64, 64))  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="ngffkit-bench-"))
    try:
        setup = write_lazy(big, tmp / "big.zarr")
        on_disk = sum(p.stat().st_size for p in (tmp / "big.zarr").rglob("*") if p.is_file()) / 2**20
        results = []
        for run in range(repeat):  # each on a fresh copy of the (small on disk) label image
            shutil.copytree(tmp / "big.zarr", tmp / f"run{run}.zarr")
            results.append(proofread(big, tmp / f"run{run}.zarr"))
        result = {**results[0], "save": float(np.median([r["save"] for r in results])),
                  "identical": all(r["identical"] for r in results)}  # fmt: skip
        spread = (max(r["save"] for r in results) - min(r["save"] for r in results)) / 2
        comparison = rewrite_comparison(small, tmp, with_peer=not args.quick)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    files = sum(result["written"].values())
    goal = "met" if result["save"] < 1.0 else "NOT met"
    lines = [
        "# Proofreading in place: saving brush strokes on a huge label image",
        "",
        f"Machine: {machine()}; peers, each in its own environment: "
        f"{peer_versions(OME_ZARR_PY) if not args.quick else 'not run (--quick)'}",
        "",
        f"{big.gib:.3g} GiB uint32 label image {big.shape} (z, y, x), made lazily and mostly empty ({on_disk:.1f} MiB "
        f"on disk, written in {setup:.0f} s), NGFF 0.5, {big.shard} shards of {big.chunk} chunks, "
        f"{len(result['written'] | result['touched'])} levels. 20 brush strokes of radius 10 px on single z-planes "
        f"inside {big.edited} (8 level-0 shards) and 2 bounded flood fills, made with `ngffkit.LabelEditor` "
        f"({result['editing']:.2f} s), then saved; median ± half range of {repeat} saves, each on a fresh copy. The machine (2 cores) is shared with other engineers' work.",
        "",
        "| save (median) | files written | time per written shard | every other file byte-identical | goal (< 1 s) |",
        "| --- | --- | --- | --- | --- |",
        f"| {result['save']:.2f} s ± {spread:.2f} | {files} shards ({result['bytes'] / 2**10:.0f} KiB)"
        f"{' + the image-label colours' if result['metadata'] else ''} | {result['save'] / max(files, 1) * 1000:.0f} ms"
        f" | {'yes' if result['identical'] else 'NO'} ({result['others']} other files) | {goal} |",
        "",
        "Per level: shards the edited boxes reach, and shards written (a shard whose pixels the edits do not change "
        "-- a stroke over the same label, a mode that stays -- is not written):",
        "",
        "| level | shards touched | shards written |",
        "| --- | --- | --- |",
        *(
            f"| {k} | {result['touched'].get(k, 0)} | {result['written'].get(k, 0)} |"
            for k in sorted(result["touched"])
        ),
        "",
        *comparison,
    ]
    print(save("edit_labels_smoke" if args.smoke else "edit_labels_quick" if args.quick else "edit_labels", lines))


if __name__ == "__main__":
    main()
