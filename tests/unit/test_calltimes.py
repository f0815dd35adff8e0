"""Sampled call times (`flowc.runtime.calltimes`): exact call counts, unbiased totals, every call
timed while calls are slow, no times kept with call times off."""

from __future__ import annotations

import random

import pytest

from flowc.runtime import calltimes
from flowc.runtime import stats as S
from flowc.runtime.calltimes import FLUSH_SECONDS, GAPS, SAMPLE_EVERY, CallTimes, enabled_by
from flowc.runtime.ring import SLOW_EVENT_S, ProcessClock

# most tests time every EVERY-th call, to count what is timed
EVERY = 8


def run_loop(times: CallTimes, durations: list[float]) -> int:
    """Drive `times` as a worker's hot loop does, with made-up call durations (each call's CPU
    time half its wall time); return how many calls were timed."""
    countdown = times.calls_until_timed()
    timed = 0
    for seconds in durations:
        countdown -= 1
        if not countdown:
            timed += 1
            countdown = times.timed(seconds, seconds / 2)
    times.finish(countdown)
    return timed


def new_times(enabled=True, gaps=(EVERY,), weight=EVERY, every_call_first=0):
    row = [0] * (S.ROW_HEADER + 2 * S.HIST_BINS)
    floats = [0.0] * S.ROW_HEADER
    clock = ProcessClock()
    times = CallTimes(row, floats, S.ROW_HEADER, clock, enabled, gaps, weight, every_call_first)
    return times, row, floats, clock


def histogram(row) -> list[int]:
    return row[S.ROW_HEADER : S.ROW_HEADER + S.HIST_BINS]


def cpu_histogram(row) -> list[int]:
    return row[S.ROW_HEADER + S.HIST_BINS : S.ROW_HEADER + 2 * S.HIST_BINS]


@pytest.mark.parametrize("calls", [1, 7, 8, 9, 100, 1001])
def test_fast_calls_are_sampled_and_counted_exactly(calls):
    times, row, floats, clock = new_times()
    timed = run_loop(times, [1e-6] * calls)
    assert row[S.CALLS] == calls
    assert timed == 1 + (calls - 1) // EVERY
    # the first call counts for itself, every later timed one for EVERY calls
    assert sum(histogram(row)) == 1 + (timed - 1) * EVERY
    assert floats[S.CALL_S] == pytest.approx((1 + (timed - 1) * EVERY) * 1e-6)
    assert floats[S.CALL_MAX_S] == pytest.approx(1e-6)
    assert S.histogram_median(histogram(row)) == pytest.approx(1e-6, rel=0.1)
    assert floats[S.CPU_CALL_S] == pytest.approx(floats[S.CALL_S] / 2)
    assert floats[S.CPU_CALL_MAX_S] == pytest.approx(0.5e-6)
    assert S.histogram_median(cpu_histogram(row)) == pytest.approx(0.5e-6, rel=0.1)
    assert not clock.slow


def test_the_first_calls_are_each_timed_then_sampled():
    times, row, floats, clock = new_times(gaps=GAPS, weight=SAMPLE_EVERY, every_call_first=100)
    assert run_loop(times, [1e-6] * 100) == 100
    assert floats[S.CALL_S] == pytest.approx(100e-6) and row[S.CALLS] == 100
    times, row, floats, clock = new_times(gaps=GAPS, weight=SAMPLE_EVERY, every_call_first=100)
    timed = run_loop(times, [1e-6] * 100_000)
    assert 100 < timed < 100 + 2 * 100_000 / SAMPLE_EVERY
    assert row[S.CALLS] == 100_000


def test_slow_calls_are_each_timed_and_make_the_process_slow():
    times, row, floats, clock = new_times()
    slow = 2 * SLOW_EVENT_S
    assert run_loop(times, [slow] * 50) == 50
    assert clock.slow
    assert row[S.CALLS] == sum(histogram(row)) == 50
    assert floats[S.CALL_S] == pytest.approx(50 * slow)


def test_a_process_that_turns_slow_is_timed_every_call_from_its_next_sample():
    times, row, floats, clock = new_times()
    slow = 10 * SLOW_EVENT_S
    durations = [1e-6] * (2 * EVERY + 3) + [slow] * 30
    timed = run_loop(times, durations)
    # fast calls are timed at 1, 1 + EVERY and 1 + 2 * EVERY; the next sample is slow, and
    # every call after it is timed
    next_sample = 1 + 3 * EVERY
    after = len(durations) - next_sample
    assert timed == 3 + 1 + after
    assert row[S.CALLS] == len(durations)
    assert floats[S.CALL_MAX_S] == pytest.approx(slow)
    assert floats[S.CALL_S] == pytest.approx((1 + 2 * EVERY) * 1e-6 + EVERY * slow + after * slow)


def test_call_times_off_keep_nothing_but_still_notice_a_slow_process():
    times, row, floats, clock = new_times(enabled=False)
    durations = [1e-6] * (2 * EVERY) + [2 * SLOW_EVENT_S] * EVERY
    timed = run_loop(times, durations)
    assert row[S.CALLS] == 0 and sum(histogram(row)) == 0 and floats[S.CALL_S] == 0.0
    assert sum(cpu_histogram(row)) == 0 and floats[S.CPU_CALL_S] == 0.0
    assert clock.slow
    # fast calls timed at 1 and 1 + EVERY only; the slow one at 1 + 2 * EVERY and every call after
    assert timed == 3 + (EVERY - 1)


def test_the_geometric_gaps_time_about_one_call_in_sample_every():
    assert sum(GAPS) / len(GAPS) == pytest.approx(SAMPLE_EVERY, rel=0.05)
    assert min(GAPS) == 1


@pytest.mark.parametrize("period", [16, 32, 64, 100])
def test_a_costly_call_every_period_events_is_weighed_in(period):
    """A sink that writes its file every `period` events: a fixed gap dividing the period
    would see every write or none. The estimate of the total stays close to the truth."""
    times, row, floats, clock = new_times(gaps=GAPS, weight=SAMPLE_EVERY)
    durations = ([1e-6] * (period - 1) + [1e-3]) * (1_000_000 // period)
    timed = run_loop(times, durations)
    assert timed < len(durations) / (SAMPLE_EVERY / 2)
    assert row[S.CALLS] == len(durations)
    assert floats[S.CALL_S] == pytest.approx(sum(durations), rel=0.2)
    assert floats[S.CALL_MAX_S] == pytest.approx(1e-3)


def test_random_call_times_give_the_mean_and_median():
    rng = random.Random(5)
    durations = [rng.uniform(1e-6, 3e-6) for _ in range(200_000)]
    times, row, floats, clock = new_times(gaps=GAPS, weight=SAMPLE_EVERY)
    run_loop(times, durations)
    assert floats[S.CALL_S] / row[S.CALLS] == pytest.approx(2e-6, rel=0.05)
    assert S.histogram_median(histogram(row)) == pytest.approx(2e-6, rel=0.1)


def test_the_times_reach_the_row_when_the_process_blocks_after_a_while(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(calltimes.time, "perf_counter", lambda: now[0])
    times, row, floats, clock = new_times()
    countdown = times.calls_until_timed()
    countdown -= 1
    countdown = times.timed(3e-6, 2e-6)
    assert floats[S.CALL_S] == 0.0  # gathered, not flushed
    clock.before_blocking()
    assert floats[S.CALL_S] == 0.0  # flushed a moment ago (at the start): not yet
    now[0] += 2 * FLUSH_SECONDS
    clock.before_blocking()
    assert floats[S.CALL_S] == pytest.approx(3e-6) and row[S.CALLS] == 1


@pytest.mark.parametrize(
    "value, on",
    [(None, True), ("on", True), ("1", True), ("off", False), ("0", False), ("No", False)],
)
def test_the_environment_turns_call_times_off(value, on):
    environment = {} if value is None else {"FLOWC_CALL_TIMES": value}
    assert enabled_by(environment) is on
