"""Every parameter of the public surface is documented where mkdocstrings renders it: each function in
``ngffkit.__all__``, each public method of a class exported there, and each constructor parameter of those
classes has a sphinx ``:param <name>:`` entry (``docstring_style: sphinx`` in mkdocs.yml turns them into the
reference's Parameters tables). ``self``/``cls`` and ``*args``/``**kwargs`` catch-alls are not parameters a
reader looks up: the writers' ``**choices`` are documented once, on ``WriteOptions``. Every public method and
property says what it is, too (the reference shows an undocumented one as a bare name)."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import ngffkit

CATCH_ALLS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _documented(docstring: str | None) -> set[str]:
    """The names with a ``:param name:`` or ``:param type name:`` field in a docstring."""
    return set(re.findall(r"^\s*:param (?:[^:]*\s)?(\w+):", docstring or "", re.MULTILINE))


def _parameters(function: Callable[..., Any]) -> list[str]:
    signature = inspect.signature(function)
    return [
        parameter.name
        for parameter in signature.parameters.values()
        if parameter.name not in ("self", "cls") and parameter.kind not in CATCH_ALLS
    ]


def _own_classes(cls: type) -> Iterator[type]:
    """The class and its ngffkit bases: a method is checked where it is defined, once."""
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] == "ngffkit":
            yield klass


def _public_callables() -> Iterator[tuple[str, Callable[..., Any], str | None]]:
    """``(qualified name, callable, docstring that documents it)`` for every public callable."""
    seen: set[object] = set()
    for name in ngffkit.__all__:
        value = getattr(ngffkit, name)
        if not inspect.isclass(value):
            if inspect.isfunction(value):
                yield name, value, value.__doc__
            continue
        for klass in _own_classes(value):
            if klass in seen:
                continue
            seen.add(klass)
            if klass.__init__ is not object.__init__ and "__init__" in vars(klass):
                # The constructor's parameters may be documented on the class (dataclasses) or on __init__.
                docstring = (klass.__doc__ or "") + "\n" + (vars(klass)["__init__"].__doc__ or "")
                yield f"{klass.__qualname__}()", klass, docstring
            for attribute, raw in vars(klass).items():
                if attribute.startswith("_"):
                    continue
                function = raw.__func__ if isinstance(raw, staticmethod | classmethod) else raw
                if inspect.isfunction(function):
                    yield f"{klass.__qualname__}.{attribute}", function, function.__doc__


def _public_properties() -> Iterator[tuple[str, object]]:
    """``(qualified name, property)`` for every public property of the exported classes and their bases."""
    seen: set[type] = set()
    for name in ngffkit.__all__:
        value = getattr(ngffkit, name)
        if not inspect.isclass(value):
            continue
        for klass in _own_classes(value):
            if klass in seen:
                continue
            seen.add(klass)
            for attribute, raw in vars(klass).items():
                if not attribute.startswith("_") and isinstance(raw, property | functools.cached_property):
                    yield f"{klass.__qualname__}.{attribute}", raw


def test_the_walk_covers_the_public_surface() -> None:
    names = {name for name, _, _ in _public_callables()}
    for expected in ("write_image", "open", "write_plate", "Image.read", "LabelEditor.write", "Limits()"):
        assert expected in names
    assert len(names) > 100


def test_every_public_parameter_is_documented() -> None:
    missing = {
        name: sorted(set(_parameters(function)) - _documented(docstring))
        for name, function, docstring in _public_callables()
    }
    missing = {name: params for name, params in missing.items() if params}
    lines = "\n".join(f"  {name}: {', '.join(params)}" for name, params in sorted(missing.items()))
    assert not missing, f"public parameters without a ':param <name>:' entry:\n{lines}"


def test_every_public_method_and_property_says_what_it_is() -> None:
    callables = [name for name, function, _ in _public_callables() if not name.endswith("()") and not function.__doc__]
    properties = [name for name, prop in _public_properties() if not getattr(prop, "__doc__", None)]
    assert len(list(_public_properties())) > 40
    assert not callables + properties, f"public methods and properties without a docstring: {callables + properties}"
