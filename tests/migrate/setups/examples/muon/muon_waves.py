"""The simulated traces of the `muon` example. Trace i has a first pulse (one sample high) at
sample 5 of height 0.3 + 0.01 * (i % 50); unless i is a multiple of 3 it has a second one,
a decay, at sample 10 + (7 * i) % 50 of height 0.2 + 0.005 * (i % 40). Both are on chA
(a decay "up") for even i, on chB ("down") for odd i."""

import numpy as np

LENGTH = 64


def second_pulse(i: int) -> int | None:
    return None if i % 3 == 0 else 10 + (7 * i) % 50


def channels(i: int) -> tuple[np.ndarray, np.ndarray]:
    pulsed = np.zeros(LENGTH)
    pulsed[5] = 0.3 + 0.01 * (i % 50)
    second = second_pulse(i)
    if second is not None:
        pulsed[second] = 0.2 + 0.005 * (i % 40)
    quiet = np.zeros(LENGTH)
    return (pulsed, quiet) if i % 2 == 0 else (quiet, pulsed)


def peaks(trace: np.ndarray, threshold: float) -> np.ndarray:
    """Samples above `threshold` higher than both neighbours."""
    inner = trace[1:-1]
    return np.flatnonzero((inner > threshold) & (inner > trace[:-2]) & (inner > trace[2:])) + 1
