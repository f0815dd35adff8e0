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


def test_a_source_that_sleeps_is_paced_and_the_pipeline_keeps_up():
    stats, summary = run_summary(
        """
pipeline slowsource
type XY = {x: f8, y: f8}
buffer raw : XY slots=8
importer  src  = count(n=100, delay=0.005) -> raw
exporter  keep = take() raw
"""
    )
    assert (stats["bottleneck"]["worker"], stats["bottleneck"]["reason"]) == ("src", "paced")
    assert stats["bottleneck"]["text"].startswith("importer `src` is paced at about ")
    assert "the pipeline keeps up" in summary


def test_a_paced_stdlib_source_at_1khz():
    plan = flowc.compile_source(
        """
pipeline paced
buffer raw : f4[64] slots=16
importer  sim  = stdlib.sources.pulses(n=1500, rate=1000, seed=1) -> raw
exporter  keep = stdlib.sinks.null() raw
"""
    )
    result = plan.run(timeout=60)
    bottleneck = result.stats["bottleneck"]
    assert (bottleneck["worker"], bottleneck["reason"]) == ("sim", "paced")
    assert "is paced at 1,000/s (rate=1000)" in bottleneck["text"], bottleneck["text"]
    assert (
        bottleneck["text"].endswith("the pipeline keeps up") or "keeps up (" in bottleneck["text"]
    )
    assert " us" not in bottleneck["text"] and " µs CPU of " in bottleneck["text"]


def test_busy_is_the_share_of_time_in_the_workers_code_everywhere():
    """The bottleneck line's busy share is the report's: time in the worker's code / wall."""
    from flowc.render.report import busy_share

    stats, _ = run_summary(
        """
pipeline slowmid
type XY = {x: f8, y: f8}
buffer raw : XY slots=8
buffer out : XY slots=8
importer  src  = count(n=100) -> raw
processor mid  = slow(delay=0.004) raw -> out
exporter  keep = take() out
"""
    )
    mid = stats["workers"]["mid"]
    assert (
        stats["bottleneck"]["active_fraction"]
        == busy_share(mid)
        == min(1.0, mid["call_s"] / mid["wall_s"])
    )
    assert f"busy {100 * busy_share(mid):.0f}%" in stats["bottleneck"]["text"]


def test_drops_are_in_the_bottleneck_line():
    plan = flowc.compile_source(
        """
type XY = {x: f8, y: f8}
buffer raw : XY slots=2 overflow=drop
importer  src  = count(n=10) -> raw
exporter  keep = take() raw
""",
        functions=FUNCTIONS,
    )
    stats = {
        "workers": {
            "src": worker_stats("importer", 10.0, call_s=9.0),
            "keep": worker_stats("exporter", 10.0, blocked_in=9.2, call_s=0.5),
        },
        "buffers": {
            "raw": {"written": 2000, "dropped": 72, "consumed": {"keep": 1928}, "left": {}}
        },
    }
    stats["workers"]["src"]["cpu_call_s"] = 8.9
    bottleneck = find_bottleneck(stats, plan)
    assert bottleneck.worker == "src" and bottleneck.reason == "busy"
    assert (
        "`raw` dropped 72 of 2,000 events while its reader `keep` waited for events 92% of its "
        "time (bursts: more slots in `raw` would keep them)"
    ) in bottleneck.text


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
