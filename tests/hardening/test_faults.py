"""Networks fail: transient faults are retried (bounded), persistent ones end in one clear error naming the
URL, and nothing hangs. Real servers on loopback inject the faults; nothing is mocked."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from loopback.servers import FaultPlan, http_file_server, throttling_proxy

import ngffkit
from ngffkit.errors import LocationError, NGFFError

from ..clirun import one_line_error, run
from ..conftest import upload_tree

pytestmark = pytest.mark.timeout(180)
#: A fresh HTTP client per test: fsspec caches file systems (and their sessions and timeouts) by options.
FRESH = {"skip_instance_cache": True}


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, np.ndarray]:
    root = tmp_path_factory.mktemp("faults")
    values = np.random.default_rng(3).integers(0, 60000, (128, 128), dtype=np.uint16)
    ngffkit.write_image(values, root / "img.zarr", chunks=(64, 64), levels=2)
    return root, values


def chunk_paths(root: pathlib.Path) -> list[str]:
    return sorted(
        "/" + p.relative_to(root).as_posix() for p in (root / "img.zarr" / "0" / "c").rglob("*") if p.is_file()
    )


def test_transient_errors_resets_and_truncation_are_retried(image: tuple[pathlib.Path, np.ndarray]) -> None:
    root, values = image
    chunks = chunk_paths(root)
    plan = FaultPlan({
        "/img.zarr/zarr.json": ["503", "reset"],
        "/img.zarr/0/zarr.json": ["500"],
        chunks[0]: ["503", "500", "502"],
        chunks[1]: ["reset", "truncate"],
        chunks[2]: ["truncate"],
        chunks[3]: ["429", "stall:0.2"],
    })  # fmt: skip
    with http_file_server(root, faults=plan) as server:
        remote = ngffkit.open(f"{server.url}/img.zarr", storage_options=FRESH)
        np.testing.assert_array_equal(remote.levels[0].compute(), values)
        tries = {p: server.log.paths().count(p) for p in chunks}
    assert tries[chunks[0]] == 4 and tries[chunks[1]] == 3 and tries[chunks[2]] == 2 and tries[chunks[3]] == 2
    assert all(not actions for actions in plan.rules.values())  # every injected fault was met


def test_persistent_errors_name_the_url_and_stop(image: tuple[pathlib.Path, np.ndarray]) -> None:
    root, _ = image
    broken = chunk_paths(root)[1]
    with http_file_server(root, faults=FaultPlan({broken: ["always:503"]})) as server:
        remote = ngffkit.open(f"{server.url}/img.zarr", storage_options=FRESH)
        with pytest.raises(LocationError) as caught:
            remote.levels[0].compute()
        assert server.log.paths().count(broken) == 5  # a bounded number of attempts, not an endless loop
    message = str(caught.value)
    assert f"{server.url}{broken}" in message and "after 5 attempts" in message and "HTTP 503" in message


def test_client_errors_are_not_retried(image: tuple[pathlib.Path, np.ndarray]) -> None:
    root, _ = image
    with http_file_server(root, faults=FaultPlan({"/img.zarr/zarr.json": ["always:401"]})) as server:
        with pytest.raises(LocationError, match="HTTP 401") as caught:
            ngffkit.open(f"{server.url}/img.zarr", storage_options=FRESH)
        assert server.log.paths().count("/img.zarr/zarr.json") == 1
    assert server.url in str(caught.value)


def test_a_stalled_server_times_out(image: tuple[pathlib.Path, np.ndarray]) -> None:
    root, values = image
    patience = ngffkit.RetryPolicy(attempts=3, read_timeout=0.5)  # passed explicitly, not through the environment
    chunks = chunk_paths(root)
    plan = FaultPlan({chunks[0]: ["stall:3"], chunks[1]: ["always:stall:3"]})
    with http_file_server(root, faults=plan) as server:
        remote = ngffkit.open(f"{server.url}/img.zarr", storage_options=FRESH, retry=patience)
        np.testing.assert_array_equal(remote.levels[0][:64, :64].compute(), values[:64, :64])  # one stall, retried
        server.log.clear()
        # every attempt gives up after 0.5 s: had one waited out the 3 s stall, it would have read the chunk
        with pytest.raises(LocationError, match="after 3 attempts"):
            remote.levels[0][:64, 64:].compute()
        assert server.log.paths().count(chunks[1]) == 3


def test_cli_reports_a_failing_server_in_one_line(image: tuple[pathlib.Path, np.ndarray]) -> None:
    root, _ = image
    with http_file_server(root, faults=FaultPlan({"/img.zarr/zarr.json": ["always:500"]})) as server:
        line = one_line_error(run("info", f"{server.url}/img.zarr", timeout=120))
    assert f"{server.url}/img.zarr/zarr.json" in line and "HTTP 500" in line


def test_bucket_deleted_mid_read_is_an_error_not_zeros(
    image: tuple[pathlib.Path, np.ndarray], moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    root, values = image
    for var, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                       ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        monkeypatch.setenv(var, value)
    upload_tree(moto_server, "vanishing", root / "img.zarr", "img.zarr", public=False)
    options = {"client_kwargs": {"endpoint_url": moto_server}, "skip_instance_cache": True}
    remote = ngffkit.open("s3://vanishing/img.zarr", storage_options=options)
    np.testing.assert_array_equal(remote.levels[0][:64, :64].compute(), values[:64, :64])
    bucket = boto3.resource("s3", endpoint_url=moto_server).Bucket("vanishing")
    bucket.objects.all().delete()
    bucket.delete()
    with pytest.raises(NGFFError, match="bucket no longer exists") as caught:
        remote.levels[0].compute()
    assert "s3://vanishing/img.zarr/0/c/" in str(caught.value)


def _throttled_bucket(moto_server: str, bucket: str) -> tuple[dict[str, str], object]:
    import boto3

    credentials = {"key": "k", "secret": "s"}
    s3 = boto3.client("s3", endpoint_url=moto_server, aws_access_key_id="k", aws_secret_access_key="s",
                      region_name="us-east-1")  # fmt: skip
    s3.create_bucket(Bucket=bucket)
    return credentials, s3


def test_throttled_writes_are_retried(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """S3 answers '503 SlowDown' while it re-partitions a prefix: every object of a write is refused twice, and
    the write still lands whole (botocore's own retries are off: ngffkit's are the only ones)."""
    credentials, s3 = _throttled_bucket(moto_server, "throttled-ok")
    values = np.arange(96 * 96, dtype=np.uint16).reshape(96, 96)
    with throttling_proxy(moto_server, times=2) as proxy:
        options = {**credentials, "client_kwargs": {"endpoint_url": proxy.url, "region_name": "us-east-1"}, **FRESH}
        ngffkit.write_image(values, "s3://throttled-ok/img.zarr", storage_options=options, chunks=(32, 32), levels=2)
        read = ngffkit.open("s3://throttled-ok/img.zarr", storage_options=options)
        np.testing.assert_array_equal(read.levels[0].compute(), values)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="throttled-ok")["Contents"]]  # type: ignore[attr-defined]
    assert "img.zarr/0/c/2/2" in keys and "img.zarr/zarr.json" in keys
    # every object refused twice, then written -- the write's claim too, removed when the write completed
    refused = sorted(path.removeprefix("/throttled-ok/") for _, path in proxy.throttled)
    assert refused == sorted([*keys, "img.zarr/.ngffkit-writing"] * 2)


def test_writes_throttled_beyond_the_retries_fail_and_leave_nothing(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials, s3 = _throttled_bucket(moto_server, "throttled-out")
    monkeypatch.setenv("NGFFKIT_RETRIES", "2")
    with throttling_proxy(moto_server, times=2) as proxy:
        options = {**credentials, "client_kwargs": {"endpoint_url": proxy.url, "region_name": "us-east-1"}, **FRESH}
        with pytest.raises(NGFFError, match="reduce your request rate") as caught:
            ngffkit.write_image(np.ones((64, 64), np.uint8), "s3://throttled-out/img.zarr", storage_options=options)
    assert "s3://throttled-out/img.zarr" in str(caught.value)
    assert len(proxy.throttled) >= 2
    assert "Contents" not in s3.list_objects_v2(Bucket="throttled-out")  # type: ignore[attr-defined]


def test_sharded_reads_are_retried_too(tmp_path: pathlib.Path) -> None:
    values = np.random.default_rng(5).integers(0, 60000, (256, 256), dtype=np.uint16)
    ngffkit.write_image(values, tmp_path / "sharded.zarr", chunks=(32, 32), shards=(128, 128), levels=1)
    shard = "/sharded.zarr/0/c/1/1"
    assert (tmp_path / "sharded.zarr" / "0" / "c" / "1" / "1").is_file()
    with http_file_server(tmp_path, faults=FaultPlan({shard: ["503", "reset", "503"]})) as server:
        remote = ngffkit.open(f"{server.url}/sharded.zarr", storage_options=FRESH)
        np.testing.assert_array_equal(remote.levels[0][128:, 128:].compute(), values[128:, 128:])
        assert server.log.paths().count(shard) >= 4  # the index and inner chunks are byte ranges of one file


def test_the_environment_gives_the_default_policy_only(
    image: tuple[pathlib.Path, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _ = image
    monkeypatch.setenv("NGFFKIT_RETRIES", "2")
    broken = chunk_paths(root)[1]
    with http_file_server(root, faults=FaultPlan({broken: ["always:503"]})) as server:
        from_environment = ngffkit.open(f"{server.url}/img.zarr", storage_options=FRESH)
        explicit = ngffkit.open(f"{server.url}/img.zarr", retry=ngffkit.RetryPolicy(attempts=4, first_delay=0.01))
        for image_, attempts in ((from_environment, 2), (explicit, 4)):
            server.log.clear()
            with pytest.raises(LocationError, match=f"after {attempts} attempts"):
                image_.levels[0].compute()
            assert server.log.paths().count(broken) == attempts
