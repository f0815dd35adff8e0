"""Worker code for the runtime tests: importable, so every start method can run it."""

from __future__ import annotations

import numpy as np


def count(n: int, example=None):
    """Importer: events 0..n-1 in field `x` (and `y` = 2x when the buffer has it)."""
    for i in range(n):
        event = np.zeros_like(example)
        event["x"] = i
        if "y" in event.dtype.names:
            event["y"] = 2 * i
        yield event
