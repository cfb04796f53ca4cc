"""The core must stay GUI-free: importing it never pulls in napari, Qt or magicgui."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

GUI_MODULES = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "magicgui", "vispy")


def test_core_imports_no_gui_modules() -> None:
    code = (
        "import sys, ngffkit, ngffkit.cli.main, ngffkit.validation, ngffkit.tools.info, ngffkit.metadata, ngffkit.samples.examples\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {GUI_MODULES!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"GUI modules imported by the core: {out.stdout.strip()}"


def test_public_api() -> None:
    import ngffkit

    for name in ("NGFFError", "UnsafePath", "NotOMEZarr", "InvalidMetadata", "validate", "Location", "get_format"):
        assert hasattr(ngffkit, name)
    assert issubclass(ngffkit.UnsafePath, ngffkit.NGFFError)


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return set(out.stdout.split())


def test_start_up_stays_light() -> None:
    """``import ngffkit`` and ``ngffkit --help`` load no array library; validating loads zarr but not dask.

    (The time this saves is measured in benchmarks/startup.py, as a ratio to ``python -c pass``.)"""
    heavy = {"numpy", "zarr", "dask", "scipy", "fsspec", "aiohttp", "rich"}
    assert not heavy & _modules_after("import ngffkit")
    assert not heavy & _modules_after(
        "import contextlib, io, ngffkit.cli.main as m\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    m.main(['--help'])"
    )
    validating = _modules_after("import ngffkit\nngffkit.validate")
    assert "zarr" in validating and not {"dask", "scipy"} & validating


def test_every_public_name_resolves() -> None:
    import ngffkit

    for name in ngffkit.__all__:
        assert getattr(ngffkit, name) is not None, name
    assert ngffkit.samples.data.coins().shape == (303, 384)


def test_no_module_is_named_like_a_public_function() -> None:
    """``ngffkit.validate`` and ``ngffkit.layers`` are functions, whatever is imported: their modules are
    ``ngffkit.validation`` and ``ngffkit.layer_data`` (the package once swapped its module class to keep the
    functions from being shadowed by modules of the same name)."""
    import ngffkit

    shadowed = [name for name in ngffkit.__all__ if importlib.util.find_spec(f"ngffkit.{name}") is not None]
    assert not shadowed, shadowed
    code = (
        "import ngffkit, ngffkit.validation, ngffkit.layer_data\n"
        "from ngffkit.validation.shapes import Arr\n"
        "print(callable(ngffkit.validate) and callable(ngffkit.layers), type(ngffkit.validate).__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "function"]
