"""``ngffkit serve``: a local dataset over HTTP with CORS and byte ranges -- and nothing else of the disk."""

from __future__ import annotations

import http.client
import os
import pathlib
import signal
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator

import numpy as np
import pytest
import requests

import ngffkit

from ..clirun import one_line_error, run

#: ``python -m ngffkit`` with Ctrl-C delivered as KeyboardInterrupt, whatever the disposition it inherited.
AS_FROM_A_TERMINAL = (
    "import signal, sys, runpy; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'ngffkit'; runpy.run_module('ngffkit', run_name='__main__', alter_sys=True)"
)


@pytest.fixture
def served(tmp_path: pathlib.Path) -> Iterator[tuple[str, pathlib.Path, subprocess.Popen[str]]]:
    """``ngffkit serve`` on a free port over a small image; yields (url, image path, process)."""
    image = tmp_path / "cells.ome.zarr"
    ngffkit.write_image(np.arange(64 * 80, dtype=np.uint16).reshape(64, 80), image, chunks=(32, 32), levels=2)
    (tmp_path / "secret.txt").write_text("outside the dataset")
    os.symlink(tmp_path / "secret.txt", image / "escape")
    # Run as from a terminal, where Ctrl-C arrives: a process started in the background by a non-interactive shell
    # (a CI runner, `nohup sh -c ... &`) inherits SIGINT ignored, and Python then keeps ignoring it. -X faulthandler:
    # a server that does not stop can be asked for every thread's stack (SIGABRT).
    proc = subprocess.Popen([sys.executable, "-X", "faulthandler", "-c", AS_FROM_A_TERMINAL, "serve", "--port", "0",
                             "--quiet", str(image)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first.startswith("serving "), first  # serving starts at once; validation runs meanwhile
    url = first.split(" at ")[1].split()[0]
    report = [proc.stdout.readline() for _ in range(2)]
    assert "served either way" in report[0] and "valid image" in report[1], report
    try:
        yield url, image, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def raw_get(url: str, path: str) -> int:
    """Status of a GET for a literal path (no client-side normalisation of ``..``)."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", path)
    status = conn.getresponse().status
    conn.close()
    return status


def test_serve_cors_ranges_and_reading(served: tuple[str, pathlib.Path, subprocess.Popen[str]]) -> None:
    url, image, proc = served
    whole = (image / "zarr.json").read_bytes()
    response = requests.get(f"{url}/zarr.json", timeout=10, headers={"Origin": "http://viewer.example"})
    assert response.status_code == 200 and response.content == whole
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Content-Type"] == "application/json"
    preflight = requests.options(f"{url}/zarr.json", timeout=10,
                                 headers={"Access-Control-Request-Headers": "range", "Origin": "http://x"})  # fmt: skip
    assert preflight.status_code == 204 and "Range" in preflight.headers["Access-Control-Allow-Headers"]
    part = requests.get(f"{url}/zarr.json", headers={"Range": "bytes=5-14"}, timeout=10)
    assert part.status_code == 206 and part.content == whole[5:15]
    assert part.headers["Content-Range"] == f"bytes 5-14/{len(whole)}"
    assert "Content-Range" in part.headers["Access-Control-Expose-Headers"]
    tail = requests.get(f"{url}/zarr.json", headers={"Range": "bytes=-7"}, timeout=10)
    assert tail.status_code == 206 and tail.content == whole[-7:]
    beyond = requests.get(f"{url}/zarr.json", headers={"Range": f"bytes={len(whole)}-"}, timeout=10)
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{len(whole)}"
    head = requests.head(f"{url}/zarr.json", timeout=10)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(whole) and not head.content
    remote = ngffkit.open(url)
    np.testing.assert_array_equal(remote.levels[0].compute(), ngffkit.open(image).levels[0].compute())
    assert proc.poll() is None


def test_serve_reaches_nothing_outside_the_dataset(served: tuple[str, pathlib.Path, subprocess.Popen[str]]) -> None:
    url, image, _ = served
    name = image.name
    assert raw_get(url, f"/{name}/zarr.json") == 200
    for path in (f"/{name}/../secret.txt", f"/{name}/%2e%2e/secret.txt", f"/{name}/..%2fsecret.txt",
                 f"/{name}/escape", "/secret.txt", "/", f"/{name}/%00"):  # fmt: skip
        assert raw_get(url, path) == 404, path
    assert raw_get(url, f"/{name}/") == 200  # a browser may list the dataset's own folder


def test_serve_keeps_connections_alive_and_redirects_folders(
    served: tuple[str, pathlib.Path, subprocess.Popen[str]],
) -> None:
    url, _, _ = served
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.connect()
    sock = conn.sock
    answers = []
    for method, path, headers in [("GET", "/zarr.json", {}), ("GET", "/zarr.json", {"Range": "bytes=0-3"}),
                                  ("GET", "/absent/zarr.json", {}), ("HEAD", "/0/zarr.json", {}),
                                  ("GET", "/0", {}), ("OPTIONS", "/zarr.json", {})]:  # fmt: skip
        conn.request(method, parts.path + path, headers=headers)
        response = conn.getresponse()
        response.read()
        answers.append((response.status, response.version, response.getheader("Location")))
        assert conn.sock is sock and not response.will_close, (method, path)  # one connection for all
    conn.close()
    assert [a[0] for a in answers] == [200, 206, 404, 200, 301, 204]
    assert all(a[1] == 11 for a in answers)  # HTTP/1.1
    assert answers[4][2] == f"{parts.path}/0/"  # a folder URL is redirected to its trailing-slash form
    assert requests.get(f"{url}/0", timeout=10).url == f"{url}/0/"


def test_serve_gives_zarr_metadata_as_json(tmp_path: pathlib.Path) -> None:
    from ngffkit.tools.serve import serving

    image = ngffkit.write_image(np.ones((64, 64), dtype=np.uint8), tmp_path / "v2.zarr", version="0.4", levels=1)
    with serving(tmp_path / "v2.zarr") as url:
        for key in (".zattrs", ".zgroup", "0/.zarray"):
            response = requests.get(f"{url}/{key}", timeout=10)
            assert response.status_code == 200 and response.headers["Content-Type"] == "application/json", key
        chunk = requests.get(f"{url}/0/0/0", timeout=10)  # "/" chunk keys, as ome-zarr-py writes
        assert chunk.headers["Content-Type"] == "application/octet-stream"
    assert image.version == "0.4"


def test_serve_stops_cleanly_on_ctrl_c(served: tuple[str, pathlib.Path, subprocess.Popen[str]]) -> None:
    _, _, proc = served
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:  # say where it hung
        proc.send_signal(signal.SIGABRT)
        out, err = proc.communicate(timeout=20)
        pytest.fail(f"still running 20 s after Ctrl-C; stdout {out[-500:]!r}; its threads:\n{err[-6000:]}")
    assert proc.returncode == 0
    assert out.strip().endswith("stopped") and "Traceback" not in err


def test_serve_an_ozx_file(tmp_path: pathlib.Path) -> None:
    from ngffkit.tools.serve import serving

    ozx = tmp_path / "coins.ozx"
    ngffkit.write_image(ngffkit.samples.data.coins(), ozx, levels=2)
    with serving(ozx) as url:
        assert url.endswith("/coins.ozx")
        assert requests.get(url, headers={"Range": "bytes=0-1"}, timeout=10).content == b"PK"
        np.testing.assert_array_equal(ngffkit.open(url).levels[0].compute(), ngffkit.samples.data.coins())


def test_serve_errors_are_one_line(
    served: tuple[str, pathlib.Path, subprocess.Popen[str]], tmp_path: pathlib.Path
) -> None:
    url, image, _ = served
    port = str(urllib.parse.urlsplit(url).port)
    assert "cannot listen on 127.0.0.1:" in one_line_error(run("serve", "--port", port, str(image), timeout=30))
    assert "nothing to serve here" in one_line_error(run("serve", str(tmp_path / "absent.zarr"), timeout=30))
