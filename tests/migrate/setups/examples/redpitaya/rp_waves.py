"""The simulated Red Pitaya waveforms: waveform i has a pulse of height 200 + (37 i) % 3500
ADC counts at sample 40 + (13 i) % 150, decaying with time constant `tau` samples; when
i % 4 == 1 a pulse of 600 counts comes 30 samples earlier. Where pulses overlap the higher
value is taken; values are truncated to int16."""

import numpy as np

LENGTH = 256


def pulses(i: int) -> list[tuple[int, int]]:
    """(position, height) of the pulses of waveform i, in time order."""
    main = (40 + (13 * i) % 150, 200 + (37 * i) % 3500)
    return [(main[0] - 30, 600), main] if i % 4 == 1 else [main]


def waveform(i: int, tau: float) -> np.ndarray:
    samples = np.arange(LENGTH)
    trace = np.zeros(LENGTH)
    for position, height in pulses(i):
        after = samples >= position
        shape = np.where(after, height * np.exp(-(samples - position) / tau), 0.0)
        trace = np.maximum(trace, shape)
    return trace.astype(np.int16)
