"""Worker code for the fault tests (`test_faults.py`): the flows there call it by file path, so
every start method can import it."""

from __future__ import annotations

import os
import subprocess
import time

import numpy as np


def count_forever(delay: float = 0.0, marker: str = "", example=None):
    """Importer that never ends by itself; writes `marker` once 100 events went out."""
    i = 0
    while True:
        event = np.zeros_like(example)
        event["x"] = i
        if delay:
            time.sleep(delay)
        yield event
        i += 1
        if i == 100 and marker:
            with open(marker, "w") as out:
                out.write("running")


def identity(data):
    return data


def hang(data, at: int = 0, marker: str = ""):
    """Processor stuck in its own code from event `at` on; writes `marker` then."""
    if int(data["x"][0]) >= at:
        if marker:
            with open(marker, "w") as out:
                out.write("stuck")
        time.sleep(1e9)
    return data


class Save:
    """Exporter keeping the `x` of every event; `finish()` saves them to `path`.npy."""

    def __init__(self, path: str, delay: float = 0.0):
        self.path = path
        self.delay = delay
        self.seen: list[int] = []

    def process(self, data):
        self.seen.append(int(data["x"][0]))
        if self.delay:
            time.sleep(self.delay)

    def finish(self):
        np.save(self.path, np.array(self.seen, dtype=np.int64))


class StuckObserver:
    """Observer stuck in its own code at its first look."""

    def __init__(self):
        pass

    def process(self, data):
        time.sleep(1e9)


class StartsChildren:
    """Processor whose code starts processes that would outlive it: a plain child, one in a
    session of its own, and one with an empty environment; each runs `sleep SECONDS`."""

    def __init__(self, seconds: str, marker: str = ""):
        self.children = [
            subprocess.Popen(["sleep", seconds]),
            subprocess.Popen(["sleep", seconds], start_new_session=True),
            subprocess.Popen(["sleep", seconds], env={}),
        ]
        if marker:
            with open(marker, "w") as out:
                out.write(" ".join(str(c.pid) for c in self.children))

    def process(self, data):
        return data


def fail_at(data, at: int):
    if int(data["x"][0]) == at:
        raise ValueError(f"bad event x={at}")
    return data


class Partial:
    """Exporter with `combine`: each process sums the x it saw; `combine` writes the sums, in
    process order, and their total to `path` (relative: the supervisor's working directory)."""

    def __init__(self, path: str, fail: bool = False):
        self.path = path
        self.fail = fail
        self.total = 0
        self.pid = os.getpid()

    def process(self, data):
        self.total += int(data["x"][0])

    def finish(self):
        return {"total": self.total, "pid": self.pid, "path": self.path, "fail": self.fail}

    @classmethod
    def combine(cls, values):
        if any(v.get("fail") for v in values):
            raise RuntimeError("combine was asked to fail")
        with open(values[0]["path"], "w") as out:
            out.write(f"{os.getpid()} {sum(v['total'] for v in values)} {len(values)}\n")


def count(n: int, example=None):
    """Importer: events 0..n-1 in field `x`."""
    for i in range(n):
        event = np.zeros_like(example)
        event["x"] = i
        yield event


class SlowFinish:
    """Observer whose `finish()` takes `seconds` (as saving a plot may), then writes `path`."""

    def __init__(self, path: str, seconds: float):
        self.path = path
        self.seconds = seconds
        self.seen = 0

    def process(self, data):
        self.seen += 1

    def finish(self):
        time.sleep(self.seconds)
        with open(self.path, "w") as out:
            out.write(str(self.seen))
