"""The ``ngffkit`` command as a user runs it: exit codes, one line per error, JSON for machines."""

from __future__ import annotations

import json
import pathlib

import pytest

from ngffkit.cli.main import main

from ..clirun import run


def test_validate_exit_codes(examples: dict[str, pathlib.Path], tmp_path: pathlib.Path) -> None:
    assert main(["validate", str(examples["coins-0.5"])]) == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"ome": {"version": "0.5", "plate": {"rows": []}}}))
    assert main(["validate", str(bad)]) == 1
    proc = run("validate", "--ngff-version", "7.0", str(bad))
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_validate_json_one_object_per_path(examples: dict[str, pathlib.Path], tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("not json at all")
    proc = run("validate", "--json", str(examples["coins-0.4"]), str(bad), str(tmp_path / "missing.zarr"))
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0
    assert [d["valid"] for d in lines] == [True, False, False]
    assert lines[1]["findings"][0]["rule"] == "json-parse"
    assert lines[2]["findings"][0]["rule"] == "not-found"
    assert all(isinstance(d["message"], str) and d["message"] for d in lines)


def test_validate_prints_rule_and_path(tmp_path: pathlib.Path) -> None:
    doc = tmp_path / "attrs.json"
    doc.write_text(
        json.dumps({"multiscales": [{"version": "0.4", "axes": [{"name": "x", "type": "space"}], "datasets": []}]})
    )
    proc = run("validate", str(doc))
    assert proc.returncode == 1
    assert "schema-min-items" in proc.stdout and "multiscales[0].datasets" in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


def test_info_text_and_json(examples: dict[str, pathlib.Path]) -> None:
    proc = run("info", str(examples["coins-0.4"]))
    assert proc.returncode == 0 and "image, NGFF 0.4" in proc.stdout and "3 levels" in proc.stdout
    data = json.loads(run("info", "--json", str(examples["plate-0.5"])).stdout)
    assert data["kind"] == "plate" and data["plate"]["rows"] == ["A", "B"] and len(data["plate"]["wells"]) == 6
    first = data["plate"]["wells"][0]
    assert (
        first["path"] == "A/1"
        and first["fields"] == ["0", "1"]
        and first["first_field"]["levels"][0]["shape"] == [2, 128, 128]
    )
    image = json.loads(run("info", "--json", str(examples["coins-0.5"])).stdout)["image"]
    assert image["levels"][1]["shape"] == [152, 192] and image["levels"][1]["scale"] == [1.0, 1.0]
    assert image["channels"][0]["label"] == "coins" and image["labels"] == ["coins"]
    stats = json.loads(run("info", "--json", "--stats", str(examples["coins-0.5"])).stdout)["image"]["stats"]
    assert stats == [{"min": 1.0, "max": 252.0}]


@pytest.mark.parametrize("content", [None, "{broken", '{"zarr_format": 3, "node_type": "group", "attributes": {}}'])
def test_info_on_bad_input_is_one_line(tmp_path: pathlib.Path, content: str | None) -> None:
    target = tmp_path / "thing.zarr"
    target.mkdir()
    if content is not None:
        (target / "zarr.json").write_text(content)
    proc = run("info", str(target))
    assert proc.returncode == 1
    assert proc.stderr.startswith("ngffkit: error: ") and len(proc.stderr.strip().splitlines()) == 1
    assert str(target) in proc.stderr


def test_demo_builds_validates_and_refuses_foreign_folders(tmp_path: pathlib.Path) -> None:
    out = tmp_path / "demo"
    proc = run("demo", "--output", str(out), "--no-viewer")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("valid") >= 3 and "INVALID" not in proc.stdout
    assert (out / "coins-0.5.ome.zarr" / "zarr.json").is_file()
    foreign = tmp_path / "precious"
    foreign.mkdir()
    (foreign / "data.txt").write_text("keep me")
    proc = run("demo", "--output", str(foreign), "--no-viewer")
    assert proc.returncode == 1 and (foreign / "data.txt").read_text() == "keep me"


def test_demo_says_why_napari_does_not_open(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line suggested pip install 'ngffkit[napari]' (which PyPI cannot answer) even when napari was
    installed and only the display was missing: each case now says its own remedy."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    proc = run("demo", "--output", str(tmp_path / "demo"))
    said = " ".join(proc.stdout.split())  # rich wraps long lines
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "napari is installed, but there is no display here" in said and "pip install" not in said
    # napari missing: Python's documented way to make an import fail (a None entry in sys.modules), set up by a
    # sitecustomize module on the child's path before ngffkit runs
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text("import sys\nsys.modules['napari'] = None\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    monkeypatch.setenv("DISPLAY", ":99")
    proc = run("demo", "--output", str(tmp_path / "demo"))
    said = " ".join(proc.stdout.split())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "napari is not installed" in said and 'pip install -e ".[napari]"' in said, said[-400:]
    assert "ngffkit[napari]" not in said


def test_every_command_documents_examples() -> None:
    from ngffkit.cli.main import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"scale", "serve", "finder", "csv-to-labels", "create", "validate", "info"} <= set(commands)
    for name, sub in commands.items():
        assert "example" in sub.format_help(), f"ngffkit {name} --help shows no example"


def test_ngffkit_warnings_read_as_the_commands_own_lines(tmp_path: pathlib.Path) -> None:
    """An NGFFWarning on the command line is ``ngffkit: warning: ...``, escaped -- not Python's form (the file and
    line of ngffkit's source that raised it, then that source line)."""
    import numpy as np

    import ngffkit

    path = tmp_path / "sd\x1b[31m.zarr"
    ngffkit.write_image(np.zeros((16, 16), "uint8"), path, version="0.5")
    document = path / "zarr.json"
    attributes = json.loads(document.read_text())
    attributes["attributes"]["ome"]["version"] = "0.5-dev-spatialdata"  # read as 0.5, with a warning
    document.write_text(json.dumps(attributes))
    proc = run("info", str(path))
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(said) == 1 and said[0].startswith("ngffkit: warning: "), said
    assert "'0.5-dev-spatialdata' read as 0.5" in said[0] and "\\x1b[31m" in said[0] and "\x1b" not in said[0]
    assert "NGFFWarning" not in proc.stderr and ".py:" not in proc.stderr
