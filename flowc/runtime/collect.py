"""The `--stats` document of a local run (SPEC section 5): started empty, filled from the
statistics segment (`flowc.runtime.stats.Statistics`) and the rings, then completed when the
run has ended (the shortest calls and the timeline from the monitor, the bottleneck) and
reported: on stderr and into the file `--stats` names.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import sys
import time
from collections.abc import Collection, Mapping
from functools import partial

from flowc.plan import Plan
from flowc.runtime import stats as S
from flowc.runtime.bottleneck import find_bottleneck
from flowc.runtime.monitor import Monitor
from flowc.runtime.result import RunResult, WorkerFailure
from flowc.runtime.ring import Ring
from flowc.runtime.summary import format_summary


def new_document(
    plan: Plan, started: float, exit_code: int | None, stopped: str | None, start_method: str
) -> dict:
    """The document before any worker's figures: the run's outcome so far and the supervisor's
    own peak memory; `started` is a time.perf_counter() reading."""
    return {
        "pipeline": plan.name,
        "elapsed": time.perf_counter() - started,
        "exit": exit_code,
        "stopped": stopped,
        "buffers": {},
        "workers": {},
        "failure": None,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "start_method": start_method,
    }


def record_failure(document: dict, failure: WorkerFailure) -> None:
    document["failure"] = {
        "worker": failure.worker,
        "process": failure.process,
        "message": failure.message,
        "traceback": failure.traceback,
    }


def collect(
    document: dict,
    plan: Plan,
    statistics: S.Statistics,
    rings: Mapping[str, Ring],
    let_go: Collection[str] = (),
    discarded: Mapping[tuple[str, str], int] | None = None,
) -> None:
    """Fill `document`'s buffers and workers from the counters of every process (summed per
    worker) and from what the rings hold; `let_go` names the observers stopped after their
    last look (what came after it counts as skipped); `discarded` counts, by (buffer, worker),
    the events released for a worker that had ended (they are left for it, never consumed)."""
    released = discarded or {}
    buffers = {
        b.name: {"written": 0, "dropped": 0, "consumed": {}, "left": {}} for b in plan.buffers
    }
    workers = {}
    peak = document["peak_rss_bytes"]
    for worker in plan.workers:
        name = worker.name
        total = partial(statistics.count, name)
        seconds = partial(statistics.seconds, name)
        longest = partial(statistics.longest, name)
        consumed = statistics.consumed(name)
        written = statistics.written(name)
        dropped = statistics.dropped(name)
        for i, b in enumerate(worker.inputs):
            buffers[b]["consumed"][name] = consumed[i]
        for j, b in enumerate(worker.outputs):
            buffers[b]["written"] += written[j]
            buffers[b]["dropped"] += dropped[j]
        worker_peak = statistics.peak_rss(name)
        peak = max(peak, worker_peak)
        entry = {
            "kind": worker.kind,
            "processes": worker.processes,
            "events_in": sum(consumed),
            "events_out": sum(written),
            "errors": total(S.ERRORS),
            "wall_s": seconds(S.WALL_S),
            "cpu_s": seconds(S.CPU_S),
            "blocked_in_s": seconds(S.BLOCKED_IN_S),
            "blocked_out_s": seconds(S.BLOCKED_OUT_S),
            **S.call_times_entry(
                total(S.CALLS),
                (seconds(S.CALL_S), statistics.histogram(name), longest(S.CALL_MAX_S)),
                (
                    seconds(S.CPU_CALL_S),
                    statistics.histogram(name, cpu=True),
                    longest(S.CPU_CALL_MAX_S),
                ),
                # a batch worker's events: those it took, or an importer's it wrote
                events=(sum(consumed) or sum(written)) if worker.batch else None,
            ),
            "peak_rss_bytes": worker_peak,
        }
        if worker.kind == "observer":
            entry["seen"] = total(S.SEEN)
            entry["skipped"] = total(S.SKIPPED)
            if name in let_go:  # what came after its last look: skipped
                published = sum(rings[b].published() for b in worker.observes)
                entry["skipped"] = max(entry["skipped"], published - entry["seen"])
            entry["events_in"] = entry["seen"]
        paused = seconds(S.PAUSED_S)
        if paused:  # only a run paused through its handle has it (the Ray backend cannot)
            entry["paused_s"] = paused
        if worker.kind == "filter":
            entry["accepted"] = total(S.ACCEPTED)
            entry["discarded"] = total(S.DISCARDED)
            entry["per_output"] = dict(zip(worker.outputs, written, strict=True))
        workers[name] = entry
    for name, ring in rings.items():
        layout = ring.layout
        if layout.overwrites:
            buffers[name]["dropped"] += max(0, ring.published() - layout.slots)
        for index, consumer in enumerate(layout.consumers):
            buffers[name]["left"][consumer] = ring.left(index) + released.get((name, consumer), 0)
    document["buffers"] = buffers
    document["workers"] = workers
    document["peak_rss_bytes"] = peak


def conclude(
    result: RunResult,
    plan: Plan,
    monitor: Monitor | None,
    *,
    quiet: bool = True,
    stats_path: str | os.PathLike | None = None,
) -> RunResult:
    """Complete the result of a run that has ended: call_min_s, the timeline and the
    bottleneck; report a failure and (unless quiet) the summary on stderr; write stats_path
    (when it cannot be written: one line on stderr, and the exit is 1 if it was 0)."""
    if monitor is not None:
        monitor.annotate(result.stats)
        result = dataclasses.replace(result, timeline=monitor.timeline())
    bottleneck = find_bottleneck(_active_phase(result.stats), plan)
    result.stats["bottleneck"] = bottleneck.to_json() if bottleneck else None
    if result.failure is not None:
        print(_failure_report(result.failure), file=sys.stderr)
    if not quiet:
        print(format_summary(result.stats), file=sys.stderr)
    if stats_path is not None:
        try:
            with open(stats_path, "w", encoding="utf-8") as out:
                json.dump(result.stats, out, indent=2)
                out.write("\n")
        except OSError as exc:  # the run's own outcome stays as reported; the exit says 1 at least
            print(
                f"flowc: error: cannot write the statistics to {stats_path}: {exc.strerror or exc}",
                file=sys.stderr,
            )
            result = dataclasses.replace(result, exit=result.exit or 1)
    return result


def _active_phase(stats: dict) -> dict:
    """The statistics with each importer's time paused taken out of its wall time: a paused
    importer was neither busy nor blocked."""
    workers = {
        name: {**w, "wall_s": max(0.0, w.get("wall_s", 0.0) - w["paused_s"])}
        if w.get("paused_s")
        else w
        for name, w in stats.get("workers", {}).items()
    }
    return {**stats, "workers": workers}


def _failure_report(failure: WorkerFailure) -> str:
    text = f"flowc: {failure}"
    if failure.traceback:
        text += "\n" + failure.traceback.rstrip()
    return text
