"""Client CPU per metadata document over HTTP: what validating a remote plate costs the client, and the floors.

Issue 33 section 3 asks for validation's client CPU at most 0.4 ms per document over HTTP, through a faster HTTP
path that keeps every rule of docs/robustness.md. This measures, in a client process of its own (the loopback
server, +20 ms per answer, HTTP/1.1 keep-alive, runs in this one, so its CPU is not the client's):
  * ``ngffkit.validate`` of a whole plate over HTTP: the client's CPU time (user + system, ``os.times``) divided by
    the documents the server answered;
  * the same documents fetched by ngffkit's HTTP store alone (``store.batch.read_many``-free: one ``store.get`` per
    document, gathered on zarr's loop): the transport with every robustness rule;
  * the same GETs with a bare aiohttp session (no rule at all): the floor of the aiohttp path;
  * the same GETs with obstore's HTTPStore (Rust, no GIL): the floor of the fastest client Python can call -- with
    ``--obstore``, in an environment of its own (peers/; :func:`peers.side.obstore.get_timed`);
  * validation of the same plate from local disk: ngffkit's own CPU per document, without any network.

Run: python -m benchmarks.document_cpu [--wells 96] [--obstore]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from loopback.servers import http_file_server
from peers import OBSTORE, PeerFailed, Unavailable

from benchmarks.common import machine, save
from benchmarks.plates import make_plate

LATENCY = 0.02
REPO = Path(__file__).resolve().parents[1]

CLIENT = r"""
import asyncio, json, os, sys, time
how, url, plate, keys = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])

def cpu():
    t = os.times()
    return t.user + t.system

if how in ("validate-http", "validate-local"):
    import ngffkit
    ngffkit.validate(url + "/warm.zarr" if how == "validate-http" else plate.replace("plate", "warm", 1))
    target = url + "/" + os.path.basename(plate) if how == "validate-http" else plate
    start = cpu(); wall = time.perf_counter()
    report = ngffkit.validate(target)
    print(json.dumps({"cpu": cpu() - start, "wall": time.perf_counter() - wall, "valid": report.valid}))
elif how == "ngffkit-store":
    import ngffkit
    from ngffkit.store import adapter
    from ngffkit.store.location import Location
    store = Location.of(url).state.store
    async def fetch(paths):
        return await asyncio.gather(*(store.get(p, adapter.prototype()) for p in paths))
    adapter.sync(fetch(keys[:8]))  # the session and its connections
    start = cpu(); wall = time.perf_counter()
    got = adapter.sync(fetch(keys))
    print(json.dumps({"cpu": cpu() - start, "wall": time.perf_counter() - wall, "bytes": sum(len(g.to_bytes()) for g in got if g is not None)}))
elif how == "aiohttp":
    import aiohttp
    async def main():
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:
            async def one(key):
                async with session.get(url + "/" + key) as response:
                    return await response.read()
            await asyncio.gather(*(one(k) for k in keys[:8]))
            start = cpu(); wall = time.perf_counter()
            got = await asyncio.gather(*(one(k) for k in keys))
            return cpu() - start, time.perf_counter() - wall, sum(map(len, got))
    used, wall, size = asyncio.run(main())
    print(json.dumps({"cpu": used, "wall": wall, "bytes": size}))
"""


def run(python: str, how: str, url: str, plate: Path, keys: list[str]) -> dict[str, float]:
    """One client in a fresh process of ngffkit's environment (obstore's: :func:`run_obstore`)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([python, "-c", CLIENT, how, url, str(plate), json.dumps(keys)], capture_output=True,
                          text=True, check=False, cwd=REPO, env=env, timeout=600)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{how} failed: {proc.stderr[-1500:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run_obstore(url: str, keys: list[str]) -> dict[str, float]:
    """The same GETs with obstore, in a fresh process of its own environment (peers/)."""
    try:
        result: dict[str, float] = OBSTORE.call("get_timed", fresh=True, url=url, keys=keys)
    except (Unavailable, PeerFailed) as error:
        raise RuntimeError(str(error)) from error
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--wells", type=int, default=96, choices=(24, 96, 384, 1536))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--obstore", action="store_true", help="obstore's GETs too (its own environment, peers/)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ngffkit-doccpu-"))
    import ngffkit

    ngffkit.write_image(__import__("numpy").zeros((2, 64, 64), "uint16"), root / "warm.zarr", axes="cyx")
    plate = make_plate(root, args.wells)
    rows: dict[str, list[dict[str, float]]] = {}
    failures: list[str] = []
    try:
        with http_file_server(root, listing=False, latency=LATENCY, keep_alive=True) as server:
            for _ in range(args.repeat):
                server.log.clear()
                rows.setdefault("validate-http", []).append(run(sys.executable, "validate-http", server.url, plate, []))
                keys = [p.lstrip("/") for p in server.log.paths() if p.startswith(f"/{plate.name}/")]
                rows["validate-http"][-1]["documents"] = len(keys)
                rows.setdefault("validate-local", []).append(
                    {**run(sys.executable, "validate-local", server.url, plate, []), "documents": len(keys)}
                )
                for how in ("ngffkit-store", "aiohttp", *(["obstore"] if args.obstore else [])):
                    try:
                        found = (run_obstore(server.url, keys) if how == "obstore"
                                 else run(sys.executable, how, server.url, plate, keys))  # fmt: skip
                        rows.setdefault(how, []).append({**found, "documents": len(keys)})
                    except RuntimeError as failure:  # noted below the table, the other clients still measured
                        failures.append(f"- {how}: {str(failure)[-300:].strip() or 'ended without a word'}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    names = {
        "validate-http": "`ngffkit.validate(url)`: the whole plate over HTTP",
        "validate-local": "`ngffkit.validate(path)`: the same plate from local disk (no network)",
        "ngffkit-store": "the same documents through ngffkit's HTTP store alone (every robustness rule)",
        "aiohttp": "the same GETs with a bare aiohttp session (no rule at all)",
        "obstore": "the same GETs with obstore's HTTPStore (Rust; no rule of ngffkit's)",
    }
    lines = [
        "# Client CPU per metadata document over HTTP (issue 33, section 3)",
        "",
        f"Machine: {machine()}",
        "",
        f"A {args.wells}-well plate (2 fields, 3 levels), served with +{LATENCY * 1000:.0f} ms per answer (HTTP/1.1 "
        "keep-alive) by this process; each client in a fresh process of its own, imports and the first connections "
        f"paid before the clock. CPU = the client's user + system time; median of {args.repeat} runs. The machine is "
        "shared: CPU times move less than wall times, but they move.",
        "",
        "| client | documents | client CPU | CPU per document | wall |",
        "| --- | --- | --- | --- | --- |",
    ]
    for how, results in rows.items():
        cpu = sorted(r["cpu"] for r in results)[len(results) // 2]
        wall = sorted(r["wall"] for r in results)[len(results) // 2]
        documents = int(results[0]["documents"])
        lines.append(
            f"| {names[how]} | {documents} | {cpu:.2f} s | **{1000 * cpu / documents:.2f} ms** | {wall:.2f} s |"
        )
    if failures:
        lines += ["", "Runs that failed (not in the medians):", *failures]
    path = save(f"document_cpu_{args.wells}", lines)
    print("\n".join(lines))
    print(f"\nsaved to {path}")


if __name__ == "__main__":
    main()
