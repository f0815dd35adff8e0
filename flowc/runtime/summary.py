"""The plain-text end-of-run summary printed to stderr, in the style of KM3Pipe's `timeit`:
per worker the time per event (mean, median, min, max) and blocked time, per buffer what was
written, dropped and left, the peak memory, and the bottleneck named.
"""

from __future__ import annotations

import os
import textwrap

from flowc.runtime.calltimes import EVERY_CALL_FIRST, SAMPLE_EVERY
from flowc.runtime.calltimes import enabled_by as call_times_enabled_by
from flowc.runtime.ring import SLOW_EVENT_S
from flowc.units import format_duration

# the explanations under the tables are wrapped at this width, or the terminal's if narrower
FOOTNOTE_WIDTH = 96


def footnote_width() -> int:
    """The width footnotes wrap at: FOOTNOTE_WIDTH, or less on a narrower terminal (stderr's,
    else COLUMNS)."""
    try:
        columns = os.get_terminal_size(2).columns
    except OSError:
        columns = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else 0
    return min(FOOTNOTE_WIDTH, columns - 1) if columns > 20 else FOOTNOTE_WIDTH


def format_summary(stats: dict) -> str:
    """A table of what every worker and buffer did, from a statistics document (with the
    `bottleneck` the runtime adds to it, when there is one)."""
    lines = [
        f"pipeline {stats.get('pipeline') or '(unnamed)'}: {stats.get('stopped')} "
        f"in {stats.get('elapsed', 0.0):.3f} s, exit {stats.get('exit')}"
    ]
    workers = stats.get("workers") or {}
    if workers:
        lines += ["", *_worker_table(workers)]
    buffers = stats.get("buffers") or {}
    if buffers:
        lines += ["", *_buffer_table(buffers)]
    peak = stats.get("peak_rss_bytes")
    if peak:
        lines += ["", f"peak memory (largest process): {peak / 2**20:.1f} MiB"]
    bottleneck = stats.get("bottleneck")
    if bottleneck:
        reason = {"busy": "busy", "blocked_out": "blocked on a full output"}.get(
            bottleneck["reason"], bottleneck["reason"]
        )
        lines += [
            "",
            *_wrapped(f"bottleneck: `{bottleneck['worker']}` ({reason}): {bottleneck['text']}"),
        ]
    failure = stats.get("failure")
    if failure:
        who = f"worker `{failure['worker']}`" if failure.get("worker") else "the run"
        lines += ["", *_wrapped(f"failed: {who}: {failure['message']}")]
    return "\n".join(lines)


def _wrapped(text: str) -> list[str]:
    """A long line of the summary wrapped between words at the footnotes' width."""
    return textwrap.wrap(text, width=footnote_width(), break_long_words=False) or [""]


WORKER_COLUMNS = ("worker", "kind", "in", "out", "err", "blk in", "blk out")
# columns grouped under a title: (title, first column, last column)
WORKER_GROUPS = (("time blocked", 5, 6),)
TIME_COLUMNS = ("worker", "mean", "median", "min", "max", "mean", "median", "min", "max")
TIME_GROUPS = (("wall time per event", 1, 4), ("CPU time per event", 5, 8))


def _table(headers, rows, left: int, groups=()) -> list[str]:
    """Aligned text columns: the first `left` columns to the left, the rest to the right;
    `groups` puts a title centred over a run of columns."""
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]

    def line(cells) -> str:
        return "  ".join(
            f"{c:<{w}}" if k < left else f"{c:>{w}}"
            for k, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    lines = []
    if groups:
        starts = [sum(widths[:k]) + 2 * k for k in range(len(widths))]
        title = ""
        for text, first, last in groups:
            span = starts[last] + widths[last] - starts[first]
            title = f"{title:<{starts[first]}}" + f"{text:^{span}}"
        lines.append(title.rstrip())
    header = line(headers)
    return [*lines, header, "-" * len(header), *(line(r) for r in rows)]


def _worker_table(workers: dict) -> list[str]:
    rows = []
    time_rows = []
    notes: dict[int, list[str]] = {}
    for name, w in workers.items():
        wall = w.get("wall_s", 0.0)
        rows.append(
            (
                name,
                w.get("kind", ""),
                w.get("events_in", 0),
                w.get("events_out", 0),
                w.get("errors", 0),
                _blocked(w.get("blocked_in_s", 0.0), wall),
                _blocked(w.get("blocked_out_s", 0.0), wall),
            )
        )
        time_rows.append((name, *_call_times(w, ""), *_call_times(w, "cpu_")))
        extra = []
        if w.get("kind") == "observer":
            extra.append(f"seen {w.get('seen', 0)}, skipped {w.get('skipped', 0)}")
        if w.get("kind") == "filter":
            per_output = ", ".join(f"{b} {n}" for b, n in w.get("per_output", {}).items())
            extra.append(
                f"accepted {w.get('accepted', 0)}, discarded {w.get('discarded', 0)}"
                + (f" ({per_output})" if per_output else "")
            )
        if w.get("processes", 1) > 1:
            extra.append(f"{w['processes']} processes")
        if "events_per_call" in w:
            extra.append(
                f"batches: {w['events_per_call']:.1f} events per call, "
                f"{format_duration(w.get('event_s'), sep='')} per event (times below are per call)"
            )
        notes[len(rows) - 1] = extra
    table = _table(WORKER_COLUMNS, rows, left=2, groups=WORKER_GROUPS)
    indent = " " * (max(len(r[0]) for r in rows) + 2)
    lines = table[:3]
    for k, row_line in enumerate(table[3:]):
        lines.append(row_line)
        lines += [indent + text for text in notes[k]]
    width = footnote_width()
    lines += textwrap.wrap(
        "blocked: seconds waiting for events (in) and for room in outputs (out), and the share "
        "of the worker's time",
        width=width,
        break_long_words=False,
    )
    lines.append("")
    if not call_times_enabled_by(os.environ):
        note = "time per event: not measured (call times were off: FLOWC_CALL_TIMES)"
    elif any(w.get("calls") for w in workers.values()):
        lines += _table(TIME_COLUMNS, time_rows, left=1, groups=TIME_GROUPS)
        note = (
            "time per event: in the worker's code (waiting for events and for room excluded), "
            f"wall-clock and the process's CPU; after the first {EVERY_CALL_FIRST:,} calls, "
            f"while calls take under {format_duration(SLOW_EVENT_S, sep='')}, one in "
            f"{SAMPLE_EVERY} is timed, at random, and the times are estimates (median and min "
            "from bins 9% wide)"
        )
    elif any(w.get("events_in") or w.get("events_out") for w in workers.values()):
        # the processes that were stopped at once took the times they gathered with them
        note = "time per event: not measured, the run ended before the workers handed them over"
    else:
        note = "time per event: no worker's code was called"
    lines += textwrap.wrap(note, width=width, break_long_words=False)
    return lines


def _buffer_table(buffers: dict) -> list[str]:
    rows = []
    for name, b in buffers.items():
        left = b.get("left") or {}
        readers = ", ".join(f"{w} {n}/{left.get(w, 0)}" for w, n in b.get("consumed", {}).items())
        rows.append((name, b.get("written", 0), b.get("dropped", 0), readers or "(not consumed)"))
    headers = ("buffer", "written", "dropped", "consumed/left per reader")
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    lines = []
    for cells in (headers, *rows):
        name, written, dropped, readers = cells
        lines.append(
            f"{name:<{widths[0]}}  {written:>{widths[1]}}  {dropped:>{widths[2]}}  {readers}"
        )
    lines.insert(1, "-" * len(lines[0]))
    return lines


def _call_times(w: dict, prefix: str) -> tuple[str, str, str, str]:
    """Mean, median, min and max of a worker's calls, in wall (`prefix` "") or CPU ("cpu_")
    time; "-" where they were not measured."""
    calls = w.get("calls", 0)
    if not calls or f"{prefix}call_s" not in w:
        return ("-", "-", "-", "-")
    return (
        _per_event(w[f"{prefix}call_s"], calls),
        _cell_duration(w.get(f"{prefix}call_median_s")),
        _cell_duration(w.get(f"{prefix}call_min_s")),
        _cell_duration(w.get(f"{prefix}call_max_s")),
    )


def _blocked(seconds: float, wall: float) -> str:
    share = f"{100 * seconds / wall:3.0f}%" if wall > 0 else "   -"
    return f"{seconds:.2f}s {share}"


def _cell_duration(seconds: float | None) -> str:
    return format_duration(seconds, sep="")


def _per_event(seconds: float, events: int) -> str:
    if not events:
        return "-"
    return _cell_duration(seconds / events)
