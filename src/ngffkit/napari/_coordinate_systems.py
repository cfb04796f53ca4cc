"""Plugins > ngffkit OME-Zarr > Coordinate systems: how the groups of images open in the viewer are laid out.

One dock for both kinds of group (:mod:`ngffkit.layer_data.series`), docked by the reader when it opens one:

* **scenes** (0.6rc0): a scene opens in its first coordinate system (``ngffkit.layer_data.series.scene_system``). "show
  scenes in" lists the named systems of every scene whose layers are in the viewer and, when one is chosen, places
  each of those layers in it again (:func:`ngffkit.layer_data.series.placement`: napari's scale/translate, or an
  affine). An image whose chain into the chosen system is not linear is left where it is, and one notification per
  scene says so.
* **series** (bioformats2raw containers): they open side by side; "show series" lays them out again, side by side or
  one at a time (:func:`ngffkit.layer_data.series.arrange_series`, the code that laid them out first).

Only layers the ngffkit reader made take part: their metadata names their group (``ngff_group``), and for scenes
the system of their level 0.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from magicgui.widgets import ComboBox, Container, Label
from napari.utils.notifications import show_warning
from napari.viewer import Viewer

import ngffkit
from ngffkit.errors import NGFFError, NGFFWarning
from ngffkit.layer_data.arrange import Box
from ngffkit.layer_data.series import GROUP, SERIES_MODES, arrange_series, placement, scene_system, warn_unwarped
from ngffkit.metadata.coordinate_systems import SystemGraph
from ngffkit.napari._group_open import DOCK_NAME
from ngffkit.napari._plain_text import plain

__all__ = ["DOCK_NAME", "CoordinateSystemDock"]


class CoordinateSystemDock(Container[Any]):
    """A choice of coordinate system for the scenes open in the viewer, and of layout for the series."""

    def __init__(self, napari_viewer: Viewer) -> None:
        self.viewer = napari_viewer
        self._names: list[str] = []
        self.system = ComboBox(label="show scenes in", choices=lambda _: self._names, nullable=True)
        self.series = ComboBox(label="show series", choices=list(SERIES_MODES), value=SERIES_MODES[0])
        self.status = Label(value="")
        plain(self.status.native)
        super().__init__(widgets=[self.system, self.series, self.status])
        self._graphs: dict[str, SystemGraph] = {}
        #: The visibility a layer had before "one at a time" hid it, given back when it is shown again.
        self._hidden: dict[int, bool] = {}
        self._refreshing = False
        self.system.changed.connect(self._place_all)
        self.series.changed.connect(self._arrange_series)
        napari_viewer.layers.events.inserted.connect(self._refresh)
        napari_viewer.layers.events.removed.connect(self._refresh)
        self._refresh()

    def _scene_layers(self) -> list[Any]:
        return [layer for layer in self.viewer.layers if "ngff_scene" in layer.metadata]

    def _series_layers(self) -> list[Any]:
        return [layer for layer in self.viewer.layers if layer.metadata.get(GROUP, {}).get("kind") == "series"]

    def _graph(self, url: str) -> SystemGraph | None:
        """The scene's graph, read once per scene (metadata only)."""
        if url not in self._graphs:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", NGFFWarning)  # said once, when the scene was opened
                    scene = ngffkit.open(url)
                if not isinstance(scene, ngffkit.Scene):
                    raise NGFFError("no longer a scene", where=url)
                self._graphs[url] = scene.system_graph()
            except NGFFError as exc:
                show_warning(f"coordinate systems of {url} not read: {exc}")
                return None
        return self._graphs[url]

    def _refresh(self, *_: Any) -> None:
        """The choices: the named systems of every scene in the viewer (arrays are not offered)."""
        names: list[str] = []
        for url in dict.fromkeys(layer.metadata["ngff_scene"] for layer in self._scene_layers()):
            graph = self._graph(url)
            if graph is None:
                continue
            names += [str(s) for s in graph.systems if s.name is not None and str(s) not in names]
        current = self.system.value
        self._refreshing = True
        try:
            self._names = names
            self.system.reset_choices()
            if current in names:
                self.system.value = current
            elif names:
                first = self._scene_layers()[0].metadata["ngff_scene"]
                self.system.value = _default(first, names)
        finally:
            self._refreshing = False
        series = self._series_layers()
        self.system.visible, self.series.visible = bool(names), bool(series)
        said = [f"{len(self._scene_layers())} layers from scenes"] if names else []
        said += [f"{len(series)} layers from series"] if series else []
        self.status.value = ", ".join(said) or "no scene or series open"

    def _arrange_series(self, *_: Any) -> None:
        """Every container's series laid out as chosen, from each layer's own placement (its "home")."""
        mode = self.series.value
        by_container: dict[str, dict[int, list[Any]]] = {}
        for layer in self._series_layers():
            group = layer.metadata[GROUP]
            by_container.setdefault(group["url"], {}).setdefault(group["member"], []).append(layer)
        for members in by_container.values():
            ordered = [members[m] for m in sorted(members)]
            boxes = [Box(*member[0].metadata[GROUP]["box"]) for member in ordered]
            homes = [[layer.metadata[GROUP]["home"] for layer in member] for member in ordered]
            for member, places in zip(ordered, arrange_series(boxes, homes, mode), strict=True):
                for layer, placed in zip(member, places, strict=True):
                    _apply(layer, placed)
                    self._show(layer, placed.get("visible", True) is not False)
        self.viewer.reset_view()

    def _show(self, layer: Any, shown: bool) -> None:
        if not shown:
            self._hidden.setdefault(id(layer), bool(layer.visible))
            layer.visible = False
        elif id(layer) in self._hidden:
            layer.visible = self._hidden.pop(id(layer))

    def _place_all(self, *_: Any) -> None:
        target = self.system.value
        if self._refreshing or target is None:
            return
        unwarped: dict[str, list[str]] = {}
        for layer in self._scene_layers():
            url, source = layer.metadata["ngff_scene"], layer.metadata["ngff_scene_source"]
            graph = self._graph(url)
            placed = placement(graph, source, target, layer.metadata.get("ngff_channel_axis")) if graph else None
            if placed is None:
                unwarped.setdefault(url, []).append(source.rsplit("/", 1)[0])
                continue
            _apply(layer, placed)
        for url, members in unwarped.items():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", NGFFWarning)
                warn_unwarped(url, sorted(set(members)), target)
            for said in caught:
                show_warning(str(said.message))


def _default(url: str, names: list[str]) -> str:
    """The system the scene opened in, when it is one of ``names``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NGFFWarning)
            scene = ngffkit.open(url)
        chosen = scene_system(scene) if isinstance(scene, ngffkit.Scene) else None
    except NGFFError:
        chosen = None
    return chosen if chosen in names else names[0]


def _apply(layer: Any, placed: dict[str, Any]) -> None:
    """Place ``layer`` by napari's public scale/translate/affine (the unused ones reset)."""
    ndim = layer.ndim
    if "affine" in placed:
        layer.scale = [1.0] * ndim
        layer.translate = [0.0] * ndim
        layer.affine = np.asarray(placed["affine"])
    else:
        layer.affine = np.eye(ndim + 1)
        layer.scale = placed["scale"]
        layer.translate = placed["translate"]
