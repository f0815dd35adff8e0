"""Worker code for the Ray backend tests (beside `tests/runtime/workers.py`)."""

from __future__ import annotations

import os
import time

import numpy as np


class Timed:
    """Exporter: for every event, the importer's counter, timestamp and deadtime, and when this
    process finished with it (time.time()); saved at `finish()` to `<path>.<pid>.npz`."""

    def __init__(self, path: str, delay: float = 0.0):
        self.path = path
        self.delay = delay
        self.counters: list[int] = []
        self.stamps: list[float] = []
        self.deadtimes: list[float] = []
        self.done: list[float] = []

    def process(self, data, meta):
        self.counters.append(int(meta["counter"]))
        self.stamps.append(float(meta["timestamp"]))
        self.deadtimes.append(float(meta["deadtime"]))
        time.sleep(self.delay)
        self.done.append(time.time())

    def finish(self):
        np.savez(
            f"{self.path}.{os.getpid()}.npz",
            counter=np.array(self.counters, dtype=np.int64),
            timestamp=np.array(self.stamps),
            deadtime=np.array(self.deadtimes),
            done=np.array(self.done),
        )


def big_events(n: int, example=None):
    """Importer for long slots: event i holds i in every element of `x`."""
    for i in range(n):
        event = np.zeros_like(example)
        event["x"] = i
        event["y"] = 2 * i
        yield event


def check_big(data):
    """Processor passing the event on; checks every element holds the same event."""
    if not (data["x"] == data["x"][0]).all():
        raise AssertionError("an event was torn")
    return data


def count_announced(started: str, delay: float = 0.0, example=None):
    """Importer that never ends by itself; creates the file `started` with its first event."""
    i = 0
    while True:
        event = np.zeros_like(example)
        event["x"] = i
        event["y"] = 2 * i
        if i == 0:
            with open(started, "w") as out:
                out.write("started")
        time.sleep(delay)
        yield event
        i += 1


def reuse_one_array(n: int, example=None):
    """Importer yielding the same array every time, changed in place between events."""
    for i in range(n):
        example["x"] = i
        example["y"] = 2 * i
        yield example


class Where:
    """Exporter: writes to `path` the pid of the raylet of the Ray node it runs on."""

    def __init__(self, path: str):
        self.path = path

    def process(self, data):
        pass

    def finish(self):
        with open(self.path, "w") as out:
            out.write(os.environ.get("RAY_RAYLET_PID", "no RAY_RAYLET_PID"))
