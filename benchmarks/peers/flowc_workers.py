"""The benchmark chain's workers for flowc: module-level, so spawn and forkserver children can
import them by reference. Given to `flowc.compile_source(functions=...)` by `flowc_chain.py`.

The `profiled_` variants run cProfile over everything their process does between their first
event and the end of the stream (the runtime's loop included) and dump it to `profile_path`.
"""

from __future__ import annotations

import cProfile

from common import ExporterRecord, Pacer, handed_over_at


def source(n, example):
    """Yields the output slot's zeroed example array `n` times, as fast as the chain takes it."""
    for _ in range(n):
        yield example


def paced_source(n, rate, settle, example):
    """Yields the zeroed example `n` times at `rate` per second, after `settle` seconds."""
    pacer = Pacer(rate, settle)
    for index in range(n):
        yield pacer.hand_over(index, example)


def passthrough(data):
    """Returns its input: the runtime copies it into the output slot."""
    return data


class ArrivalSink:
    """Notes each event's arrival; leaves the record in `result_dir` at the end of the stream."""

    def __init__(self, result_dir):
        self.record = ExporterRecord(result_dir, 0)

    def process(self, data):
        self.record.arrived()

    def finish(self):
        self.record.save()


class LatencySink:
    """Notes each event's latency from the hand-over time the paced importer wrote into it."""

    def __init__(self, result_dir, n):
        self.record = ExporterRecord(result_dir, n)

    def process(self, data):
        self.record.arrived_with(handed_over_at(data))

    def finish(self):
        self.record.save()


def profiled_source(n, profile_path, example):
    """`source`, profiling its process from the first event to the end of the stream."""
    profile = cProfile.Profile()
    profile.enable()
    try:
        for _ in range(n):
            yield example
    finally:
        profile.disable()
        profile.dump_stats(profile_path)


class ProfiledPassthrough:
    """`passthrough` as a class, profiling its process from `__init__` to `finish()`."""

    def __init__(self, profile_path):
        self.profile_path = profile_path
        self.profile = cProfile.Profile()
        self.profile.enable()

    def process(self, data):
        return data

    def finish(self):
        self.profile.disable()
        self.profile.dump_stats(self.profile_path)


class ProfiledArrivalSink(ArrivalSink):
    """`ArrivalSink`, profiling its process from `__init__` to `finish()`."""

    def __init__(self, result_dir, profile_path):
        super().__init__(result_dir)
        self.profile_path = profile_path
        self.profile = cProfile.Profile()
        self.profile.enable()

    def finish(self):
        self.profile.disable()
        self.profile.dump_stats(self.profile_path)
        super().finish()


FUNCTIONS = {
    "source": source,
    "paced_source": paced_source,
    "passthrough": passthrough,
    "ArrivalSink": ArrivalSink,
    "LatencySink": LatencySink,
    "profiled_source": profiled_source,
    "ProfiledPassthrough": ProfiledPassthrough,
    "ProfiledArrivalSink": ProfiledArrivalSink,
}
