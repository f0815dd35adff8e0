"""Graphviz DOT for a plan, laid out to read on a page: the flow goes down the page, each buffer
beside the worker that writes it, so that a chain of stages zig-zags rather than running off as
a strip. Buffers list their fields (a record of the type as the file writes it), workers show
their callable and the arguments given in the file; edges carry no repeated text.

The text comes from the Jinja2 template `templates/graph.dot.j2`; this module prepares what the
template shows and escapes every string for DOT. The output is deterministic and needs no
Graphviz installation to produce. Every node's label starts with its name on a line of its own,
every edge has a label (empty unless it says something), which `flowc.serve.graph` relies on.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache

import jinja2

from flowc.plan import BufferPlan, Plan, WorkerPlan
from flowc.units import format_bytes

# how each worker kind is drawn: (shape, fill colour, extra style); boxes whatever the kind,
# so that a long label never blows a shape up
WORKER_STYLES: dict[str, tuple[str, str, str]] = {
    "importer": ("box", "#d1e7dd", "filled"),
    "processor": ("box", "#cfe2ff", "filled,rounded"),
    "filter": ("box", "#fff3cd", "filled,diagonals"),
    "exporter": ("box", "#f8d7da", "filled"),
    "observer": ("box", "#e2e3e5", "filled,rounded,dashed"),
}
BUFFER_STYLE = ("box", "#ffffff", "filled")
# a label line is kept to about this many characters (arguments wrap, fields are listed)
LABEL_WIDTH = 40
# a buffer lists at most this many fields, a worker this many lines of arguments
MAX_FIELDS = 8
MAX_ARGUMENT_LINES = 3


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
    label: str  # DOT label text: lines end in \n (centred) or \l (left-aligned)
    shape: str
    fillcolor: str
    style: str
    tooltip: str
    rank_with: str | None = None  # the worker drawn level with this buffer (its first writer)


@dataclass(frozen=True)
class DotEdge:
    tail: str
    head: str
    role: str  # "read" | "write" | "observe"

    @property
    def style(self) -> str:
        return "dashed" if self.role == "observe" else "solid"


def type_as_written(buffer: BufferPlan) -> str:
    """The buffer's type as the file writes it: `Pulse`, `Sample[4096]`, `f4[64]`."""
    label = buffer.type_name or buffer.element.to_flow()
    return label if buffer.length == 1 else f"{label}[{buffer.length}]"


def _escape(text: str) -> str:
    """A line of a DOT label: backslashes and quotes escaped, line breaks as `\\n`."""
    return dot_string(text)[1:-1]


def _centred(line: str) -> str:
    return _escape(line) + "\\n"


def _left(line: str) -> str:
    return _escape(line) + "\\l"


def _buffer_node(buffer: BufferPlan, writer: str | None) -> DotNode:
    head = type_as_written(buffer)
    if len(head) > LABEL_WIDTH:  # an inline struct: its fields follow
        head = "{...}" + (f"[{buffer.length}]" if buffer.length != 1 else "")
    lines = [_centred(buffer.name), _centred(f"{head} x {buffer.slots} slots")]
    fields = buffer.element.fields
    for f in fields[:MAX_FIELDS]:
        lines.append(_left("  " + f.to_flow().replace(": ", " ")))
    if len(fields) > MAX_FIELDS:
        lines.append(_left(f"  ... {len(fields) - MAX_FIELDS} more"))
    size = f"{format_bytes(buffer.slot_bytes)}/slot, {format_bytes(buffer.total_bytes)}"
    if buffer.overflow != "block":
        size += f", overflow={buffer.overflow}"
    lines.append(_centred(size))
    shape, fill, style = BUFFER_STYLE
    tooltip = f"buffer {buffer.name}: {buffer.element.to_flow()}[{buffer.length}]"
    return DotNode(buffer.name, "".join(lines), shape, fill, style, tooltip, writer)


def _callable_label(worker: WorkerPlan) -> str:
    target = worker.callable
    if target.kind == "file":
        return f'"{os.path.basename(target.target)}":{target.attr}'
    return target.describe()


def _value(value) -> str:
    """An argument's value as a .flow file writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_value(k)}: {_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


def argument_lines(worker: WorkerPlan) -> list[str]:
    """The worker's arguments, `name=value` joined into lines of about LABEL_WIDTH characters,
    at most MAX_ARGUMENT_LINES of them (the last ends in `...` when some are left out)."""
    lines: list[str] = []
    for name, value in worker.args.items():
        part = f"{name}={_value(value)}"
        if len(part) > LABEL_WIDTH:
            part = part[: LABEL_WIDTH - 3] + "..."
        if lines and len(lines[-1]) + 2 + len(part) <= LABEL_WIDTH:
            lines[-1] += ", " + part
        else:
            lines.append(part)
    if len(lines) > MAX_ARGUMENT_LINES:
        lines = lines[:MAX_ARGUMENT_LINES]
        lines[-1] = lines[-1][: LABEL_WIDTH - 3] + "..."
    return lines


def _worker_node(worker: WorkerPlan) -> DotNode:
    lines = [worker.name, f"{worker.kind}: {_callable_label(worker)}", *argument_lines(worker)]
    options = []
    if worker.processes != 1:
        options.append(f"processes={worker.processes}")
    if worker.on_error != "fail":
        options.append(f"on_error={worker.on_error}")
    if worker.batch is not None:
        options.append(f"batch={worker.batch}")
    if options:
        lines.append(" ".join(options))
    shape, fill, style = WORKER_STYLES.get(worker.kind, WORKER_STYLES["processor"])
    tooltip = f"{worker.kind} {worker.name} = {worker.callable.describe()}"
    return DotNode(worker.name, "".join(map(_centred, lines)), shape, fill, style, tooltip)


def _edges(plan: Plan) -> list[DotEdge]:
    edges = []
    for worker in plan.workers:
        for name in worker.inputs:
            edges.append(DotEdge(name, worker.name, "read"))
        for name in worker.outputs:
            edges.append(DotEdge(worker.name, name, "write"))
        for name in worker.observes:
            edges.append(DotEdge(name, worker.name, "observe"))
    return edges


def _nodes(plan: Plan) -> list[DotNode]:
    """Workers in the file's order, each followed by the buffers it is the first to write (the
    order Graphviz keeps within a level: the left chain of a pair is drawn on the left)."""
    buffers = {b.name: b for b in plan.buffers}
    placed: set[str] = set()
    nodes = []
    for worker in plan.workers:
        nodes.append(_worker_node(worker))
        for name in worker.outputs:
            if name not in placed:
                placed.add(name)
                nodes.append(_buffer_node(buffers[name], worker.name))
    nodes += [_buffer_node(b, None) for b in plan.buffers if b.name not in placed]
    return nodes


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
    return env


def render_dot(plan: Plan) -> str:
    """The plan as Graphviz DOT source, top to bottom, named after the pipeline."""
    template = _environment().get_template("graph.dot.j2")
    return template.render(
        name=plan.name,
        title=f"{plan.name} ({format_bytes(plan.shm_bytes)} shared memory)",
        nodes=_nodes(plan),
        edges=_edges(plan),
    )
