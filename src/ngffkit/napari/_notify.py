"""Error text for notifications: the reason first, then the key and the file.

napari's toasts are one line wide. An NGFFError reads "<url> [<key>]: <reason>", and a long URL pushed the reason
out of sight ("Could not open http://127.0.0.1:8765/..."). Notifications lead with the reason.
"""

from __future__ import annotations

import ngffkit


def describe(error: ngffkit.NGFFError) -> str:
    """``reason (key: k) -- in <file or URL>``."""
    text = error.message
    if error.key:
        text += f" (key: {error.key})"
    if error.where:
        text += f" -- in {error.where}"
    return text
