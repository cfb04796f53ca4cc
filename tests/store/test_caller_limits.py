"""``limits=`` and ``retry=`` given by the caller (issue 36 §3): a script that opens or validates data it does not
trust tightens the limits for that call alone, without touching the process's environment -- and the limits
follow everything read through that call: levels, wells, documents, remote and zipped stores, a label's image."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from loopback.servers import FaultPlan, http_file_server, throttling_proxy

import ngffkit
from ngffkit.samples.examples import write_coins, write_plate


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    root = tmp_path_factory.mktemp("limits")
    write_coins(root / "coins.zarr")  # 3 levels, a label image
    write_plate(root / "plate.zarr", fields=1)  # 6 wells
    ngffkit.write_image(np.zeros((64, 64), np.uint8), root / "small.ozx", levels=3)
    return root


def test_open_and_validate_take_the_callers_limits(data: pathlib.Path) -> None:
    two_levels = ngffkit.Limits(max_levels=2)
    with pytest.raises(ngffkit.LimitExceeded, match="max_levels"):
        ngffkit.open(data / "coins.zarr", limits=two_levels)
    assert len(ngffkit.open(data / "coins.zarr").levels) == 3  # the defaults are untouched
    report = ngffkit.validate(data / "coins.zarr", limits=two_levels)
    assert "limit-exceeded" in {finding.rule for finding in report.errors}
    assert ngffkit.validate(data / "coins.zarr").valid

    three_wells = ngffkit.Limits(max_wells=3)
    with pytest.raises(ngffkit.LimitExceeded, match="max_wells"):
        ngffkit.open(data / "plate.zarr", limits=three_wells)
    assert not ngffkit.validate(data / "plate.zarr", limits=ngffkit.Limits(max_fields=0)).valid


def test_documents_are_bounded_by_the_callers_limits_in_every_kind_of_store(data: pathlib.Path) -> None:
    tiny = ngffkit.Limits(max_document_bytes=64)
    with pytest.raises(ngffkit.LimitExceeded, match="max_document_bytes"):
        ngffkit.open(data / "coins.zarr", limits=tiny)
    with pytest.raises(ngffkit.LimitExceeded, match="max_document_bytes"):
        ngffkit.open(data / "small.ozx", limits=tiny)
    with http_file_server(data) as server:
        with pytest.raises(ngffkit.LimitExceeded, match="max_document_bytes"):
            ngffkit.open(f"{server.url}/coins.zarr", limits=tiny)
        assert ngffkit.open(f"{server.url}/coins.zarr").shapes[0] == (303, 384)
    assert ngffkit.Location.of(data / "coins.zarr", limits=tiny).limits == tiny


def test_a_labels_image_is_opened_with_the_same_limits(data: pathlib.Path) -> None:
    """A label opened by its own path finds its image by opening the URL above it: with the caller's limits."""
    label = ngffkit.open(data / "coins.zarr" / "labels" / "coins", limits=ngffkit.Limits(max_levels=3))
    assert label.location.ancestor(2).limits.max_levels == 3
    with pytest.raises(ngffkit.LimitExceeded, match="max_levels"):
        ngffkit.open(data / "coins.zarr" / "labels" / "coins", limits=ngffkit.Limits(max_levels=2))


@pytest.mark.network
def test_validate_takes_the_callers_retry_policy(data: pathlib.Path) -> None:
    """A server that fails its first answer: validation with one attempt reports it, with two it passes."""
    faults = FaultPlan(rules={"coins.zarr/zarr.json": ["503", "503"]})
    with http_file_server(data, faults=faults) as server:
        once = ngffkit.validate(f"{server.url}/coins.zarr", retry=ngffkit.RetryPolicy(attempts=1, first_delay=0.01))
        assert not once.valid and "503" in once.summary(), once.summary()
        again = ngffkit.validate(f"{server.url}/coins.zarr", retry=ngffkit.RetryPolicy(attempts=2, first_delay=0.01))
        assert again.valid, again.summary()


@pytest.mark.network
def test_writes_take_the_callers_retry_policy(moto_server: str) -> None:
    """S3 refuses every object of the write twice ('503 SlowDown'): two attempts are not enough, and the write
    fails leaving nothing -- the caller's policy, not the environment's five attempts."""
    from ..hardening.test_faults import FRESH, _throttled_bucket

    credentials, s3 = _throttled_bucket(moto_server, "caller-retry")
    with throttling_proxy(moto_server, times=2) as proxy:
        options = {**credentials, "client_kwargs": {"endpoint_url": proxy.url, "region_name": "us-east-1"}, **FRESH}
        with pytest.raises(ngffkit.NGFFError, match="reduce your request rate"):
            ngffkit.write_image(np.ones((64, 64), np.uint8), "s3://caller-retry/img.zarr", storage_options=options,
                                retry=ngffkit.RetryPolicy(attempts=2, first_delay=0.01))  # fmt: skip
        assert proxy.throttled
        assert "Contents" not in s3.list_objects_v2(Bucket="caller-retry")  # type: ignore[attr-defined]
        written = ngffkit.write_plate("s3://caller-retry/plate.zarr", ["A"], ["1"], ["A/1"], storage_options=options,
                                      retry=ngffkit.RetryPolicy(attempts=3, first_delay=0.01))  # fmt: skip
        assert written.well_paths == ("A/1",)


def test_the_tools_take_the_callers_limits(data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    from ngffkit.tools.download import download
    from ngffkit.tools.finder import find

    catalogue = find(data, limits=ngffkit.Limits(max_wells=3))
    assert any("max_wells" in reason for _, reason in catalogue.skipped), catalogue.skipped
    assert not any("max_wells" in reason for _, reason in find(data).skipped)
    with http_file_server(data) as server, pytest.raises(ngffkit.LimitExceeded, match="max_download_chunks"):
        download(f"{server.url}/coins.zarr", tmp_path / "copy", limits=ngffkit.Limits(max_download_chunks=0))
