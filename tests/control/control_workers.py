"""Worker code for the control tests: importable from tests/control (every start method), and
copied beside the .flow files the CLI tests write."""

from __future__ import annotations

import os
import time

import numpy as np


def count_forever(delay: float = 0.0, example=None):
    """Importer that never ends by itself: events 0, 1, 2... in field `x`."""
    i = 0
    while True:
        event = np.zeros_like(example)
        event["x"] = i
        if delay:
            time.sleep(delay)
        yield event
        i += 1


def count(n: int, example=None):
    """Importer: events 0..n-1 in field `x`."""
    for i in range(n):
        event = np.zeros_like(example)
        event["x"] = i
        yield event


def identity(data):
    return data


def fail_at(data, at: float):
    """Processor that raises on the event whose x is `at`."""
    if data["x"][0] == at:
        raise ValueError(f"bad event {at:g}")
    return data


class Collect:
    """Exporter: keeps x and each event's metadata counter and deadtime; saves them at
    `finish()` to `<path>.<pid>.npz`, so a saved file proves `finish()` was called."""

    def __init__(self, path: str):
        self.path = path
        self.x: list[float] = []
        self.counters: list[int] = []
        self.deadtimes: list[float] = []

    def process(self, data, meta):
        self.x.append(float(data["x"][0]))
        self.counters.append(int(meta["counter"]))
        self.deadtimes.append(float(meta["deadtime"]))

    def finish(self):
        np.savez(
            f"{self.path}.{os.getpid()}.npz",
            x=np.array(self.x, dtype=np.float64),
            counter=np.array(self.counters, dtype=np.int64),
            deadtime=np.array(self.deadtimes, dtype=np.float64),
        )
