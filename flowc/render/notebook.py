"""What flowc objects show in Jupyter: a plan its graph (SVG through Graphviz's `dot` when
installed, tables otherwise), a run's result its summary tables, a running handle its live
figures. Each function returns a self-contained HTML fragment.
"""

from __future__ import annotations

import html
import shutil
import subprocess

from flowc.plan import Plan
from flowc.render.dot import render_dot
from flowc.render.text import duration
from flowc.units import format_bytes, format_rate

# `dot` gets this long to draw a plan (seconds)
DOT_TIMEOUT_S = 20.0

_STYLE = (
    "<style>"
    ".flowc table{border-collapse:collapse;margin:0.3em 0 0.8em 0;font-size:0.9em}"
    ".flowc th,.flowc td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}"
    ".flowc th:first-child,.flowc td:first-child{text-align:left}"
    ".flowc .failed{color:#b00020}"
    ".flowc pre{white-space:pre-wrap;font-size:0.85em}"
    "</style>"
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fragment(title: str, *parts: str) -> str:
    return f'<div class="flowc">{_STYLE}<strong>{_e(title)}</strong>{"".join(parts)}</div>'


# --- a plan ----------------------------------------------------------------------------------


def plan_svg(plan: Plan, dot_program: str | None = None) -> str | None:
    """The plan's graph as SVG, or None when Graphviz's `dot` is not installed (or fails)."""
    program = dot_program if dot_program is not None else shutil.which("dot")
    if not program:
        return None
    try:
        drawn = subprocess.run(
            [program, "-Tsvg"],
            input=render_dot(plan),
            capture_output=True,
            text=True,
            timeout=DOT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if drawn.returncode != 0:
        return None
    svg = drawn.stdout
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else None


def plan_tables(plan: Plan) -> str:
    """The plan's buffers and workers as HTML tables (when there is no Graphviz)."""
    buffers = _table(
        ["buffer", "type", "length", "slots", "overflow", "memory"],
        [
            [b.name, b.type_label, b.length, b.slots, b.overflow, format_bytes(b.total_bytes)]
            for b in plan.buffers
        ],
    )
    workers = _table(
        ["worker", "kind", "reads", "writes", "observes", "processes"],
        [
            [
                w.name,
                w.kind,
                ", ".join(w.inputs) or "-",
                ", ".join(w.outputs) or "-",
                ", ".join(w.observes) or "-",
                w.processes,
            ]
            for w in plan.workers
        ],
    )
    return buffers + workers


def plan_html(plan: Plan, dot_program: str | None = None) -> str:
    """A plan in a notebook: its graph as inline SVG, or tables without Graphviz."""
    title = (
        f"flowc plan {plan.name or '(unnamed)'}: {len(plan.workers)} workers, "
        f"{len(plan.buffers)} buffers, {format_bytes(plan.shm_bytes)} shared memory"
    )
    svg = plan_svg(plan, dot_program)
    return _fragment(title, f"<div>{svg}</div>" if svg is not None else plan_tables(plan))


# --- a run's statistics ----------------------------------------------------------------------


def _per_event(seconds: float, events: int) -> str:
    return duration(seconds / events) if events else "-"


def stats_tables(stats: dict) -> str:
    """The workers and buffers of a `--stats` document as HTML tables."""
    workers = []
    for name, w in stats.get("workers", {}).items():
        calls = w.get("calls", 0)
        workers.append(
            [
                name,
                w.get("kind", ""),
                f"saw {w.get('seen', 0):,} of {w.get('seen', 0) + w.get('skipped', 0):,}"
                if w.get("kind") == "observer"
                else w.get("events_in", 0),
                w.get("events_out", 0),
                w.get("errors", 0),
                _per_event(w.get("call_s", 0.0), calls),
                duration(w.get("call_max_s") if calls else None),
                f"{w.get('cpu_s', 0.0):.2f} s",
                f"{w.get('blocked_in_s', 0.0):.2f} s",
                f"{w.get('blocked_out_s', 0.0):.2f} s",
            ]
        )
    buffers = [
        [
            name,
            b.get("written", 0),
            b.get("dropped", 0),
            ", ".join(
                f"{w} {n} (left {b.get('left', {}).get(w, 0)})"
                for w, n in b.get("consumed", {}).items()
            )
            or "(not consumed)",
        ]
        for name, b in stats.get("buffers", {}).items()
    ]
    return _table(
        [
            "worker",
            "kind",
            "in",
            "out",
            "errors",
            "time/event",
            "max",
            "cpu",
            "blocked in",
            "blocked out",
        ],
        workers,
    ) + _table(["buffer", "written", "dropped", "consumed by"], buffers)


def result_html(result) -> str:
    """A finished run (`RunResult`) in a notebook: how it ended and its summary tables."""
    stats = result.stats
    title = (
        f"flowc run {stats.get('pipeline') or '(unnamed)'}: {stats.get('stopped', '?')}, "
        f"exit {result.exit}, {stats.get('elapsed', 0.0):.2f} s"
    )
    parts = []
    if result.failure is not None:
        parts.append(f'<p class="failed">{_e(result.failure)}</p>')
        if result.failure.traceback:
            parts.append(f"<pre>{_e(result.failure.traceback.rstrip())}</pre>")
    bottleneck = stats.get("bottleneck")
    if bottleneck and bottleneck.get("text"):
        parts.append(f"<p>bottleneck: {_e(bottleneck['text'])}</p>")
    parts.append(stats_tables(stats))
    return _fragment(title, *parts)


# --- a run under way -------------------------------------------------------------------------


def snapshot_tables(snapshot) -> str:
    """A monitor `Snapshot` as HTML tables: rates, busy shares, fill levels."""
    workers = _table(
        ["worker", "kind", "in", "out", "rate", "busy", "errors"],
        [
            [
                w.name,
                w.kind if w.processes == 1 else f"{w.kind} x{w.processes}",
                "-" if w.kind == "importer" else w.events_in,
                "-" if w.kind == "observer" else w.events_out,
                format_rate(w.rate_out if w.kind == "importer" else w.rate_in),
                "-" if w.busy is None or w.kind == "observer" else f"{100 * w.busy:.0f}%",
                w.errors,
            ]
            for w in snapshot.workers
        ],
    )
    progress = [
        f"{w.name}: {w.events_out:,} of {w.expected:,} events "
        f"({100 * min(1.0, w.events_out / w.expected):.0f}%)"
        for w in snapshot.workers
        if w.expected
    ]
    if progress:
        workers = f"<p>{_e('; '.join(progress))}</p>" + workers
    buffers = _table(
        ["buffer", "fill", "rate", "written", "dropped"],
        [
            [
                b.name,
                f"{b.fill}/{b.slots}" if b.consumed else "not consumed",
                format_rate(b.rate),
                b.written,
                b.dropped,
            ]
            for b in snapshot.buffers
        ],
    )
    return buffers + workers


def handle_html(handle) -> str:
    """A `RunHandle` in a notebook: its live figures while it runs, its result after."""
    result = handle.result
    if result is not None:
        return result_html(result)
    state = "paused" if handle.paused else ("stopping" if handle.stopping else "running")
    snapshot = handle.snapshot()
    if snapshot is None:
        stats = handle.stats()
        if stats.get("exit") is not None:  # it ended meanwhile
            return result_html(handle.result)
        title = f"flowc run {handle.plan.name or '(unnamed)'}: {state}, {stats['elapsed']:.1f} s"
        return _fragment(title, stats_tables(stats))
    title = f"flowc run {snapshot.pipeline or '(unnamed)'}: {state}, {snapshot.elapsed:.1f} s"
    note = "<p>figures as of the last snapshot; display the handle again to refresh</p>"
    return _fragment(title, snapshot_tables(snapshot), note)
