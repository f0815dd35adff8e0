"""Standard observers: live views of what flows through buffers (histograms, rates, scopes).

Each says how much of its buffers it saw ("saw N of M events", from
`flowc.runtime.observing.observed`) in its text, its picture and its files, and hands a live
document to the page of `flowc run --serve` (`flowc.runtime.publish`) every PUBLISH_EVERY_S
seconds and at the end.
"""

from __future__ import annotations

import collections
import json
import math
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

from flowc.callables import signature
from flowc.runtime.observing import observed
from flowc.runtime.publish import publish

from .processors import waveforms

_BAR_BLOCKS = " ▏▎▍▌▋▊▉█"
_BAR_WIDTH = 40
# the text histogram prints every bin up to this many, else merges them evenly
_SUMMARY_ROWS = 20
# a live document for the page of `flowc run --serve` is published this often (seconds)
PUBLISH_EVERY_S = 0.5
# a trace published for the live page keeps at most this many samples
_PUBLISHED_SAMPLES = 1000


def _saw(seen_here: int, buffer: str | None = None) -> tuple[int, int | None]:
    """(events seen, events published into the buffer) in an observer of a run; outside one
    (a monitor called by hand) the events it was given, of an unknown number."""
    told = observed(buffer)
    if told is None:
        return seen_here, None
    return told.seen, told.published


def _saw_text(seen: int, of: int | None) -> str:
    """`saw 1,200 of 2,000 events`"""
    return f"saw {seen:,} of {of:,} events" if of is not None else f"saw {seen:,} events"


class _Live:
    """Publishes a monitor's live document now and then (`document()`), and at the end."""

    published_at = -math.inf

    def publish_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self.published_at >= PUBLISH_EVERY_S:
            self.published_at = now
            publish(self.document())

    def document(self) -> dict:
        raise NotImplementedError


@signature(field_args=("field",), kind="observer")
class histogram(_Live):
    """A running histogram of `field` over the observed events.

    Every element of the field counts: all LENGTH elements of an event, and every element of a
    sub-array field. Without `field`, the buffer must be a plain numeric array, whose samples
    are histogrammed. `bins` equal bins span `range=[lo, hi]`; without `range` it is adaptive:
    the first 1000 values are held back, then the range is set from their minimum and maximum
    (widened by 5% on each side) and they are counted; later values outside it go to the
    underflow and overflow counts. NaNs are counted apart and left out of everything else.
    Entries, mean and std cover every value that is not NaN, in range or not.

    At the end it prints a compact summary to stderr (entries, mean, std, how many events it
    saw of how many, a bar chart: one row per bin up to 20 bins, else equal groups of bins),
    and with `path=` it writes counts and edges to a `.npz` (arrays `counts`, `edges`,
    `underflow`, `overflow`, `nan`, `entries`, `mean`, `std`, `seen`, `of`) or a `.json` with
    the same keys. With `png=` it draws the histogram (matplotlib) into that picture every
    `every` seconds (at the next event) and at the end; the file is replaced whole, never seen
    half-written. An observer sees every event still in its buffer when it looks, and skips
    some when the writers are faster than it: `seen` of `of` says how many; a histogram that
    must count every event is a consumer, `stdlib.sinks.histogram`.
    """

    warmup_values = 1000

    def __init__(
        self,
        *,
        field: str | None = None,
        bins: int = 50,
        range: list | None = None,
        path: str | None = None,
        png: str = "",
        every: float = 5.0,
    ):
        if not isinstance(bins, int) or isinstance(bins, bool) or bins < 1:
            raise ValueError(f"histogram: bins={bins!r} must be a whole number of at least 1")
        if range is not None:
            if len(range) != 2 or not all(isinstance(x, int | float) for x in range):
                raise ValueError(f"histogram: range={range!r} must be [lo, hi]")
            if not range[0] < range[1]:
                raise ValueError(f"histogram: range={range!r} needs lo < hi")
        if path is not None and Path(path).suffix not in (".npz", ".json"):
            raise ValueError(f"histogram: path {path!r} must end in .npz or .json")
        if png and Path(png).suffix != ".png":
            raise ValueError(f"histogram: png {png!r} must end in .png")
        if not every > 0:
            raise ValueError(f"histogram: every={every!r} must be more than 0 seconds")
        self.field = field
        self.bins = bins
        self.path = Path(path) if path is not None else None
        self.png = Path(png) if png else None
        if self.png is not None:
            _load_matplotlib()
        self.every = float(every)
        self.last_picture = time.monotonic()
        self.counts = np.zeros(bins, dtype=np.int64)
        self.edges: np.ndarray | None = None
        self.pending: list[np.ndarray] = []
        self.pending_values = 0
        self.underflow = 0
        self.overflow = 0
        self.nan = 0
        self.entries = 0
        self.total = 0.0
        self.total_squares = 0.0
        self.events = 0
        if range is not None:
            self.edges = np.linspace(float(range[0]), float(range[1]), bins + 1)

    def process(self, data) -> None:
        self.events += 1
        values = self._values(data)
        finite = values[~np.isnan(values)]
        self.nan += values.size - finite.size
        if finite.size:
            self._add(finite)
        if self.edges is None:
            return
        self.publish_now_and_then()
        if self.png is not None and time.monotonic() - self.last_picture >= self.every:
            self.draw(self.result())
            self.last_picture = time.monotonic()

    def _add(self, finite: np.ndarray) -> None:
        self.entries += finite.size
        self.total += float(finite.sum())
        self.total_squares += float(np.dot(finite, finite))
        if self.edges is None:
            self.pending.append(finite)
            self.pending_values += finite.size
            if self.pending_values >= self.warmup_values:
                self._fix_range()
        else:
            self._count(finite)

    def _values(self, data) -> np.ndarray:
        names = data.dtype.names
        if self.field is None:
            if names is not None:
                raise ValueError(
                    f"histogram: the events have fields ({', '.join(names)}); say which with field="
                )
            values = data
        elif names is None or self.field not in names:
            have = ", ".join(names) if names else f"none: a plain {data.dtype} array"
            raise KeyError(f"histogram: the events have no field {self.field!r} (fields: {have})")
        else:
            values = data[self.field]
        if values.dtype.kind not in "iuf":
            what = f"field {self.field!r}" if self.field else "the buffer"
            raise TypeError(f"histogram: {what} is {values.dtype}, not a real number")
        return np.asarray(values, dtype=np.float64).ravel()

    def _fix_range(self) -> None:
        held = np.concatenate(self.pending)
        low, high = float(held.min()), float(held.max())
        margin = 0.05 * (high - low) if high > low else max(0.5, abs(low) * 0.05)
        self.edges = np.linspace(low - margin, high + margin, self.bins + 1)
        self.pending = []
        self.pending_values = 0
        self._count(held)

    def _count(self, values: np.ndarray) -> None:
        low, high = self.edges[0], self.edges[-1]
        below = values < low
        above = values > high
        self.underflow += int(below.sum())
        self.overflow += int(above.sum())
        inside = values[~(below | above)]
        index = ((inside - low) * (self.bins / (high - low))).astype(np.int64)
        np.minimum(index, self.bins - 1, out=index)
        self.counts += np.bincount(index, minlength=self.bins)

    @property
    def mean(self) -> float:
        return self.total / self.entries if self.entries else math.nan

    @property
    def std(self) -> float:
        if not self.entries:
            return math.nan
        variance = self.total_squares / self.entries - self.mean**2
        return math.sqrt(max(variance, 0.0))

    def result(self) -> dict:
        """Counts, edges and statistics so far (the held-back values counted if any)."""
        if self.edges is None and self.pending:
            self._fix_range()
        edges = self.edges if self.edges is not None else np.linspace(0.0, 1.0, self.bins + 1)
        seen, of = _saw(self.events)
        return {
            "seen": seen,
            "of": of if of is not None else seen,
            "counts": self.counts.tolist(),
            "edges": edges.tolist(),
            "underflow": self.underflow,
            "overflow": self.overflow,
            "nan": self.nan,
            "entries": self.entries,
            "mean": self.mean,
            "std": self.std,
        }

    def document(self) -> dict:
        """The live document: counts and edges so far."""
        return {
            "kind": "histogram",
            "title": f"histogram of {self.field or 'values'}",
            "field": self.field,
            **_json_safe(self.result()),
        }

    def finish(self) -> None:
        result = self.result()
        publish(self.document())
        print(self.summary(result), file=sys.stderr, flush=True)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.suffix == ".json":
                self.path.write_text(json.dumps(_json_safe(result), indent=1) + "\n")
            else:
                np.savez(self.path, **{key: np.asarray(value) for key, value in result.items()})
        if self.png is not None:
            self.draw(result)

    def draw(self, result: dict) -> None:
        """Draw the histogram of `result` into the PNG file."""
        figure, axes = _figure()
        edges = np.asarray(result["edges"])
        axes.stairs(result["counts"], edges, fill=True, alpha=0.6)
        axes.set_xlabel(self.field or "value")
        axes.set_ylabel("entries per bin")
        notes = (
            f"{_saw_text(result['seen'], result['of'])}: {result['entries']} entries, "
            f"mean {result['mean']:.4g}, std {result['std']:.4g}"
        )
        extras = [f"{n} {result[n]}" for n in ("underflow", "overflow", "nan") if result[n]]
        axes.set_title(notes + (" (" + ", ".join(extras) + ")" if extras else ""), fontsize=9)
        _save(figure, self.png)

    def summary(self, result: dict) -> str:
        """A few lines of text: entries, mean, std, out-of-range counts, the events seen and a
        bar chart whose rows are equal groups of bins (every bin up to _SUMMARY_ROWS)."""
        label = self.field or "values"
        head = (
            f"histogram of {label}: {result['entries']} entries, mean {result['mean']:.4g}, "
            f"std {result['std']:.4g}; {_saw_text(result['seen'], result['of'])}"
        )
        extras = [
            f"{name} {result[name]}" for name in ("underflow", "overflow", "nan") if result[name]
        ]
        if extras:
            head += " (" + ", ".join(extras) + ")"
        if not result["entries"]:
            return head
        counts = np.asarray(result["counts"])
        edges = np.asarray(result["edges"])
        size = _group_size(len(counts))
        groups = [range(k, min(k + size, len(counts))) for k in range(0, len(counts), size)]
        merged = [int(counts[g.start : g.stop].sum()) for g in groups]
        # a bar's height is the mean count of its bins: honest where the last group is short
        heights = [count / len(g) for g, count in zip(groups, merged, strict=True)]
        tallest = max(heights) or 1
        lines = [head]
        if size > 1:
            lines.append(f"  ({size} bins per row)")
        for group, count, height in zip(groups, merged, heights, strict=True):
            low, high = edges[group.start], edges[group.stop]
            lines.append(f"  [{low:10.4g}, {high:10.4g}) {_bar(height / tallest)} {count}")
        return "\n".join(lines)


def _group_size(bins: int) -> int:
    """Bins per row of the text histogram: 1 up to _SUMMARY_ROWS bins, else the smallest
    divisor of `bins` that gives at most _SUMMARY_ROWS rows (equal rows), or, when that would
    leave fewer than a quarter of them (a prime count of bins), equal groups but the last."""
    if bins <= _SUMMARY_ROWS:
        return 1
    least = -(-bins // _SUMMARY_ROWS)
    for size in range(least, bins + 1):
        if bins % size == 0:
            if bins // size >= _SUMMARY_ROWS // 4:
                return size
            break
    return least


def _bar(fraction: float) -> str:
    eighths = round(fraction * _BAR_WIDTH * 8)
    full, rest = divmod(eighths, 8)
    return ("█" * full + (_BAR_BLOCKS[rest] if rest else "")).ljust(_BAR_WIDTH)


def _json_safe(result: dict) -> dict:
    """NaN is not JSON: a statistic of no entries is written as null."""
    return {
        key: None if isinstance(value, float) and math.isnan(value) else value
        for key, value in result.items()
    }


@signature(kind="observer")
class rate(_Live):
    """Print the rate of events written into each observed buffer to stderr every `every`
    seconds.

    The rates come from the buffers' own counters (events published into them; dropped ones
    never were), not from the events this observer happened to see, so they are right at any
    rate. A line is printed when an event arrives at least `every` seconds after the previous
    line (or after the first event); at the end, per buffer the events written, the mean rate
    between the first and the last event this observer saw, and how many it saw. With `path=`
    the same goes to a `.json` file (`buffers`: per buffer `written`, `seen`, `rate`,
    `series` of [seconds, events per second]). Called by hand, outside a run, it counts the
    events it is given.
    """

    def __init__(self, *, every: float = 1.0, label: str = "rate", path: str = ""):
        if not every > 0:
            raise ValueError(f"rate: every={every!r} must be more than 0 seconds")
        if path and Path(path).suffix != ".json":
            raise ValueError(f"rate: path {path!r} must end in .json")
        self.every = float(every)
        self.label = label
        self.path = Path(path) if path else None
        self.started: float | None = None
        self.last_print = 0.0
        self.given: dict[str, int] = {}  # events handed to this observer, per buffer
        # per buffer: (time, events written) at the first event seen, at the last one seen,
        # and at the last line printed
        self.first: dict[str, tuple[float, int]] = {}
        self.latest: dict[str, tuple[float, int]] = {}
        self.printed: dict[str, tuple[float, int]] = {}
        self.series: dict[str, list[list[float]]] = {}

    def _written(self, buffer: str) -> tuple[int, int | None]:
        """(events seen, events written into `buffer`): the buffer's counter in a run, the
        events given by hand."""
        seen, of = _saw(self.given[buffer], buffer)
        return seen, of if of is not None else self.given[buffer]

    def process(self, data, source=None) -> None:
        name = source or "events"
        self.given[name] = self.given.get(name, 0) + 1
        now = time.monotonic()
        written = self._written(name)[1]
        if self.started is None:
            self.started = self.last_print = now
        self.first.setdefault(name, (now, written))
        self.printed.setdefault(name, (now, written))
        self.latest[name] = (now, written)
        if now - self.last_print >= self.every:
            parts = []
            for buffer, (at, count) in self.latest.items():
                since, before = self.printed[buffer]
                per_second = (count - before) / max(at - since, 1e-9) if at > since else 0.0
                parts.append(f"{buffer} {per_second:.1f}/s")
                self.series.setdefault(buffer, []).append(
                    [round(at - self.started, 3), round(per_second, 2)]
                )
                self.printed[buffer] = (at, count)
            print(f"{self.label}: " + ", ".join(parts), file=sys.stderr, flush=True)
            self.last_print = now
        self.publish_now_and_then()

    def mean_rates(self) -> dict[str, dict]:
        """Per buffer: events written, events seen, and the mean rate between the first and
        the last event seen."""
        rates = {}
        for buffer, (first_at, first_count) in self.first.items():
            last_at, last_count = self.latest[buffer]
            seen, written = self._written(buffer)
            span = last_at - first_at
            rates[buffer] = {
                "written": written,
                "seen": seen,
                "rate": (last_count - first_count) / span if span > 0 else None,
                "series": self.series.get(buffer, []),
            }
        return rates

    def document(self) -> dict:
        """The live document: the rate of each buffer over time."""
        rates = self.mean_rates()
        return {
            "kind": "rate",
            "title": self.label,
            "seen": sum(r["seen"] for r in rates.values()),
            "of": sum(r["written"] for r in rates.values()),
            "series": {buffer: r["series"][-300:] for buffer, r in rates.items()},
        }

    def finish(self) -> None:
        rates = self.mean_rates()
        publish(self.document())
        parts = [
            f"{buffer} {r['written']:,} events"
            + (f", {r['rate']:.1f}/s" if r["rate"] is not None else "")
            + f" ({_saw_text(r['seen'], r['written'])})"
            for buffer, r in rates.items()
        ] or ["no events"]
        span = max((self.latest[b][0] - self.first[b][0] for b in self.first), default=0.0)
        print(f"{self.label}: {'; '.join(parts)} in {span:.2f} s", file=sys.stderr, flush=True)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps({"buffers": rates}, indent=1) + "\n")


def _load_matplotlib() -> None:
    """Start importing what drawing needs, in the background: an observer's last picture is
    drawn after every other worker has finished, when it has a second before it is stopped,
    and the import alone can take that long; meanwhile the observer looks at its events."""

    def load() -> None:
        import matplotlib.backends.backend_agg  # noqa: F401
        import matplotlib.figure  # noqa: F401

    threading.Thread(target=load, name="flowc-load-matplotlib", daemon=True).start()


def _figure():
    """A matplotlib figure and axes drawn off-screen (no display, no pyplot state)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4), dpi=100, layout="constrained")
    return figure, figure.add_subplot()


def _save(figure, path: Path) -> None:
    """Write a figure as PNG, replacing `path` whole (readers never see a half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    figure.savefig(partial, format="png")
    os.replace(partial, path)


@signature(field_args=("channels",), kind="observer")
class oscilloscope(_Live):
    """Snapshots of waveforms, as an oscilloscope shows them, drawn into a PNG picture.

    Every channel of the latest observed event is drawn over the others (channels as
    `stdlib.processors.waveforms` finds them: each numeric field, or those named in
    `channels`; a plain array is one channel), the `traces` events before it fainter behind,
    against time in units of `sample_time` (named `unit` on the axis). The picture is redrawn every `every` seconds (at
    the next event) and at the end, replacing the file whole. With `path=` the waveforms of
    the last event are also saved to that `.npz` at the end (one array per channel,
    `ch<number>`). An observer sees every event still in its buffer when it looks; the title
    says how many it saw of how many were written.
    """

    def __init__(
        self,
        *,
        png: str,
        every: float = 1.0,
        channels: list | None = None,
        traces: int = 4,
        sample_time: float = 1.0,
        unit: str = "",
        title: str = "",
        path: str = "",
    ):
        if Path(png).suffix != ".png":
            raise ValueError(f"oscilloscope: png {png!r} must end in .png")
        if path and Path(path).suffix != ".npz":
            raise ValueError(f"oscilloscope: path {path!r} must end in .npz")
        if not every > 0 or traces < 1 or not sample_time > 0:
            raise ValueError(
                "oscilloscope: every and sample_time must be more than 0, traces 1 or more"
            )
        self.png = Path(png)
        _load_matplotlib()
        self.path = Path(path) if path else None
        self.every = float(every)
        self.channels = channels
        self.sample_time = float(sample_time)
        self.unit = unit
        self.title = title
        self.recent: collections.deque = collections.deque(maxlen=traces)
        self.events = 0
        self.last_picture = time.monotonic()

    def process(self, data, meta=None, source=None) -> None:
        shown = waveforms(data, self.channels)
        if not shown:
            raise ValueError(f"oscilloscope: the events ({data.dtype}) have no numeric channel")
        counter = int(meta["counter"]) if meta is not None else self.events
        self.recent.append((counter, source or "", [(c, w.copy()) for c, w in shown]))
        self.events += 1
        self.publish_now_and_then()
        if time.monotonic() - self.last_picture >= self.every:
            self.draw()
            self.last_picture = time.monotonic()

    def document(self) -> dict:
        """The live document: the recent events' waveforms (each at most _PUBLISHED_SAMPLES
        samples: longer ones are thinned evenly, and `sample_time` follows)."""
        seen, of = _saw(self.events)
        longest = max((w.size for _, _, shown in self.recent for _, w in shown), default=1)
        step = -(-longest // _PUBLISHED_SAMPLES)
        return {
            "kind": "scope",
            "title": self.title or "oscilloscope",
            "seen": seen,
            "of": of,
            "sample_time": self.sample_time * step,
            "unit": self.unit,
            "traces": [
                [np.asarray(w[::step], dtype=np.float64).round(6).tolist() for _, w in shown]
                for _, _, shown in self.recent
            ],
        }

    def draw(self) -> None:
        """Draw the recent events into the PNG file."""
        figure, axes = _figure()
        colours = [f"C{i}" for i in range(10)]
        latest = len(self.recent) - 1
        for age, (_, _, shown) in enumerate(self.recent):
            newest = age == latest
            for channel, wave in shown:
                axes.plot(
                    np.arange(wave.size) * self.sample_time,
                    wave,
                    color=colours[channel % 10],
                    alpha=1.0 if newest else 0.25,
                    linewidth=1.0 if newest else 0.7,
                    label=f"channel {channel}" if newest else None,
                )
        if self.recent:
            counter, source, _ = self.recent[-1]
            where = f" of {source}" if source else ""
            axes.set_title(
                f"{self.title + ': ' if self.title else ''}event {counter}{where} "
                f"({_saw_text(*_saw(self.events))})",
                fontsize=9,
            )
            axes.legend(loc="upper right", fontsize=8)
        else:
            axes.set_title(f"{self.title + ': ' if self.title else ''}no events seen", fontsize=9)
        if self.unit:
            axes.set_xlabel(f"time ({self.unit})")
        else:
            axes.set_xlabel("time" if self.sample_time != 1.0 else "sample")
        axes.set_ylabel("amplitude")
        _save(figure, self.png)

    def finish(self) -> None:
        publish(self.document())
        self.draw()
        if self.path is not None and self.recent:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _, _, shown = self.recent[-1]
            np.savez(self.path, **{f"ch{channel}": wave for channel, wave in shown})
