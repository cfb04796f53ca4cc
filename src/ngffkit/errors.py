"""The exceptions ngffkit raises.

Every failure that comes from the *data* (a missing file, bad JSON, metadata that cannot be understood, a
path that leaves the dataset) is an :class:`NGFFError`, so callers -- the CLI, the napari plugin, a
pipeline -- can catch one type and show one clear message. Each error names the location (file or URL)
and, where there is one, the key at fault.
"""

from __future__ import annotations


class NGFFError(Exception):
    """Base class of every error about OME-Zarr data.

    ``where`` is the file or URL at fault and ``key`` the JSON path or metadata key inside it, when known;
    both are folded into the message so that ``str(error)`` alone tells the user what to look at.
    """

    def __init__(self, message: str, *, where: str | None = None, key: str | None = None) -> None:
        self.message = message
        self.where = where
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


class NGFFWarning(UserWarning):
    """Data that is usable but not as the specification says (a missing lower level, partial omero, ...)."""
