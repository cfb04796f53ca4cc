"""What a failed remote read means: worth another try, a missing key, a refusal, or an error to report.

fsspec's HTTP and S3 file systems raise whatever their clients raise (aiohttp's errors with a status, s3fs's
exceptions whose cause is botocore's answer); :class:`~ngffkit.store.remote.ResilientStore` decides with these.
"""

from __future__ import annotations

import asyncio

from ngffkit.errors import NGFFError

#: HTTP statuses worth another try: the server is busy or briefly broken, not the request wrong.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: S3 error codes that mean "your credentials are wrong", never "this key is missing".
CREDENTIAL_ERRORS = frozenset({
    "ExpiredToken", "InvalidAccessKeyId", "InvalidToken", "SignatureDoesNotMatch", "TokenRefreshRequired",
    "AccountProblem", "AllAccessDisabled", "NotSignedUp", "RequestTimeTooSkewed", "InvalidSecurity",
})  # fmt: skip


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of a failure: aiohttp's own, or that of the S3 answer behind an s3fs exception."""
    status = getattr(exc, "status", None) or getattr(exc, "code", None)
    if not isinstance(status, int):
        response = getattr(exc.__cause__, "response", None)
        metadata = response.get("ResponseMetadata", {}) if isinstance(response, dict) else {}
        status = metadata.get("HTTPStatusCode") if isinstance(metadata, dict) else None
    return status if isinstance(status, int) else None


def error_code(exc: BaseException) -> str | None:
    """The S3 error code behind an s3fs exception (its cause is botocore's ClientError)."""
    response = getattr(exc.__cause__, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return code if isinstance(code, str) else None


def is_forbidden(exc: BaseException) -> bool:
    """A '403 Forbidden' answer about the key (not about the credentials)."""
    if error_code(exc) in CREDENTIAL_ERRORS:
        return False
    return isinstance(exc, PermissionError) or status_of(exc) == 403


def is_transient(exc: BaseException) -> bool:
    """Whether trying again may help: busy or failing servers, dropped connections, short bodies, timeouts."""
    if isinstance(exc, NGFFError):
        return False  # limits and corrupt answers are verdicts, not accidents
    status = status_of(exc)
    if status is not None:
        return status in RETRY_STATUSES
    if isinstance(exc, TimeoutError | asyncio.TimeoutError | ConnectionError):
        return True
    import aiohttp

    return isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError)


def bucket_gone(exc: BaseException) -> bool:
    """s3fs reports a deleted bucket as FileNotFoundError, like a missing key; its cause says NoSuchBucket."""
    text = f"{exc} {exc.__cause__ or ''}"
    return "NoSuchBucket" in text or "bucket does not exist" in text


def ignores_byte_ranges(exc: BaseException) -> bool:
    """fsspec's refusal to read a file whose server answers a range request with the whole body (200): a
    ``ValueError`` saying the server "doesn't appear to support range requests". Only that failure -- a .ozx
    archive is read by seeking -- and only by its text, which ``tests/store/test_ozx.py`` pins against a real
    server that ignores ``Range``."""
    return isinstance(exc, ValueError) and "support range requests" in str(exc)


def describe(exc: BaseException) -> str:
    status = status_of(exc)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    if status is not None:
        return f"HTTP {status}" + (f" ({detail})" if detail and str(status) not in detail else "")
    code = error_code(exc)
    if code is not None:
        return f"{code} ({detail})" if detail else code
    return f"{name}: {detail}" if detail else name
