"""Parse JSON documents from untrusted stores without ever leaking a raw traceback.

Metadata comes from strangers' buckets: it may be binary junk, nested a hundred thousand levels deep, or
hold integers with more digits than Python will convert. Each of those becomes one
:class:`~ngffkit.errors.InvalidMetadata` naming the document.
"""

from __future__ import annotations

import json
from typing import Any

from ngffkit.errors import InvalidMetadata

#: Larger metadata documents are refused rather than parsed (a plate of 1536 wells is ~200 KB).
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


def parse_json(data: bytes | str, *, where: str) -> Any:
    """Decode one JSON document; raise :class:`InvalidMetadata` naming ``where`` if it is not JSON."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InvalidMetadata(f"document of {len(data)} bytes is larger than {MAX_DOCUMENT_BYTES}", where=where)
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        return json.loads(text)
    except UnicodeDecodeError as exc:
        raise InvalidMetadata(f"not UTF-8 text ({exc.reason} at byte {exc.start})", where=where) from exc
    except json.JSONDecodeError as exc:
        raise InvalidMetadata(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", where=where
        ) from exc
    except RecursionError:
        # not chained: a RecursionError's traceback is a thousand frames of the JSON decoder, saying nothing more
        raise InvalidMetadata("JSON nested too deeply to read", where=where) from None
    except ValueError as exc:  # e.g. integers longer than Python's int-conversion limit
        raise InvalidMetadata(f"not usable JSON: {exc}", where=where) from exc
