"""The location layer against real stores: local files, an HTTP server on loopback, moto's S3 server."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import urllib.error
import urllib.request

import pytest
import zarr
from loopback.servers import ConcurrencyGate, http_file_server

from ngffkit import InvalidMetadata, Location, UnsafePath, validate
from ngffkit.store.batch import read_many

from ..conftest import require, upload_tree


def test_local_v3_group_and_array(examples: dict[str, pathlib.Path]) -> None:
    root = Location.of(examples["coins-0.5"])
    node = root.read()
    assert (node.zarr_format, node.node_type) == (3, "group")
    assert node.attributes["ome"]["version"] == "0.5"
    level = root.child("0").read()
    assert level.is_array and level.shape == (303, 384)
    assert level.dimension_names == ["y", "x"]


def test_local_v2_group_and_array(examples: dict[str, pathlib.Path]) -> None:
    root = Location.of(str(examples["coins-0.4"]))
    node = root.read()
    assert (node.zarr_format, node.node_type) == (2, "group")
    assert node.attributes["multiscales"][0]["version"] == "0.4"
    assert root.child("labels/coins/1").read().shape == (152, 192)


def test_file_url_and_pathlib_agree(examples: dict[str, pathlib.Path]) -> None:
    a = Location.of(f"file://{examples['coins-0.5']}").read().attributes
    b = Location.of(examples["coins-0.5"]).read().attributes
    assert a == b


def test_missing_node_reads_as_absent(tmp_path: pathlib.Path) -> None:
    node = Location.of(tmp_path).read()
    assert not node.exists


def test_not_json_is_invalid_metadata_naming_the_file(tmp_path: pathlib.Path) -> None:
    (tmp_path / "zarr.json").write_text("{not json")
    with pytest.raises(InvalidMetadata, match=r"zarr\.json.*not valid JSON"):
        Location.of(tmp_path).read()


def test_deeply_nested_json_is_a_clean_error(tmp_path: pathlib.Path) -> None:
    (tmp_path / ".zattrs").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / ".zgroup").write_text('{"zarr_format": 2}')
    with pytest.raises(InvalidMetadata, match="nested too deeply"):
        Location.of(tmp_path).read()


@pytest.mark.parametrize(
    "bad",
    ["..", "../x", "/etc", "a/../../b", "s3://bucket/x", "C:/x", "a\\b", "", ".", "a//b", "%2e%2e", "a%2Fb", "x\x00"],
)
def test_child_refuses_paths_that_escape(examples: dict[str, pathlib.Path], bad: str) -> None:
    with pytest.raises(UnsafePath):
        Location.of(examples["coins-0.5"]).child(bad)


def test_consolidated_v2_metadata_answers_children(tmp_path: pathlib.Path) -> None:
    from ngffkit.samples.examples import write_coins

    path = write_coins(tmp_path / "c.zarr", "0.4")
    zarr.consolidate_metadata(str(path), zarr_format=2)
    # Remove a child's own documents: only the consolidated copy can answer now.
    (path / "0" / ".zarray").unlink()
    root = Location.of(path)
    root.read()
    assert root.child("0").read().shape == (303, 384)


@pytest.mark.filterwarnings("ignore:Consolidated metadata:UserWarning")
def test_consolidated_v3_metadata_answers_children(tmp_path: pathlib.Path) -> None:
    from ngffkit.samples.examples import write_coins

    path = write_coins(tmp_path / "c.zarr", "0.5")
    zarr.consolidate_metadata(str(path))
    (path / "1" / "zarr.json").unlink()
    root = Location.of(path)
    root.read()
    assert root.child("1").read().shape == (152, 192)


def test_an_existing_zarr_store_is_accepted(examples: dict[str, pathlib.Path]) -> None:
    store = zarr.storage.LocalStore(examples["coins-0.5"], read_only=True)
    assert Location.of(store).read().attributes["ome"]["version"] == "0.5"


def test_integers_too_long_for_python_are_a_clean_error(tmp_path: pathlib.Path) -> None:
    (tmp_path / "zarr.json").write_text(
        '{"zarr_format": 3, "node_type": "group", "attributes": {"n": ' + "9" * 5000 + "}}"
    )
    with pytest.raises(InvalidMetadata, match="not usable JSON"):
        Location.of(tmp_path).read()


def test_unknown_protocol_is_a_location_error() -> None:
    from ngffkit import LocationError

    with pytest.raises(LocationError, match="nosuchproto"):
        Location.of("nosuchproto://x/y.zarr")


def test_memory_url_store() -> None:
    group = zarr.open_group("memory://ngffkit-test", mode="w", zarr_format=3)
    group.attrs["ome"] = {"version": "0.5", "labels": ["a"]}
    node = Location.of("memory://ngffkit-test").read()
    assert node.attributes["ome"]["labels"] == ["a"]


@pytest.mark.network
@pytest.mark.parametrize("listing", [True, False])
def test_http_reads_v2_and_v3_the_same_as_local(examples: dict[str, pathlib.Path], listing: bool) -> None:
    root = examples["coins-0.5"].parent
    with http_file_server(root, listing=listing) as server:
        for name in ("coins-0.5", "coins-0.4"):
            remote = Location.of(f"{server.url}/{examples[name].name}")
            local = Location.of(examples[name])
            assert remote.read().attributes == local.read().attributes
            assert remote.child("labels/coins/0").read().shape == local.child("labels/coins/0").read().shape
            assert validate(remote).valid


@pytest.mark.network
def test_http_403_for_missing_keys_counts_as_missing(examples: dict[str, pathlib.Path]) -> None:
    with http_file_server(examples["coins-0.5"].parent, listing=False, forbidden_missing=True) as server:
        remote = Location.of(f"{server.url}/{examples['coins-0.5'].name}")
        assert remote.read().zarr_format == 3
        assert not remote.child("no-such-group").read().exists
        assert any("no-such-group" in p for p in server.log.paths())
        with pytest.raises(urllib.error.HTTPError) as answer:  # the server really says 403, not 404
            urllib.request.urlopen(f"{server.url}/{examples['coins-0.5'].name}/no-such-group/zarr.json", timeout=5)
        assert answer.value.code == 403


@pytest.mark.network
def test_known_format_asks_for_that_format_only(examples: dict[str, pathlib.Path]) -> None:
    with http_file_server(examples["coins-0.5"].parent) as server:
        remote = Location.of(f"{server.url}/{examples['coins-0.5'].name}")
        remote.read()
        server.log.clear()
        remote.child("0").read()
        assert server.log.paths() == [f"/{examples['coins-0.5'].name}/0/zarr.json"]


@pytest.mark.network
def test_many_documents_are_fetched_concurrently(examples: dict[str, pathlib.Path]) -> None:
    plate = examples["plate-0.4"]  # 24 wells x 4 fields
    gate = ConcurrencyGate()
    with http_file_server(plate.parent, listing=False, gate=gate) as server:
        root = Location.of(f"{server.url}/{plate.name}")
        attrs = root.read().attributes
        wells = [root.child(w["path"]) for w in attrs["plate"]["wells"]]
        server.log.clear()
        gate.arm(parties=10)
        nodes = read_many(wells)
        assert all(n.is_group for n in nodes) and len(nodes) == 24
        # 24 wells x (.zgroup, .zattrs, .zarray) = 72 requests; the gate opens only if 10 are in flight at once
        assert len(server.log.paths()) == 72
        assert gate.opened


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    for var in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.mark.network
def test_public_s3_bucket_opens_anonymously(
    examples: dict[str, pathlib.Path], moto_server: str, no_aws_credentials: None
) -> None:
    options = {"client_kwargs": {"endpoint_url": moto_server}, "skip_instance_cache": True}
    for name in ("coins-0.5", "coins-0.4"):  # zarr v3 and v2
        upload_tree(moto_server, "public-data", examples[name], name, public=True)
        remote = Location.of(f"s3://public-data/{name}", storage_options=options)
        assert remote.store.fs.anon is True  # type: ignore[attr-defined]
        assert remote.read().attributes == Location.of(examples[name]).read().attributes
        assert remote.child("labels/coins/2").read().shape == (76, 96)
        report = validate(remote)
        assert report.valid, report.findings


@pytest.mark.network
def test_private_s3_with_credentials(examples: dict[str, pathlib.Path], moto_server: str) -> None:
    upload_tree(moto_server, "private-data", examples["plate-0.5"], "plate.ome.zarr", public=False)
    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": moto_server, "region_name": "us-east-1"},
        "skip_instance_cache": True,
    }
    remote = Location.of("s3://private-data/plate.ome.zarr", storage_options=options)
    assert remote.store.fs.anon is False  # type: ignore[attr-defined]
    node = remote.read()
    assert node.attributes["ome"]["plate"]["name"] == "demo plate"
    assert validate(remote).valid


def test_anon_false_forces_signed_requests(no_aws_credentials: None) -> None:
    require(importlib.util.find_spec("s3fs") is not None, "s3fs is not installed (the s3 extra)")
    loc = Location.of("s3://bucket/x.zarr", storage_options={"anon": False, "skip_instance_cache": True})
    assert loc.store.fs.anon is False  # type: ignore[attr-defined]
    loc = Location.of("s3://bucket/x.zarr", storage_options={"skip_instance_cache": True})
    assert loc.store.fs.anon is True  # type: ignore[attr-defined]


def test_json_documents_with_unicode_survive(tmp_path: pathlib.Path) -> None:
    (tmp_path / ".zgroup").write_text('{"zarr_format": 2}')
    (tmp_path / ".zattrs").write_text(json.dumps({"labels": ["Zellkern-µ"]}))
    assert Location.of(tmp_path).read().attributes == {"labels": ["Zellkern-µ"]}
