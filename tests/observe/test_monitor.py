"""The monitor's arithmetic on hand-set counters: rates, busy and waiting shares, fill levels,
and a time series that stays bounded over a long run; and the statistics of a worker with
several processes, read from their rows and summed."""

from __future__ import annotations

from types import SimpleNamespace

import observe_workers

import flowc
from flowc.runtime import monitor as M
from flowc.runtime import stats as S
from flowc.runtime.collect import collect, new_document
from flowc.runtime.ring import PUBLISHED, RELEASED, TAIL, Ring, RingLayout

SOURCE = """
pipeline counted
type XY = {x: f8, y: f8}
buffer raw : XY slots=8
importer src  = count(n=10) -> raw
exporter keep = take() raw
"""


class Counters:
    """A plan's statistics rows and ring words over plain memory, set by hand."""

    def __init__(self, keep_processes: int = 1):
        self.plan = flowc.compile_source(
            SOURCE.replace("take() raw", f"take() raw processes={keep_processes}"),
            functions={"count": observe_workers.count, "take": observe_workers.take},
        )
        self.layout = S.SegmentLayout.of(self.plan.workers)
        self.statistics = S.Statistics(
            memoryview(bytearray(self.layout.size)).cast("q"), self.layout
        )
        layout = RingLayout(
            name="raw",
            path="",
            dtype=self.plan.buffer("raw").dtype,
            length=1,
            slots=8,
            overflow="block",
            consumers=("keep",),
            consumer_processes=(keep_processes,),
            writer_processes=1,
            lock_name="",
            free_names=(),
            ordered=keep_processes == 1,
        )
        # a real ring over plain memory: the monitor reads it as it reads shared memory
        ring = Ring(layout, SimpleNamespace(mapping=bytearray(layout.size)), None, ())
        self.ring_words = ring.words
        self.rings = {"raw": ring}
        self.fifo = layout.fifo_base(0)

    def set(self, written, consumed, released, src_busy, keep_busy, keep_blocked_in):
        # as the processes write their rows (flowc.runtime.worker)
        words, floats = self.statistics.words, self.statistics.floats
        src, keep = self.layout.offset("src", 0), self.layout.offset("keep", 0)
        words[src + self.layout.rows["src"].written_base] = written
        floats[src + S.CALL_S] = src_busy
        words[keep + self.layout.rows["keep"].consumed_base] = consumed
        floats[keep + S.CALL_S] = keep_busy
        floats[keep + S.BLOCKED_IN_S] = keep_blocked_in
        self.ring_words[self.fifo + TAIL] = written
        self.ring_words[self.fifo + RELEASED] = released
        self.ring_words[PUBLISHED] = written


def test_rates_shares_and_fill_over_one_interval():
    counters = Counters()
    monitor = M.Monitor(counters.plan, counters.statistics, counters.rings)
    counters.set(written=0, consumed=0, released=0, src_busy=0, keep_busy=0, keep_blocked_in=0)
    monitor.sample(0.0)
    counters.set(
        written=100, consumed=93, released=92, src_busy=0.1, keep_busy=0.4, keep_blocked_in=0.05
    )
    snapshot = monitor.sample(0.5)
    src, keep = snapshot.workers
    (raw,) = snapshot.buffers
    assert (raw.written, raw.fill, raw.rate) == (100, 8, 200.0)
    assert (src.events_out, src.rate_out, src.busy) == (100, 200.0, 0.2)
    # `raw` is full: the importer's time not spent in its code counts as waiting for room
    assert abs(src.waiting_out - 0.8) < 1e-9
    assert (keep.events_in, keep.rate_in) == (93, 186.0)
    assert (keep.busy, keep.waiting_in, keep.waiting_out) == (0.8, 0.1, 0.0)


def test_the_series_stays_bounded_and_keeps_the_last_point(monkeypatch):
    monkeypatch.setattr(M, "MAX_POINTS", 16)
    counters = Counters()
    monitor = M.Monitor(counters.plan, counters.statistics, counters.rings)
    for k in range(200):
        counters.set(k, k, k, 0.0, 0.0, 0.0)
        monitor.tick(k * M.SAMPLE_EVERY_S)
    counters.set(200, 200, 200, 0.0, 0.0, 0.0)
    monitor.finish(200 * M.SAMPLE_EVERY_S)
    series = monitor.timeline()
    times = series["t"]
    assert 8 <= len(times) <= 16
    assert times[0] == 0.0 and times[-1] == 200 * M.SAMPLE_EVERY_S
    assert times == sorted(times)
    assert series["workers"]["src"]["events_out"][-1] == 200
    assert len(series["buffers"]["raw"]["fill"]) == len(times)
    assert all(
        len(v) == len(times) for v in series["workers"]["keep"].values() if isinstance(v, list)
    )


def test_a_workers_statistics_sum_its_processes_rows():
    counters = Counters(keep_processes=2)
    statistics, layout = counters.statistics, counters.layout
    words, floats = statistics.words, statistics.floats
    row = layout.rows["keep"]
    # per process: events taken, call seconds, longest call, peak memory, state
    processes = (
        (30, 0.25, 0.01, 5 << 20, S.STATE_RUNNING),
        (12, 0.5, 0.02, 7 << 20, S.STATE_FINISHED),
    )
    for index, (events, seconds, longest, rss, state) in enumerate(processes):
        start = layout.offset("keep", index)
        words[start + row.consumed_base] = events
        words[start + S.CALLS] = events
        words[start + row.hist_base + S.histogram_bin(seconds / events)] = events
        floats[start + S.CALL_S] = seconds
        floats[start + S.CALL_MAX_S] = longest
        words[start + S.PEAK_RSS] = rss
        words[start + S.STATE] = state
    words[layout.offset("src", 0) + layout.rows["src"].written_base] = 42
    assert layout.offset("keep", 1) == layout.offset("keep", 0) + row.words
    assert statistics.consumed("keep") == [42]
    assert statistics.count("keep", S.CALLS) == 42
    assert statistics.seconds("keep", S.CALL_S) == 0.75
    assert statistics.longest("keep", S.CALL_MAX_S) == 0.02
    assert statistics.peak_rss("keep") == 7 << 20
    assert statistics.states("keep") == [S.STATE_RUNNING, S.STATE_FINISHED]
    assert sum(statistics.histogram("keep")) == 42 and not any(statistics.histogram("keep", True))

    document = new_document(counters.plan, 0.0, None, None, "fork")
    collect(document, counters.plan, statistics, counters.rings)
    keep = document["workers"]["keep"]
    assert (keep["processes"], keep["events_in"], keep["calls"]) == (2, 42, 42)
    assert (keep["call_s"], keep["call_max_s"]) == (0.75, 0.02)
    # the median call is in the bin of the process with more calls (0.25 s / 30)
    assert keep["call_median_s"] == S.bin_seconds(S.histogram_bin(0.25 / 30))
    assert keep["peak_rss_bytes"] == 7 << 20
    assert document["buffers"]["raw"]["written"] == 42
    assert document["buffers"]["raw"]["consumed"] == {"keep": 42}


def test_the_global_flags_are_the_words_every_process_reads():
    statistics = Counters().statistics
    statistics.set_paused(True)
    assert (statistics.words[S.PAUSE], statistics.words[S.STOP]) == (1, 0)
    statistics.set_paused(False)
    statistics.stop()
    assert (statistics.words[S.PAUSE], statistics.words[S.STOP]) == (0, 1)
