"""Editing a label image in place (issue 34a): exactly the chunks or shards that change are written, every lower
level equals what a full rebuild of the pyramid gives, every other file stays byte for byte, and a save over files
someone else changed since they were read is refused with the edits kept -- on local disk and on moto's S3, for
NGFF 0.4 (zarr v2 chunks) and 0.5 (zarr v3 shards)."""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np
import pytest

import ngffkit
from ngffkit import EditConflict, InvalidArgument
from ngffkit.writer.labels import resampled_levels
from tests.writer.test_given_levels import uneven_levels

SHAPE = (4, 130, 150)
#: Per version: how the labels are stored (0.4: zarr v2 chunks; 0.5: zarr v3 shards of chunks).
STORAGE: dict[str, dict[str, Any]] = {
    "0.4": {"chunks": (2, 16, 16)},
    "0.5": {"chunks": (2, 16, 16), "shards": (2, 32, 32)},
}


def segmentation() -> np.ndarray:
    labels = np.zeros(SHAPE, np.uint32)
    labels[1:3, 10:60, 20:70] = 5
    labels[:, 70:120, 90:140] = 7
    labels[0, 0:4, 0:4] = 3
    return labels


def write_labelled(root: Any, version: str, options: dict[str, Any] | None = None, name: str = "cells") -> str:
    image = f"{root}/img.zarr"
    storage = STORAGE[version]
    ngffkit.write_image(np.zeros(SHAPE, np.uint8), image, axes="zyx", levels=3, version=version,
                        storage_options=options, **storage)  # fmt: skip
    ngffkit.write_labels(segmentation(), image, name, colors="auto", properties={5: {"class": "nucleus"}},
                         storage_options=options, **storage)  # fmt: skip
    return f"{image}/labels/{name}"


def rebuilt(root: Any, labels: np.ndarray, version: str, options: dict[str, Any] | None = None) -> ngffkit.Image:
    """What writing ``labels`` anew gives: the reference every lower level must equal."""
    ngffkit.write_labels(labels, f"{root}/img.zarr", "rebuilt", storage_options=options, **STORAGE[version])
    reference = ngffkit.open(f"{root}/img.zarr/labels/rebuilt", storage_options=options)
    assert isinstance(reference, ngffkit.Image)
    return reference


def assert_levels_equal(edited: Any, reference: ngffkit.Image, options: dict[str, Any] | None = None) -> None:
    image = ngffkit.open(edited, storage_options=options)
    assert isinstance(image, ngffkit.Image) and len(image.shapes) == len(reference.shapes) == 3
    for k in range(len(image.shapes)):
        np.testing.assert_array_equal(image.read(k), reference.read(k), err_msg=f"level {k}")


def local_files(root: pathlib.Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*")
            if p.is_file()}  # fmt: skip


def brush(editor: ngffkit.LabelEditor, z: int, y: int, x: int, radius: int, value: int) -> None:
    """One round stroke on plane z, as a paint tool makes it (only the disc changes)."""
    box = (z, slice(y - radius, y + radius + 1), slice(x - radius, x + radius + 1))
    plane = editor.read(box)
    yy, xx = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    plane[yy**2 + xx**2 <= radius**2] = value
    editor.write(box, plane)


def edit(editor: ngffkit.LabelEditor, expected: np.ndarray) -> None:
    """The same edits on the editor and on ``expected``: a stroke with a new label, a stroke erasing, a fill."""
    for z, y, x, radius, value in [(1, 30, 40, 6, 11), (2, 100, 100, 5, 0), (3, 20, 140, 4, 12)]:
        brush(editor, z, y, x, radius, value)
        yy, xx = np.ogrid[: SHAPE[1], : SHAPE[2]]
        expected[z][(yy - y) ** 2 + (xx - x) ** 2 <= radius**2] = value
    editor.write((slice(None), slice(70, 120), slice(90, 140)), 8)  # a fill: object 7 becomes 8
    expected[:, 70:120, 90:140] = 8


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_edits_write_only_the_changed_files_and_match_a_rebuild(tmp_path: pathlib.Path, version: str) -> None:
    path = write_labelled(tmp_path, version)
    before = local_files(tmp_path / "img.zarr")
    editor = ngffkit.edit_labels(path)
    expected = segmentation()
    edit(editor, expected)
    assert editor.unsaved
    report = editor.save()
    assert not editor.unsaved

    after = local_files(tmp_path / "img.zarr")
    changed = {key for key in after if before.get(key) != after[key]}
    assert set(before) <= set(after)  # nothing deleted (chunks that were all background may be new)
    metadata = "labels/cells/.zattrs" if version == "0.4" else "labels/cells/zarr.json"
    written = {f"labels/cells/{key}" for keys in report.written.values() for key in keys}
    assert changed == written | {metadata}  # every other file is byte for byte as it was
    assert set(report.written) == {0, 1, 2} and report.metadata_written
    assert all(len(keys) == len(set(keys)) for keys in report.written.values())

    assert_levels_equal(path, rebuilt(tmp_path, expected, version))
    label = ngffkit.open(path)
    assert isinstance(label, ngffkit.Image) and label.image_label is not None
    assert {c.value for c in label.image_label.colors} == {3, 5, 7, 8, 11, 12}
    assert {p.value for p in label.image_label.properties} >= {5, 8, 11, 12}
    assert ngffkit.validate(tmp_path / "img.zarr").valid


def test_an_edit_that_changes_nothing_writes_nothing(tmp_path: pathlib.Path) -> None:
    path = write_labelled(tmp_path, "0.5")
    before = local_files(tmp_path / "img.zarr")
    report = ngffkit.write_region(path, (slice(None), slice(70, 120), slice(90, 140)), 7)
    assert report.files == 0 and local_files(tmp_path / "img.zarr") == before


def test_edits_follow_a_pyramid_whose_levels_are_not_whole_reductions(tmp_path: pathlib.Path) -> None:
    """ome-zarr-py's levels (203 -> 101 -> 50: floor(n / 2)): labels are sampled at the centre of the level-0
    region each pixel covers; an edit changes exactly the pixels a full rebuild of that pyramid gives."""
    shapes = [(203, 284), (101, 142), (50, 71)]
    ngffkit.write_image(uneven_levels(shapes=shapes), tmp_path / "img.zarr", chunks=(32, 32))
    labels = uneven_levels(labels=True, shapes=shapes)[0].astype(np.uint16)
    ngffkit.write_labels(labels, tmp_path / "img.zarr", "cells", chunks=(32, 32))
    path = tmp_path / "img.zarr" / "labels" / "cells"
    before = local_files(path)
    editor = ngffkit.edit_labels(path)
    editor.write((slice(40, 77), slice(100, 161)), 9)
    editor.write((slice(150, 203), slice(250, 284)), 0)  # up to the edges
    editor.save()
    labels[40:77, 100:161] = 9
    labels[150:203, 250:284] = 0
    reference = resampled_levels(da.from_array(labels), shapes, "mode")
    image = ngffkit.open(path)
    assert isinstance(image, ngffkit.Image) and image.shapes == shapes
    for k in range(3):
        np.testing.assert_array_equal(image.read(k), np.asarray(reference[k]), err_msg=f"level {k}")
    changed = {key for key, digest in local_files(path).items() if before.get(key) != digest}
    assert changed and all(key.split("/")[0] in {"0", "1", "2"} for key in changed)  # chunks only: no colours


def test_a_file_changed_since_it_was_read_refuses_the_save_and_keeps_the_edits(tmp_path: pathlib.Path) -> None:
    path = write_labelled(tmp_path, "0.5")
    mine = ngffkit.edit_labels(path)
    brush(mine, 1, 30, 40, 6, 11)
    ngffkit.write_region(path, (1, slice(34, 37), slice(44, 47)), 13)  # someone else, the same shard, first
    theirs = local_files(tmp_path / "img.zarr")

    with pytest.raises(EditConflict, match=r"level 0 \(z 0:2, y 32:64, x 32:64\).*edits are kept") as caught:
        mine.save()
    assert caught.value.where is not None and caught.value.where.endswith("labels/cells/0")
    assert local_files(tmp_path / "img.zarr") == theirs  # nothing of the refused save was written
    assert mine.unsaved

    mine.rebase()  # my edits over theirs
    mine.save()
    after = ngffkit.open(path)
    assert isinstance(after, ngffkit.Image)
    plane = after.read(0, (1,))
    assert plane[30, 40] == 11 and plane[36, 46] == 13  # mine where I painted, theirs around it


def test_a_lower_level_file_changed_since_it_was_read_refuses_the_save(tmp_path: pathlib.Path) -> None:
    """The baselines of every level are checked before anything is written: level 0 stays as it was too."""
    path = write_labelled(tmp_path, "0.4")
    editor = ngffkit.edit_labels(path)
    editor.write((0, slice(0, 4), slice(0, 4)), 0)
    editor.save()  # level 2's first chunk is now read, with its baseline
    editor.write((0, slice(0, 4), slice(0, 4)), 4)
    chunk = tmp_path / "img.zarr" / "labels" / "cells" / "2" / "0" / "0" / "0"
    chunk.write_bytes(chunk.read_bytes())  # the same bytes: no change, the save goes through
    editor.save()
    editor.write((0, slice(0, 4), slice(0, 4)), 6)
    ngffkit.write_region(path, (0, slice(0, 4), slice(0, 4)), 5)
    before = local_files(tmp_path / "img.zarr")
    with pytest.raises(EditConflict, match="nothing was saved"):
        editor.save()
    assert local_files(tmp_path / "img.zarr") == before


def test_bad_edits_are_refused_before_anything_is_read(tmp_path: pathlib.Path) -> None:
    path = write_labelled(tmp_path, "0.4")
    editor = ngffkit.edit_labels(path)
    with pytest.raises(InvalidArgument, match="do not fit"):
        editor.write((0, slice(0, 4), slice(0, 4)), np.ones((3, 3), np.uint32))
    with pytest.raises(InvalidArgument, match="integers"):
        editor.write((0, slice(0, 4), slice(0, 4)), 1.5)
    with pytest.raises(InvalidArgument, match="outside the level"):
        editor.write((9, slice(0, 4)), 1)
    with pytest.raises(InvalidArgument, match="do not fit"):
        editor.write((0, slice(0, 4)), -1)
    with pytest.raises(InvalidArgument, match="only a label image"):
        ngffkit.edit_labels(tmp_path / "img.zarr")
    assert not editor.unsaved


# --- on S3 (moto's server) ----------------------------------------------------------------------------------


def s3_setup(endpoint: str, bucket: str) -> tuple[dict[str, Any], Callable[[], dict[str, str]]]:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s",
                          region_name="us-east-1")  # fmt: skip
    client.create_bucket(Bucket=bucket)
    options = {"key": "k", "secret": "s", "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
               "skip_instance_cache": True}  # fmt: skip

    def etags() -> dict[str, str]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {item["Key"]: item["ETag"] for page in pages for item in page.get("Contents", [])}

    return options, etags


@pytest.mark.network
@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_edits_on_s3_put_only_the_changed_objects(moto_server: str, version: str) -> None:
    bucket = f"edit-{version.replace('.', '')}"
    options, etags = s3_setup(moto_server, bucket)
    path = write_labelled(f"s3://{bucket}", version, options)
    before = etags()
    editor = ngffkit.edit_labels(path, storage_options=options)
    expected = segmentation()
    edit(editor, expected)
    report = editor.save()
    after = etags()
    changed = {key for key in after if before.get(key) != after[key]}
    metadata = ".zattrs" if version == "0.4" else "zarr.json"
    assert set(after) >= set(before)
    assert changed == {f"img.zarr/labels/cells/{key}" for keys in report.written.values() for key in keys} | {
        f"img.zarr/labels/cells/{metadata}"
    }
    assert_levels_equal(path, rebuilt(f"s3://{bucket}", expected, version, options), options)


@pytest.mark.network
def test_an_object_changed_on_s3_since_it_was_read_refuses_the_save(moto_server: str) -> None:
    options, etags = s3_setup(moto_server, "edit-conflict")
    path = write_labelled("s3://edit-conflict", "0.5", options)
    mine = ngffkit.edit_labels(path, storage_options=options)
    brush(mine, 1, 30, 40, 6, 11)
    ngffkit.write_region(path, (1, slice(34, 37), slice(44, 47)), 13, storage_options=options)
    theirs = etags()
    with pytest.raises(EditConflict, match=r"level 0 \(z 0:2, y 32:64, x 32:64\)"):
        mine.save()
    assert etags() == theirs and mine.unsaved
    mine.rebase()
    mine.save()
    plane = ngffkit.open(path, storage_options=options).read(0, (1,))  # type: ignore[union-attr]
    assert plane[30, 40] == 11 and plane[36, 46] == 13
