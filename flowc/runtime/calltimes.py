"""How long one process's calls of the user's code take: sampled on the hot path, summed into
the process's statistics row (`flowc.runtime.stats`) in batches.

Reading the clock around every event, and keeping a histogram of the times, would cost a fast
worker more than the rest of its bookkeeping. So after timing its first EVERY_CALL_FIRST calls,
a process whose calls are fast times each call with probability 1/SAMPLE_EVERY (the gaps between timed calls are geometric, so what
comes next never depends on where the last timed call fell: a worker that does something
costly every N events is caught as often as chance says), and once a call takes SLOW_EVENT_S or
more it times the next call too (the clock is then nothing next to the work). Each timed call
counts with the inverse of the probability it had of being timed (Horvitz-Thompson): the
total, the median (from a histogram) and the longest call, in wall time and in the process's
CPU time, are estimates from the timed calls; the number of calls is exact. The same timing tells the process's ports whether it is slow
(`ProcessClock.slow`), which decides how soon a writer hands its events on.

With statistics off (`FLOWC_CALL_TIMES=off`) the calls are counted but their times are not
kept: the timed calls only tell the process whether it is slow.
"""

from __future__ import annotations

import math
import random
import time

from flowc.runtime import stats as S
from flowc.runtime.ring import SLOW_EVENT_S, ProcessClock
from flowc.runtime.stats import histogram_bin

# a fast process times each call with probability 1 / SAMPLE_EVERY
SAMPLE_EVERY = 64
# ... after timing each of its first EVERY_CALL_FIRST calls (a short run gets exact figures)
EVERY_CALL_FIRST = 1024


def _geometric_gaps(count: int, mean: int, seed: int) -> tuple[int, ...]:
    """`count` draws of the number of calls up to and including the next timed one."""
    draw = random.Random(seed).random
    log_miss = math.log1p(-1 / mean)
    return tuple(1 + int(math.log1p(-draw()) / log_miss) for _ in range(count))


# the gaps between timed calls of a fast process, used in turn (drawn once: cheap to take)
GAPS = _geometric_gaps(1021, SAMPLE_EVERY, seed=20261121)
# the timed calls reach the shared row after this many calls or this many seconds of calls,
# when the process ends, and when it blocks and has not flushed for FLUSH_SECONDS (a process
# that blocks every few events would spend more on flushing than on its events)
FLUSH_CALLS = 1024
FLUSH_SECONDS = 0.05
# the environment variable that turns call times off (statistics keep their exact counts)
ENVIRONMENT = "FLOWC_CALL_TIMES"


def enabled_by(environment) -> bool:
    """Whether call times are on, from `FLOWC_CALL_TIMES` (on unless 0, off, no or false)."""
    return environment.get(ENVIRONMENT, "on").strip().lower() not in ("0", "off", "no", "false")


class CallTimes:
    """The call times of one process, gathered in plain attributes and flushed into its row.

    The hot loop keeps a countdown: `calls_until_timed()` calls from now the next call is
    timed, and `timed(seconds, cpu_seconds)` takes that call's times and returns the next countdown;
    `finish(countdown)` when the loop ends.
    """

    def __init__(
        self,
        row,
        floats,
        hist_base: int,
        clock: ProcessClock,
        enabled: bool,
        gaps: tuple[int, ...] = GAPS,
        weight: int = SAMPLE_EVERY,
        every_call_first: int = EVERY_CALL_FIRST,
    ):
        self.row = row
        self.floats = floats
        self.hist_base = hist_base  # the wall-time histogram; the CPU-time one follows it
        self.cpu_hist_base = hist_base + S.HIST_BINS
        self.clock = clock
        self.enabled = enabled
        self.gaps = gaps
        self.fast_weight = weight  # what a call timed by chance counts for
        self.next_gap = 0  # the index of the next gap
        self.gap = 1  # the calls from the last timed one up to and including the next
        self.made = 0  # calls made up to the last timed one, since the process started
        self.every_call_first = every_call_first
        self.weight = 1  # what the next timed call counts for
        # not yet in the shared row
        self.calls = 0
        self.total = 0.0
        self.longest = 0.0
        self.bins: dict[int, int] = {}
        self.cpu_total = 0.0
        self.cpu_longest = 0.0
        self.cpu_bins: dict[int, int] = {}
        self.flushed_at = time.perf_counter()
        clock.before_block_hooks.append(self.flush_if_stale)

    def calls_until_timed(self) -> int:
        """The countdown for the first call: it is timed."""
        self.gap, self.weight = 1, 1
        return 1

    def timed(self, seconds: float, cpu_seconds: float) -> int:
        """Take the wall and CPU time of a timed call; return how many calls from now the next
        is timed."""
        slow = seconds >= SLOW_EVENT_S
        self.clock.slow = slow
        calls = self.calls + self.gap
        self.calls = calls
        self.made += self.gap
        if self.enabled:
            weight = self.weight
            total = self.total + seconds * weight
            self.total = total
            if seconds > self.longest:
                self.longest = seconds
            b = histogram_bin(seconds)
            bins = self.bins
            bins[b] = bins.get(b, 0) + weight
            self.cpu_total += cpu_seconds * weight
            if cpu_seconds > self.cpu_longest:
                self.cpu_longest = cpu_seconds
            b = histogram_bin(cpu_seconds)
            bins = self.cpu_bins
            bins[b] = bins.get(b, 0) + weight
        if calls >= FLUSH_CALLS or self.total >= FLUSH_SECONDS:
            self.flush()
        if slow or self.made < self.every_call_first:
            self.gap, self.weight = 1, 1
        else:
            at = self.next_gap
            self.gap, self.weight = self.gaps[at], self.fast_weight
            self.next_gap = at + 1 if at + 1 < len(self.gaps) else 0
        return self.gap

    def timed_alone(self, seconds: float, cpu_seconds: float) -> None:
        """Take the times of a call in a loop that times every call (an observer's: its calls
        are few)."""
        self.gap, self.weight = 1, 1
        self.timed(seconds, cpu_seconds)

    def finish(self, countdown: int) -> None:
        """The loop ends with `countdown` calls to go before the next timed one: count the calls
        made since the last timed one, then flush."""
        self.calls += self.gap - countdown
        self.gap = countdown
        self.flush()

    def flush_if_stale(self) -> None:
        """Flush when the last flush is FLUSH_SECONDS old (the process is about to block)."""
        if self.calls and time.perf_counter() - self.flushed_at >= FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Add what was gathered to the shared row."""
        if not self.calls:
            return
        self.flushed_at = time.perf_counter()
        floats, row = self.floats, self.row
        self.calls, calls = 0, self.calls
        if not self.enabled:  # the row then says no call was timed
            return
        row[S.CALLS] += calls
        floats[S.CALL_S] += self.total
        if self.longest > floats[S.CALL_MAX_S]:
            floats[S.CALL_MAX_S] = self.longest
        floats[S.CPU_CALL_S] += self.cpu_total
        if self.cpu_longest > floats[S.CPU_CALL_MAX_S]:
            floats[S.CPU_CALL_MAX_S] = self.cpu_longest
        for base, bins in ((self.hist_base, self.bins), (self.cpu_hist_base, self.cpu_bins)):
            for b, weight in bins.items():
                row[base + b] += weight
            bins.clear()
        self.total = self.longest = self.cpu_total = self.cpu_longest = 0.0
