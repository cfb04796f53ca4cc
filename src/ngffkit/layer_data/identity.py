"""Which node a napari layer shows, as a key that can be compared but tells nothing.

A layer's metadata is for people: napari shows it (its console, metadata views) and other plugins save it, so
the URL there is redacted. Two URLs that differ only in their credentials then look alike, and a redacted URL
must never be opened or compared: layers are matched on :func:`source_key` instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

#: The key of :func:`source_key`: drawn once per process, never stored or shown.
_SECRET = secrets.token_bytes(32)


def source_key(url: str) -> str:
    """An opaque key, equal for every layer of the node at ``url`` within this process, that tells nothing of the
    URL: a keyed hash (HMAC-SHA256 under a key drawn at start), so that even a weak password in the URL cannot be
    guessed from it offline."""
    return hmac.new(_SECRET, url.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
