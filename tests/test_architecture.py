"""The house of docs/architecture.md, checked: every import points down, rooms stay small, functions short."""

from __future__ import annotations

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "src" / "ngffkit"

#: Each room and the rooms it may import (docs/architecture.md, "may import").
_CORE = {"errors", "formats", "store", "metadata", "reader", "validation", "layer_data", "writer", "samples"}
BELOW: dict[str, set[str]] = {
    "errors": set(),
    "formats": {"errors"},
    "store": {"errors", "formats"},
    "metadata": {"errors", "formats"},
    "reader": {"errors", "formats", "store", "metadata"},
    "validation": {"errors", "formats", "store", "metadata"},
    "layer_data": {"errors", "store", "metadata", "reader"},
    "writer": {"errors", "formats", "store", "metadata", "reader"},
    "samples": {"formats", "store", "writer"},
    "tools": _CORE,
    "cli": _CORE | {"tools", "facade"},
    "napari": _CORE | {"tools", "facade"},
    "facade": set(),  # ngffkit/__init__.py: names everything, lazily
}
GUI = ("napari", "magicgui", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "vispy", "superqt")
#: Longest module, in lines besides docstrings.
MAX_MODULE_LINES = 420
#: Longest function, in lines besides docstrings -- except tables (argparse declarations, dispatch on a document's kinds).
MAX_FUNCTION_LINES = 60
TABLES = {"build_parser", "add_commands", "parse_transformation"}


#: The map's words for the wider rooms (docs/architecture.md, "may import").
_PROSE = {
    "nothing of ngffkit": set(),
    "everything above except cli and napari": _CORE,
    "everything except napari": _CORE | {"tools"},
    "everything except cli": _CORE | {"tools"},
}
ARCHITECTURE = PACKAGE.parents[1] / "docs" / "architecture.md"


def test_the_map_and_this_test_agree() -> None:
    """docs/architecture.md's table says what each room may import; BELOW says it to the test. One fact, checked
    in both places: a room the map and the test disagree on fails here (the map said layers/ may not import
    formats/ while the test allowed it)."""
    mapped: dict[str, set[str]] = {}
    for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        room, may_import = cells[0].strip("`").rstrip("/"), cells[2]
        mapped[room] = _PROSE[may_import] if may_import in _PROSE else set(may_import.replace(" ", "").split(","))
    assert set(mapped) == set(BELOW) - {"facade"}
    differ = {room: (sorted(mapped[room]), sorted(BELOW[room] - {"facade"})) for room in mapped
              if mapped[room] != BELOW[room] - {"facade"}}  # fmt: skip
    assert not differ, f"docs/architecture.md and BELOW disagree (map, test): {differ}"


def room_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "ngffkit":
        return None
    if len(parts) == 1 or parts[1] in ("__init__", "__main__"):
        return "facade"
    return parts[1] if parts[1] in BELOW else None


def modules() -> list[tuple[str, pathlib.Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        out.append((".".join(rel.parts).removesuffix(".__init__"), path))
    return out


def imports_of(path: pathlib.Path, module: str) -> list[str]:
    tree = ast.parse(path.read_text())
    found: list[str] = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            if base == "ngffkit":  # from ngffkit import reader: the room imported is the name's
                found += [f"ngffkit.{alias.name}" for alias in node.names]
            else:
                found.append(base)
    return found


def test_every_import_points_down() -> None:
    wrong = []
    for module, path in modules():
        here = room_of(module)
        if here in (None, "facade"):
            continue
        for target in imports_of(path, module):
            there = room_of(target)
            if there is None or there == here:
                continue
            if there not in BELOW[here]:
                wrong.append(f"{module} imports {target} ({here} -> {there})")
    assert not wrong, "\n".join(wrong)


def test_only_the_napari_room_imports_a_gui() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, path in modules()
        if room_of(module) != "napari"
        for target in imports_of(path, module)
        if target.split(".")[0] in GUI
    ]
    assert not wrong, "\n".join(wrong)


def _docstring_lines(tree: ast.Module) -> set[int]:
    """The lines docstrings take (the module's, each class's and function's): documentation is not counted as size,
    so documenting every parameter never pushes a module or a function over its limit."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def test_rooms_stay_small_and_functions_short() -> None:
    long_modules = []
    long_functions = []
    for module, path in modules():
        text = path.read_text()
        tree = ast.parse(text)
        documentation = _docstring_lines(tree)
        code_lines = len(text.splitlines()) - len(documentation)
        if code_lines > MAX_MODULE_LINES:
            long_modules.append(f"{module}: {code_lines} lines besides docstrings")
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name not in TABLES:
                span = range(node.lineno, (node.end_lineno or node.lineno) + 1)
                length = sum(1 for line in span if line not in documentation)
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{module}.{node.name}: {length} lines besides docstrings")
    assert not long_modules and not long_functions, "\n".join(long_modules + long_functions)


#: Where another library's internals may be reached (docs/architecture.md): everywhere else uses public API only.
ADAPTERS = {
    "napari": "ngffkit.napari._napari_adapter",
    "dask": "ngffkit.store.dask_graphs",
}
#: dask's graph modules: their classes are internals (the public protocol is ``__dask_graph__()``, a mapping).
DASK_GRAPH_MODULES = ("dask.highlevelgraph", "dask.blockwise", "dask.layers", "dask.task_spec", "dask._task_spec")


def _internal(target: str) -> str | None:
    """The library whose internals an import reaches, if it does: a private module of napari or dask, or one of
    dask's graph modules."""
    parts = target.split(".")
    if parts[0] in ADAPTERS and any(part.startswith("_") for part in parts[1:]):
        return parts[0]
    return "dask" if target.startswith(DASK_GRAPH_MODULES) else None


def test_foreign_internals_stay_in_their_adapters() -> None:
    wrong = []
    for module, path in modules():
        for target in imports_of(path, module):
            library = _internal(target)
            if library is not None and module != ADAPTERS[library]:
                wrong.append(f"{module} imports {target} (only {ADAPTERS[library]} may)")
        if "_getframe" in path.read_text() and module != ADAPTERS["napari"]:
            wrong.append(f"{module} inspects frames (napari's drawing is recognised in {ADAPTERS['napari']})")
    assert not wrong, "\n".join(wrong)
