"""The resolved model of a flow file: what each declaration means once names are looked up.

`resolve.py` builds it from the syntax tree; the checks in `checks.py` read it together with
its networkx graph; `lower.py` turns it into a `Plan`. A value that could not be resolved is
None (its error was already reported), so later stages can skip it without cascading.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import networkx as nx

from flowc.callables import CallableTarget
from flowc.source import SourceFile, Span
from flowc.syntax import ast
from flowc.types import META_DTYPE, ElementType


def name_span(node: ast.Node) -> Span:
    """Where a declaration's name is written (its whole span when the name has none)."""
    return getattr(node, "name_span", None) or node.span


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to `name`, when one is close enough to be a likely typo."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


@dataclass(eq=False)
class ConstInfo:
    decl: ast.ConstDecl
    value: object | None  # after overrides; None when it could not be evaluated

    @property
    def name(self) -> str:
        return self.decl.name


@dataclass(eq=False)
class TypeInfo:
    decl: ast.TypeDecl
    element: ElementType | None

    @property
    def name(self) -> str:
        return self.decl.name


@dataclass(eq=False)
class BufferInfo:
    decl: ast.BufferDecl
    element: ElementType | None
    type_name: str | None  # the declared `type` it was written with
    length: int | None
    slots: int | None
    overflow: str

    @property
    def name(self) -> str:
        return self.decl.name

    @property
    def complete(self) -> bool:
        return None not in (self.element, self.length, self.slots)

    @property
    def total_bytes(self) -> int | None:
        if not self.complete:
            return None
        return self.slots * self.slot_bytes

    @property
    def slot_bytes(self) -> int:
        return self.element.itemsize * self.length + META_DTYPE.itemsize

    def describe(self) -> str:
        """Its type as a user wrote it, with the length when it is not 1: `Sample[4096]`."""
        if self.element is None:
            return "?"
        label = self.type_name or self.element.to_flow()
        return label if self.length in (1, None) else f"{label}[{self.length}]"


@dataclass(frozen=True)
class Wire:
    """A buffer reference in a worker statement and the buffer it names (None: undeclared)."""

    ref: ast.BufferRef
    buffer: BufferInfo | None
    role: str  # "read" | "write" | "observe"


@dataclass(frozen=True)
class ParamArgument:
    """A worker argument set by a parameters file (`--params`): where `key = value` is
    written there, so that its diagnostics point into that file."""

    key: str
    span: Span
    key_span: Span
    value_span: Span


@dataclass(eq=False)
class WorkerInfo:
    decl: ast.Worker
    target: CallableTarget | None
    code: object | None  # the resolved function or class
    args: dict[str, object | None]  # argument values; None where one could not be evaluated
    processes: int | None
    on_error: str
    inputs: tuple[Wire, ...]
    outputs: tuple[Wire, ...]
    observes: tuple[Wire, ...]
    node: str | None = None  # `node=`: the machine a cluster backend places it on
    batch: int | None = None  # `batch=N`: up to N events per call
    param_args: tuple[ParamArgument, ...] = ()  # arguments the parameters file sets

    @property
    def name(self) -> str:
        return self.decl.name

    @property
    def arguments(self) -> tuple[ast.Arg | ParamArgument, ...]:
        """Where each argument is given: the flow's `key=value`s, those the parameters file
        sets in their place, and the file's others after them."""
        if not self.param_args:
            return self.decl.args
        from_file = {arg.key: arg for arg in self.param_args}
        replaced: set[str] = set()
        out: list[ast.Arg | ParamArgument] = []
        for arg in self.decl.args:
            if arg.key in from_file and arg.key not in replaced:
                replaced.add(arg.key)
                out.append(from_file[arg.key])
            else:
                out.append(arg)
        out.extend(arg for arg in self.param_args if arg.key not in replaced)
        return tuple(out)

    @property
    def kind(self) -> str:
        return self.decl.kind

    @property
    def code_name(self) -> str:
        """The callable as written in the flow file (`stdlib.filters.select`, `"peaks.py":find`)."""
        ref = self.decl.callable
        if ref.span is not None:
            return ref.span.text
        return self.target.describe() if self.target else ref.function

    @property
    def wires(self) -> tuple[Wire, ...]:
        return self.inputs + self.outputs + self.observes

    @property
    def data_wires(self) -> tuple[Wire, ...]:
        """The buffers whose events the code receives: inputs, or observed buffers."""
        return self.inputs + self.observes


@dataclass
class Model:
    source: SourceFile
    module: ast.Module
    pipeline: str | None
    consts: dict[str, ConstInfo]
    types: dict[str, TypeInfo]
    buffers: dict[str, BufferInfo]  # the first buffer of each name, in declaration order
    workers: list[WorkerInfo]  # every worker statement, in order
    overrides: dict[str, object]
    functions: Mapping[str, object]
    max_shm: int | None
    graph: nx.MultiDiGraph = field(default_factory=nx.MultiDiGraph)


def build_graph(workers: Iterable[WorkerInfo], buffers: Iterable[BufferInfo]) -> nx.MultiDiGraph:
    """Buffers and workers as nodes; an edge per resolved wire, keeping its reference's span.

    Reads and observations run buffer -> worker, writes worker -> buffer; edges carry `role`,
    `ref` (the `BufferRef`) and `position` (its offset, for source order).
    """
    graph = nx.MultiDiGraph()
    for buffer in buffers:
        graph.add_node(buffer, span=name_span(buffer.decl))
    for worker in workers:
        graph.add_node(worker, span=name_span(worker.decl))
        for wire in worker.wires:
            if wire.buffer is None:
                continue
            ends = (worker, wire.buffer) if wire.role == "write" else (wire.buffer, worker)
            graph.add_edge(*ends, role=wire.role, ref=wire.ref, position=wire.ref.span.start)
    return graph
