"""The offline HTML report of a run: one self-contained file (no network) with the graph as SVG
annotated with measured rates, the summary tables, plots over time, the plan's hash, the .flow
source and the --set overrides. It takes the plan, the statistics document and the time series
as plain data.
"""

from __future__ import annotations

import base64
import datetime
import html
import json
import math
import os
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from functools import cache

import jinja2
import markupsafe
import networkx as nx

from flowc.plan import Plan
from flowc.render.dot import BUFFER_STYLE, WORKER_STYLES, dot_lines, dot_string, type_as_written
from flowc.render.text import duration
from flowc.units import format_bytes, format_rate

# `dot` gets this long to lay the graph out (seconds)
DOT_TIMEOUT_S = 30.0
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
BOTTLENECK_COLOUR = "#d62728"
# pictures up to this size are embedded in the report (bytes)
MAX_EMBEDDED_BYTES = 4 * 2**20


# --- the graph ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Graph:
    """The pipeline drawn as inline SVG, or why it could not be drawn by Graphviz."""

    svg: str
    drawn_by: str  # "graphviz" or "flowc"
    note: str | None


def busy_share(measured: dict) -> float | None:
    """The share of a worker's time spent in its own code (its calls), as the live view and the
    bottleneck line mean "busy"; None for an observer (it only looks) or when call times were
    off. For a paced importer it includes the time its code sleeps to keep its rate."""
    wall = measured.get("wall_s") or 0.0
    if measured.get("kind") == "observer" or wall <= 0 or "call_s" not in measured:
        return None
    return max(0.0, min(1.0, measured["call_s"] / wall))


def saw(measured: dict) -> str:
    """An observer's `saw N of M events`."""
    seen = measured.get("seen", 0)
    return f"saw {seen:,} of {seen + measured.get('skipped', 0):,} events"


def annotated_dot(plan: Plan, stats: dict) -> str:
    """The plan as DOT with the measured events, rates and busy shares on nodes and edges, laid
    out as `flowc graph` lays it out (down the page, each buffer level with its writer)."""
    elapsed = stats.get("elapsed") or 0.0
    workers = stats.get("workers") or {}
    buffers = stats.get("buffers") or {}
    limiting = (stats.get("bottleneck") or {}).get("worker")
    lines = [
        f"digraph {dot_string(plan.name or 'pipeline')} {{",
        '  graph [rankdir=TB, fontname="Helvetica", fontsize=12, nodesep=0.3, ranksep=0.35];',
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555", fontcolor="#333333"];',
    ]
    shape, fill, style = BUFFER_STYLE
    for b in plan.buffers:
        measured = buffers.get(b.name, {})
        label = [b.name, f"{type_as_written(b)} x {b.slots} slots"]
        if measured:
            label.append(
                f"written {measured.get('written', 0)}, dropped {measured.get('dropped', 0)}"
            )
        lines.append(
            f"  {dot_string(b.name)} [shape={shape}, style={dot_string(style)}, "
            f"fillcolor={dot_string(fill)}, label={dot_lines(label)}];"
        )
    for w in plan.workers:
        shape, fill, style = WORKER_STYLES.get(w.kind, WORKER_STYLES["processor"])
        measured = workers.get(w.name, {})
        label = [w.name if w.processes == 1 else f"{w.name} x{w.processes}", w.kind]
        if measured and w.kind == "observer":
            label.append(saw(measured))
        elif measured:
            label.append(f"in {measured.get('events_in', 0)}, out {measured.get('events_out', 0)}")
            share = busy_share(measured)
            if share is not None:
                label.append(f"busy {100 * share:.0f}%")
        extra = ""
        if w.name == limiting:
            extra = f", color={dot_string(BOTTLENECK_COLOUR)}, penwidth=3"
            label.append("bottleneck")
        lines.append(
            f"  {dot_string(w.name)} [shape={shape}, style={dot_string(style)}, "
            f"fillcolor={dot_string(fill)}, label={dot_lines(label)}{extra}];"
        )
    placed: set[str] = set()
    for w in plan.workers:  # each buffer level with the worker that writes it first
        for b in w.outputs:
            if b not in placed:
                placed.add(b)
                lines.append(f"  {{ rank=same; {dot_string(w.name)}; {dot_string(b)}; }}")
    for w in plan.workers:
        measured = workers.get(w.name, {})
        for b in w.inputs:
            taken = (buffers.get(b, {}).get("consumed") or {}).get(w.name)
            label = _edge_rate(taken, elapsed)
            lines.append(f"  {dot_string(b)} -> {dot_string(w.name)} [label={dot_string(label)}];")
        for b in w.outputs:
            given = _written_by(plan, w.name, b, measured, buffers)
            label = _edge_rate(given, elapsed)
            lines.append(f"  {dot_string(w.name)} -> {dot_string(b)} [label={dot_string(label)}];")
        for b in w.observes:
            seen = measured.get("seen")
            label = "observes" + (f"\n{_edge_rate(seen, elapsed)}" if seen is not None else "")
            lines.append(
                f"  {dot_string(b)} -> {dot_string(w.name)} "
                f"[style=dashed, arrowhead=odot, label={dot_string(label)}];"
            )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _call_times(w: dict, calls: int, prefix: str) -> dict:
    """`mean`, `median`, `min`, `max` (`prefix` "") or `cpu_mean`... ("cpu_") of a worker's
    calls; None where they were not measured."""
    measured = bool(calls) and f"{prefix}call_s" in w
    return {
        f"{prefix}mean": w[f"{prefix}call_s"] / calls if measured else None,
        **{
            f"{prefix}{stat}": w.get(f"{prefix}call_{stat}_s") if measured else None
            for stat in ("median", "min", "max")
        },
    }


def _written_by(plan: Plan, worker: str, buffer: str, measured: dict, buffers: dict) -> int | None:
    """Events `worker` wrote to `buffer`: known per output for filters, for a single output,
    and for a buffer with a single writer."""
    per_output = measured.get("per_output")
    if per_output and buffer in per_output:
        return per_output[buffer]
    if len(plan.worker(worker).outputs) == 1 and "events_out" in measured:
        return measured["events_out"]
    if len(plan.writers_of(buffer)) == 1 and buffer in buffers:
        return buffers[buffer].get("written")
    return None


def _edge_rate(events: int | None, elapsed: float) -> str:
    if events is None:
        return ""
    if elapsed <= 0:
        return f"{events} ev"
    return f"{events} ev\n{format_rate(events / elapsed)}"


def draw_graph(plan: Plan, stats: dict, dot_program: str | None = None) -> Graph:
    """Graphviz's SVG of the annotated graph when `dot` is present (default: found on PATH),
    else a simple drawing of flowc's own with a note saying why."""
    program = dot_program if dot_program is not None else shutil.which("dot")
    reason = "Graphviz's `dot` program was not found on PATH"
    if program:
        try:
            done = subprocess.run(
                [program, "-Tsvg"],
                input=annotated_dot(plan, stats),
                capture_output=True,
                text=True,
                timeout=DOT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            reason = f"Graphviz's `dot` could not be run ({exc})"
        else:
            if done.returncode == 0 and "<svg" in done.stdout:
                svg = done.stdout[done.stdout.index("<svg") :]
                try:
                    ElementTree.fromstring(svg)
                except ElementTree.ParseError as exc:
                    reason = f"Graphviz's `dot` wrote SVG that does not parse ({exc})"
                else:
                    return Graph(svg, "graphviz", None)
            else:
                reason = f"Graphviz's `dot` failed: {done.stderr.strip()[:300]}"
    note = (
        f"{reason}: the graph below is flowc's simple drawing. Install Graphviz (e.g. `apt "
        "install graphviz` or `brew install graphviz`) for the full layout."
    )
    return Graph(layered_svg(plan, stats), "flowc", note)


def layered_svg(plan: Plan, stats: dict) -> str:
    """A plain drawing without Graphviz: one column per step from the importers, boxes for
    workers, rounded boxes for buffers, arrows for reads and writes (dashed: observes)."""
    graph = plan.graph()
    simple = nx.DiGraph(graph.edges())
    simple.add_nodes_from(graph.nodes())
    if nx.is_directed_acyclic_graph(simple):
        columns = list(nx.topological_generations(simple))
    else:
        columns = [list(graph.nodes())]
    box_w, box_h, gap_x, gap_y, margin = 150, 44, 60, 20, 20
    where = {}
    for c, names in enumerate(columns):
        for r, name in enumerate(sorted(names, key=list(graph.nodes()).index)):
            where[name] = (margin + c * (box_w + gap_x), margin + r * (box_h + gap_y))
    width = margin * 2 + len(columns) * (box_w + gap_x) - gap_x
    height = margin * 2 + max(len(names) for names in columns) * (box_h + gap_y) - gap_y
    limiting = (stats.get("bottleneck") or {}).get("worker")
    workers = stats.get("workers") or {}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="11">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
        "</defs>",
    ]
    for tail, head, data in graph.edges(data=True):
        x1, y1 = where[tail]
        x2, y2 = where[head]
        dash = ' stroke-dasharray="4 3"' if data.get("role") == "observe" else ""
        parts.append(
            f'<line x1="{x1 + box_w}" y1="{y1 + box_h / 2}" x2="{x2}" y2="{y2 + box_h / 2}" '
            f'stroke="#555" marker-end="url(#arrow)"{dash}/>'
        )
    for name, data in graph.nodes(data=True):
        x, y = where[name]
        kind = data["kind"]
        if kind == "buffer":
            fill, radius, caption = "#ffffff", 14, "buffer"
        else:
            fill, radius = WORKER_STYLES.get(kind, WORKER_STYLES["processor"])[1], 3
            measured = workers.get(name, {})
            share = busy_share(measured) if measured else None
            caption = kind + (f", busy {100 * share:.0f}%" if share is not None else "")
            if kind == "observer" and measured:
                caption = saw(measured)
        stroke = (
            f'stroke="{BOTTLENECK_COLOUR}" stroke-width="3"'
            if name == limiting
            else 'stroke="#333"'
        )
        parts.append(
            f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="{radius}" '
            f'fill="{fill}" {stroke}/>'
        )
        parts.append(
            f'<text x="{x + box_w / 2}" y="{y + 18}" text-anchor="middle" '
            f'font-weight="bold">{html.escape(name)}</text>'
        )
        parts.append(
            f'<text x="{x + box_w / 2}" y="{y + 34}" text-anchor="middle" '
            f'fill="#444">{html.escape(caption)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


# --- plots over time ------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    label: str
    points: tuple[tuple[float, float], ...]


def rate_lines(timeline: dict) -> list[Line]:
    """Per worker, events per second between consecutive samples: produced by importers,
    taken in by the others."""
    times = timeline.get("t") or []
    lines = []
    for name, row in (timeline.get("workers") or {}).items():
        counts = row["events_out"] if row.get("kind") == "importer" else row["events_in"]
        points = []
        for k in range(1, min(len(times), len(counts))):
            dt = times[k] - times[k - 1]
            if dt > 0:
                points.append((times[k], (counts[k] - counts[k - 1]) / dt))
        lines.append(Line(name, tuple(points)))
    return lines


def busy_lines(timeline: dict) -> list[Line]:
    """Per worker (observers aside), the share of its processes' time spent in its code
    between consecutive samples."""
    times = timeline.get("t") or []
    lines = []
    for name, row in (timeline.get("workers") or {}).items():
        if row.get("kind") == "observer":
            continue
        busy = row.get("busy_s") or []
        processes = row.get("processes") or 1
        points = []
        for k in range(1, min(len(times), len(busy))):
            dt = times[k] - times[k - 1]
            if dt > 0:
                share = (busy[k] - busy[k - 1]) / (dt * processes)
                points.append((times[k], max(0.0, min(1.0, share))))
        lines.append(Line(name, tuple(points)))
    return lines


def fill_lines(timeline: dict) -> list[Line]:
    """Per buffer, the share of its slots in use at each sample."""
    times = timeline.get("t") or []
    lines = []
    for name, row in (timeline.get("buffers") or {}).items():
        slots = row.get("slots") or 1
        points = tuple((t, f / slots) for t, f in zip(times, row["fill"], strict=False))
        lines.append(Line(name, points))
    return lines


def _nice_step(span: float, ticks: int = 5) -> float:
    if span <= 0:
        return 1.0
    raw = span / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def line_chart(
    lines: list[Line], y_label: str, y_format, y_max: float | None = None, width: int = 760
) -> str:
    """A line chart as inline SVG: time in seconds across, `y_label` up, a legend below."""
    height, left, right, top, bottom = 260, 64, 16, 12, 36
    legend_rows = math.ceil(len(lines) / 4)
    total_height = height + 18 * legend_rows
    xs = [x for line in lines for x, _ in line.points]
    ys = [y for line in lines for _, y in line.points]
    x_max = max(xs, default=1.0) or 1.0
    top_value = y_max if y_max is not None else (max(ys, default=1.0) or 1.0)
    y_step = _nice_step(top_value)
    top_value = math.ceil(top_value / y_step) * y_step if y_max is None else top_value
    x_step = _nice_step(x_max)
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + plot_w * x / x_max

    def sy(y: float) -> float:
        return top + plot_h * (1 - y / top_value)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{total_height}" '
        f'viewBox="0 0 {width} {total_height}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="11">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#999"/>',
    ]
    value = 0.0
    while value <= top_value + 1e-9:
        y = sy(value)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{html.escape(y_format(value))}</text>"
        )
        value += y_step
    value = 0.0
    while value <= x_max + 1e-9:
        x = sx(value)
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" text-anchor="middle">{value:g}</text>'
        )
        value += x_step
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{top + plot_h + 30}" text-anchor="middle">'
        "seconds since the start</text>"
    )
    parts.append(
        f'<text x="14" y="{top + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {top + plot_h / 2})">{html.escape(y_label)}</text>'
    )
    for k, line in enumerate(lines):
        colour = PALETTE[k % len(PALETTE)]
        if len(line.points) >= 2:
            points = " ".join(f"{sx(x):.1f},{sy(min(y, top_value)):.1f}" for x, y in line.points)
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.6"/>'
            )
        elif line.points:
            x, y = line.points[0]
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}"/>')
        lx = left + (k % 4) * (plot_w / 4)
        ly = height + 4 + 18 * (k // 4)
        parts.append(f'<rect x="{lx:.1f}" y="{ly}" width="12" height="4" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 16:.1f}" y="{ly + 6}">{html.escape(line.label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


# --- the report -----------------------------------------------------------------------------


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("flowc.render", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = duration
    env.filters["rate"] = format_rate
    env.filters["bytes"] = format_bytes
    return env


def user_traceback(text: str) -> str:
    """A traceback without the frames of flowc's own modules (the runtime, the adapters
    around the user's callable), which only the flowc developers need; the standard workers'
    frames (flowc.stdlib) stay, as the user's own do."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    ours = (package,)
    keep_within = os.path.join(package, "stdlib") + os.sep
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    skipping = False
    for line in lines:
        stripped = line.lstrip()
        if line.startswith("  File "):
            path = stripped.split('"')[1] if '"' in stripped else ""
            skipping = path.startswith(ours) and not path.startswith(keep_within)
            if skipping:
                continue
        elif skipping and line.startswith("    "):
            continue  # the source line (and carets) of a skipped frame
        else:
            skipping = False
        kept.append(line)
    return "".join(kept)


def _data_uri(path: str, kind: str) -> str | None:
    """A small file as a data: URI (the report stays one self-contained file)."""
    try:
        size = os.path.getsize(path)
        if size > MAX_EMBEDDED_BYTES:
            return None
        with open(path, "rb") as file:
            return f"data:{kind};base64," + base64.b64encode(file.read()).decode("ascii")
    except OSError:
        return None


def histogram_svg(counts: list, edges: list, width: int = 560, height: int = 220) -> str:
    """A histogram (counts between edges) as an inline SVG bar chart."""
    left, bottom, top = 48, 24, 8
    plot_w, plot_h = width - left - 8, height - bottom - top
    tallest = max(counts, default=0) or 1
    bar = plot_w / max(len(counts), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="10">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" '
        'stroke="#999"/>',
    ]
    for k, count in enumerate(counts):
        h = plot_h * count / tallest
        parts.append(
            f'<rect x="{left + k * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
            f'height="{h:.1f}" fill="{PALETTE[0]}" fill-opacity="0.7"/>'
        )
    parts.append(f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{tallest:,}</text>')
    parts.append(f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>')
    for x, value in ((left, edges[0]), (left + plot_w, edges[-1])):
        parts.append(
            f'<text x="{x}" y="{height - 8}" text-anchor="middle">{float(value):.4g}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _written_histogram(path: str) -> tuple[list, list] | None:
    """Counts and edges from a histogram file a worker wrote (.json or .npz), if readable."""
    try:
        if path.endswith(".json"):
            with open(path, encoding="utf-8") as file:
                data = json.load(file)
        elif path.endswith(".npz"):
            import numpy as np

            with np.load(path) as saved:
                data = {key: saved[key].tolist() for key in ("counts", "edges")}
        else:
            return None
        counts, edges = data["counts"], data["edges"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(counts, list) or len(edges) != len(counts) + 1:
        return None
    return counts, edges


def _outputs(plan: Plan, stats: dict) -> list[dict]:
    """What the observers (and any worker drawing a picture) left for the reader: pictures
    (`png=`) and histograms (`path=` .json/.npz), with how much each observer saw."""
    workers = stats.get("workers") or {}
    shown = []
    for w in plan.workers:
        picture = w.args.get("png")
        written = w.args.get("path")
        if w.kind != "observer" and not isinstance(picture, str):
            continue
        entry = {"name": w.name, "callable": w.callable.describe(), "image": None, "chart": None}
        measured = workers.get(w.name, {})
        entry["saw"] = saw(measured) if w.kind == "observer" and measured else None
        if isinstance(picture, str) and picture:
            entry["image"] = _data_uri(picture, "image/png")
            entry["image_path"] = picture
        if isinstance(written, str):
            histogram = _written_histogram(written)
            if histogram is not None:
                entry["chart"] = markupsafe.Markup(histogram_svg(*histogram))
                entry["chart_path"] = written
        if entry["image"] or entry["chart"] or entry["saw"]:
            shown.append(entry)
    return shown


def _worker_rows(stats: dict) -> list[dict]:
    rows = []
    for name, w in (stats.get("workers") or {}).items():
        calls = w.get("calls") or 0
        wall = w.get("wall_s") or 0.0
        rows.append(
            {
                "name": name,
                "kind": w.get("kind", ""),
                "processes": w.get("processes", 1),
                "events_in": w.get("events_in", 0),
                "events_out": w.get("events_out", 0),
                "errors": w.get("errors", 0),
                **_call_times(w, calls, ""),
                **_call_times(w, calls, "cpu_"),
                "blocked_in": w.get("blocked_in_s", 0.0),
                "blocked_out": w.get("blocked_out_s", 0.0),
                "blocked_in_share": w.get("blocked_in_s", 0.0) / wall if wall > 0 else None,
                "blocked_out_share": w.get("blocked_out_s", 0.0) / wall if wall > 0 else None,
                "busy": busy_share(w),
                "extra": _worker_extra(w),
            }
        )
    return rows


def _worker_extra(w: dict) -> str:
    if w.get("kind") == "observer":
        return saw(w)
    if w.get("kind") == "filter":
        per_output = ", ".join(f"{b} {n}" for b, n in (w.get("per_output") or {}).items())
        text = f"accepted {w.get('accepted', 0)}, discarded {w.get('discarded', 0)}"
        return text + (f" ({per_output})" if per_output else "")
    return ""


def render_report(
    plan: Plan,
    stats: dict,
    timeline: dict | None = None,
    *,
    source_text: str | None = None,
    dot_program: str | None = None,
    generated: datetime.datetime | None = None,
) -> str:
    """The report as one HTML document. `stats` is the run's statistics document (SPEC
    section 5 and what the runtime adds: failure, bottleneck, peak memory), `timeline` the
    series sampled during the run (empty or None: no plots), `source_text` the .flow file."""
    timeline = timeline or {}
    graph = draw_graph(plan, stats, dot_program)
    has_series = len(timeline.get("t") or []) >= 2
    rates = fills = busy = None
    if has_series:
        rates = markupsafe.Markup(
            line_chart(rate_lines(timeline), "events per second", format_rate)
        )
        fills = markupsafe.Markup(
            line_chart(fill_lines(timeline), "share of slots in use", _percent, y_max=1.0)
        )
        busy_series = busy_lines(timeline)
        if any(line.points for line in busy_series):  # none when call times were off
            busy = markupsafe.Markup(
                line_chart(busy_series, "share of time busy", _percent, y_max=1.0)
            )
    buffers = []
    for name, b in (stats.get("buffers") or {}).items():
        readers = [
            {"worker": w, "consumed": n, "left": (b.get("left") or {}).get(w, 0)}
            for w, n in (b.get("consumed") or {}).items()
        ]
        buffers.append(
            {
                "name": name,
                "written": b.get("written", 0),
                "dropped": b.get("dropped", 0),
                "readers": readers,
            }
        )
    generated = generated or datetime.datetime.now(datetime.UTC)
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=plan.name or os.path.basename(plan.source_path or "") or "flowc run",
        plan=plan,
        plan_hash=plan.hash,
        stats=stats,
        failure=stats.get("failure"),
        failure_traceback=user_traceback((stats.get("failure") or {}).get("traceback") or ""),
        outputs=_outputs(plan, stats),
        bottleneck=stats.get("bottleneck"),
        graph_svg=markupsafe.Markup(graph.svg),
        graph=graph,
        workers=_worker_rows(stats),
        buffers=buffers,
        rates_svg=rates,
        fills_svg=fills,
        busy_svg=busy,
        samples=len(timeline.get("t") or []),
        interval=timeline.get("interval_s"),
        overrides=dict(plan.overrides),
        consts=dict(plan.consts),  # the values the run used, overrides included
        source_text=source_text,
        source_name=plan.source_path,
        generated=generated.strftime("%Y-%m-%d %H:%M:%S UTC"),
        stats_json=json.dumps(stats, indent=2, default=str),
    )


def write_report(
    path: str | os.PathLike, plan: Plan, stats: dict, timeline=None, **options
) -> None:
    """Write `render_report(...)` to `path` (UTF-8)."""
    text = render_report(plan, stats, timeline, **options)
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.0f}%"
