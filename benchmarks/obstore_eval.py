"""obstore (zarr's ObjectStore) against fsspec (zarr's FsspecStore, and ngffkit's ResilientStore over it).

Side by side in one run, on data this script writes: a. import cost (a fresh interpreter imports zarr, then the
stack, makes the first store and reads one ``zarr.json``; median of several, stacks interleaved); b. N small
documents and c. 1 MiB chunks through ``store.get``, gathered with asyncio; d. probes: what obstore does with
the hostile answers ResilientStore is built to survive. Servers: the loopback HTTP server (20 ms per answer in
b and c) and moto's S3 server, both in this process (see the note in the results).

Run: python -m benchmarks.obstore_eval [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopback.servers import FaultPlan, RequestLog, free_port, http_file_server, moto_available
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync

from benchmarks.common import _version, ensure_bytecode, machine, save

LATENCY = 0.02
MiB = 1 << 20
BUCKET, PREFIX, REGION = "obstore-eval", "data", "us-east-1"
#: How each stack makes ``store`` (run here with exec, and in the fresh interpreters of the import test).
HTTP_CODE = {
    "fsspec": "import zarr.storage\nstore = zarr.storage.FsspecStore.from_url({url!r}, read_only=True, "
    "storage_options={{'skip_instance_cache': True}})",
    "ngffkit": "from ngffkit.store.factory import make_store\nstore = make_store({url!r})[0]",
    "obstore": "import zarr.storage\nfrom obstore.store import HTTPStore\nstore = zarr.storage.ObjectStore("
    "HTTPStore.from_url({url!r}, client_options={{'allow_http': True}}), read_only=True)",
}
S3_CODE = {
    "fsspec": "import zarr.storage\nstore = zarr.storage.FsspecStore.from_url({url!r}, read_only=True, "
    "storage_options={options!r})",
    "ngffkit": HTTP_CODE["ngffkit"].replace(")[0]", ", storage_options={options!r})[0]"),
    "obstore": "import zarr.storage\nfrom obstore.store import S3Store\nstore = zarr.storage.ObjectStore(S3Store("
    "{bucket!r}, prefix={prefix!r}, endpoint={endpoint!r}, region={region!r}, skip_signature=True, "
    "client_options={{'allow_http': True}}), read_only=True)",
}
CHILD = """import json, sys, time; start = time.perf_counter()
import zarr.storage, zarr.core.buffer, zarr.core.sync; zarr_done = time.perf_counter()
{code}
store_done = time.perf_counter()
assert zarr.core.sync.sync(store.get("docs/0/zarr.json", zarr.core.buffer.default_buffer_prototype())) is not None
end = time.perf_counter(); print(json.dumps({{"zarr": zarr_done - start, "store": store_done - zarr_done,
                                             "first": end - store_done, "aiohttp": "aiohttp" in sys.modules}}))
"""


@dataclass(frozen=True)
class Plan:
    docs: tuple[int, ...]
    chunks: int
    repeat: int
    imports: int


FULL, SMOKE = Plan((100, 1000), 256, repeat=3, imports=5), Plan((20,), 8, repeat=1, imports=1)


@dataclass(frozen=True)
class Target:
    """One server, and the code that makes each stack's store for it."""

    server: str
    code: dict[str, str]
    log: RequestLog | None = None  # the server's requests (moto's has one moment per request: no waves)


@dataclass
class Result:
    case: str
    server: str
    stack: str
    times: list[float] = field(default_factory=list)
    nbytes: int = 0
    count: int = 0
    requests: int | None = None
    waves: int | None = None
    error: str | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.times) if self.times else float("nan")


def label(server: str, stack: str) -> str:
    client = "aiohttp" if server == "HTTP" else "s3fs"
    return {"fsspec": f"zarr FsspecStore ({client})", "ngffkit": f"ngffkit ResilientStore ({client})",
            "obstore": "zarr ObjectStore (obstore)"}[stack]  # fmt: skip


def http_target(url: str, log: RequestLog | None = None) -> Target:
    return Target("HTTP", {stack: code.format(url=url) for stack, code in HTTP_CODE.items()}, log)


def s3_target(endpoint: str, log: RequestLog | None = None) -> Target:
    options = {"anon": True, "skip_instance_cache": True,
               "client_kwargs": {"endpoint_url": endpoint, "region_name": REGION}}  # fmt: skip
    fields = {"url": f"s3://{BUCKET}/{PREFIX}", "options": options, "bucket": BUCKET, "prefix": PREFIX,
              "endpoint": endpoint, "region": REGION}  # fmt: skip
    return Target("S3 (moto)", {stack: code.format(**fields) for stack, code in S3_CODE.items()}, log)


def brief(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:110]}"


def build(code: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    return namespace["store"]


def write_files(root: Path, bodies: dict[str, bytes]) -> list[str]:
    for key, body in bodies.items():
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(body)
    return list(bodies)


def write_data(root: Path, docs: int, chunks: int) -> list[str]:
    """``docs`` group documents and ``chunks`` random 1 MiB chunks; returns their keys."""
    import numpy as np

    document = {"zarr_format": 3, "node_type": "group", "attributes": {"ome": {"version": "0.5", "plate": {
        "rows": [{"name": "A"}], "columns": [{"name": "1"}], "wells": [{"path": "A/1"}]}}}}  # fmt: skip
    bodies = {f"docs/{i}/zarr.json": json.dumps(document).encode() for i in range(docs)}
    return write_files(root, bodies | {f"chunks/c/{i}/0": np.random.default_rng(i).bytes(MiB) for i in range(chunks)})


@contextlib.contextmanager
def moto_bucket(root: Path, keys: list[str]) -> Iterator[tuple[str, RequestLog]]:
    """moto's S3 server on 127.0.0.1, its public bucket holding ``keys`` (files below ``root``); yields its URL
    and a log of the requests werkzeug answers (noted as they are logged, and kept off the terminal)."""
    import boto3
    from moto.server import ThreadedMotoServer

    log, werkzeug = RequestLog(), logging.getLogger("werkzeug")
    werkzeug.setLevel(logging.INFO)
    werkzeug.addFilter(lambda record: not log.start("S3", record.getMessage()))
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name=REGION)  # fmt: skip
        s3.create_bucket(Bucket=BUCKET)
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                  "Action": ["s3:GetObject", "s3:HeadObject", "s3:ListBucket"],
                  "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}]}  # fmt: skip
        s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
        for key in keys:
            s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{key}", Body=(root / key).read_bytes())
        yield endpoint, log
    finally:
        server.stop()


def import_costs(targets: list[Target], repeat: int) -> dict[tuple[str, str], dict[str, Any]]:
    """Median seconds per (server, stack): import zarr; the stack and the first store; the first request."""
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _ in range(repeat):  # interleaved, so that a slow moment of a shared machine hits every stack
        for target in targets:
            for stack, code in target.code.items():
                proc = subprocess.run([sys.executable, "-c", CHILD.format(code=code)], capture_output=True,
                                      text=True, check=True, timeout=120)  # fmt: skip
                runs.setdefault((target.server, stack), []).append(json.loads(proc.stdout.splitlines()[-1]))
    return {key: {part: statistics.median(r[part] for r in rs) for part in ("zarr", "store", "first")}
            | {"aiohttp": rs[-1]["aiohttp"]} for key, rs in runs.items()}  # fmt: skip


async def _gather(store: Any, keys: list[str]) -> int:
    prototype = default_buffer_prototype()
    found = await asyncio.gather(*(store.get(key, prototype) for key in keys))
    if any(buffer is None for buffer in found):
        raise RuntimeError(f"{sum(b is None for b in found)} of {len(keys)} keys read as missing")
    return sum(len(buffer) for buffer in found)


def measure(store: Any, keys: list[str], repeat: int, target: Target, case: str, stack: str) -> Result:
    """``keys`` fetched together ``repeat`` times, after a warm-up read (the import test times set-up)."""
    result = Result(case, target.server, stack, count=len(keys))
    try:
        sync(_gather(store, keys[:1]))
        for _ in range(repeat):
            if target.log is not None:
                target.log.clear()
            start = time.perf_counter()
            result.nbytes = sync(_gather(store, keys))
            result.times.append(time.perf_counter() - start)
    except Exception as exc:
        result.error = brief(exc)
    if target.log is not None:
        result.requests = len(target.log.entries)
        result.waves = target.log.sequential_waves() if target.server == "HTTP" else None
    return result


def transfers(targets: list[Target], plan: Plan) -> list[Result]:
    cases = [(f"{n} documents", [f"docs/{i}/zarr.json" for i in range(n)]) for n in plan.docs]
    cases.append((f"{plan.chunks} chunks of 1 MiB", [f"chunks/c/{i}/0" for i in range(plan.chunks)]))
    results = []
    for case, keys in cases:
        for target in targets:
            for stack, code in target.code.items():
                results.append(measure(build(code), keys, plan.repeat, target, case, stack))
    return results


#: (what ResilientStore handles, server options, key, how obstore reads it)
PROBES: tuple[tuple[str, dict[str, Any], str, str], ...] = (
    ("503, 503, then 200 (obstore's default retries)", {"faults": {"zarr.json": ["503", "503"]}}, "zarr.json", "get"),
    ("body cut short mid-stream, then 200", {"faults": {"big": ["truncate"]}}, "big", "get"),
    ("403 for a missing key (public bucket without ListBucket)", {"forbidden_missing": True}, "none.json", "get"),
    ("HTML page (200) for a missing key", {"html_missing": True}, "none.json", "get"),
    ("key with '?' in its name", {}, "odd?key", "get"),
    ("Range answered 200 with the whole object", {"ignore_range": True}, "big", "range"),
    ("gzip-encoded body nobody asked for", {"faults": {"zarr.json": ["gzip"]}}, "zarr.json", "get"),
    ("body without Content-Length (chunked)", {"faults": {"big": ["endless"]}}, "big", "stream"),
    ("5 MB body against a 64 KiB bound, streamed", {}, "huge", "stream"),
    ("1 byte per 50 ms, under a 1 s deadline", {"faults": {"big": ["drip:0.05"]}}, "big", "stream"),
)


async def _probe_read(store: Any, key: str, how: str) -> str:
    import obstore

    if how == "range":
        return f"{len(await obstore.get_range_async(store, key, start=10, end=20))} bytes"
    async with asyncio.timeout(1.0):
        result = await obstore.get_async(store, key)
        attributes = {k: v for k, v in result.attributes.items() if k in ("Content-Type", "Content-Encoding")}
        if how == "get":
            data = bytes(await result.bytes_async())
            return f"{len(data)} bytes starting {data[:6]!r}, {attributes}"
        got = 0
        async for part in result.stream(min_chunk_size=1 << 16):
            got += len(part)
            if got > 1 << 16:
                return f"stopped after {got} bytes; Content-Length {result.meta['size']} known before the body"
        return f"{got} bytes"


def probes(root: Path) -> list[tuple[str, str]]:
    from obstore.store import HTTPStore

    write_files(root / "probe", {"zarr.json": b'{"zarr_format": 3}', "odd?key": b"odd", "big": bytes(200_000),
                                 "huge": bytes(5 * MiB)})  # fmt: skip
    rows = []
    for what, options, key, how in PROBES:
        kwargs = {**options, "faults": FaultPlan({k: list(v) for k, v in options.get("faults", {}).items()})}
        with http_file_server(root / "probe", listing=False, **kwargs) as server:
            store = HTTPStore.from_url(server.url, client_options={"allow_http": True})
            start = time.perf_counter()
            try:
                outcome = asyncio.run(_probe_read(store, key, how))
            except Exception as exc:
                outcome = brief(exc)
            took, seen = time.perf_counter() - start, f"; server saw {server.log.paths()[0]}" if "?" in key else ""
            rows.append((what, f"{outcome}{seen} ({len(server.log.entries)} request(s), {took:.2f} s)"))
    return rows


def versions() -> str:
    return ", ".join(f"{n} {_version(n)}" for n in ("obstore", "fsspec", "aiohttp", "s3fs", "botocore", "moto"))


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header),
            *("| " + " | ".join(r) + " |" for r in rows)]  # fmt: skip


def import_table(costs: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    rows = [[server, label(server, stack), f"{c['zarr']:.3f}", f"{c['store']:.3f}", f"{c['first']:.3f}",
             f"{c['store'] + c['first']:.3f}", "yes" if c["aiohttp"] else "no"]
            for (server, stack), c in costs.items()]  # fmt: skip
    header = ["server", "stack", "import zarr (s)", "stack import + first store (s)", "first request (s)",
              "stack's cost until first bytes (s)", "aiohttp imported"]  # fmt: skip
    return table(header, rows)


def transfer_table(results: list[Result]) -> list[str]:
    rows = []
    for r in results:
        spread = (max(r.times) - min(r.times)) / 2 if len(r.times) > 1 else 0.0
        rate = f"{r.nbytes / MiB / r.median:.0f} MiB/s" if "chunks" in r.case else f"{r.count / r.median:.0f} docs/s"
        timing = r.error or f"{r.median:.3f} ± {spread:.3f}"
        rows.append([r.case, r.server, label(r.server, r.stack), timing, f"{r.requests or '—'}",
                     f"{r.waves or '—'}", "—" if r.error else rate])  # fmt: skip
    return table(["case", "server", "stack", "time (s)", "requests", "waves", "rate"], rows)


def verdict_numbers(costs: dict[tuple[str, str], dict[str, Any]], results: list[Result]) -> list[str]:
    lines, ratios, saved = [], [], []
    for server in dict.fromkeys(s for s, _ in costs):
        f, o, n = costs[(server, "fsspec")], costs[(server, "obstore")], costs[(server, "ngffkit")]
        saved.append(n["store"] + n["first"] - o["store"] - o["first"])
        lines.append(f"- Import, {server}: until the first bytes the stack costs {o['store'] + o['first']:.2f} s with "
                     f"obstore, {f['store'] + f['first']:.2f} s with fsspec and {n['store'] + n['first']:.2f} s "
                     f"with ngffkit's ResilientStore (zarr itself: {o['zarr']:.2f} s): obstore saves "
                     f"{saved[-1]:.2f} s of ngffkit's first remote open.")  # fmt: skip
    for case, server in dict.fromkeys((r.case, r.server) for r in results):
        by = {r.stack: r for r in results if (r.case, r.server) == (case, server)}
        ob, rs, fs = by["obstore"], by["ngffkit"], by["fsspec"]
        if ob.error or rs.error:
            lines.append(f"- {server}, {case}: obstore {ob.error or 'ok'}; ResilientStore {rs.error or 'ok'}.")
            continue
        ratio = rs.median / ob.median
        ratios.append(ratio)
        faster = f"{max(ratio, 1 / ratio):.1f}x {'faster' if ratio > 1 else 'slower'} than"
        word = "level with" if 0.9 <= ratio < 1.1 else faster
        lines.append(f"- {server}, {case}: obstore {ob.median:.2f} s is {word} ResilientStore ({rs.median:.2f} s); "
                     f"plain FsspecStore {fs.median:.2f} s.")  # fmt: skip
    lines.append(f"- In all: obstore was faster than ResilientStore in {sum(r >= 1.1 for r in ratios)} of "
                 f"{len(ratios)} timed cases, slower in {sum(r < 0.9 for r in ratios)}, and saved {min(saved):.2f} "
                 f"to {max(saved):.2f} s of the first remote open.")  # fmt: skip
    return lines


FEATURES = """\
| ResilientStore feature | under obstore | how |
| --- | --- | --- |
| retries with backoff (5xx, 408/429, resets, timeouts) | keep | obstore's RetryConfig retries 5xx, 429, connection errors and timeouts itself, but not a body cut short mid-stream (probe): keep ngffkit's loop as the only layer (`max_retries: 0`), as it already does for s3fs |
| one total deadline per read | keep | `asyncio.timeout` around obstore's futures cancels them (probe) |
| size bound enforced while the body streams | keep, in a wrapper | `get_async` gives the Content-Length before the body and `GetResult.stream()` can be left past the bound (probe); zarr's `ObjectStore.get` reads whole bodies, so as is it loses this |
| gzip bodies inflated under the bound | keep, in a wrapper | obstore neither asks for nor decodes Content-Encoding: it hands back the gzip bytes (probe), so no bomb, but the wrapper must inflate as http.py does |
| Range answered 200 sliced locally | partly | obstore refuses with NotSupportedError (never wrong bytes); reading such hosts needs a second, whole-object request |
| bodies without Content-Length (chunked) | lose | obstore's HTTPStore refuses them (probe); only an fsspec fallback reads such servers |
| 403 as missing only after a probe | keep, in a wrapper | a 403 is a distinct PermissionDeniedError (401: UnauthenticatedError) |
| HTML "not found" pages | keep, in a wrapper | Content-Type is in `GetResult.attributes` (probe) |
| percent-encoded keys | keep | natively (probe) |
| at most 256 connections per store | keep, in a wrapper | obstore caps idle connections only and opens one per request in flight: an `asyncio.Semaphore` |
| vanished bucket is an error, not fill values | keep, in a wrapper | obstore raises FileNotFoundError naming NoSuchBucket; zarr's ObjectStore turns it into None (fill values) unless wrapped |
| anonymous S3 | keep | `S3Store(skip_signature=True)`; the anonymous-unless-credentials default needs the same check as today |
| storage options | partly | s3fs/fsspec dicts (key, secret, token, anon, client_kwargs.endpoint_url/region_name, profile) must be translated to S3Store config; s3fs's bucket-region lookup has no automatic equivalent (S3Store defaults to us-east-1: not testable offline) |
| arbitrary fsspec URLs (zip::/.ozx over remote, gcs via gcsfs options, chained ::, reference://, ...) | lose | obstore covers s3, gs, az, http(s), file and memory only: these stay on fsspec |
"""


def report(costs: dict[tuple[str, str], dict[str, Any]], results: list[Result], probe_rows: list[tuple[str, str]],
           smoke: bool) -> list[str]:  # fmt: skip
    lines = ["# obstore (zarr ObjectStore) against fsspec (zarr FsspecStore, ngffkit ResilientStore)", "",
             machine(), "", versions() + ("; smoke run" if smoke else ""), "",
             f"Both servers run in this process; HTTP answers take {LATENCY * 1000:.0f} ms in b and c. Their threads "
             "compete for the GIL with the client, which is not quite equal: aiohttp and botocore parse in Python "
             "and hold the GIL, obstore works in Rust threads without it, so the set-up favours obstore, most on "
             "moto. Times are medians ± half the range; requests are counted by the servers; waves (requests that "
             "could not have been sent together) only by the HTTP server. At 1000 documents both servers, not the "
             "clients, set the pace.", "",
             "## a. Import cost (fresh interpreter, median of several)", "", *import_table(costs), "",
             "## b, c. Concurrency and throughput (`store.get` gathered with asyncio)", "",
             *transfer_table(results), "", "## What obstore does with hostile answers (observed)", "",
             *table(["answer", "obstore HTTPStore"], [list(row) for row in probe_rows]), "",
             "## Verdict", "", *verdict_numbers(costs, results), "", "### Features", "", FEATURES]  # fmt: skip
    return [*lines, "", RECOMMENDATION]


RECOMMENDATION = """\
**Recommendation: adopt optionally, for `http(s)://` and `s3://` only, behind a store of ngffkit's own -- not
zarr's ObjectStore as it is**, which reads whole bodies, turns a vanished bucket into fill values, knows nothing
of 403 probes, HTML pages or gzip, and opens a connection per request in flight. An `ObstoreStore` (a zarr Store
over `obstore.get_async`/`GetResult.stream()`, obstore's `max_retries: 0`) keeps ngffkit's retry loop, deadline,
ReadBudget, gzip inflation, 403 probe, HTML and NoSuchBucket checks, and a semaphore of MAX_CONNECTIONS.
`make_store` picks it when obstore is importable, the URL is http(s)/s3 and the storage options translate (anon,
key/secret/token, endpoint_url, region_name); else ResilientStore, as today. A body without Content-Length, or a
Range answered 200, is read again through fsspec (importing aiohttp only then; `remote.is_transient` imports it
too, so the obstore path must not call it). obstore goes into an optional extra and the test extra; the remote,
hardening and napari suites run against both stores before it becomes the default. ozx/zip::, gcs/azure with
fsspec options, other fsspec URLs and writing stay on fsspec.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repetition: checks that it runs")
    args = parser.parse_args()
    try:
        import obstore  # noqa: F401
    except ImportError:
        print("obstore is not installed (pip install obstore): nothing to compare, skipping.")
        return
    plan = SMOKE if args.smoke else FULL
    if not args.smoke:
        ensure_bytecode()
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)  # fsspec's sessions, never closed, say so at exit
    root = Path(tempfile.mkdtemp(prefix="ngffkit-obstore-"))
    try:
        files = write_data(root / "data", max(plan.docs), plan.chunks)
        with contextlib.ExitStack() as stack:
            fast = stack.enter_context(http_file_server(root / "data", listing=False))
            slow = stack.enter_context(http_file_server(root / "data", listing=False, latency=LATENCY))
            s3 = [s3_target(*stack.enter_context(moto_bucket(root / "data", files)))] if moto_available() else []
            if not s3:
                print("moto[server] or s3fs is not installed: S3 is left out.")
            costs = import_costs([http_target(fast.url), *s3], plan.imports)
            results = transfers([http_target(slow.url, slow.log), *s3], plan)
        lines = report(costs, results, probes(root), args.smoke)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    path = save("obstore_smoke" if args.smoke else "obstore", lines)  # a smoke run never overwrites the numbers
    print("\n".join(lines), f"saved {path}", sep="\n")


if __name__ == "__main__":
    main()
