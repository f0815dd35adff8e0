"""Pulse finding for the example pipelines: threshold crossings in detector waveforms."""

import numpy as np

import flowc

PULSE = np.dtype([("height", "f8"), ("time", "f8"), ("channel", "i2"), ("shape", "f4", (16,))])
SHAPE_SAMPLES = PULSE["shape"].shape[0]


@flowc.signature(produces="{height: f8, time: f8, channel: i2, shape: f4[16]}", kind="processor")
def find_pulses(
    data,
    *,
    threshold: float,
    baseline_samples: int = 64,
    window: int = 64,
    pre_samples: int = 4,
    sample_time: float = 1.0,
):
    """Yield one Pulse record for every pulse found in a waveform, channel by channel.

    Each numeric field of the event is a channel (numbered in field order; a plain array is
    channel 0). The baseline is the mean of the first `baseline_samples` samples. A pulse starts
    where the baseline-subtracted signal rises through `threshold`; it ends where the signal
    falls below half the threshold, and no new pulse is looked for before that. `height` is the
    highest sample within `window` samples of the start; `time` is the crossing, interpolated
    between samples, in units of `sample_time` (samples by default); `shape` holds the 16
    samples from `pre_samples` before the crossing (zero past either end of the waveform).
    A waveform already above threshold at its first sample yields no pulse for that stretch.
    """
    for channel, wave in enumerate(waveform_channels(data)):
        signal = wave - wave[:baseline_samples].mean()
        above = signal >= threshold
        crossings = np.flatnonzero(above[1:] & ~above[:-1]) + 1
        busy_until = 0
        for start in crossings:
            if start < busy_until:
                continue
            peak = start + int(np.argmax(signal[start : start + window]))
            falling = np.flatnonzero(signal[peak:] < 0.5 * threshold)
            busy_until = peak + int(falling[0]) if falling.size else signal.size
            before, after = signal[start - 1], signal[start]
            crossing = start - 1 + (threshold - before) / (after - before)
            pulse = np.zeros(1, PULSE)
            pulse["height"] = signal[peak]
            pulse["time"] = crossing * sample_time
            pulse["channel"] = channel
            first = start - pre_samples
            lo, hi = max(first, 0), min(first + SHAPE_SAMPLES, signal.size)
            pulse["shape"][0, lo - first : hi - first] = signal[lo:hi]
            yield pulse


def waveform_channels(data):
    """The waveforms of an event as float64 arrays: one per numeric field, or the array itself."""
    names = data.dtype.names
    if names is None:
        return [np.asarray(data, dtype=np.float64)]
    waves = []
    for name in names:
        values = data[name]
        if values.dtype.kind in "iuf":
            columns = values.reshape(values.shape[0], -1).astype(np.float64)
            waves.extend(columns.T)
    return waves
