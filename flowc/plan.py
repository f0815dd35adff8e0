"""The lowered plan: what the runtime and the renderers consume.

A `Plan` is plain data: frozen, in a deterministic order, JSON round-trippable (callables are
kept by reference), and each element remembers where in the source it was declared. It is
built by `flowc.compiler`; it never needs the parser or the checker again.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flowc.callables import CallableTarget, function_from_reference, reference_of
from flowc.hooks import hook as _front_door
from flowc.types import META_DTYPE, ElementType

PLAN_FORMAT = 1


@dataclass(frozen=True)
class Origin:
    """Where an element was declared: file name and 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def to_json(self) -> list:
        return [self.file, self.line, self.column]

    @staticmethod
    def from_json(data) -> Origin | None:
        return None if data is None else Origin(data[0], data[1], data[2])


@dataclass(frozen=True)
class BufferPlan:
    name: str
    element: ElementType
    length: int
    slots: int
    overflow: str = "block"  # "block" | "drop"
    type_name: str | None = None  # the declared `type` it was written with, for display
    origin: Origin | None = field(default=None, compare=False)

    @property
    def dtype(self) -> np.dtype:
        return self.element.numpy

    @property
    def data_bytes(self) -> int:
        """Bytes of one slot's data: LENGTH elements."""
        return self.element.itemsize * self.length

    @property
    def slot_bytes(self) -> int:
        """Bytes of one slot: its data plus its metadata record."""
        return self.data_bytes + META_DTYPE.itemsize

    @property
    def total_bytes(self) -> int:
        return self.slot_bytes * self.slots

    @property
    def type_label(self) -> str:
        return self.type_name or self.element.to_flow()

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "element": self.element.to_json(),
            "type_name": self.type_name,
            "length": self.length,
            "slots": self.slots,
            "overflow": self.overflow,
            "slot_bytes": self.slot_bytes,
            "origin": self.origin.to_json() if self.origin else None,
        }

    @staticmethod
    def from_json(d: Mapping) -> BufferPlan:
        return BufferPlan(
            name=d["name"],
            element=ElementType.from_json(d["element"]),
            length=d["length"],
            slots=d["slots"],
            overflow=d["overflow"],
            type_name=d.get("type_name"),
            origin=Origin.from_json(d.get("origin")),
        )


@dataclass(frozen=True)
class WorkerPlan:
    name: str
    kind: str  # importer | processor | filter | exporter | observer
    callable: CallableTarget
    args: Mapping[str, Any] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    observes: tuple[str, ...] = ()
    processes: int = 1
    on_error: str = "fail"  # "fail" | "skip"
    origin: Origin | None = field(default=None, compare=False)
    node: str | None = None  # the machine to run on (`node=`); only the Ray backend places
    batch: int | None = None  # `batch=N`: up to N events per call (None: one event per call)

    def to_json(self) -> dict:
        placement = {"node": self.node} if self.node is not None else {}
        batching = {"batch": self.batch} if self.batch is not None else {}
        return {
            "name": self.name,
            "kind": self.kind,
            "callable": self.callable.to_json(),
            "args": dict(self.args),
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "observes": list(self.observes),
            "processes": self.processes,
            "on_error": self.on_error,
            **placement,
            **batching,
            "origin": self.origin.to_json() if self.origin else None,
        }

    @staticmethod
    def from_json(d: Mapping) -> WorkerPlan:
        return WorkerPlan(
            name=d["name"],
            kind=d["kind"],
            callable=CallableTarget.from_json(d["callable"]),
            args=dict(d["args"]),
            inputs=tuple(d["inputs"]),
            outputs=tuple(d["outputs"]),
            observes=tuple(d["observes"]),
            processes=d["processes"],
            on_error=d["on_error"],
            origin=Origin.from_json(d.get("origin")),
            node=d.get("node"),
            batch=d.get("batch"),
        )


@dataclass(frozen=True)
class Plan:
    """A compiled pipeline: buffers and workers in declaration order."""

    name: str
    buffers: tuple[BufferPlan, ...]
    workers: tuple[WorkerPlan, ...]
    consts: Mapping[str, Any] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    source_path: str | None = None
    # callables given as `functions=`; live objects, never serialized
    functions: Mapping[str, object] = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:
        """One line, as numpy and pandas show their objects: `<flowc.Plan pulses: 5 workers,
        3 buffers, 4.0 MiB shared memory>`."""

        def count(n: int, what: str) -> str:
            return f"{n} {what}" + ("" if n == 1 else "s")

        return (
            f"<flowc.Plan {self.name or '(unnamed)'}: {count(len(self.workers), 'worker')}, "
            f"{count(len(self.buffers), 'buffer')}, {self.shm_bytes / 2**20:.1f} MiB shared memory>"
        )

    # --- lookup ------------------------------------------------------------------------------

    def buffer(self, name: str) -> BufferPlan:
        for b in self.buffers:
            if b.name == name:
                return b
        raise KeyError(name)

    def worker(self, name: str) -> WorkerPlan:
        for w in self.workers:
            if w.name == name:
                return w
        raise KeyError(name)

    def writers_of(self, buffer: str) -> tuple[WorkerPlan, ...]:
        return tuple(w for w in self.workers if buffer in w.outputs)

    def consumers_of(self, buffer: str) -> tuple[WorkerPlan, ...]:
        return tuple(w for w in self.workers if buffer in w.inputs)

    def observers_of(self, buffer: str) -> tuple[WorkerPlan, ...]:
        return tuple(w for w in self.workers if buffer in w.observes)

    @property
    def shm_bytes(self) -> int:
        return sum(b.total_bytes for b in self.buffers)

    # --- data --------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "format": PLAN_FORMAT,
            "name": self.name,
            "source_path": self.source_path,
            "consts": dict(self.consts),
            "overrides": dict(self.overrides),
            "buffers": [b.to_json() for b in self.buffers],
            "workers": [self._worker_json(w) for w in self.workers],
        }

    def _worker_json(self, worker: WorkerPlan) -> dict:
        """A worker's JSON; a callable given through `functions=` is recorded by reference
        (module and qualified name) where it can be imported again, else with why not."""
        data = worker.to_json()
        target = worker.callable
        if target.kind == "function" and target.attr in self.functions:
            data["callable"]["reference"] = reference_of(self.functions[target.attr])
        return data

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @staticmethod
    def from_json(text: str, functions: Mapping[str, object] | None = None) -> Plan:
        """The plan of `to_json`'s text. Callables given to the compiler through `functions=`
        are imported again by the module and name recorded for them; only those that cannot
        be (lambdas, local functions) must be given again in `functions`, else ResolveError
        names the worker and says why."""
        d = json.loads(text)
        if d.get("format") != PLAN_FORMAT:
            raise ValueError(
                f"unsupported plan format {d.get('format')!r} (expected {PLAN_FORMAT})"
            )
        functions = dict(functions or {})
        for worker in d["workers"]:
            target = worker["callable"]
            if target["kind"] == "function" and target["attr"] not in functions:
                functions[target["attr"]] = function_from_reference(worker["name"], target)
        return Plan(
            name=d["name"],
            buffers=tuple(BufferPlan.from_json(b) for b in d["buffers"]),
            workers=tuple(WorkerPlan.from_json(w) for w in d["workers"]),
            consts=d.get("consts", {}),
            overrides=d.get("overrides", {}),
            source_path=d.get("source_path"),
            functions=functions,
        )

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON, as hex; where things were written does not count."""
        d = self.to_dict()
        d.pop("source_path")
        for item in d["buffers"] + d["workers"]:
            item.pop("origin", None)
        canonical = json.dumps(d, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    # --- views -------------------------------------------------------------------------------

    def graph(self):
        """A networkx MultiDiGraph: buffers and workers as nodes (attribute `kind`), edges
        with `role` (read, write, observe)."""
        import networkx as nx

        g = nx.MultiDiGraph(name=self.name)
        for b in self.buffers:
            g.add_node(b.name, kind="buffer", plan=b, origin=b.origin)
        for w in self.workers:
            g.add_node(w.name, kind=w.kind, plan=w, origin=w.origin)
            for b in w.inputs:
                g.add_edge(b, w.name, role="read")
            for b in w.outputs:
                g.add_edge(w.name, b, role="write")
            for b in w.observes:
                g.add_edge(b, w.name, role="observe")
        return g

    def to_dot(self) -> str:
        """Graphviz source of the graph (`flowc.render.dot`)."""
        return _front_door("to_dot")(self)

    def run(self, backend: str = "local", **options):
        """Run the plan: `backend="local"` on the shared-memory runtime (see
        `flowc.runtime.run` for the options), `"ray"` on a Ray cluster at `address=` (see
        `flowc.backends.ray.run`; None starts a local one). `serve="[HOST:]PORT"` serves the
        run's live page there (`flowc.serve`) until its end plus `serve_linger` seconds.
        Wired by the front door, `flowc.engine.run`."""
        return _front_door("run")(self, backend=backend, **options)

    def start(self, backend: str = "local", **options):
        """Start running the plan and return at once: a `flowc.runtime.handle.RunHandle`
        (stats, pause, resume, stop, wait). Options as `run`, without `raise_on_failure`; with
        `serve=`, `handle.server.url` is the page. Wired by the front door, `flowc.engine.start`."""
        return _front_door("start")(self, backend=backend, **options)

    def warn_about_placement(self, stacklevel: int = 2) -> None:
        """Warn that the local runtime ignores `node=` placement, when a worker has one."""
        placed = [w.name for w in self.workers if w.node]
        if placed:
            warnings.warn(
                f"the local runtime ignores placement (`node=` on {', '.join(placed)}); "
                "every worker runs on this machine",
                stacklevel=stacklevel,
            )

    def _repr_html_(self) -> str:
        """In Jupyter: the graph as SVG when Graphviz's `dot` is there, else tables."""
        return _front_door("html")(self)
