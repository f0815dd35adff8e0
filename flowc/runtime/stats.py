"""The statistics segment of a run, described and read in one place: a few global words (the
STOP and PAUSE flags), then one row of counters per worker process (`RowLayout`), at the
offsets `SegmentLayout` gives; `Statistics` reads it for the supervisor and the monitor.

Each process writes only its own row (no locks on the hot path), through the word indices and
`RowLayout` bases defined here; the supervisor sums the rows per worker (`flowc.runtime.collect`
turns them into the `--stats` document of SPEC section 5).
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


@dataclass(frozen=True)
class SegmentLayout:
    """Where each process's row sits in the statistics segment: after the global words, the
    rows of every worker's processes, in plan order."""

    rows: dict[str, RowLayout]  # worker -> the layout of its processes' rows
    starts: dict[str, tuple[int, ...]]  # worker -> the first word of each process's row
    words: int  # the whole segment

    @classmethod
    def of(cls, workers) -> SegmentLayout:
        """The layout for `workers` (a plan's, each with inputs, outputs and processes)."""
        rows = {w.name: RowLayout(inputs=len(w.inputs), outputs=len(w.outputs)) for w in workers}
        starts = {}
        offset = GLOBAL_WORDS
        for w in workers:
            size = rows[w.name].words
            starts[w.name] = tuple(range(offset, offset + size * w.processes, size))
            offset += size * w.processes
        return cls(rows, starts, offset)

    @property
    def size(self) -> int:
        """The segment's size in bytes."""
        return self.words * 8

    def offset(self, worker: str, index: int) -> int:
        """The first word of the row of process `index` of `worker`."""
        return self.starts[worker][index]


class Statistics:
    """The statistics segment as the supervisor sees it: each worker's counters summed over its
    processes, the state of each process, and the global flags (which the supervisor sets).

    `words` is the segment as int64 words (a memoryview cast to "q"); the words ending in _S
    are read as float64 through a second view of the same memory. `release()` lets go of both.
    """

    def __init__(self, words: memoryview, layout: SegmentLayout):
        self.words = words
        self.floats = words.cast("B").cast("d")
        self.layout = layout

    def release(self) -> None:
        self.floats.release()
        self.words.release()

    # --- the global flags ---------------------------------------------------------------------

    def stop(self) -> None:
        """Importers stop at their next event."""
        self.words[STOP] = 1

    def set_paused(self, paused: bool) -> None:
        """Importers wait before their next event while paused."""
        self.words[PAUSE] = int(paused)

    # --- one worker, summed over its processes ------------------------------------------------

    def count(self, worker: str, word: int) -> int:
        """The sum of an integer word of the rows (ERRORS, SEEN, SKIPPED, ACCEPTED, DISCARDED,
        CALLS)."""
        words = self.words
        return sum(words[r + word] for r in self.layout.starts[worker])

    def seconds(self, worker: str, word: int) -> float:
        """The sum of a float word (WALL_S, CPU_S, BLOCKED_IN_S, BLOCKED_OUT_S, CALL_S,
        CPU_CALL_S, PAUSED_S)."""
        floats = self.floats
        return sum(floats[r + word] for r in self.layout.starts[worker])

    def longest(self, worker: str, word: int) -> float:
        """The largest of a float word over the processes (CALL_MAX_S, CPU_CALL_MAX_S)."""
        floats = self.floats
        return max((floats[r + word] for r in self.layout.starts[worker]), default=0.0)

    def peak_rss(self, worker: str) -> int:
        """The largest resident set of the worker's processes, in bytes."""
        words = self.words
        return max((words[r + PEAK_RSS] for r in self.layout.starts[worker]), default=0)

    def consumed(self, worker: str) -> list[int]:
        """Events taken from each input, in the order of the worker's inputs."""
        row = self.layout.rows[worker]
        return self._summed(worker, row.consumed_base, row.inputs)

    def written(self, worker: str) -> list[int]:
        """Events written to each output (drops included), in the order of its outputs."""
        row = self.layout.rows[worker]
        return self._summed(worker, row.written_base, row.outputs)

    def dropped(self, worker: str) -> list[int]:
        """Events dropped at each output."""
        row = self.layout.rows[worker]
        return self._summed(worker, row.dropped_base, row.outputs)

    def histogram(self, worker: str, cpu: bool = False) -> list[int]:
        """The call-time histogram (HIST_BINS bins; wall time, or CPU time with `cpu`)."""
        row = self.layout.rows[worker]
        return self._summed(worker, row.cpu_hist_base if cpu else row.hist_base, HIST_BINS)

    def states(self, worker: str) -> list[int]:
        """The STATE_* of each process of the worker, by process index."""
        words = self.words
        return [words[r + STATE] for r in self.layout.starts[worker]]

    def _summed(self, worker: str, base: int, count: int) -> list[int]:
        words = self.words
        rows = self.layout.starts[worker]
        return [sum(words[r + base + k] for r in rows) for k in range(count)]
