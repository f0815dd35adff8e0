"""How long one process's calls of the user's code take: sampled on the hot path, summed into
the process's statistics row (`flowc.runtime.stats`) in batches.

Reading the clock around every event would cost a fast worker more than the rest of its
bookkeeping, so a process times one call in SAMPLE_EVERY while its calls are fast, and every
call once one takes SLOW_EVENT_S or more (its clock reads are then nothing next to its work).
Each timed call stands for the calls since the previous one: the call count is exact, and the
total, the median (from a histogram) and the longest call are those of the timed calls, each
weighted by the calls it stands for. The same timing tells the process's ports whether it is
slow (`ProcessClock.slow`), which decides how soon a writer hands its events on.

With statistics off (`FLOWC_CALL_TIMES=off`) the calls are counted but not timed into the row,
and a fast process looks at the clock only once every SLOW_CHECK_EVERY calls, to notice that it
has become slow.
"""

from __future__ import annotations

from flowc.runtime import stats as S
from flowc.runtime.ring import SLOW_EVENT_S, ProcessClock

# a fast process times one call in this many
SAMPLE_EVERY = 8
# with call times off, a fast process looks at the clock once in this many calls
SLOW_CHECK_EVERY = 64
# the timed calls reach the shared row after this many calls or this many seconds of calls
# (and whenever the process blocks or ends)
FLUSH_CALLS = 64
FLUSH_SECONDS = 0.05
# the environment variable that turns call times off (statistics keep their exact counts)
ENVIRONMENT = "FLOWC_CALL_TIMES"


def enabled_by(environment) -> bool:
    """Whether call times are on, from `FLOWC_CALL_TIMES` (on unless 0, off, no or false)."""
    return environment.get(ENVIRONMENT, "on").strip().lower() not in ("0", "off", "no", "false")


class CallTimes:
    """The call times of one process, gathered in plain attributes and flushed into its row.

    The hot loop keeps a countdown: `calls_until_timed()` calls from now the next call is
    timed, and `timed(seconds)` takes that call's time and returns the next countdown.
    """

    def __init__(self, row, floats, hist_base: int, clock: ProcessClock, enabled: bool):
        self.row = row
        self.floats = floats
        self.hist_base = hist_base
        self.clock = clock
        self.enabled = enabled
        self.every = SAMPLE_EVERY if enabled else SLOW_CHECK_EVERY
        self.weight = 1  # calls the next timed call stands for
        self.latest = 0.0  # the time of the latest timed call, and its histogram bin
        self.latest_bin = 0
        # not yet in the shared row
        self.total = 0.0
        self.longest = 0.0
        self.calls = 0
        self.bins: dict[int, int] = {}
        clock.before_block_hooks.append(self.flush)

    def calls_until_timed(self) -> int:
        """The countdown for the first call: it is timed."""
        self.weight = 1
        return 1

    def timed(self, seconds: float) -> int:
        """Take the time of a timed call; return how many calls from now the next is timed."""
        slow = seconds >= SLOW_EVENT_S
        self.clock.slow = slow
        if self.enabled:
            weight = self.weight
            self.total += seconds * weight
            if seconds > self.longest:
                self.longest = seconds
            self.calls += weight
            b = S.histogram_bin(seconds)
            self.latest, self.latest_bin = seconds, b
            bins = self.bins
            bins[b] = bins.get(b, 0) + weight
            if self.calls >= FLUSH_CALLS or self.total >= FLUSH_SECONDS:
                self.flush()
        self.weight = 1 if slow else self.every
        return self.weight

    def timed_alone(self, seconds: float) -> None:
        """Take the time of a call in a loop that times every call (an observer's: its calls
        are few)."""
        self.weight = 1
        self.timed(seconds)

    def finish(self, countdown: int) -> None:
        """The loop ends with `countdown` calls to go before the next timed one: count the calls
        made since the last timed call (with its time: the best guess there is), then flush."""
        calls = self.weight - countdown
        if self.enabled and calls > 0:
            self.calls += calls
            self.total += calls * self.latest
            self.bins[self.latest_bin] = self.bins.get(self.latest_bin, 0) + calls
        self.weight = countdown
        self.flush()

    def flush(self) -> None:
        """Add what was gathered to the shared row."""
        if not self.calls:
            return
        floats, row = self.floats, self.row
        floats[S.CALL_S] += self.total
        if self.longest > floats[S.CALL_MAX_S]:
            floats[S.CALL_MAX_S] = self.longest
        base = self.hist_base
        for b, n in self.bins.items():
            row[base + b] += n
        self.bins.clear()
        self.total = self.longest = 0.0
        self.calls = 0
