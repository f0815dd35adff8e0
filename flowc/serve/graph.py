"""The graph on the live page, as SVG: Graphviz's drawing of `flowc.render.dot`'s DOT when the
`dot` program is present, else a simple layered layout of our own. Both mark each node and edge
alike (`<g class="node"><title>NAME</title>`, `<g class="edge"><title>A->B</title>`), so the
page's script finds them to show fill levels and rates.

The page labels each node with its name and a second line where the page writes its figures
(a worker's rate and busy share, a buffer's fill level), and each edge with a short label where
it writes the edge's rate; the details of `flowc graph`'s labels are in each node's tooltip and
in the tables beside the graph. Graphviz leaves room for those lines wherever it puts them, so
the figures never cover an edge, whichever way the drawing runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html import escape

from flowc.render.dot import BUFFER_STYLE, WORKER_STYLES, render_dot

# a DOT double-quoted string, as `flowc.render.dot.dot_string` writes them
_STRING = r'"(?:[^"\\]|\\.)*"'
# an edge statement's label; a node statement's label (its first line kept)
_EDGE_LABEL = re.compile(rf"^(\s*{_STRING} -> {_STRING} \[.*?label=){_STRING}", re.M)
_NODE_LABEL = re.compile(
    rf'^(\s*({_STRING}) \[.*?label=")((?:[^"\\]|\\.)*?)\\n(?:[^"\\]|\\.)*"', re.M
)
# the room each label keeps for the figures the page writes there
RATE_PLACEHOLDER = "000.0 k/s"
WORKER_PLACEHOLDER = "000.0 k/s · busy 100 %"
BUFFER_PLACEHOLDER = "0000/0000 full"
# Graphviz gets this long to draw the graph (seconds)
DOT_TIMEOUT_S = 10.0
# the built-in layout: column and row spacing, node size (pixels)
_COLUMN, _ROW, _WIDTH, _HEIGHT, _MARGIN = 200, 76, 150, 40, 28


def page_dot(plan) -> str:
    """The DOT of `flowc graph`, each node labelled with its name over a line for its figures,
    each edge with room for its rate."""
    figures = {f'"{name}"': line for name, line in _placeholders(plan).items()}

    def node(match: re.Match) -> str:
        return f'{match.group(1)}{match.group(3)}\\n{figures.get(match.group(2), "")}"'

    text = _EDGE_LABEL.sub(rf'\1"{RATE_PLACEHOLDER}"', render_dot(plan))
    return _NODE_LABEL.sub(node, text)


def _placeholders(plan) -> dict[str, str]:
    """Per node, the room its figures need: a buffer's fill, a worker's rate and busy share
    (an observer's rate alone)."""
    room = {b.name: BUFFER_PLACEHOLDER for b in plan.buffers}
    for w in plan.workers:
        room[w.name] = RATE_PLACEHOLDER if w.kind == "observer" else WORKER_PLACEHOLDER
    return room


def graph_svg(plan) -> str:
    """The page's graph: Graphviz's SVG when `dot` is present and works, else our own."""
    dot = shutil.which("dot")
    if dot is not None:
        try:
            completed = subprocess.run(
                [dot, "-Tsvg", "-Gnodesep=0.45", "-Gpad=0.35"],
                input=page_dot(plan).encode("utf-8"),
                capture_output=True,
                timeout=DOT_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            completed = None
        if completed is not None and completed.returncode == 0:
            text = completed.stdout.decode("utf-8", "replace")
            start = text.find("<svg")
            if start >= 0:
                return text[start:]
    return layered_svg(plan)


def _layers(plan) -> dict[str, int]:
    """Each node's column: the longest path to it from a node nothing flows into."""
    edges = []
    for w in plan.workers:
        edges += [(b, w.name) for b in (*w.inputs, *w.observes)]
        edges += [(w.name, b) for b in w.outputs]
    names = [b.name for b in plan.buffers] + [w.name for w in plan.workers]
    column = dict.fromkeys(names, 0)
    for _ in range(len(names)):  # longest paths; a cycle stops growing after len(names) rounds
        changed = False
        for tail, head in edges:
            if column[head] < column[tail] + 1 <= len(names):
                column[head] = column[tail] + 1
                changed = True
        if not changed:
            break
    return column


def layered_svg(plan) -> str:
    """A left-to-right drawing without Graphviz: nodes in columns by their longest path from
    the sources, edges as curves with arrowheads."""
    column = _layers(plan)
    rows: dict[int, list[str]] = {}
    for name in column:
        rows.setdefault(column[name], []).append(name)
    tallest = max(len(names) for names in rows.values())
    place = {}
    for c, names in rows.items():
        offset = (tallest - len(names)) * _ROW / 2
        for r, name in enumerate(names):
            x = _MARGIN + c * _COLUMN + _WIDTH / 2
            place[name] = (x, _MARGIN + offset + r * _ROW + _HEIGHT / 2)
    width = _MARGIN * 2 + (max(rows) * _COLUMN) + _WIDTH
    height = _MARGIN * 2 + tallest * _ROW
    kinds = {b.name: "buffer" for b in plan.buffers} | {w.name: w.kind for w in plan.workers}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><g class="graph">'
        '<defs><marker id="fc-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#555555"/></marker></defs>'
    ]
    for w in plan.workers:
        for tail, head, dashed in (
            *((b, w.name, False) for b in w.inputs),
            *((w.name, b, False) for b in w.outputs),
            *((b, w.name, True) for b in w.observes),
        ):
            (x1, y1), (x2, y2) = place[tail], place[head]
            x1, x2 = x1 + _WIDTH / 2, x2 - _WIDTH / 2
            bend = max(24.0, (x2 - x1) / 2)
            dash = ' stroke-dasharray="5,3"' if dashed else ""
            parts.append(
                f'<g class="edge"><title>{escape(tail)}-&gt;{escape(head)}</title>'
                f'<path fill="none" stroke="#555555"{dash} marker-end="url(#fc-arrow)" '
                f'd="M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} '
                f'{x2:.1f},{y2:.1f}"/></g>'
            )
    for name, (x, y) in place.items():
        kind = kinds[name]
        _, fill, style = BUFFER_STYLE if kind == "buffer" else WORKER_STYLES[kind]
        radius = 14 if kind == "buffer" else 4
        dash = ' stroke-dasharray="4,2"' if "dashed" in style else ""
        parts.append(
            f'<g class="node"><title>{escape(name)}</title>'
            f'<rect x="{x - _WIDTH / 2:.1f}" y="{y - _HEIGHT / 2:.1f}" width="{_WIDTH}" '
            f'height="{_HEIGHT}" rx="{radius}" fill="{fill}" stroke="black"{dash}/>'
            f'<text text-anchor="middle" x="{x:.1f}" y="{y - 3:.1f}" '
            f'font-family="Helvetica,sans-serif" font-size="12">{escape(name)}</text>'
            f'<text text-anchor="middle" x="{x:.1f}" y="{y + 12:.1f}" '
            f'font-family="Helvetica,sans-serif" font-size="10"></text></g>'
        )
    parts.append("</g></svg>")
    return "".join(parts)
