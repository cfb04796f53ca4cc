"""Everything the command prints passes through :func:`ngffkit.errors.redact`.

Errors and warnings are redacted where they are made; the command line also prints URLs itself -- in ``info``
trees, ``--json`` documents, "wrote ..." lines, argparse's complaints and ``serve``'s request log. Rather than
trusting every one of those lines to remember, :func:`redacted_output` puts a filter in front of standard
output and standard error for the duration of a command: a password or a signed URL's signature never reaches
a terminal, a log file or a CI transcript.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from ngffkit.errors import redact


class RedactedStream(io.TextIOBase):
    """A text stream that redacts what is written and hands it to ``target`` (which keeps its own buffering,
    encoding and terminal detection: rich and print see the same stream they would otherwise)."""

    def __init__(self, target: TextIO) -> None:
        self.target = target

    def write(self, text: str) -> int:
        self.target.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self.target.flush()

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.target.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.target.errors

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


@contextlib.contextmanager
def redacted_output() -> Iterator[None]:
    """Standard output and error redacted while the block runs (restored afterwards, also on failure)."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactedStream(out), RedactedStream(err)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        sys.stdout, sys.stderr = out, err
