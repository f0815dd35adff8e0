"""`/metrics`: a run's statistics in Prometheus' text format (SPEC section 5), through a
prometheus_client Collector that reads them at each scrape; nothing is kept in the library's
global registry.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

# (metric name without _total, statistics key(s) summed, help text)
WORKER_COUNTERS = (
    ("flowc_worker_events_in", ("events_in",), "Events the worker took in (observers: seen)."),
    ("flowc_worker_events_out", ("events_out",), "Events the worker wrote to its outputs."),
    ("flowc_worker_errors", ("errors",), "Events whose processing raised."),
    (
        "flowc_worker_busy_seconds",
        ("call_s",),
        "Seconds spent in the worker's own code, over all its processes.",
    ),
    (
        "flowc_worker_blocked_seconds",
        ("blocked_in_s", "blocked_out_s"),
        "Seconds the worker waited for events or for room in a full output (the wait for room "
        "is added as each process ends).",
    ),
)
BUFFER_COUNTERS = (
    ("flowc_buffer_written", "written", "Events written to the buffer (dropped ones included)."),
    ("flowc_buffer_dropped", "dropped", "Events dropped or overwritten before being read."),
)


class RunCollector(Collector):
    """The metrics of one run, read from its Feed at each collection."""

    def __init__(self, feed):
        self.feed = feed

    def collect(self):
        feed = self.feed
        stats = feed.stats() or {"workers": {}, "buffers": {}}
        snapshot = feed.snapshot()
        timed = {w.name for w in snapshot.workers if w.busy is not None} if snapshot else set()
        workers = stats.get("workers", {})
        for name, keys, text in WORKER_COUNTERS:
            family = CounterMetricFamily(name, text, labels=["worker"])
            for worker, entry in workers.items():
                if keys == ("call_s",) and worker not in timed:
                    continue  # call times off (FLOWC_CALL_TIMES): busy time not measured
                family.add_metric([worker], sum(entry.get(key, 0) or 0 for key in keys))
            yield family
        buffers = stats.get("buffers", {})
        for name, key, text in BUFFER_COUNTERS:
            family = CounterMetricFamily(name, text, labels=["buffer"])
            for buffer, entry in buffers.items():
                family.add_metric([buffer], entry.get(key, 0))
            yield family
        fill = GaugeMetricFamily(
            "flowc_buffer_fill_ratio",
            "Share of the buffer's slots holding events not yet released by every consumer.",
            labels=["buffer"],
        )
        if snapshot is not None:
            for b in snapshot.buffers:
                fill.add_metric([b.name], b.fill_fraction)
        yield fill
        yield GaugeMetricFamily(
            "flowc_run_running",
            "1 while the run goes on, 0 once it has ended.",
            value=1 if feed.handle.running else 0,
        )


def registry_of(feed) -> CollectorRegistry:
    """A registry of its own holding only this run's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RunCollector(feed))
    return registry
