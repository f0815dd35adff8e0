"""What the live page shows, as one JSON document (a frame): the run's state, each worker's
and buffer's figures with rates over the last second, each edge's rate, the bottleneck, the
observers' live documents and, once the run has ended, its summary.

Frames are built from the statistics the runtime keeps in shared memory (`RunHandle.stats()`
and the monitor's latest snapshot), at most once per FRAME_EVERY_S however many pages watch.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from pathlib import Path

from flowc.runtime.bottleneck import find_bottleneck
from flowc.runtime.publish import read_all
from flowc.runtime.summary import format_summary

# a frame is rebuilt at most this often (seconds); pages get one at each push
FRAME_EVERY_S = 0.25
# rates are measured over about this long (seconds)
RATE_WINDOW_S = 1.0
# while the run goes on, the bottleneck is judged over about this long (seconds)
BOTTLENECK_WINDOW_S = 2.0


class Feed:
    """The frames of one run, from its RunHandle; safe to use from any thread."""

    def __init__(self, handle, live_dir: str | Path):
        self.handle = handle
        self.plan = handle.plan
        self.live_dir = Path(live_dir)
        self.lock = threading.Lock()
        self.history: collections.deque = collections.deque()  # (monotonic time, stats)
        self.plots: dict[str, dict] = {}
        self.frame_text = ""
        self.built_at = float("-inf")
        self.final = False

    # --- reading -----------------------------------------------------------------------------

    def stats(self) -> dict | None:
        """The statistics document now: live while the run goes on, the final one after; None
        when the run ended without one (a bug of ours, raised to whoever waits for it)."""
        handle = self.handle
        if handle.running:
            try:
                return handle.stats()
            except RuntimeError:
                return None
        result = handle.result
        return None if result is None else result.stats

    def snapshot(self):
        """The monitor's latest snapshot (fill levels), or None before the first."""
        return self.handle.snapshot()

    def current(self) -> str:
        """The latest frame as JSON text, rebuilt when it is older than FRAME_EVERY_S."""
        with self.lock:
            now = time.monotonic()
            if now - self.built_at >= FRAME_EVERY_S and not self.final:
                self.frame_text = json.dumps(self._build(now), allow_nan=False, default=str)
                self.built_at = now
            return self.frame_text

    def finish(self) -> None:
        """The run has ended: build the final frame (final statistics, last plots) and keep
        it; the live folder may go after this."""
        with self.lock:
            if self.final:
                return
            self.frame_text = json.dumps(
                self._build(time.monotonic()), allow_nan=False, default=str
            )
            self.final = not self.handle.running

    # --- building ----------------------------------------------------------------------------

    def _build(self, now: float) -> dict:
        handle = self.handle
        running = handle.running
        stats = self.stats()
        if stats is not None and running:
            self.history.append((now, stats))
            while len(self.history) > 2 and now - self.history[1][0] >= BOTTLENECK_WINDOW_S:
                self.history.popleft()
        self.plots.update(read_all(self.live_dir))
        snapshot = self.snapshot()
        fills = {b.name: b for b in snapshot.buffers} if snapshot is not None else {}
        sampled = {w.name: w for w in snapshot.workers} if snapshot is not None else {}
        earlier = self._earlier(now, RATE_WINDOW_S) if running else None
        frame = {
            "pipeline": self.plan.name,
            "state": self._state(stats),
            "running": running,
            "paused": running and handle.paused,
            "elapsed": (stats or {}).get("elapsed", 0.0),
            "exit": None if running or stats is None else stats.get("exit"),
            "workers": [],
            "buffers": [],
            "edges": [],
            "bottleneck": None,
            "plots": self.plots,
            "summary": None,
            "failure": (stats or {}).get("failure"),
        }
        if stats is None:
            return frame
        if running:  # rates over the last second
            interval, before = (now - earlier[0], earlier[1]) if earlier else (0.0, None)
        else:  # the means over the whole run
            interval, before = stats.get("elapsed", 0.0), None
        for w in self.plan.workers:
            entry = stats["workers"].get(w.name, {})
            frame["workers"].append(self._worker(w, entry, before, interval, sampled.get(w.name)))
        for b in self.plan.buffers:
            frame["buffers"].append(self._buffer(b, stats, before, interval, fills.get(b.name)))
        frame["edges"] = self._edges(frame, stats, before, interval)
        if running:
            frame["bottleneck"] = None if handle.paused else self._live_bottleneck(now, stats)
        else:
            frame["bottleneck"] = stats.get("bottleneck")
            frame["summary"] = format_summary(stats)
        return frame

    def _state(self, stats: dict | None) -> str:
        handle = self.handle
        if handle.running:
            if handle.stopping:
                return "stopping"
            return "paused" if handle.paused else "running"
        return (stats or {}).get("stopped") or "ended"

    def _earlier(self, now: float, window: float) -> tuple[float, dict] | None:
        """The newest statistics at least `window` seconds old (else the oldest kept)."""
        found = None
        for taken, stats in self.history:
            if now - taken < window and found is not None:
                break
            if now - taken > 0:
                found = (taken, stats)
        return found

    def _worker(self, w, entry: dict, before: dict | None, interval: float, sampled) -> dict:
        """A worker's figures; `sampled`: its latest WorkerSnapshot (None before the first)."""
        previous = (before or {}).get("workers", {}).get(w.name, {})
        capacity = interval * w.processes

        def rate(key: str) -> float | None:
            if not interval:
                return None
            return max(0.0, (entry.get(key, 0) - previous.get(key, 0)) / interval)

        def share(key: str) -> float | None:
            if not capacity:
                return None
            return min(1.0, max(0.0, (entry.get(key, 0.0) - previous.get(key, 0.0)) / capacity))

        return {
            "name": w.name,
            "kind": w.kind,
            "processes": w.processes,
            "events_in": entry.get("events_in", 0),
            "events_out": entry.get("events_out", 0),
            "errors": entry.get("errors", 0),
            "rate_in": rate("events_in"),
            "rate_out": rate("events_out"),
            "running": sampled.running if sampled is not None else None,
            "busy": share("call_s") if sampled is not None and sampled.busy is not None else None,
            "blocked_share": share("blocked_in_s"),
            "blocked_s": entry.get("blocked_in_s", 0.0) + entry.get("blocked_out_s", 0.0),
            "seen": entry.get("seen"),
            "skipped": entry.get("skipped"),
        }

    def _buffer(self, b, stats: dict, before: dict | None, interval: float, fill) -> dict:
        entry = stats["buffers"].get(b.name, {})
        previous = (before or {}).get("buffers", {}).get(b.name, {})
        written = entry.get("written", 0)
        return {
            "name": b.name,
            "slots": b.slots,
            "fill": fill.fill if fill is not None else None,
            "fill_ratio": fill.fill_fraction if fill is not None else None,
            "consumed": fill.consumed if fill is not None else None,
            "written": written,
            "dropped": entry.get("dropped", 0),
            "rate": max(0.0, (written - previous.get("written", 0)) / interval)
            if interval
            else None,
        }

    def _edges(self, frame: dict, stats: dict, before: dict | None, interval: float) -> list:
        """Each edge with its rate: reads from what the worker consumed of that buffer; writes
        from the worker's output count (per output for a filter) or the buffer's rate when it
        has one writer; observed edges from what the observer saw."""
        workers = {w["name"]: w for w in frame["workers"]}
        buffers = {b["name"]: b for b in frame["buffers"]}
        previous = (before or {}).get("buffers", {})
        edges = []
        for w in self.plan.workers:
            figures = workers[w.name]
            for b in w.inputs:
                now_count = stats["buffers"].get(b, {}).get("consumed", {}).get(w.name, 0)
                then = previous.get(b, {}).get("consumed", {}).get(w.name, 0)
                rate = max(0.0, (now_count - then) / interval) if interval else None
                edges.append({"from": b, "to": w.name, "role": "read", "rate": rate})
            for b in w.outputs:
                rate = None
                if len(w.outputs) == 1:
                    rate = figures["rate_out"]
                elif len(self.plan.writers_of(b)) == 1:
                    rate = buffers[b]["rate"]
                edges.append({"from": w.name, "to": b, "role": "write", "rate": rate})
            for b in w.observes:
                rate = figures["rate_in"] if len(w.observes) == 1 else None
                edges.append({"from": b, "to": w.name, "role": "observe", "rate": rate})
        return edges

    def _live_bottleneck(self, now: float, stats: dict) -> dict | None:
        """The bottleneck over the last BOTTLENECK_WINDOW_S seconds, judged as at the end of a
        run (`flowc.runtime.bottleneck`): shares of time busy and blocked in that window."""
        earlier = self._earlier(now, BOTTLENECK_WINDOW_S)
        snapshot = self.snapshot()
        if earlier is None or snapshot is None:
            return None
        interval = now - earlier[0]
        waiting_out = {w.name: w.waiting_out or 0.0 for w in snapshot.workers}
        window = {"workers": {}, "buffers": stats.get("buffers", {})}
        for w in self.plan.workers:
            entry = stats["workers"].get(w.name, {})
            if w.kind == "observer" or not entry.get("calls"):
                continue
            then = earlier[1]["workers"].get(w.name, {})
            wall = interval * w.processes
            window["workers"][w.name] = {
                "kind": w.kind,
                "wall_s": wall,
                "blocked_in_s": entry.get("blocked_in_s", 0.0) - then.get("blocked_in_s", 0.0),
                "blocked_out_s": waiting_out.get(w.name, 0.0) * wall,
                "calls": entry.get("calls", 0) - then.get("calls", 0),
                "call_s": entry.get("call_s", 0.0) - then.get("call_s", 0.0),
            }
        found = find_bottleneck(window, self.plan)
        return found.to_json() if found is not None else None
