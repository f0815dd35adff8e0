"""The monitor's arithmetic on hand-set counters: rates, busy and waiting shares, fill levels,
and a time series that stays bounded over a long run."""

from __future__ import annotations

from types import SimpleNamespace

import observe_workers

import flowc
from flowc.runtime import monitor as M
from flowc.runtime import stats as S
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

    def __init__(self):
        self.plan = flowc.compile_source(
            SOURCE, functions={"count": observe_workers.count, "take": observe_workers.take}
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
            consumer_processes=(1,),
            writer_processes=1,
            lock_name="",
            free_names=(),
            ordered=True,
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
