"""Sampled call times (`flowc.runtime.calltimes`): exact call counts, weighted totals, every call
timed once calls are slow, nothing written with call times off."""

from __future__ import annotations

import pytest

from flowc.runtime import stats as S
from flowc.runtime.calltimes import SAMPLE_EVERY, SLOW_CHECK_EVERY, CallTimes, enabled_by
from flowc.runtime.ring import SLOW_EVENT_S, ProcessClock


def run_loop(times: CallTimes, durations: list[float]) -> int:
    """Drive `times` as a worker's hot loop does, with made-up call durations; return how many
    calls were timed."""
    countdown = times.calls_until_timed()
    timed = 0
    for seconds in durations:
        countdown -= 1
        if not countdown:
            timed += 1
            countdown = times.timed(seconds)
    times.finish(countdown)
    return timed


def new_times(enabled: bool = True) -> tuple[CallTimes, list, list, ProcessClock]:
    row = [0] * (S.ROW_HEADER + S.HIST_BINS)
    floats = [0.0] * S.ROW_HEADER
    clock = ProcessClock()
    return CallTimes(row, floats, S.ROW_HEADER, clock, enabled), row, floats, clock


def histogram(row) -> list[int]:
    return row[S.ROW_HEADER : S.ROW_HEADER + S.HIST_BINS]


@pytest.mark.parametrize("calls", [1, 7, 8, 9, 100, 1001])
def test_fast_calls_are_sampled_and_counted_exactly(calls):
    times, row, floats, clock = new_times()
    timed = run_loop(times, [1e-6] * calls)
    assert sum(histogram(row)) == calls
    assert timed == 1 + (calls - 1) // SAMPLE_EVERY
    assert floats[S.CALL_S] == pytest.approx(calls * 1e-6)
    assert floats[S.CALL_MAX_S] == pytest.approx(1e-6)
    assert S.histogram_median(histogram(row)) == pytest.approx(1e-6, rel=0.1)
    assert not clock.slow


def test_slow_calls_are_each_timed_and_make_the_process_slow():
    times, row, floats, clock = new_times()
    slow = 2 * SLOW_EVENT_S
    durations = [slow] * 50
    assert run_loop(times, durations) == 50
    assert clock.slow
    assert sum(histogram(row)) == 50
    assert floats[S.CALL_S] == pytest.approx(50 * slow)


def test_a_process_that_turns_slow_is_timed_every_call_from_its_next_sample():
    times, row, floats, clock = new_times()
    slow = 10 * SLOW_EVENT_S
    durations = [1e-6] * 20 + [slow] * 30
    timed = run_loop(times, durations)
    # 1e-6 calls timed at 1, 9, 17; the next sample (25) is slow, and every call after it
    assert timed == 3 + 1 + (50 - 25)
    assert sum(histogram(row)) == 50
    assert floats[S.CALL_MAX_S] == pytest.approx(slow)
    # the slow sample at call 25 stands for calls 18 to 25, of which 5 were slow
    assert floats[S.CALL_S] == pytest.approx(17 * 1e-6 + 8 * slow + 25 * slow)


def test_call_times_off_write_nothing_but_still_notice_a_slow_process():
    times, row, floats, clock = new_times(enabled=False)
    durations = [1e-6] * (2 * SLOW_CHECK_EVERY) + [2 * SLOW_EVENT_S] * SLOW_CHECK_EVERY
    timed = run_loop(times, durations)
    assert sum(histogram(row)) == 0 and floats[S.CALL_S] == 0.0
    assert clock.slow
    # fast calls timed at 1 and 65 only; the slow one at 129 and every call after it
    assert timed == 3 + (len(durations) - 2 * SLOW_CHECK_EVERY - 1)


def test_the_times_reach_the_row_before_the_process_blocks():
    times, row, floats, clock = new_times()
    countdown = times.calls_until_timed()
    countdown -= 1
    countdown = times.timed(3e-6)
    assert floats[S.CALL_S] == 0.0  # gathered, not flushed
    clock.before_blocking()
    assert floats[S.CALL_S] == pytest.approx(3e-6) and sum(histogram(row)) == 1


@pytest.mark.parametrize(
    "value, on", [(None, True), ("on", True), ("1", True), ("off", False), ("0", False), ("No", False)]
)
def test_the_environment_turns_call_times_off(value, on):
    environment = {} if value is None else {"FLOWC_CALL_TIMES": value}
    assert enabled_by(environment) is on
