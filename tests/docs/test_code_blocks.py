"""Every fenced ``python`` block in README.md and docs/ runs, as a reader would run it.

The blocks of one page run in order, in one namespace (a later block may use what an earlier one wrote), in a
fresh working folder. A block whose first line is ``# not run: <reason>`` is skipped, and the reason is shown
to the reader in the block itself (e.g. it needs a 100-worker cluster or opens a window).

The fixtures stand in for the places the examples name, with real servers, never mocks:

- ``s3://bucket/...``: moto's S3 server (``AWS_ENDPOINT_URL`` points botocore at it; no credentials, so reads are
  anonymous, as for a public bucket), holding ``coins.ome.zarr`` and ``plate.ome.zarr`` and writable;
- ``https://example.org/data/...``: a loopback HTTP server serving the same two datasets (the URL is replaced
  in the block's text before it runs: example.org is a reserved name, not a server);
- a ``dask.distributed`` cluster: whatever ``LocalCluster`` the block starts (the test is marked ``cluster``).
"""

from __future__ import annotations

import importlib.util
import pathlib
import re
from collections.abc import Iterator

import pytest
from loopback.servers import http_file_server

from ngffkit.samples.examples import write_coins, write_plate

from ..conftest import require, upload_tree

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
NOT_RUN = re.compile(r"# not run: (\S.*)")
EXAMPLE_HOST = "https://example.org/data/"


def python_blocks(page: pathlib.Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


PAGES_WITH_CODE = [page for page in PAGES if python_blocks(page)]


def _marks(page: pathlib.Path) -> list[pytest.MarkDecorator]:
    """Pages that start a dask.distributed cluster run where the cluster extra is installed."""
    runs_a_cluster = any("distributed" in block and not block.startswith("# not run") for block in python_blocks(page))
    return [pytest.mark.cluster] if runs_a_cluster else []


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory, moto_server: str) -> pathlib.Path:
    """The datasets the examples open from a server or a bucket, written once and put into ``s3://bucket``."""
    root = tmp_path_factory.mktemp("published")
    write_coins(root / "coins.ome.zarr")
    write_plate(root / "plate.ome.zarr", rows="AB", columns=("1", "2"), fields=1)
    for name in ("coins.ome.zarr", "plate.ome.zarr"):
        upload_tree(moto_server, "bucket", root / name, name, public=True)
    return root


@pytest.fixture
def reader_world(published: pathlib.Path, moto_server: str, tmp_path: pathlib.Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:  # fmt: skip
    """Moto's S3 as ``s3://bucket`` for botocore here and in every child process, without credentials (as a
    reader of a public bucket); yields the HTTP server's URL."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    with http_file_server(published, keep_alive=True) as server:
        yield server.url


@pytest.mark.network
@pytest.mark.parametrize(
    "page", [pytest.param(page, id=str(page.relative_to(ROOT)), marks=_marks(page)) for page in PAGES_WITH_CODE]
)
def test_python_blocks_run(page: pathlib.Path, reader_world: str, tmp_path: pathlib.Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    if _marks(page):
        require(importlib.util.find_spec("distributed") is not None, "dask.distributed (the cluster extra)")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for number, block in enumerate(python_blocks(page), start=1):
        first_line = block.splitlines()[0] if block.strip() else ""
        if first_line.startswith("# not run"):
            assert NOT_RUN.fullmatch(first_line.strip()), (
                f"{page.name} block {number}: a not-run marker gives its reason"
            )
            continue
        code = block.replace(EXAMPLE_HOST, f"{reader_world}/")
        try:
            exec(compile(code, f"{page.relative_to(ROOT)} block {number}", "exec"), namespace)
        except Exception as error:
            raise AssertionError(f"{page.relative_to(ROOT)}, python block {number} failed:\n{block}") from error


def test_pages_have_runnable_examples() -> None:
    """The pages that teach the API have code that runs (a page whose every block is 'not run' teaches nothing
    the test can hold it to)."""
    names = {page.relative_to(ROOT).as_posix() for page in PAGES_WITH_CODE}
    for expected in ("README.md", "docs/getting-started.md", "docs/guide/reading.md", "docs/guide/writing.md"):
        assert expected in names, expected
