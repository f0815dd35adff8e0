"""Graphviz DOT for a plan: buffers as cylinders, workers styled per kind, labelled edges.

The text comes from the Jinja2 template `templates/graph.dot.j2`; this module prepares what the
template shows and escapes every string for DOT. The output is deterministic and needs no
Graphviz installation to produce.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache

import jinja2

from flowc.plan import BufferPlan, Plan, WorkerPlan
from flowc.units import format_bytes

# how each worker kind is drawn: (shape, fill colour, extra style)
WORKER_STYLES: dict[str, tuple[str, str, str]] = {
    "importer": ("invhouse", "#d1e7dd", "filled"),
    "processor": ("box", "#cfe2ff", "filled,rounded"),
    "filter": ("invtrapezium", "#fff3cd", "filled"),
    "exporter": ("house", "#f8d7da", "filled"),
    "observer": ("ellipse", "#e2e3e5", "filled,dashed"),
}
BUFFER_STYLE = ("cylinder", "#ffffff", "filled")
# label lines longer than this are wrapped (between the fields of a struct type)
LABEL_WIDTH = 48


def dot_string(value: object) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, line breaks as `\\n`."""
    text = str(value)
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return f'"{text}"'


def dot_lines(lines: list[str] | tuple[str, ...]) -> str:
    """A DOT label of several centred lines, each escaped on its own."""
    return dot_string("\n".join(str(line) for line in lines))


@dataclass(frozen=True)
class DotNode:
    id: str
    label_lines: tuple[str, ...]
    shape: str
    fillcolor: str
    style: str
    tooltip: str


@dataclass(frozen=True)
class DotEdge:
    tail: str
    head: str
    label_lines: tuple[str, ...]
    role: str  # "read" | "write" | "observe"

    @property
    def style(self) -> str:
        return "dashed" if self.role == "observe" else "solid"


def _capacity(buffer: BufferPlan) -> list[str]:
    """`Type[LENGTH] x SLOTS slots`, with a long inline struct type wrapped at its fields."""
    shape = f"[{buffer.length}] x {buffer.slots} slots"
    label = buffer.type_label
    if len(label) + len(shape) <= LABEL_WIDTH:
        return [label + shape]
    lines = [""]
    for part in re.split(r"(?<=,) ", label):
        if lines[-1] and len(lines[-1]) + 1 + len(part) > LABEL_WIDTH:
            lines.append(part)
        else:
            lines[-1] = f"{lines[-1]} {part}" if lines[-1] else part
    return [*lines, shape]


def _buffer_node(buffer: BufferPlan) -> DotNode:
    lines = [
        buffer.name,
        *_capacity(buffer),
        f"{format_bytes(buffer.slot_bytes)}/slot, {format_bytes(buffer.total_bytes)}",
    ]
    if buffer.overflow != "block":
        lines.append(f"overflow={buffer.overflow}")
    shape, fill, style = BUFFER_STYLE
    tooltip = f"buffer {buffer.name}: {buffer.element.to_flow()}[{buffer.length}]"
    return DotNode(buffer.name, tuple(lines), shape, fill, style, tooltip)


def _callable_label(worker: WorkerPlan) -> str:
    target = worker.callable
    if target.kind == "file":
        return f'"{os.path.basename(target.target)}":{target.attr}'
    return target.describe()


def _worker_node(worker: WorkerPlan) -> DotNode:
    lines = [worker.name, f"{worker.kind}: {_callable_label(worker)}"]
    options = []
    if worker.processes != 1:
        options.append(f"processes={worker.processes}")
    if worker.on_error != "fail":
        options.append(f"on_error={worker.on_error}")
    if options:
        lines.append(" ".join(options))
    shape, fill, style = WORKER_STYLES.get(worker.kind, WORKER_STYLES["processor"])
    tooltip = f"{worker.kind} {worker.name} = {worker.callable.describe()}"
    return DotNode(worker.name, tuple(lines), shape, fill, style, tooltip)


def _edge_label(buffer: BufferPlan) -> tuple[str, ...]:
    return (*_capacity(buffer), f"{format_bytes(buffer.slot_bytes)}/slot")


def _edges(plan: Plan) -> list[DotEdge]:
    buffers = {b.name: b for b in plan.buffers}
    edges = []
    for worker in plan.workers:
        for name in worker.inputs:
            edges.append(DotEdge(name, worker.name, _edge_label(buffers[name]), "read"))
        for name in worker.outputs:
            edges.append(DotEdge(worker.name, name, _edge_label(buffers[name]), "write"))
        for name in worker.observes:
            edges.append(DotEdge(name, worker.name, ("observes",), "observe"))
    return edges


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("flowc.render", "templates"),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["dot_string"] = dot_string
    env.filters["dot_lines"] = dot_lines
    return env


def render_dot(plan: Plan) -> str:
    """The plan as Graphviz DOT source, left to right, named after the pipeline."""
    template = _environment().get_template("graph.dot.j2")
    return template.render(
        name=plan.name,
        title=f"{plan.name} ({format_bytes(plan.shm_bytes)} shared memory)",
        buffers=[_buffer_node(b) for b in plan.buffers],
        workers=[_worker_node(w) for w in plan.workers],
        edges=_edges(plan),
    )
