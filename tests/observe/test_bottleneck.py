"""The end-of-run summary names the worker that limited the throughput, and why."""

from __future__ import annotations

import observe_workers

import flowc
from flowc.runtime.bottleneck import find_bottleneck
from flowc.runtime.summary import format_summary

FUNCTIONS = {name: getattr(observe_workers, name) for name in ("count", "slow", "take")}


def run_summary(source: str) -> tuple[dict, str]:
    plan = flowc.compile_source(source, functions=FUNCTIONS)
    result = plan.run(timeout=60)
    assert result.ok
    return result.stats, format_summary(result.stats)


def test_a_slow_processor_is_named_busy():
    stats, summary = run_summary(
        """
pipeline slowmid
type XY = {x: f8, y: f8}
buffer raw : XY slots=8
buffer out : XY slots=8
importer  src  = count(n=200) -> raw
processor mid  = slow(delay=0.004) raw -> out
exporter  keep = take() out
"""
    )
    bottleneck = stats["bottleneck"]
    assert (bottleneck["worker"], bottleneck["reason"]) == ("mid", "busy")
    assert bottleneck["active_fraction"] > 0.7
    # the importer waited on the full `raw` while `mid` worked
    assert "`src` waited for room in `raw`" in bottleneck["text"]
    assert "bottleneck: `mid` (busy)" in summary
    assert stats["workers"]["src"]["blocked_out_s"] > 0.3


def test_a_slow_sink_is_named_busy():
    stats, summary = run_summary(
        """
pipeline slowsink
type XY = {x: f8, y: f8}
buffer raw : XY slots=8
buffer out : XY slots=8
importer  src  = count(n=200) -> raw
processor mid  = slow(delay=0) raw -> out
exporter  keep = take(delay=0.004) out
"""
    )
    assert (stats["bottleneck"]["worker"], stats["bottleneck"]["reason"]) == ("keep", "busy")
    assert "`mid` waited for room in `out`" in stats["bottleneck"]["text"]
    assert "bottleneck: `keep` (busy)" in summary


def test_a_slow_source_sets_the_pace():
    stats, _ = run_summary(
        """
pipeline slowsource
type XY = {x: f8, y: f8}
buffer raw : XY slots=8
importer  src  = count(n=100, delay=0.005) -> raw
exporter  keep = take() raw
"""
    )
    assert (stats["bottleneck"]["worker"], stats["bottleneck"]["reason"]) == ("src", "busy")
    assert stats["bottleneck"]["text"].startswith("importer `src` set the pace")


def worker_stats(kind, wall, blocked_in=0.0, blocked_out=0.0, calls=100, call_s=0.1):
    return {
        "kind": kind,
        "wall_s": wall,
        "blocked_in_s": blocked_in,
        "blocked_out_s": blocked_out,
        "calls": calls,
        "call_s": call_s,
        "events_in": calls,
        "events_out": calls,
    }


def test_a_writer_blocked_on_a_full_output_with_idle_consumers_is_named_blocked():
    plan = flowc.compile_source(
        """
type XY = {x: f8, y: f8}
buffer raw : XY slots=2
importer  src  = count(n=10) -> raw
exporter  keep = take() raw
""",
        functions=FUNCTIONS,
    )
    stats = {
        "workers": {
            "src": worker_stats("importer", 10.0, blocked_out=8.0),
            "keep": worker_stats("exporter", 10.0, blocked_in=6.0),
        },
        "buffers": {"raw": {"written": 10, "dropped": 0, "consumed": {"keep": 10}, "left": {}}},
    }
    bottleneck = find_bottleneck(stats, plan)
    assert (bottleneck.worker, bottleneck.reason, bottleneck.buffer) == (
        "src",
        "blocked_out",
        "raw",
    )
    assert "more slots in `raw`" in bottleneck.text
    stats["bottleneck"] = bottleneck.to_json()
    assert "bottleneck: `src` (blocked on a full output)" in format_summary(stats)


def test_observers_and_workers_that_never_ran_are_not_named():
    stats = {
        "workers": {
            "look": {**worker_stats("observer", 5.0), "seen": 3, "skipped": 0},
            "idle": worker_stats("exporter", 0.0),
        }
    }
    assert find_bottleneck(stats) is None


def test_nobody_is_named_when_every_worker_mostly_waited():
    stats = {
        "workers": {
            "src": worker_stats("importer", 0.0),  # killed: its times were never recorded
            "mid": worker_stats("processor", 10.0, blocked_in=3.0, blocked_out=3.0),
            "keep": worker_stats("exporter", 10.0, blocked_in=9.0),
        }
    }
    assert find_bottleneck(stats) is None
