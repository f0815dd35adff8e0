"""The simulated oscilloscope traces of the `simple` example: trace i is a sine of amplitude
0.8 + 0.04 * (i % 10), so its maximum passes 0.95 for some traces and not for others."""

import numpy as np


def trace(i: int) -> np.ndarray:
    return np.sin(np.linspace(0, 10, 100) + i) * (0.8 + 0.04 * (i % 10))
