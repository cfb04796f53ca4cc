"""ngffkit's warnings on the command line read as one line of the command's own, not as Python's.

Python shows a warning as ``/path/to/ngffkit/tools/info.py:30: NGFFWarning: ...`` followed by the source line
that raised it -- noise to a person at a terminal, who did not write that file. While a command runs, ngffkit's
own warnings (:class:`~ngffkit.errors.NGFFWarning`) are shown as ``ngffkit: warning: <message>``, escaped like
every other line; warnings of other libraries keep Python's form (they are theirs to word).
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator
from typing import TextIO

from ngffkit.errors import NGFFWarning


@contextlib.contextmanager
def readable_warnings() -> Iterator[None]:
    """ngffkit's warnings shown as ``ngffkit: warning: ...`` while the block runs (restored afterwards)."""
    python_shows = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:  # fmt: skip
        if isinstance(category, type) and issubclass(category, NGFFWarning):
            from ngffkit.cli.common import printable

            print(f"ngffkit: warning: {printable(message)}", file=file or sys.stderr)
        else:
            python_shows(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = python_shows
