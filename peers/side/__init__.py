"""The peers' side: modules that run inside a peer's own environment, one per peer.

A module here imports its peer, numpy and the standard library -- never ngffkit, which that environment does not
have. A process of the peer's environment runs one function (or serves many, one after the other: :func:`main`)
and answers in JSON on a line of its own; what the peer prints itself goes to stderr. Arrays travel as ``.npy``
files in a folder the caller names (:func:`save`).
"""

from __future__ import annotations

import contextlib
import json
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

#: The answer lines, as peers.recipes reads them (this module imports nothing of the caller's side).
RESULT = "PEER-RESULT "
FAILED = "PEER-FAILED "


def jsonable(value: Any) -> Any:
    """``value`` as JSON can say it: numpy scalars and arrays as numbers and lists, tuples as lists, paths as
    text; anything else as its ``repr`` (so that a check sees it, rather than the answer failing)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return jsonable(value.tolist())
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def save(array: Any, folder: str | Path, name: str) -> str:
    """``array`` (anything numpy can hold: a dask or zarr array is computed) as ``folder/name.npy``; its path."""
    import numpy as np

    path = Path(folder) / f"{name}.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.asarray(array))
    return str(path)


def load(path: str | Path) -> Any:
    import numpy as np

    return np.load(path)


def main(functions: Iterable[Callable[..., Any]]) -> None:
    """``python -m peers.side.MODULE FUNCTION``: run one function with the keyword arguments on stdin and print
    its answer. ``python -m peers.side.MODULE --serve``: answer one request per line of stdin (``{"function":
    ..., "arguments": {...}}``) until stdin ends, so that a test session pays the peer's imports once; a function
    that raises answers :data:`FAILED` with its traceback, and the process goes on."""
    by_name = {f.__name__: f for f in functions}
    if sys.argv[1:] == ["--serve"]:
        for line in sys.stdin:
            request = json.loads(line)
            _say(_answer(by_name[request["function"]], request["arguments"]))
        return
    if len(sys.argv) != 2 or sys.argv[1] not in by_name:
        raise SystemExit(f"usage: python -m {sys.argv[0]} {{{','.join(by_name)}}} < arguments.json")
    answer = _answer(by_name[sys.argv[1]], json.loads(sys.stdin.read() or "{}"))
    _say(answer)
    if answer.startswith(FAILED):
        raise SystemExit(1)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _answer(function: Callable[..., Any], arguments: dict[str, Any]) -> str:
    """The answer line: :data:`RESULT` and the JSON of what ``function`` returned, or :data:`FAILED` and the
    traceback as JSON text (also written to stderr). What the peer prints goes to stderr, not into the answer."""
    try:
        with contextlib.redirect_stdout(sys.stderr):
            return RESULT + json.dumps(jsonable(function(**arguments)))
    except Exception:
        text = traceback.format_exc()
        sys.stderr.write(text)
        return FAILED + json.dumps(text)
