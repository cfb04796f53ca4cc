"""The docs hook that turns the docstrings' sphinx roles into links on the API reference
(docs/hooks/sphinx_roles.py): mkdocstrings leaves ``:class:`` before the code of a role, which read as noise in
every Parameters table."""

from __future__ import annotations

import importlib
import pathlib
import sys
from types import ModuleType

HOOKS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "hooks"

PAGE = (
    '<h3 id="ngffkit.store.location.Location">Location</h3>'
    '<h4 id="ngffkit.store.location.Location.of">of</h4>'
    '<h3 id="ngffkit.writer.settings.WriteOptions">WriteOptions</h3>'
    '<h4 id="ngffkit.writer.settings.WriteOptions.of">of</h4>'
    "<p>choices on :class:<code>~ngffkit.WriteOptions</code>; see :meth:<code>of</code>, "
    ":func:<code>ngffkit.open</code> and :mod:<code>ngffkit.writer.destination</code>.</p>"
    '<h3 id="ngffkit.reader.opening.open">open</h3>'
)


def _hook() -> ModuleType:
    sys.path.insert(0, str(HOOKS))
    try:
        return importlib.import_module("sphinx_roles")
    finally:
        sys.path.remove(str(HOOKS))


def test_roles_become_links_to_the_entries_they_name() -> None:
    html = _hook().link_roles(PAGE)
    assert ":class:" not in html and ":meth:" not in html and ":func:" not in html and ":mod:" not in html
    # the public name resolves to where it is documented; "~" shows the last part only
    assert '<a href="#ngffkit.writer.settings.WriteOptions"><code>WriteOptions</code></a>' in html
    # a bare method is the one of the class whose docstring names it (two classes have an "of")
    assert '<a href="#ngffkit.writer.settings.WriteOptions.of"><code>of</code></a>' in html
    assert '<a href="#ngffkit.reader.opening.open"><code>ngffkit.open</code></a>' in html
    # an object without an entry on the page stays code, unlinked
    assert "and <code>ngffkit.writer.destination</code>." in html


def test_an_ambiguous_name_is_not_guessed() -> None:
    names = {"ngffkit.a.Location.of", "ngffkit.b.WriteOptions.of"}
    assert _hook().resolve("of", names, here="ngffkit.c.Other") is None
    assert _hook().resolve("of", names, here="ngffkit.b.WriteOptions") == "ngffkit.b.WriteOptions.of"
