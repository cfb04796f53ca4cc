"""Shared fixtures: example datasets, loopback servers, the specification's test data."""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Iterator

import pytest
from loopback.servers import free_port, moto_available
from peers import Peer, Unavailable

from ngffkit.samples.examples import write_coins, write_plate

SPEC = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "ngff-spec"
CONFORMANCE = SPEC.parent / "tools" / "ngff-conformance"
IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, reason: str) -> None:
    """Skip when a resource is absent -- except under CI=true, where its absence is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def use_peer(peer: Peer) -> Peer:
    """``peer`` with its own environment built (once; cached under NGFFKIT_TEST_CACHE, see peers/envs.py): skips
    when it cannot be built -- except under CI=true, where that is a failure. Tests using it are marked ``peers``."""
    try:
        peer.environment()
    except Unavailable as error:
        require(False, f"{peer.name}'s environment could not be built: {error}")
    return peer


@pytest.fixture
def spec_dir() -> pathlib.Path:
    require(SPEC.is_dir(), f"the specification's test data is not at {SPEC}")
    return SPEC


@pytest.fixture(scope="session")
def examples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pathlib.Path]:
    """Example datasets written once per session: coins 0.4/0.5 with labels, a 0.4 and a 0.5 plate."""
    root = tmp_path_factory.mktemp("examples")
    return {
        "coins-0.5": write_coins(root / "coins-0.5.ome.zarr", "0.5"),
        "coins-0.4": write_coins(root / "coins-0.4.ome.zarr", "0.4"),
        "plate-0.5": write_plate(root / "plate-0.5.ome.zarr", "0.5"),
        "plate-0.4": write_plate(
            root / "plate-0.4.ome.zarr", "0.4", rows="ABCD", columns=("1", "2", "3", "4", "5", "6"), fields=4
        ),
    }


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1; yields its endpoint URL."""
    require(moto_available(), "moto[server] and s3fs are not installed")
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


PUBLIC_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject", "s3:HeadObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::{bucket}", "arn:aws:s3:::{bucket}/*"],
        }
    ],
}


def upload_tree(endpoint: str, bucket: str, root: pathlib.Path, prefix: str, *, public: bool) -> None:
    """Create ``bucket`` (public-read if asked) and copy ``root`` under ``prefix``."""
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
        if public:
            policy = json.dumps(PUBLIC_POLICY).replace("{bucket}", bucket)
            s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    for path in root.rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(root).as_posix()}")
