"""Matched-filter pulse finding for the example pipelines: finds pulses buried in noise."""

import numpy as np
from peaks import waveform_channels

import flowc


@flowc.signature(produces="{amplitude: f8, time: f8, channel: i2}", kind="processor")
class MatchedFilter:
    """Find pulses of a known shape in noisy waveforms by correlating with that shape.

    The template is the pulse shape of `stdlib.sources.pulses` (rise `rise`, decay `tau`, in
    samples) over `template_samples` samples. At every offset the correlation with the
    baseline-subtracted waveform, divided by the template's own norm, is the least-squares
    amplitude of a pulse starting there; offsets where it peaks above `threshold` are pulses,
    the highest first, each at least `tau` samples from a higher one. Yields one record per
    pulse: amplitude, start time in samples, channel. The baseline is the median of the first
    `baseline_samples` samples. The correlation costs template_samples multiply-adds per
    sample, which makes this a CPU-heavy worker worth running with processes=N.
    """

    def __init__(
        self,
        *,
        threshold: float = 0.3,
        tau: float = 40.0,
        rise: float = 4.0,
        template_samples: int = 256,
        baseline_samples: int = 200,
    ):
        t = np.arange(template_samples, dtype=np.float64)
        template = (1.0 - np.exp(-t / rise)) * np.exp(-t / tau)
        self.template = template / template.max()
        self.norm = float(self.template @ self.template)
        self.threshold = threshold
        self.separation = max(1, int(tau))
        self.baseline_samples = baseline_samples
        self.record = np.dtype([("amplitude", "f8"), ("time", "f8"), ("channel", "i2")])

    def process(self, data):
        for channel, wave in enumerate(waveform_channels(data)):
            signal = wave - np.median(wave[: self.baseline_samples])
            amplitude = np.correlate(signal, self.template, "valid") / self.norm
            inner = amplitude[1:-1]
            is_peak = (
                (inner >= self.threshold) & (inner >= amplitude[:-2]) & (inner > amplitude[2:])
            )
            candidates = np.flatnonzero(is_peak) + 1
            accepted: list[int] = []
            for offset in candidates[np.argsort(amplitude[candidates])[::-1]]:
                if all(abs(offset - other) >= self.separation for other in accepted):
                    accepted.append(int(offset))
            for offset in sorted(accepted):
                pulse = np.zeros(1, self.record)
                pulse["amplitude"] = amplitude[offset]
                pulse["time"] = offset
                pulse["channel"] = channel
                yield pulse
