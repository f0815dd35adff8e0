"""Periodic snapshots of a running graph, read from the shared counters: rates, fill levels,
busy and blocked fractions; keeps the time series for the HTML report.

The monitor runs in the supervisor and only reads words the worker processes write anyway
(their statistics rows, through `flowc.runtime.stats.Statistics`, and what the rings hold,
through `Ring`), so watching costs the data path nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flowc.plan import Plan
from flowc.runtime import stats as S
from flowc.runtime.ring import Ring

# a snapshot is taken this often (seconds): the live view refreshes four times a second
SAMPLE_EVERY_S = 0.25
# the time series keeps at most this many points; a longer run keeps every 2nd, 4th... sample
MAX_POINTS = 1200
# an output this full (fraction of its slots) counts as full: its writer is likely waiting
FULL_FRACTION = 0.75


@dataclass(frozen=True)
class WorkerSnapshot:
    """One worker (all its processes) at one moment; rates and fractions over the last interval."""

    name: str
    kind: str
    processes: int
    running: int  # processes started and not yet finished
    events_in: int
    events_out: int
    errors: int
    rate_in: float  # events per second
    rate_out: float
    busy: float | None  # fraction of the interval spent in the user's code (None: not timed)
    waiting_in: float  # fraction spent waiting for events
    waiting_out: float | None  # estimated fraction spent waiting for room in a full output
    expected: int | None = None  # events an importer will produce, when known (its `n=`)


@dataclass(frozen=True)
class BufferSnapshot:
    """One buffer at one moment."""

    name: str
    slots: int
    fill: int  # slots holding events not yet released by every consumer
    consumed: bool  # False: nobody consumes it, its writers overwrite the oldest slot
    written: int
    dropped: int
    rate: float  # events written per second over the last interval

    @property
    def fill_fraction(self) -> float:
        return self.fill / self.slots if self.slots else 0.0


@dataclass(frozen=True)
class Snapshot:
    """The whole graph at `elapsed` seconds into the run."""

    pipeline: str
    elapsed: float
    workers: tuple[WorkerSnapshot, ...]
    buffers: tuple[BufferSnapshot, ...]


@dataclass
class _Reading:
    """Cumulative counters of one worker, summed over its processes."""

    events_in: int = 0
    events_out: int = 0
    errors: int = 0
    busy_s: float = 0.0
    blocked_in_s: float = 0.0
    running: int = 0


class Monitor:
    """Takes a snapshot every SAMPLE_EVERY_S seconds, hands it to a view, keeps the series.

    statistics: the run's statistics segment (every process's counters)
    rings:      buffer name -> its Ring (for fill levels)
    view:       anything with show(snapshot) and close(), or None
    """

    def __init__(
        self,
        plan: Plan,
        statistics: S.Statistics,
        rings: Mapping[str, Ring],
        view=None,
        call_times: bool = True,
    ):
        self.plan = plan
        self.call_times = call_times  # off, busy shares are not known (FLOWC_CALL_TIMES)
        self.statistics = statistics
        self.rings = rings
        self.view = view
        self.writers = {
            b.name: [(w.name, w.outputs.index(b.name)) for w in plan.writers_of(b.name)]
            for b in plan.buffers
        }
        # importers that say how many events they will produce (an integer `n=` argument)
        self.expected = {
            w.name: w.args["n"]
            for w in plan.workers
            if w.kind == "importer"
            and isinstance(w.args.get("n"), int)
            and not isinstance(w.args.get("n"), bool)
        }
        self.next_at = 0.0
        self.last_elapsed = 0.0
        self.last: dict[str, _Reading] = {}
        self.last_written: dict[str, int] = {}
        self.stride = 1  # keep every stride-th sample in the series
        self.samples = 0
        self.series: dict = {
            "interval_s": SAMPLE_EVERY_S,
            "t": [],
            "workers": {
                w.name: {
                    "kind": w.kind,
                    "processes": w.processes,
                    "events_in": [],
                    "events_out": [],
                    **({"busy_s": []} if call_times else {}),  # off: not measured
                    "blocked_in_s": [],
                }
                for w in plan.workers
            },
            "buffers": {
                b.name: {"slots": b.slots, "fill": [], "written": [], "dropped": []}
                for b in plan.buffers
            },
        }
        # per worker the shortest wall and CPU time of a call, read at the end
        self.shortest_call_s: dict[str, tuple[float | None, float | None]] = {}
        self.closed = False

    def due_in(self, elapsed: float) -> float:
        """Seconds until the next snapshot is due (0 when it is due now)."""
        return max(0.0, self.next_at - elapsed)

    def tick(self, elapsed: float) -> None:
        """Take a snapshot if one is due."""
        if elapsed >= self.next_at and not self.closed:
            self.sample(elapsed)
            self.next_at = elapsed + SAMPLE_EVERY_S

    def finish(self, elapsed: float) -> None:
        """The last snapshot (every worker has ended), then close the view."""
        if not self.closed:
            self.sample(elapsed, final=True)
            self.shortest_call_s = self._shortest_calls()
        self.close()

    def annotate(self, stats: dict) -> None:
        """Add to a statistics document what only the monitor read: per worker `call_min_s`
        and `cpu_call_min_s` (from the histograms, so never above the mean and max they are
        shown beside)."""
        for name, entry in stats.get("workers", {}).items():
            if name not in self.shortest_call_s:
                continue
            calls = entry.get("calls") or 0
            for shortest, prefix in zip(self.shortest_call_s[name], ("", "cpu_"), strict=True):
                if shortest is not None and calls:
                    mean = entry.get(f"{prefix}call_s", 0.0) / calls
                    shortest = min(shortest, mean, entry.get(f"{prefix}call_max_s") or shortest)
                entry[f"{prefix}call_min_s"] = shortest

    def close(self) -> None:
        """Stop reading shared memory and close the view; safe to call more than once."""
        self.closed = True
        if self.view is not None:
            view, self.view = self.view, None
            view.close()

    def timeline(self) -> dict:
        """The time series as plain data: cumulative counters and fill levels at times `t`."""
        return self.series

    # --- reading -----------------------------------------------------------------------------

    def _read_worker(self, name: str, kind: str, written: list[int]) -> _Reading:
        statistics = self.statistics
        return _Reading(
            events_in=statistics.count(name, S.SEEN)
            if kind == "observer"
            else sum(statistics.consumed(name)),
            events_out=sum(written),
            errors=statistics.count(name, S.ERRORS),
            busy_s=statistics.seconds(name, S.CALL_S),
            blocked_in_s=statistics.seconds(name, S.BLOCKED_IN_S),
            running=statistics.states(name).count(S.STATE_RUNNING),
        )

    def sample(self, elapsed: float, final: bool = False) -> Snapshot:
        interval = max(elapsed - self.last_elapsed, 1e-9)
        # per worker, what each of its outputs was written and dropped (its writers' rows)
        writes = {w.name: self.statistics.written(w.name) for w in self.plan.workers}
        drops = {w.name: self.statistics.dropped(w.name) for w in self.plan.workers}
        buffers = []
        full = set()
        for b in self.plan.buffers:
            ring = self.rings[b.name]
            fill = ring.occupied()
            written = sum(writes[w][j] for w, j in self.writers[b.name])
            dropped = sum(drops[w][j] for w, j in self.writers[b.name])
            rate = (written - self.last_written.get(b.name, 0)) / interval
            self.last_written[b.name] = written
            consumed = not ring.layout.overwrites
            if consumed and b.overflow == "block" and fill >= FULL_FRACTION * b.slots:
                full.add(b.name)
            buffers.append(BufferSnapshot(b.name, b.slots, fill, consumed, written, dropped, rate))
        workers = []
        for w in self.plan.workers:
            now = self._read_worker(w.name, w.kind, writes[w.name])
            before = self.last.get(w.name, _Reading())
            self.last[w.name] = now
            capacity = interval * w.processes
            waiting_in = _fraction(now.blocked_in_s - before.blocked_in_s, capacity)
            busy = waiting_out = None
            if self.call_times:
                busy = _fraction(now.busy_s - before.busy_s, capacity)
                waiting_out = 0.0
                if any(o in full for o in w.outputs):
                    waiting_out = max(0.0, 1.0 - busy - waiting_in)
            workers.append(
                WorkerSnapshot(
                    name=w.name,
                    kind=w.kind,
                    processes=w.processes,
                    running=now.running,
                    events_in=now.events_in,
                    events_out=now.events_out,
                    errors=now.errors,
                    rate_in=(now.events_in - before.events_in) / interval,
                    rate_out=(now.events_out - before.events_out) / interval,
                    busy=busy,
                    waiting_in=waiting_in,
                    waiting_out=waiting_out,
                    expected=self.expected.get(w.name),
                )
            )
        self.last_elapsed = elapsed
        snapshot = Snapshot(self.plan.name, elapsed, tuple(workers), tuple(buffers))
        self._record(snapshot, final)
        if self.view is not None:
            self.view.show(snapshot)
        return snapshot

    def _record(self, snapshot: Snapshot, final: bool) -> None:
        self.samples += 1
        if not final and (self.samples - 1) % self.stride:
            return
        series = self.series
        if (
            final
            and len(series["t"]) >= 2
            and snapshot.elapsed - series["t"][-1] < SAMPLE_EVERY_S / 2
        ):
            self._each_series(list.pop)  # too close to the last point for a meaningful rate
        if len(series["t"]) >= MAX_POINTS:
            self.stride *= 2
            self._each_series(_keep_every_second)
        series["t"].append(round(snapshot.elapsed, 4))
        for w in snapshot.workers:
            row = series["workers"][w.name]
            reading = self.last[w.name]
            row["events_in"].append(w.events_in)
            row["events_out"].append(w.events_out)
            if self.call_times:
                row["busy_s"].append(round(reading.busy_s, 6))
            row["blocked_in_s"].append(round(reading.blocked_in_s, 6))
        for b in snapshot.buffers:
            row = series["buffers"][b.name]
            row["fill"].append(b.fill)
            row["written"].append(b.written)
            row["dropped"].append(b.dropped)

    def _each_series(self, change) -> None:
        """Apply `change` to every list of the series (times, counters, fill levels)."""
        series = self.series
        change(series["t"])
        for group in ("workers", "buffers"):
            for row in series[group].values():
                for values in row.values():
                    if isinstance(values, list):
                        change(values)

    def _shortest_calls(self) -> dict[str, tuple[float | None, float | None]]:
        """Per worker, the shortest wall and CPU time one call of its code took (the middle of
        the lowest non-empty bin of the histograms; None without calls)."""
        statistics = self.statistics

        def lowest(histogram: list[int]) -> float | None:
            return next((S.bin_seconds(b) for b, n in enumerate(histogram) if n), None)

        return {
            w.name: (
                lowest(statistics.histogram(w.name)),
                lowest(statistics.histogram(w.name, cpu=True)),
            )
            for w in self.plan.workers
        }


def _keep_every_second(values: list) -> None:
    values[:] = values[::2]


def _fraction(part: float, whole: float) -> float:
    return 0.0 if whole <= 0 else max(0.0, min(1.0, part / whole))
