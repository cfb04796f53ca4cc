"""The documentation site's references cover the public surface: every name in ``ngffkit.__all__`` has an entry
in docs/reference/api.md (an mkdocstrings ``::: dotted.path`` that resolves to that very object), and the
command-line reference, generated from the argument parser, has every command."""

from __future__ import annotations

import importlib
import pathlib
import re
import sys
from typing import Any

import ngffkit

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs"
ENTRY = re.compile(r"^::: (\S+)\s*$", re.MULTILINE)


def _resolve(dotted: str) -> Any:
    """The object a ``::: dotted.path`` entry documents: the longest importable module prefix, then attributes
    (``import_module`` gives the module even where the package's attribute of that name is a function)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            value = getattr(value, name)
        return value
    raise AssertionError(f"{dotted} cannot be imported")


def test_every_public_name_has_a_reference_entry() -> None:
    entries = ENTRY.findall((DOCS / "reference" / "api.md").read_text(encoding="utf-8"))
    documented = {dotted.rsplit(".", 1)[-1]: _resolve(dotted) for dotted in entries}
    missing = [name for name in ngffkit.__all__ if name not in documented]
    assert not missing, f"public names without an entry in docs/reference/api.md: {missing}"
    different = [name for name in ngffkit.__all__ if documented[name] is not getattr(ngffkit, name)]
    assert not different, f"entries that document another object than ngffkit.<name>: {different}"


def test_the_cli_reference_has_every_command() -> None:
    sys.path.insert(0, str(DOCS / "hooks"))
    try:
        cli_reference = importlib.import_module("cli_reference")
    finally:
        sys.path.remove(str(DOCS / "hooks"))
    page = cli_reference.render()
    from ngffkit.cli.main import build_parser

    commands = cli_reference._commands(build_parser())
    assert len(commands) >= 12
    for name in commands:
        assert f"## `ngffkit {name}`" in page and f"usage: ngffkit {name}" in page, name
