"""The RFC-5 transformations conformance suite (``ome-zarr-transformations-conformance``, runner ``oztc``) in its
own environment (peers/), calling this environment's ``ngffkit transform`` on each of its 24 cases -- written in an
older RFC-5 draft (version "0.6", input/output as plain names, byDimension parts inline), as data in the wild is.
Their 0.6rc0 forms are in tests/reader/test_coordinates.py."""

from __future__ import annotations

import sys

import pytest
from peers import OZTC

from ..conftest import use_peer

pytestmark = pytest.mark.peers


def test_every_case_of_the_suite_passes() -> None:
    answer = use_peer(OZTC).call("run_suite", command=[sys.executable, "-m", "ngffkit", "transform"], fresh=True)
    statuses = answer["statuses"]
    assert len(statuses) == 24, answer["stderr"]
    assert {name for name, status in statuses.items() if status != "pass"} == set(), statuses
    assert answer["returncode"] == 0
