"""obstore's side (runs in its own environment): many GETs through its ``HTTPStore``, and the CPU they cost."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from . import main


def get_timed(url: str, keys: list[str]) -> dict[str, Any]:
    """GET every key below ``url`` at once (``obstore.get_async``, gathered) after a first few that open the
    connections: this process's CPU time (user + system) and the wall time of the timed GETs, and the bytes read
    (a missing key counts as none)."""
    import obstore
    from obstore.store import HTTPStore

    store = HTTPStore.from_url(url.rstrip("/") + "/", client_options={"allow_http": True})

    async def one(key: str) -> Any:
        try:
            result = await obstore.get_async(store, key)
        except FileNotFoundError:
            return b""
        return await result.bytes_async()  # obstore's Bytes: no copy into a Python bytes

    async def every() -> dict[str, Any]:
        await asyncio.gather(*(one(key) for key in keys[:8]))
        times, wall = os.times(), time.perf_counter()
        got = await asyncio.gather(*(one(key) for key in keys))
        after = os.times()
        return {"cpu": after.user + after.system - times.user - times.system, "wall": time.perf_counter() - wall,
                "bytes": sum(map(len, got))}  # fmt: skip

    return asyncio.run(every())


if __name__ == "__main__":
    main([get_timed])
