"""Run statistics: one row of counters per worker process in shared memory, and call times.

Each process writes only its own row (no locks on the hot path); the supervisor reads every row
at the end and sums them into the `--stats` document of SPEC section 5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# control segment: a few global words, then one row per process
STOP = 0  # set by the supervisor: importers stop at the next event
PAUSE = 1  # set while the run is paused: importers wait before their next event
GLOBAL_WORDS = 8

# row words; those ending in _S hold float64 seconds in the same 8 bytes
(
    STATE,
    ERRORS,
    SEEN,
    SKIPPED,
    ACCEPTED,
    DISCARDED,
    WALL_S,
    CPU_S,
    BLOCKED_IN_S,
    BLOCKED_OUT_S,
    CALL_S,
    CALL_MAX_S,
    PEAK_RSS,
    PAUSED_S,  # an importer's time paused (flowc.runtime.handle)
    CALLS,  # calls of the user's code (their times are sampled: flowc.runtime.calltimes)
    CPU_CALL_S,  # the CPU time of those calls
    CPU_CALL_MAX_S,
) = range(17)
ROW_HEADER = 24
STATE_STARTING, STATE_RUNNING, STATE_FINISHED = 0, 1, 2

# time spent in the user's code per event (weighted samples; wall, then CPU), in bins of a quarter octave from 2**-30 s (~1 ns)
HIST_BINS = 4 * 42
_HIST_LOW_EXPONENT = -30


def histogram_bin(seconds: float) -> int:
    mantissa, exponent = math.frexp(seconds)
    b = (exponent - _HIST_LOW_EXPONENT) * 4 + int((mantissa - 0.5) * 8)
    return 0 if b < 0 else (HIST_BINS - 1 if b >= HIST_BINS else b)


def bin_seconds(b: int) -> float:
    """The middle of a histogram bin, in seconds."""
    exponent, quarter = divmod(b, 4)
    return math.ldexp(0.5 + (quarter + 0.5) / 8, exponent + _HIST_LOW_EXPONENT)


@dataclass(frozen=True)
class RowLayout:
    """Where a process's per-buffer counters sit in its row."""

    inputs: int
    outputs: int

    @property
    def hist_base(self) -> int:
        return ROW_HEADER

    @property
    def cpu_hist_base(self) -> int:
        return ROW_HEADER + HIST_BINS

    @property
    def consumed_base(self) -> int:
        return ROW_HEADER + 2 * HIST_BINS

    @property
    def written_base(self) -> int:
        return self.consumed_base + self.inputs

    @property
    def dropped_base(self) -> int:
        return self.written_base + self.outputs

    @property
    def words(self) -> int:
        return self.dropped_base + self.outputs


def histogram_median(hist) -> float | None:
    """The median of a histogram of call times, in seconds (None when it is empty)."""
    total = sum(hist)
    if not total:
        return None
    half = (total + 1) // 2
    running = 0
    for b, n in enumerate(hist):
        running += n
        if running >= half:
            return bin_seconds(b)
    return None


def call_times_entry(calls: int, wall: tuple, cpu: tuple, events: int | None = None) -> dict:
    """The `calls`, `call_*` and `cpu_call_*` keys of a worker's statistics, from the calls
    and, in wall and in CPU time, (total seconds, histogram, longest call). For a worker that
    takes batches, `events` (those it handled) adds `events_per_call` and the mean time per
    event, `event_s` and `cpu_event_s` (the `call_*` keys are then per call)."""
    entry: dict = {"calls": calls}
    for prefix, (total, hist, longest) in (("", wall), ("cpu_", cpu)):
        entry[f"{prefix}call_s"] = total
        entry[f"{prefix}call_median_s"] = histogram_median(hist)
        entry[f"{prefix}call_max_s"] = longest
    if events is not None and calls:
        entry["events_per_call"] = events / calls
        if events:
            entry["event_s"] = wall[0] / events
            entry["cpu_event_s"] = cpu[0] / events
    return entry
