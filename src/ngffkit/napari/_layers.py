"""ngffkit layer data, fitted to the napari that is installed."""

from __future__ import annotations

import inspect
from functools import cache
from typing import Any

from napari.layers import Image, Labels

import ngffkit
from ngffkit.layers import LayerData


@cache
def _accepted(kind: str) -> frozenset[str]:
    cls = {"image": Image, "labels": Labels}[kind]
    return frozenset(inspect.signature(cls.__init__).parameters)


def fit(layers: list[LayerData]) -> list[LayerData]:
    """Drop keyword arguments an older napari does not know (axis_labels and units arrived in 0.6)."""
    out = []
    for data, kwargs, kind in layers:
        accepted = _accepted(kind) | {"channel_axis"}
        out.append((data, {k: v for k, v in kwargs.items() if k in accepted}, kind))
    return out


def node_layers(node: ngffkit.Node) -> list[LayerData]:
    return fit(ngffkit.layers(node))


def layer_data_for(path: str, **options: Any) -> list[LayerData]:
    return node_layers(ngffkit.open(path, **options))
