"""What requests to stop mean for a run, for every backend: the first drains the graph, the
second stops it at once, and a drain under way for a timeout becomes an interruption; the
stop signals (SIGINT, SIGTERM, SIGHUP) and how long a drain may take.

`flowc run` keeps the stop signals for its whole life (`keep_stop_signals`): from its first
instant to its last, a signal is counted and never meets a default handler, so a signal while
the flow compiles, the run starts, or the statistics and report are written is never fatal and
never lost. A run started by a program of its own takes the signals while it runs (see
`flowc.runtime.supervisor`) and gives them back afterwards.
"""

from __future__ import annotations

import math
import signal
import threading

# the signals that stop a run: Ctrl-C, `kill`/systemd's stop, a closed terminal
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# a worker still running this long after the run was asked to stop is killed (seconds)
DRAIN_TIMEOUT_S = 10.0
# once every other worker has finished, an observer gets this long to stop by itself (seconds)
OBSERVER_LAST_LOOK_S = 1.0


def stop_step(
    asked: int, drain_requested: bool, stopped: str | None, failed: bool, killed: bool = False
) -> tuple[str | None, str | None]:
    """(action, stopped) after `asked` requests: action is "kill", "drain" or None, and
    `stopped` the run's new reason (a failure keeps its own)."""
    interrupted = stopped if failed else "interrupted"
    if not asked:
        return None, stopped
    if asked >= 2 and not killed:
        return "kill", interrupted
    if not drain_requested:
        return "drain", interrupted
    if stopped == "timeout":
        return None, interrupted
    return None, stopped


def check_seconds(value, what: str, *, zero: bool = True) -> float | None:
    """`value` as seconds (None stays None); ValueError for nan, infinity, a negative number
    (or zero, unless `zero`) and anything that is not a number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} must be a number of seconds, not {value!r}")
    seconds = float(value)
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0 or (seconds == 0 and not zero):
        least = "0 or more" if zero else "more than 0"
        raise ValueError(f"{what} must be {least} seconds (a finite number), not {value!r}")
    return seconds


class StopSignals:
    """The handler of the stop signals that counts them and wakes whoever listens (the
    listeners run in the main thread, in the signal handler: they must only set a flag or
    write to a pipe).

    Before any run listens, a second signal raises KeyboardInterrupt: what keeps the program
    from starting its run (a worker module hanging in its import, say) is interrupted."""

    def __init__(self):
        self.count = 0
        self.run_started = False
        self._listeners: list = []
        self._lock = threading.Lock()

    def __call__(self, signum, frame) -> None:
        self.count += 1
        if self.count >= 2 and not self.run_started:
            raise KeyboardInterrupt
        for listener in list(self._listeners):
            listener()

    def listen(self, listener) -> None:
        with self._lock:
            self.run_started = True
            self._listeners.append(listener)

    def forget(self, listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)


_kept: list[StopSignals] = []


def keep_stop_signals() -> StopSignals:
    """Count the stop signals for the rest of this process's life (call it from the main
    thread, first thing): every run started afterwards follows this count, the signals that
    came before it started included, and takes no signal handler of its own."""
    if not _kept:
        handler = StopSignals()
        for signum in STOP_SIGNALS:
            signal.signal(signum, handler)
        _kept.append(handler)
    return _kept[0]


def ignore_stop_signals() -> None:
    """The last call of a program that kept the stop signals: from now on they are ignored.
    (Python's exit gives every signal with a handler back its default action, and a signal
    then would kill the process after its run ended well; one that is ignored stays so.)"""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def kept_stop_signals() -> StopSignals | None:
    """The handler `keep_stop_signals` installed, or None when the program keeps its own."""
    return _kept[0] if _kept else None
