"""Standard importers: sources of events, such as simulated detector waveforms."""

from __future__ import annotations

import time

import numpy as np

from flowc.callables import signature

_DEFAULT_EXAMPLE_LENGTH = 1024
# Gaussian noise is cut at random offsets from a bank drawn once: drawing it afresh for
# every sample costs more than everything else the simulation does
_NOISE_BANK_SIZE = 1 << 18


@signature(kind="importer")
def pulses(
    n: int,
    rate: float = 0.0,
    *,
    example=None,
    seed: int | None = None,
    noise: float = 0.01,
    baseline: float = 0.0,
    mean_pulses: float = 1.5,
    max_pulses: int = 4,
    height: float = 0.5,
    tau: float = 40.0,
    rise: float = 4.0,
):
    """Simulated detector waveforms: baseline noise plus random exponential-decay pulses.

    Yields `n` events at about `rate` events per second (`rate=0`: as fast as possible). The
    pace follows a deadline clock (event i is due at start + i/rate), so it does not drift, and
    a source that fell behind catches up without sleeping.

    Every numeric field of the output buffer is filled, each as its own channel: a waveform
    along the buffer's LENGTH (or along a field's sub-array when LENGTH is 1; a scalar field of
    a length-1 buffer gets one sample, which is the pulse height). Each channel holds Gaussian
    noise of width `noise` around `baseline`, plus 0 to `max_pulses` pulses (Poisson, mean
    `mean_pulses`) starting at random times between 10% (a pre-trigger baseline) and 80% of the
    waveform, with exponentially distributed heights (mean `height`), a rise time `rise` and a
    decay time `tau`, both in samples. Integer fields are
    scaled like an ADC: the baseline sits at 10% of the dtype's range and a height of 1.0 spans
    40% of it. Complex fields carry the signal in the real part and noise in the imaginary
    part; boolean fields stay False. A plain array buffer (`f4[1024]`) is one channel.

    `example` is the zeroed array of the output slot (given by flowc); without it, a plain
    float32 array of 1024 samples. `seed` makes the events reproducible (None: fresh entropy).
    Each event is a new array, so the events may be kept. The noise of a waveform is a random
    cut from a bank of 262144 Gaussian samples drawn at the start.
    """
    if n < 0:
        raise ValueError(f"pulses: n={n} must be 0 or more")
    if rate is not None and rate < 0:
        raise ValueError(f"pulses: rate={rate} must be 0 (as fast as possible) or more")
    if noise < 0 or mean_pulses < 0 or max_pulses < 0 or tau <= 0 or rise < 0:
        raise ValueError(
            "pulses: noise, mean_pulses and max_pulses must be 0 or more, tau more than 0, "
            "rise 0 or more"
        )
    if example is None:
        example = np.zeros(_DEFAULT_EXAMPLE_LENGTH, np.float32)
    simulator = _WaveformSimulator(
        example,
        rng=np.random.default_rng(seed),
        noise=noise,
        baseline=baseline,
        mean_pulses=mean_pulses,
        max_pulses=max_pulses,
        height=height,
        tau=tau,
        rise=rise,
    )
    period = 1.0 / rate if rate else 0.0
    start = time.perf_counter()
    for index in range(n):
        event = simulator.event()
        if period:
            delay = start + index * period - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        yield event


class _WaveformSimulator:
    """Fills a fresh copy of an example array with simulated waveforms, one per channel."""

    def __init__(
        self,
        example: np.ndarray,
        *,
        rng,
        noise,
        baseline,
        mean_pulses,
        max_pulses,
        height,
        tau,
        rise,
    ):
        self.example = np.asarray(example)
        self.rng = rng
        self.noise = noise
        self.baseline = baseline
        self.mean_pulses = mean_pulses
        self.max_pulses = max_pulses
        self.height = height
        self.tau = tau
        self.rise = rise
        self.templates: dict[int, np.ndarray] = {}
        largest = max(
            [self.example.size]
            + [self.example[name].size for name in self.example.dtype.names or ()]
        )
        self.noise_bank = rng.standard_normal(max(_NOISE_BANK_SIZE, 4 * largest))
        length = self.example.shape[0] if self.example.ndim else 1
        names = self.example.dtype.names
        self.fields = [name for name in names or () if _is_numeric(self.example.dtype[name])]
        self.length = length
        if names is None and not _is_numeric(self.example.dtype):
            raise TypeError(f"pulses: cannot simulate waveforms of dtype {self.example.dtype}")

    def event(self) -> np.ndarray:
        event = np.empty_like(self.example)
        if self.example.dtype.names is None:
            self._fill(event)
            return event
        for name in self.example.dtype.names:
            if name in self.fields:
                self._fill(event[name])
            else:
                event[name] = 0
        return event

    def _fill(self, target: np.ndarray) -> None:
        samples = self.length if self.length > 1 else max(1, target.size)
        channels = target.size // samples
        signal = np.empty((channels, samples))
        template = self._template(samples)
        counts = np.minimum(self.rng.poisson(self.mean_pulses, channels), self.max_pulses)
        earliest_start = int(samples * 0.1)
        latest_start = max(earliest_start + 1, int(samples * 0.8))
        for channel, count in enumerate(counts):
            wave = signal[channel]
            offset = int(self.rng.integers(0, self.noise_bank.size - samples + 1))
            np.multiply(self.noise_bank[offset : offset + samples], self.noise, out=wave)
            wave += self.baseline
            for _ in range(count):
                start = int(self.rng.integers(earliest_start, latest_start))
                amplitude = self.rng.exponential(self.height)
                wave[start:] += amplitude * template[: samples - start]
        signal = signal.T.reshape(target.shape)
        if target.dtype.kind == "c":
            target.real = signal
            offset = int(self.rng.integers(0, self.noise_bank.size - target.size + 1))
            noise = self.noise_bank[offset : offset + target.size] * self.noise
            target.imag = noise.reshape(target.shape)
        else:
            _store(target, signal)

    def _template(self, samples: int) -> np.ndarray:
        """A unit-height pulse (rise time `rise`, decay time `tau`) cut to `samples` samples.

        A single sample is the pulse's height itself.
        """
        template = self.templates.get(samples)
        if template is None:
            if samples == 1:
                template = np.ones(1)
            else:
                t = np.arange(max(samples, int(10 * (self.tau + self.rise)) + 2), dtype=np.float64)
                rising = 1.0 - np.exp(-t / self.rise) if self.rise > 0 else np.ones(t.size)
                template = rising * np.exp(-t / self.tau)
                template = template[:samples] / template.max()
            self.templates[samples] = template
        return template


def _is_numeric(dtype: np.dtype) -> bool:
    base = dtype.subdtype[0] if dtype.subdtype else dtype
    return base.kind in "iufc"


def _store(target: np.ndarray, signal: np.ndarray) -> None:
    """Write a float64 signal into a real field (ADC scaling for integers)."""
    if target.dtype.kind in "iu":
        info = np.iinfo(target.dtype)
        span = float(info.max) - float(info.min)
        counts = np.rint(float(info.min) + span * (0.1 + 0.4 * signal))
        np.clip(counts, info.min, info.max, out=counts)
        target[...] = counts
    else:
        target[...] = signal
