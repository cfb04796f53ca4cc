"""Property-based fuzzing: random JSON and random mutations of valid metadata, through the parser, the
validator and the reader.

Properties checked on every example, beyond "no exception but NGFFError escapes":
- the validator is deterministic and every finding names its rule and its place in the document;
- what the validator calls valid, the parser and the reader accept (a valid dataset always opens);
- the reader's layers agree with the node they came from (one array per level, the image's own shapes).
"""

from __future__ import annotations

import functools
import json
import pathlib
import tempfile
import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zarr.core.buffer import default_buffer_prototype
from zarr.storage import MemoryStore

import ngffkit
from ngffkit.metadata import parse_attributes
from ngffkit.samples.examples import write_coins, write_plate
from ngffkit.validation.findings import Severity

# Each example validates twice (the determinism property): on a loaded CI machine this takes minutes.
pytestmark = pytest.mark.timeout(900)

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12)
keys = st.sampled_from(["ome", "version", "multiscales", "datasets", "path", "axes", "name", "type", "unit",
                        "coordinateTransformations", "scale", "translation", "omero", "channels", "window",
                        "labels", "image-label", "colors", "properties", "label-value", "source", "image",
                        "plate", "wells", "rows", "columns", "rowIndex", "columnIndex", "well", "images",
                        "acquisition", "bioformats2raw.layout", "series", "coordinateSystems", "input", "output",
                        "scene", "0", "A/1"]) | st.text(max_size=8)  # fmt: skip
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=6),
                           max_leaves=40)  # fmt: skip


def quiet_call(func: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return func(*args, **kwargs)
        except ngffkit.NGFFError:
            return None


def strict_call(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Call with warnings silenced; any exception (NGFFError included) fails the example."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


def assert_well_formed(report: ngffkit.Report, again: ngffkit.Report) -> None:
    assert report.findings == again.findings  # deterministic
    assert all(f.rule and f.message and f.severity in set(Severity) for f in report.findings)
    assert report.valid == (not report.errors)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=json_values, zarr_format=st.sampled_from([None, 2, 3]))
def test_random_documents(doc: Any, zarr_format: int | None) -> None:
    quiet_call(parse_attributes, doc, zarr_format=zarr_format)
    if not isinstance(doc, dict):
        return
    report = ngffkit.validate_attributes(doc)
    assert_well_formed(report, ngffkit.validate_attributes(doc))
    if report.valid:
        strict_call(parse_attributes, doc, zarr_format=zarr_format)  # valid metadata always parses


# --- mutations of real datasets ------------------------------------------------------------------------


@functools.cache
def datasets() -> dict[str, dict[str, bytes]]:
    """Example datasets as {store key: bytes}: coins 0.4 and 0.5 with labels, a small 0.5 plate.

    (Not a fixture: hypothesis prints a failing example's arguments, and these are megabytes.)"""
    root = pathlib.Path(tempfile.mkdtemp(prefix="ngffkit-fuzz-"))
    paths = {
        "coins-0.5": write_coins(root / "c5.zarr", "0.5", levels=2),
        "coins-0.4": write_coins(root / "c4.zarr", "0.4", levels=2),
        "plate-0.5": write_plate(root / "p5.zarr", "0.5", rows="A", columns=("1", "2"), fields=1, labels=True),
    }
    return {name: {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}
            for name, path in paths.items()}  # fmt: skip


def mutate(doc: Any, data: st.DataObject) -> Any:
    """Replace, delete or re-type one node somewhere in ``doc``."""
    if not isinstance(doc, (dict, list)) or not doc or data.draw(st.integers(0, 3)) == 0:
        return data.draw(json_values)
    if isinstance(doc, dict):
        key = data.draw(st.sampled_from(sorted(doc)))
        action = data.draw(st.sampled_from(["descend", "delete", "replace", "wrap"]))
        out = dict(doc)
        if action == "delete":
            out.pop(key)
        elif action == "replace":
            out[key] = data.draw(json_values)
        elif action == "wrap":
            out[key] = [out[key]]
        else:
            out[key] = mutate(out[key], data)
        return out
    index = data.draw(st.integers(0, len(doc) - 1))
    out_list = list(doc)
    out_list[index] = mutate(out_list[index], data)
    return out_list


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_datasets_through_the_reader(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(datasets())))
    files = dict(datasets()[name])
    documents = sorted(k for k in files if k.rsplit("/", 1)[-1] in ("zarr.json", ".zattrs", ".zarray", ".zgroup"))
    for _ in range(data.draw(st.integers(1, 3))):
        target = data.draw(st.sampled_from(documents))
        files[target] = json.dumps(mutate(json.loads(files[target]), data)).encode()
    buffer = default_buffer_prototype().buffer
    store = MemoryStore({k: buffer.from_bytes(v) for k, v in files.items()}, read_only=True)
    report = ngffkit.validate(store)
    assert_well_formed(report, ngffkit.validate(store))
    node = strict_call(ngffkit.open, store) if report.valid else quiet_call(ngffkit.open, store)
    if node is None:
        return
    layers = quiet_call(ngffkit.layers, node) or []
    for data_, _, kind in [layer for layer in layers if layer[2] in ("image", "labels")][:2]:
        levels = data_ if isinstance(data_, list) else [data_]
        if isinstance(node, ngffkit.Image) and kind == "image" and len(layers) == 1:
            assert len(levels) == len(node.levels) and levels[0].ndim == len(node.shapes[0])
        if levels[-1].size < 10**7:
            quiet_call(levels[-1].compute)
