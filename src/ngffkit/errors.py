"""The exceptions ngffkit raises.

Every failure that comes from the *data* (a missing file, bad JSON, metadata that cannot be understood, a
path that leaves the dataset) is an :class:`NGFFError`, so callers -- the CLI, the napari plugin, a
pipeline -- can catch one type and show one clear message. Each error names the location (file or URL)
and, where there is one, the key at fault.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

#: What a redacted secret is shown as.
HIDDEN = "***"
#: A URL inside free text: a scheme, "://", then anything up to white space or a quote or bracket that ends it.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()\[\]{}]+")
#: Query parameters that carry credentials: signed URLs of S3 (``X-Amz-*``, ``AWSAccessKeyId``, ``Signature``),
#: Google Cloud Storage (``X-Goog-*``, ``GoogleAccessId``), Azure SAS (``sig``), CloudFront (``Policy``,
#: ``Key-Pair-Id``) and the usual token names. Matched without regard to case; more is hidden rather than less.
_SECRET_PREFIXES = ("x-amz-", "x-goog-")
_SECRET_PARTS = ("token", "sig", "secret", "passw", "key", "credential", "auth", "session", "policy", "accessid")


def _secret_parameter(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith(_SECRET_PREFIXES) or any(part in lowered for part in _SECRET_PARTS)


def redact_url(url: str) -> str:
    """``url`` as it may be shown: user name and password (``user:pw@``) and credential query parameters
    replaced by ``***``. Only for display -- a URL is opened and compared as given."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{HIDDEN}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_secret_parameter(name) for name, _ in pairs):
            query = "&".join(
                f"{quote(name, safe='-_.~')}={HIDDEN if _secret_parameter(name) else quote(value, safe='-_.~/')}"
                for name, value in pairs
            )
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact(text: str) -> str:
    """``text`` with every URL in it redacted (:func:`redact_url`): for messages, warnings and output, which
    people paste into issues and chats, and which logs keep."""
    if "://" not in text:
        return text
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group()), text)


#: Exceptions that say the code is wrong -- a caller's bad index or argument, a library's changed API, an exhausted
#: machine -- never that the data or the network is: where ngffkit catches broadly (a store's or a client's
#: failure, whatever its type), these are re-raised as they were, never reported as a failed read.
PROGRAMMING_ERRORS: tuple[type[BaseException], ...] = (
    AttributeError, NameError, TypeError, IndexError, AssertionError, MemoryError,
)  # fmt: skip


class RedactedCause(Exception):
    """Stands in, as the ``__cause__`` of an :class:`NGFFError`, for an exception whose text held a secret (an
    HTTP client's error quoting the URL with its password or signature): its type's name and its text, redacted."""


def safe_cause(exc: BaseException) -> BaseException:
    """What to chain an :class:`NGFFError` to (``raise NGFFError(...) from safe_cause(exc)``): ``exc`` itself when
    neither it nor the exceptions behind it show a secret, else a :class:`RedactedCause` -- a traceback prints
    the whole chain, and tracebacks end up in issues and logs."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 16 and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    if all(redact(str(e)) == str(e) for e in chain):
        return exc
    return RedactedCause(f"{type(exc).__name__}: {redact(str(exc))}")


class NGFFError(Exception):
    """Base class of every error about OME-Zarr data.

    ``where`` and ``key`` are folded into the message so that ``str(error)`` alone tells the user what to look
    at (``"<where> [<key>]: <message>"``). URLs are redacted (:func:`redact`): an error never shows a password or
    a signed URL's signature. Every subclass takes the same parameters.

    :param message: what is wrong, in a sentence (kept, redacted, as :attr:`message`).
    :param where: the file or URL at fault, when known (kept, redacted, as :attr:`where`).
    :param key: the JSON path or metadata key inside it at fault, when known (``"multiscales[0].axes"``).
    """

    def __init__(self, message: str, *, where: str | None = None, key: str | None = None) -> None:
        self.message = redact(message)
        self.where = redact(where) if where else where
        self.key = key
        super().__init__(self._compose())

    def _compose(self) -> str:
        parts = []
        if self.where:
            parts.append(self.where)
        if self.key:
            parts.append(f"[{self.key}]")
        prefix = " ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class NotFound(NGFFError):
    """A group, array or document that should exist does not."""


class NotOMEZarr(NGFFError):
    """The location holds zarr (or nothing), but no OME-NGFF metadata."""


class InvalidMetadata(NGFFError):
    """Metadata exists but cannot be parsed or understood (bad JSON, wrong types, unknown version)."""


class UnsafePath(NGFFError):
    """A path taken from metadata would leave the dataset root (``..``, absolute, another scheme, ...)."""


class UnsupportedVersion(InvalidMetadata):
    """The metadata states an NGFF version that ngffkit does not know."""


class AlreadyExists(NGFFError):
    """A write would replace existing data and ``overwrite`` was not given."""


class CorruptData(NGFFError):
    """Chunk bytes that cannot be decoded (truncated, another codec than declared, the wrong size)."""


class InvalidArgument(NGFFError):
    """A writer was called with arguments that cannot work; raised before anything is written."""


class LocationError(NGFFError):
    """A path or URL cannot be opened (unknown protocol, network failure, permission denied).

    A transport failure, not a fault of the data: readers never turn it into a skipped well or a zero tile.
    """


class LimitExceeded(NGFFError):
    """Input beyond one of ngffkit's written-down limits (a huge document, an endless body, 10^5 wells, ...).

    The message names the limit and the ``NGFFKIT_...`` environment variable that raises it.
    """


class WriteCancelled(NGFFError):
    """A write stopped because its caller asked (a progress callback raised it); what it began is removed."""


class EditConflict(NGFFError):
    """A save of edits refused because data it read changed since (another person or program wrote there): nothing
    of the refused part is written, and the edits are kept to be saved again over the new data."""


class NGFFWarning(UserWarning):
    """Data that is usable but not as the specification says (a missing lower level, partial omero, ...).
    Its text is redacted like an error's."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact(arg) if isinstance(arg, str) else arg for arg in args))
