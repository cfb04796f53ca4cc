"""Malformed OME-Zarr datasets, built on disk by the tests (never downloaded): the bad-input corpus.

Each case writes one dataset below a folder and returns the path a user would open. ``usable`` says what
the right outcome is: False -- ``ngffkit.open`` must raise an :class:`~ngffkit.NGFFError` subclass; True --
the data can still be shown, so it opens (with a warning where something had to be skipped) and the
validator reports what is wrong.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Builder = Callable[[pathlib.Path], pathlib.Path]


@dataclass(frozen=True)
class Case:
    name: str
    build: Builder
    usable: bool
    #: The validator must report at least one finding of this severity ("error" or "warning").
    finding: str = "error"
    #: Whether napari can draw it: a usable image whose smallest plane napari cannot read whole (10^12 pixels) is
    #: left out by the napari reader with one notification (napari would read all of it, and run out of memory).
    napari_draws: bool = True


# --- well-formed pieces, to break one thing at a time -------------------------------------------------


def write(path: pathlib.Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))


def v3_array(shape: list[int], dtype: str = "uint8", chunks: list[int] | None = None, **extra: Any) -> dict[str, Any]:
    doc = {
        "zarr_format": 3, "node_type": "array", "shape": shape, "data_type": dtype,
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunks or [max(1, min(s, 8)) for s in shape]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
        "attributes": {}, "dimension_names": None,
    }  # fmt: skip
    doc.update(extra)
    return doc


def v2_array(shape: list[int], dtype: str = "|u1", **extra: Any) -> dict[str, Any]:
    doc = {"zarr_format": 2, "shape": shape, "chunks": [max(1, min(s, 8)) for s in shape], "dtype": dtype,
           "compressor": None, "fill_value": 0, "order": "C", "filters": None}  # fmt: skip
    doc.update(extra)
    return doc


def multiscale(levels: int = 2, ndim: int = 2, **extra: Any) -> dict[str, Any]:
    names = "tczyx"[-ndim:]
    doc = {
        "name": "img",
        "axes": [{"name": n, "type": "space" if n in "zyx" else "channel" if n == "c" else "time"} for n in names],
        "datasets": [
            {"path": str(k), "coordinateTransformations": [{"type": "scale", "scale": [float(2**k)] * ndim}]}
            for k in range(levels)
        ],
    }
    doc.update(extra)
    return doc


def image_v3(root: pathlib.Path, *, ms: dict[str, Any] | None = None, ome: dict[str, Any] | None = None,
             shapes: list[list[int]] | None = None) -> pathlib.Path:  # fmt: skip
    """A 0.5 image (zarr v3, 16x16 then 8x8); ``ms``/``ome`` replace parts of its metadata."""
    body = {"version": "0.5", "multiscales": [ms or multiscale()]}
    body.update(ome or {})
    write(root / "zarr.json", {"zarr_format": 3, "node_type": "group", "attributes": {"ome": body}})
    for k, shape in enumerate(shapes or [[16, 16], [8, 8]]):
        write(root / str(k) / "zarr.json", v3_array(shape))
    return root


def image_v2(
    root: pathlib.Path, *, ms: dict[str, Any] | None = None, attrs: dict[str, Any] | None = None
) -> pathlib.Path:
    """A 0.4 image (zarr v2)."""
    write(root / ".zgroup", {"zarr_format": 2})
    write(
        root / ".zattrs", attrs if attrs is not None else {"multiscales": [{"version": "0.4", **(ms or multiscale())}]}
    )
    for k, shape in enumerate([[16, 16], [8, 8]]):
        write(root / str(k) / ".zarray", v2_array(shape))
    return root


def group_v3(root: pathlib.Path, ome: dict[str, Any]) -> pathlib.Path:
    write(
        root / "zarr.json", {"zarr_format": 3, "node_type": "group", "attributes": {"ome": {"version": "0.5", **ome}}}
    )
    return root


def with_labels(root: pathlib.Path, names: list[Any]) -> pathlib.Path:
    image_v3(root)
    group_v3(root / "labels", {"labels": names})
    return root


def plate_v3(root: pathlib.Path, wells: list[dict[str, Any]], rows: Any = None, columns: Any = None,
             fields: list[Any] | None = None) -> pathlib.Path:  # fmt: skip
    plate = {"rows": rows if rows is not None else [{"name": "A"}], "columns": columns if columns is not None else [{"name": "1"}],
             "wells": wells}  # fmt: skip
    group_v3(root, {"plate": plate})
    for well in wells:
        path = well.get("path") if isinstance(well, dict) else None
        if isinstance(path, str) and ".." not in path and not path.startswith("/"):
            group_v3(root / path, {"well": {"images": [{"path": f} for f in (fields or ["0"])]}})
            for f in fields or ["0"]:
                if isinstance(f, str) and ".." not in f and not f.startswith("/"):
                    image_v3(root / path / f)
    return root


def mutate_v3(build: Builder, change: Callable[[dict[str, Any]], None], doc: str = "zarr.json") -> Builder:
    """A builder that runs ``build`` and then edits one of its JSON documents in place."""

    def built(root: pathlib.Path) -> pathlib.Path:
        path = build(root)
        target = path / doc
        data = json.loads(target.read_text())
        change(data)
        target.write_text(json.dumps(data))
        return path

    return built


def ms_of(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["attributes"]["ome"]["multiscales"][0]


def level0_scale(scale: list[Any]) -> Builder:
    """A 0.5 image whose level-0 scale transformation is ``scale``."""
    return mutate_v3(image_v3, lambda d: ms_of(d)["datasets"][0]["coordinateTransformations"][0].update(scale=scale))


# --- the cases -----------------------------------------------------------------------------------------


def _raw(text: str, name: str = "zarr.json") -> Builder:
    def built(root: pathlib.Path) -> pathlib.Path:
        write(root / name, text)
        if name != "zarr.json":
            write(root / ".zgroup", {"zarr_format": 2})
        return root

    return built


def _deep(root: pathlib.Path) -> pathlib.Path:
    depth = 100_000
    write(
        root / "zarr.json",
        '{"zarr_format": 3, "node_type": "group", "attributes": ' + '{"a": ' * depth + "1" + "}" * depth + "}",
    )
    return root


def _file_as_group(root: pathlib.Path) -> pathlib.Path:
    image_v3(root)
    (root / "labels").mkdir(exist_ok=True)
    write(root / "labels" / "zarr.json", "")
    os.rmdir(root / "1") if (root / "1").is_dir() and not any((root / "1").iterdir()) else None
    (root / "1" / "zarr.json").unlink()
    (root / "1").rmdir()
    write(root / "1", "i am a file, not an array")
    return root


def _file_instead_of_dataset(root: pathlib.Path) -> pathlib.Path:
    write(root, "just a file")
    return root


def _empty_dir(root: pathlib.Path) -> pathlib.Path:
    root.mkdir(parents=True)
    return root


def _symlink_level(root: pathlib.Path) -> pathlib.Path:
    outside = root.parent / (root.name + "-outside")
    write(outside / "zarr.json", v3_array([16, 16]))
    image_v3(root)
    for child in (root / "0").iterdir():
        child.unlink()
    (root / "0").rmdir()
    os.symlink(outside, root / "0")
    return root


def _symlink_metadata(root: pathlib.Path) -> pathlib.Path:
    secret = root.parent / (root.name + "-secret.json")
    write(secret, {"zarr_format": 3, "node_type": "group", "attributes": {"secret": True}})
    root.mkdir(parents=True)
    os.symlink(secret, root / "zarr.json")
    return root


def _huge(root: pathlib.Path) -> pathlib.Path:
    # 10^12 elements: must stay lazy (an allocation would need a terabyte)
    return image_v3(root, ms=multiscale(levels=1), shapes=[[1_000_000, 1_000_000]])


def _labels_self(root: pathlib.Path) -> pathlib.Path:
    image_v3(root)
    group_v3(root / "labels", {"labels": ["cells"]})
    image_v3(root / "labels" / "cells", ome={"image-label": {"source": {"image": "../../../../.."}}})
    return root / "labels" / "cells"


CASES: list[Case] = [
    Case("unparsable-zarr-json", _raw("{not json"), usable=False),
    Case("unparsable-zattrs", _raw("[1, 2", name=".zattrs"), usable=False),
    Case("binary-junk-zarr-json", lambda r: (write(r / "zarr.json", "\x00\xff\xfe junk"), r)[1], usable=False),
    Case("nested-100000-deep", _deep, usable=False),
    Case("zarr-json-is-a-list", _raw("[]"), usable=False),
    Case("zarr-format-7", _raw('{"zarr_format": 7, "node_type": "group"}'), usable=False),
    Case("node-type-unknown", _raw('{"zarr_format": 3, "node_type": "folder"}'), usable=False),
    Case("attributes-a-list", _raw('{"zarr_format": 3, "node_type": "group", "attributes": []}'), usable=False),
    Case("multiscales-a-string", lambda r: group_v3(r, {"multiscales": "yes"}), usable=False),
    Case("multiscales-an-object", lambda r: group_v3(r, {"multiscales": {"datasets": []}}), usable=False),
    Case("multiscales-entry-a-number", lambda r: group_v3(r, {"multiscales": [5]}), usable=False),
    Case("datasets-missing", lambda r: image_v3(r, ms={"axes": multiscale()["axes"]}), usable=False),
    Case("datasets-empty", lambda r: image_v3(r, ms=multiscale(datasets=[])), usable=False),
    Case("dataset-path-a-number", mutate_v3(image_v3, lambda d: ms_of(d)["datasets"][0].update(path=0)), usable=True),
    Case("dataset-path-missing", mutate_v3(image_v3, lambda d: ms_of(d)["datasets"][0].pop("path")), usable=True),
    Case("axes-a-string", mutate_v3(image_v3, lambda d: ms_of(d).update(axes="yx")), usable=True),
    Case("axes-objects-as-lists", mutate_v3(image_v3, lambda d: ms_of(d).update(axes=[["y"], ["x"]])), usable=True),
    Case(
        "axes-longer-than-ndim",
        mutate_v3(image_v3, lambda d: ms_of(d).update(axes=multiscale(ndim=3)["axes"])),
        usable=False,
    ),
    Case(
        "axes-duplicate-names",
        mutate_v3(image_v3, lambda d: ms_of(d).update(axes=[{"name": "x"}, {"name": "x"}])),
        usable=True,
    ),
    Case(
        "scale-strings",
        level0_scale(["1", "1"]),
        usable=True,
    ),
    Case(
        "scale-nan",
        level0_scale([float("nan"), 1.0]),
        usable=True,
    ),
    Case(
        "scale-infinite",
        level0_scale([float("inf"), 1.0]),
        usable=True,
    ),
    Case(
        "scale-negative",
        level0_scale([-1.0, 1.0]),
        usable=True,
        finding="warning",
    ),
    Case(
        "scale-zero",
        level0_scale([0.0, 0.0]),
        usable=True,
        finding="warning",
    ),
    Case(
        "scale-too-long",
        level0_scale([1.0, 1.0, 1.0]),
        usable=True,
    ),
    Case(
        "transforms-an-object",
        mutate_v3(image_v3, lambda d: ms_of(d)["datasets"][0].update(coordinateTransformations={"type": "scale"})),
        usable=True,
    ),
    Case(
        "transform-type-unknown",
        mutate_v3(image_v3, lambda d: ms_of(d)["datasets"][0].update(coordinateTransformations=[{"type": "warp"}])),
        usable=True,
    ),
    Case("levels-growing", lambda r: image_v3(r, shapes=[[8, 8], [16, 16]]), usable=True),
    Case("level-array-missing", lambda r: (image_v3(r), (r / "1" / "zarr.json").unlink(), r)[2], usable=True),
    Case("level-wrong-ndim", lambda r: image_v3(r, shapes=[[16, 16], [8, 8, 8]]), usable=True),
    Case(
        "level-dtype-differs",
        mutate_v3(image_v3, lambda d: d.update(data_type="float64"), doc="1/zarr.json"),
        usable=True,
        finding="warning",
    ),
    Case(
        "level-dtype-unknown",
        mutate_v3(image_v3, lambda d: d.update(data_type="quaternion"), doc="0/zarr.json"),
        usable=False,
    ),
    Case(
        "level-shape-strings",
        mutate_v3(image_v3, lambda d: d.update(shape=["16", "16"]), doc="0/zarr.json"),
        usable=False,
    ),
    Case(
        "level-shape-negative",
        mutate_v3(image_v3, lambda d: d.update(shape=[-16, 16]), doc="0/zarr.json"),
        usable=False,
    ),
    Case("level-10^12-elements", _huge, usable=True, finding="none", napari_draws=False),
    Case(
        "level-10^12-chunks-in-a-row",
        lambda r: (
            image_v3(r, ms=multiscale(levels=1), shapes=[[1, 10**12]])
            and (write(r / "0" / "zarr.json", v3_array([1, 10**12], chunks=[1, 1])) or r)
        ),
        usable=True,
        finding="none",
        napari_draws=False,
    ),
    Case(
        "codec-unknown",
        mutate_v3(
            image_v3, lambda d: d.update(codecs=[{"name": "bytes"}, {"name": "nonexistent-codec"}]), doc="0/zarr.json"
        ),
        usable=False,
    ),
    Case("array-metadata-unparsable", lambda r: (image_v3(r), write(r / "0" / "zarr.json", "{"), r)[2], usable=False),
    Case("labels-list-dotdot", lambda r: with_labels(r, [".."]), usable=True),
    Case("labels-list-themselves", lambda r: with_labels(r, ["labels", "."]), usable=True),
    Case("labels-not-a-list", lambda r: with_labels(r, "cells"), usable=True),  # type: ignore[arg-type]
    Case("label-source-escapes", _labels_self, usable=True),
    Case("plate-zero-wells", lambda r: plate_v3(r, []), usable=False),
    Case(
        "plate-well-outside", lambda r: plate_v3(r, [{"path": "../A/1", "rowIndex": 0, "columnIndex": 0}]), usable=False
    ),
    Case(
        "plate-well-absolute",
        lambda r: plate_v3(r, [{"path": "/etc/A/1", "rowIndex": 0, "columnIndex": 0}]),
        usable=False,
    ),
    Case(
        "plate-well-not-in-rows",
        lambda r: plate_v3(r, [{"path": "Z/9", "rowIndex": 5, "columnIndex": 7}]),
        usable=False,
    ),
    Case(
        "plate-rows-a-string",
        lambda r: plate_v3(r, [{"path": "A/1", "rowIndex": 0, "columnIndex": 0}], rows="A"),
        usable=False,
    ),
    Case("plate-well-a-number", lambda r: plate_v3(r, [7]), usable=False),  # type: ignore[list-item]
    Case(
        "well-field-outside",
        lambda r: plate_v3(r, [{"path": "A/1", "rowIndex": 0, "columnIndex": 0}], fields=["../../x"]),
        usable=False,
    ),
    Case("version-9.9", mutate_v3(image_v3, lambda d: d["attributes"]["ome"].update(version="9.9")), usable=False),
    Case("version-a-number", mutate_v3(image_v3, lambda d: d["attributes"]["ome"].update(version=0.5)), usable=False),
    Case(
        "v3-group-with-04-metadata",
        lambda r: (
            write(
                r / "zarr.json",
                {
                    "zarr_format": 3,
                    "node_type": "group",
                    "attributes": {"multiscales": [{"version": "0.4", **multiscale()}]},
                },
            ),
            [write(r / str(k) / "zarr.json", v3_array(s)) for k, s in enumerate([[16, 16], [8, 8]])],
            r,
        )[2],
        usable=True,
        finding="warning",
    ),
    Case(
        "v2-group-with-05-metadata",
        lambda r: image_v2(r, attrs={"ome": {"version": "0.5", "multiscales": [multiscale()]}}),
        usable=True,
        finding="warning",
    ),
    Case(
        "v2-zattrs-without-zgroup",
        lambda r: ((image_v2(r), (r / ".zgroup").unlink()), r)[1],
        usable=True,
        finding="warning",
    ),
    Case(
        "v2-separator-escapes",
        mutate_v3(image_v2, lambda d: d.update(dimension_separator="/../"), doc="0/.zarray"),
        usable=False,
    ),
    Case(
        "omero-wrong-types",
        lambda r: image_v3(r, ome={"omero": {"channels": [{"window": "wide", "color": 5, "label": []}]}}),
        usable=True,
    ),
    Case(
        "bioformats2raw-series-outside",
        lambda r: (group_v3(r, {"bioformats2raw.layout": 3}), group_v3(r / "OME", {"series": ["../../x", "/abs"]}), r)[
            2
        ],
        usable=False,
    ),
    Case("file-where-a-group-should-be", _file_as_group, usable=True),
    Case("a-file-not-a-folder", _file_instead_of_dataset, usable=False),
    Case("empty-directory", _empty_dir, usable=False),
    Case("symlink-level-leaves-root", _symlink_level, usable=False),
    Case("symlink-metadata-leaves-root", _symlink_metadata, usable=False),
]
