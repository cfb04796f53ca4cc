"""mkdocs hook: the sphinx cross-reference roles of the docstrings become links on the API reference.

The docstrings are written in sphinx style (``docstring_style: sphinx`` in mkdocs.yml), roles included --
``:class:`~ngffkit.Location```, ``:meth:`save``` -- and mkdocstrings renders the field lists but leaves a role as
it is: ``:class:`` followed by the code. Here each role becomes its code, linked to the object's entry on the same
page when one entry matches (``ngffkit.Location`` is rendered as ``ngffkit.store.location.Location``; a bare
``save`` is the one nearest the docstring that names it), and plain code when none does (a private module).
A ``~`` shows only the last part of the name, as sphinx does.
"""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:class|func|meth|attr|data|mod|exc|obj):<code>(~?)([\w.]+)</code>")
ANCHOR = re.compile(r'id="(ngffkit\.[\w.]+)"')


def on_page_content(html: str, **_: Any) -> str:
    return link_roles(html)


def link_roles(html: str) -> str:
    """``html`` with every sphinx role replaced by its code, linked where the page has the object's entry."""
    anchors = [(match.start(), match.group(1)) for match in ANCHOR.finditer(html)]
    names = {name for _, name in anchors}

    def replace(match: re.Match[str]) -> str:
        tilde, target = match.groups()
        shown = target.rsplit(".", 1)[-1] if tilde else target
        here = next((name for at, name in reversed(anchors) if at < match.start()), "")
        anchor = resolve(target, names, here)
        code = f"<code>{shown}</code>"
        return f'<a href="#{anchor}">{code}</a>' if anchor else code

    return ROLE.sub(replace, html)


def resolve(target: str, names: set[str], here: str) -> str | None:
    """The entry ``target`` names: itself, else the one entry whose name ends with it (without the ``ngffkit.``
    the public names are imported from), else of several the one sharing the longest prefix with ``here``, the
    entry whose docstring names it. None when no entry, or no single one, matches."""
    if target in names:
        return target
    rest = target.removeprefix("ngffkit.")
    candidates = sorted(name for name in names if name.endswith("." + rest))
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    shared = {name: _common_parts(name, here) for name in candidates}
    best = max(shared.values())
    chosen = [name for name, parts in shared.items() if parts == best]
    return chosen[0] if len(chosen) == 1 else None


def _common_parts(a: str, b: str) -> int:
    count = 0
    for x, y in zip(a.split("."), b.split("."), strict=False):
        if x != y:
            break
        count += 1
    return count
