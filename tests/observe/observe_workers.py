"""Workers for the tests of what a run shows: counting sources, slow stages, a failing one."""

from __future__ import annotations

import hashlib
import os
import time


def count(n, delay=0.0, after=""):
    """Events (i, i) for i in 0..n-1, optionally `delay` seconds apart; with `after`, only once
    that file exists (an observer's `Record` makes it when it has started)."""
    deadline = time.monotonic() + 60
    while after and not os.path.exists(after) and time.monotonic() < deadline:
        time.sleep(0.005)
    for i in range(n):
        if delay:
            time.sleep(delay)
        yield (float(i), float(i))


def parity(data):
    """A filter: even x to the first output, odd x to the second."""
    even = int(data["x"][0]) % 2 == 0
    return [even, not even]


def every_fourth(data):
    """A processor that keeps events whose x is a multiple of 4."""
    return data if int(data["x"][0]) % 4 == 0 else None


def slow(data, delay):
    """A processor that takes `delay` seconds per event."""
    time.sleep(delay)
    return data


def spin(data, seconds):
    """A processor that keeps its CPU busy for `seconds` per event."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass
    return data


def take(data, delay=0.0):
    """An exporter that does nothing with its events, taking `delay` seconds each."""
    if delay:
        time.sleep(delay)


def peek(data):
    """An observer that looks and does nothing."""


def fail_at(data, at):
    """A processor that raises at the event whose x is `at`."""
    if data["x"][0] == at:
        raise ValueError(f"bad event {at}")
    return data


class PlanRecorder:
    """An exporter that writes the sha256 of FLOWC_PLAN as its process saw it to `path`."""

    def __init__(self, path):
        self.path = path

    def process(self, data):
        pass

    def finish(self):
        text = os.environ.get("FLOWC_PLAN", "")
        with open(self.path, "w") as out:
            out.write(hashlib.sha256(text.encode()).hexdigest() if text else "")


class Record:
    """An observer that writes the counters of the events it saw, in the order it saw them, and
    what `flowc.runtime.observing.observed` said at the end, to `path` (JSON)."""

    def __init__(self, path):
        self.path = path
        self.counters = []
        with open(f"{path}.started", "w"):  # the source may start now (`count(after=...)`)
            pass

    def process(self, data, meta):
        self.counters.append(int(meta["counter"]))

    def finish(self):
        import json

        from flowc.runtime.observing import observed

        told = observed()
        with open(self.path, "w") as out:
            json.dump({"counters": self.counters, "observed": told.__dict__}, out)


def shout(data, every):
    """A processor that prints `shout X` to stdout for every `every`-th x, and passes it on."""
    x = int(data["x"][0])
    if x % every == 0:
        print(f"shout {x}", flush=True)
    return data


class Farewell:
    """An exporter that prints `farewell after N events` to stderr at the end."""

    def __init__(self):
        self.events = 0

    def process(self, data):
        self.events += 1

    def finish(self):
        import sys

        print(f"farewell after {self.events} events", file=sys.stderr, flush=True)
