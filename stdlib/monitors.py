"""Standard observers: live views of what flows through buffers (histograms, rates, scopes)."""

from __future__ import annotations

import collections
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

from flowc.callables import signature

from .processors import waveforms

_BAR_BLOCKS = " ▏▎▍▌▋▊▉█"
_BAR_WIDTH = 40
_SUMMARY_ROWS = 10


@signature(field_args=("field",), kind="observer")
class histogram:
    """A running histogram of `field` over the observed events.

    Every element of the field counts: all LENGTH elements of an event, and every element of a
    sub-array field. Without `field`, the buffer must be a plain numeric array, whose samples
    are histogrammed. `bins` equal bins span `range=[lo, hi]`; without `range` it is adaptive:
    the first 1000 values are held back, then the range is set from their minimum and maximum
    (widened by 5% on each side) and they are counted; later values outside it go to the
    underflow and overflow counts. NaNs are counted apart and left out of everything else.
    Entries, mean and std cover every value that is not NaN, in range or not.

    At the end it prints a compact summary to stderr (entries, mean, std, a small bar chart),
    and with `path=` it writes counts and edges to a `.npz` (arrays `counts`, `edges`,
    `underflow`, `overflow`, `nan`, `entries`, `mean`, `std`) or a `.json` with the same keys.
    With `png=` it draws the histogram (matplotlib) into that picture every `every` seconds
    (at the next event) and at the end; the file is replaced whole, never seen half-written.
    An observer sees recent events and may skip some when the writers are faster than it.
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
        if range is not None:
            self.edges = np.linspace(float(range[0]), float(range[1]), bins + 1)

    def process(self, data) -> None:
        values = self._values(data)
        finite = values[~np.isnan(values)]
        self.nan += values.size - finite.size
        if finite.size == 0:
            return
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
        if self.png is not None and time.monotonic() - self.last_picture >= self.every:
            self.draw(self.result())
            self.last_picture = time.monotonic()

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
        return {
            "counts": self.counts.tolist(),
            "edges": edges.tolist(),
            "underflow": self.underflow,
            "overflow": self.overflow,
            "nan": self.nan,
            "entries": self.entries,
            "mean": self.mean,
            "std": self.std,
        }

    def finish(self) -> None:
        result = self.result()
        print(self.summary(result), file=sys.stderr, flush=True)
        if self.png is not None:
            self.draw(result)
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.suffix == ".json":
            self.path.write_text(json.dumps(_json_safe(result), indent=1) + "\n")
        else:
            np.savez(self.path, **{key: np.asarray(value) for key, value in result.items()})

    def draw(self, result: dict) -> None:
        """Draw the histogram of `result` into the PNG file."""
        figure, axes = _figure()
        edges = np.asarray(result["edges"])
        axes.stairs(result["counts"], edges, fill=True, alpha=0.6)
        axes.set_xlabel(self.field or "value")
        axes.set_ylabel("entries per bin")
        notes = f"{result['entries']} entries, mean {result['mean']:.4g}, std {result['std']:.4g}"
        extras = [f"{n} {result[n]}" for n in ("underflow", "overflow", "nan") if result[n]]
        axes.set_title(notes + (" (" + ", ".join(extras) + ")" if extras else ""), fontsize=9)
        _save(figure, self.png)

    def summary(self, result: dict) -> str:
        """A few lines of text: entries, mean, std, out-of-range counts and a bar chart."""
        label = self.field or "values"
        head = (
            f"histogram of {label}: {result['entries']} entries, mean {result['mean']:.4g}, "
            f"std {result['std']:.4g}"
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
        rows = min(_SUMMARY_ROWS, self.bins)
        groups = np.array_split(np.arange(self.bins), rows)
        merged = [int(counts[g].sum()) for g in groups]
        tallest = max(merged) or 1
        lines = [head]
        for group, count in zip(groups, merged, strict=True):
            low, high = edges[group[0]], edges[group[-1] + 1]
            lines.append(f"  [{low:10.4g}, {high:10.4g}) {_bar(count / tallest)} {count}")
        return "\n".join(lines)


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
class rate:
    """Print the rate of observed events to stderr every `every` seconds, per buffer.

    The rate counts the events this observer saw; an observer skips events when the writers
    are faster than it, so at high rates it is a lower bound. A line is printed when an event
    arrives at least `every` seconds after the previous line (or after the first event); at the
    end, the totals and the mean rates from the first event to the last are printed.
    """

    def __init__(self, *, every: float = 1.0, label: str = "rate"):
        if not every > 0:
            raise ValueError(f"rate: every={every!r} must be more than 0 seconds")
        self.every = float(every)
        self.label = label
        self.first_event: float | None = None
        self.last_event = 0.0
        self.last_print = 0.0
        self.seen: dict[str, int] = {}
        self.seen_at_last_print: dict[str, int] = {}

    def process(self, data, source=None) -> None:
        name = source or "events"
        self.seen[name] = self.seen.get(name, 0) + 1
        now = time.monotonic()
        self.last_event = now
        if self.first_event is None:
            self.first_event = self.last_print = now
        if now - self.last_print >= self.every:
            interval = now - self.last_print
            parts = [
                f"{buffer} {(count - self.seen_at_last_print.get(buffer, 0)) / interval:.1f}/s"
                for buffer, count in self.seen.items()
            ]
            print(f"{self.label}: " + ", ".join(parts), file=sys.stderr, flush=True)
            self.last_print = now
            self.seen_at_last_print = dict(self.seen)

    def finish(self) -> None:
        elapsed = max(self.last_event - (self.first_event or 0.0), 1e-9)
        parts = [
            f"{buffer} {count} events, {count / elapsed:.1f}/s"
            for buffer, count in self.seen.items()
        ] or ["no events"]
        print(f"{self.label}: {'; '.join(parts)} in {elapsed:.2f} s", file=sys.stderr, flush=True)


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
class oscilloscope:
    """Snapshots of waveforms, as an oscilloscope shows them, drawn into a PNG picture.

    Every channel of the latest observed event is drawn over the others (channels as
    `stdlib.processors.waveforms` finds them: each numeric field, or those named in
    `channels`; a plain array is one channel), the `traces` events before it fainter behind,
    against time in units of `sample_time` (named `unit` on the axis). The picture is redrawn every `every` seconds (at
    the next event) and at the end, replacing the file whole. With `path=` the waveforms of
    the last event are also saved to that `.npz` at the end (one array per channel,
    `ch<number>`). An observer sees the most recent events; which ones it draws depends on
    when it looks.
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
        if time.monotonic() - self.last_picture >= self.every:
            self.draw()
            self.last_picture = time.monotonic()

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
                f"({self.events} seen)",
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
        self.draw()
        if self.path is not None and self.recent:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _, _, shown = self.recent[-1]
            np.savez(self.path, **{f"ch{channel}": wave for channel, wave in shown})
