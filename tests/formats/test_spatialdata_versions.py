"""spatialdata's version strings (issue 37): "0.5-dev-spatialdata" (its zarr v3 default), "0.4-dev-spatialdata"
(its older format) and "0.6-dev-spatialdata" (named in its documentation) are read as the version whose layout the
metadata has -- said once per open and as a ``version-alias`` finding -- while other suffixes stay refused. What
spatialdata itself writes is checked in tests/interop/test_spatialdata.py (its own environment)."""

from __future__ import annotations

import json
import pathlib
import warnings

import numpy as np
import pytest

import ngffkit
from ngffkit.samples.examples import write_coins

from ..clirun import run


def restamp(root: pathlib.Path, version: str, *, groups: tuple[str, ...] = ("", "labels/coins")) -> None:
    """Write ``version`` where each group states its version (``ome.version`` or ``multiscales[0].version``)."""
    for group in groups:
        v3 = root / group / "zarr.json"
        if v3.exists():
            doc = json.loads(v3.read_text())
            doc["attributes"]["ome"]["version"] = version
            v3.write_text(json.dumps(doc))
            continue
        v2 = root / group / ".zattrs"
        doc = json.loads(v2.read_text())
        for entry in doc.get("multiscales", []):
            entry["version"] = version
        v2.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    ("written", "stated", "read_as"),
    [("0.5", "0.5-dev-spatialdata", "0.5"), ("0.4", "0.4-dev-spatialdata", "0.4"),
     ("0.5", "0.6-dev-spatialdata", "0.5"), ("0.4", "0.6-dev-spatialdata", "0.4"),
     ("0.6rc0", "0.6-dev-spatialdata", "0.6rc0"), ("0.4", "0.5-dev-spatialdata", "0.4")],
)  # fmt: skip
def test_spatialdata_versions_read_by_their_layout(tmp_path: pathlib.Path, written: str, stated: str,
                                                   read_as: str) -> None:  # fmt: skip
    path = write_coins(tmp_path / "coins.zarr", written, levels=2)
    reference = ngffkit.open(path)
    restamp(path, stated)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = ngffkit.open(path)
    said = [str(w.message) for w in caught if "read as" in str(w.message)]
    assert said == [f"{path}: NGFF version {stated!r} read as {read_as}"]  # one warning per open
    assert isinstance(image, ngffkit.Image) and image.version == read_as
    assert image.scale(1) == reference.scale(1) and image.translation(1) == reference.translation(1)
    np.testing.assert_array_equal(image.levels[1].compute(), reference.levels[1].compute())
    assert image.label("coins").version == read_as
    report = ngffkit.validate(path)
    assert report.valid, report.errors
    aliases = [f for f in report.findings if f.rule == "version-alias"]
    assert len(aliases) == 2 and all(stated in f.message and f"read as {read_as}" in f.message for f in aliases)
    info = run("info", "--json", str(path))
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["version"] == read_as


@pytest.mark.parametrize(
    "stated", ["0.5-dev-other", "0.5-dev-spatialdatas", "0.3-dev-spatialdata", "0.7-dev-spatialdata"]
)
def test_other_suffixes_stay_unsupported(tmp_path: pathlib.Path, stated: str) -> None:
    path = write_coins(tmp_path / "coins.zarr", "0.5", levels=1)
    restamp(path, stated)
    with pytest.raises(ngffkit.UnsupportedVersion, match=stated):
        ngffkit.open(path)
    assert [f.rule for f in ngffkit.validate(path).errors] == ["version-unknown"]


def test_a_label_of_an_unknown_version_is_called_so(tmp_path: pathlib.Path) -> None:
    """The image's label has metadata, of a version ngffkit does not know: the label-kind finding says that, not
    that it holds no OME-NGFF metadata."""
    path = write_coins(tmp_path / "coins.zarr", "0.5", levels=1)
    restamp(path, "0.5-dev-other", groups=("labels/coins",))
    report = ngffkit.validate(path)
    (kind,) = [f for f in report.findings if f.rule == "label-kind"]
    assert "unknown NGFF version" in kind.message and "0.5-dev-other" in kind.message
    assert "no OME-NGFF metadata" not in kind.message


def test_a_labels_group_without_a_version_reads_with_its_image_version(tmp_path: pathlib.Path) -> None:
    """A 0.6rc0 image whose ``labels`` group states no version: read as 0.6rc0 (not guessed as 0.5 from zarr v3),
    with a warning on the node and a ``version-inherited`` finding; its label still opens."""
    path = write_coins(tmp_path / "coins.zarr", "0.6rc0", levels=1)
    doc_path = path / "labels" / "zarr.json"
    doc = json.loads(doc_path.read_text())
    del doc["attributes"]["ome"]["version"]
    doc_path.write_text(json.dumps(doc))
    labels = ngffkit.open(path / "labels")
    assert isinstance(labels, ngffkit.Labels) and labels.version == "0.6rc0"
    assert any("read as its image's 0.6rc0" in w for w in labels.metadata.warnings)
    assert labels["coins"].version == "0.6rc0"
    report = ngffkit.validate(path)
    inherited = [f for f in report.findings if f.rule == "version-inherited"]
    assert len(inherited) == 1 and "0.6rc0" in inherited[0].message
