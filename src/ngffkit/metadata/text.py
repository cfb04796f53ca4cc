"""Strangers' text, shown safely: names and labels from metadata as printable text.

Channel labels, image and label names come from documents anyone can write. A newline, carriage return or
backspace changes what a terminal or a layer list shows, a bidi override (U+202E) reverses the text after it,
and a lone surrogate cannot be encoded at all. Wherever such text is shown -- the CLI, napari's layer names --
each of those characters is written as its escape (``\\n``, ``\\u202e``), never interpreted.
"""

from __future__ import annotations

import re

#: Characters that change what is shown (control characters, escape sequences, backspaces, bidi overrides and
#: isolates) or cannot be encoded at all (lone surrogates).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(value: object) -> str:
    """``value`` as text with every control character written as an escape (``\\x1b``, ``\\ud800``)."""
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], str(value))
