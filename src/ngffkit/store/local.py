"""A local zarr store that stays inside its folder.

Paths in metadata are checked before use (:mod:`ngffkit.store.paths`), but on disk a symbolic link can still lead
anywhere: a level folder linked to ``/home/someone/secret.zarr`` would be read -- or, when writing, written
-- through. This store resolves each key it reads or writes and refuses the ones that end up outside the
root (links that stay inside are fine).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from zarr.storage import LocalStore

from ngffkit.errors import UnsafePath


class ConfinedLocalStore(LocalStore):
    """:class:`zarr.storage.LocalStore` that refuses keys whose real path leaves the root."""

    _real_root: str | None = None

    def _confine(self, key: str) -> None:
        if self._real_root is None:
            self._real_root = os.path.realpath(self.root)
        real = os.path.realpath(self.root / key)
        if real != self._real_root and not real.startswith(self._real_root.rstrip(os.sep) + os.sep):
            raise UnsafePath(
                f"{key!r} is a symbolic link to {real}, outside the dataset; refusing to follow it",
                where=str(self.root),
            )

    async def get(self, key: str, prototype: Any = None, byte_range: Any = None) -> Any:
        self._confine(key)
        return await super().get(key, prototype, byte_range)

    async def get_partial_values(self, prototype: Any, key_ranges: Iterable[tuple[str, Any]]) -> list[Any]:
        key_ranges = list(key_ranges)
        for key, _ in key_ranges:
            self._confine(key)
        return await super().get_partial_values(prototype, key_ranges)

    async def set(self, key: str, value: Any) -> None:
        self._confine(key)
        await super().set(key, value)

    async def exists(self, key: str) -> bool:
        self._confine(key)
        return await super().exists(key)
