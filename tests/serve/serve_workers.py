"""Worker code for the live-page tests: a paced importer of pulse heights and waveforms, a
processor, an exporter, and observers that publish live documents as the stdlib monitors do
(`flowc.runtime.publish`): the latest traces, a rate curve."""

from __future__ import annotations

import collections
import time

import numpy as np

from flowc.runtime.publish import publish

# an observer publishes its document at most this often (seconds)
PUBLISH_EVERY_S = 0.2


def pulses(n: int = 0, delay: float = 0.001, example=None):
    """Importer: events with a random `height` and a noisy pulse in `wave`; endless when n=0."""
    rng = np.random.default_rng(7)
    i = 0
    samples = np.arange(example["wave"].shape[-1])
    while n == 0 or i < n:
        event = np.zeros_like(example)
        height = rng.normal(1.0, 0.25)
        event["height"] = height
        event["wave"] = height * np.exp(-((samples - 20) ** 2) / 30) + rng.normal(
            0, 0.03, samples.size
        )
        if delay:
            time.sleep(delay)
        yield event
        i += 1


def identity(data):
    return data


class FailAfter:
    """Processor: passes `n` events on, then raises."""

    def __init__(self, n: int):
        self.left = n

    def process(self, data):
        self.left -= 1
        if self.left < 0:
            raise RuntimeError("the detector caught fire")
        return data


class Count:
    """Exporter: counts what arrives."""

    def __init__(self):
        self.events = 0

    def process(self, data):
        self.events += 1


class _Publisher:
    """Publishes `document()` every PUBLISH_EVERY_S seconds and at the end."""

    def __init__(self):
        self.seen = 0
        self.last = 0.0

    def tick(self):
        self.seen += 1
        now = time.monotonic()
        if now - self.last >= PUBLISH_EVERY_S:
            publish(self.document())
            self.last = now

    def finish(self):
        publish(self.document())


class Scope(_Publisher):
    """Observer: the latest 4 waveforms."""

    def __init__(self):
        super().__init__()
        self.recent = collections.deque(maxlen=4)

    def process(self, data):
        self.recent.append(np.asarray(data["wave"][0], dtype=float).round(4).tolist())
        self.tick()

    def document(self):
        return {
            "kind": "scope",
            "title": "waveforms",
            "seen": self.seen,
            "traces": list(self.recent),
        }


class Rate(_Publisher):
    """Observer: the rate it sees, one point per PUBLISH_EVERY_S."""

    def __init__(self):
        super().__init__()
        self.started = time.monotonic()
        self.points = []
        self.counted = 0

    def process(self, data):
        self.tick()

    def document(self):
        now = time.monotonic()
        if self.points:
            interval = max(now - self.started - self.points[-1][0], 1e-9)
            rate = (self.seen - self.counted) / interval
        else:
            rate = self.seen / max(now - self.started, 1e-9)
        self.points.append([round(now - self.started, 3), round(rate, 2)])
        self.counted = self.seen
        return {
            "kind": "rate",
            "title": "observed rate",
            "seen": self.seen,
            "series": self.points[-300:],
        }
