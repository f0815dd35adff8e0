"""Helpers of the runtime tests: plans built from `flowc.plan` dataclasses, what exporters
saved, the accounting invariant, the processes a test started."""

from __future__ import annotations

import os
import sys

import numpy as np
import psutil

from flowc.callables import CallableTarget
from flowc.plan import BufferPlan, Plan, WorkerPlan
from flowc.types import ElementType, FieldType

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

START_METHODS = ["fork", "forkserver", "spawn"]
XY = ElementType.struct([FieldType("x", "f8"), FieldType("y", "f8")])
# helper processes multiprocessing keeps for the whole session; not ours to clean up
_SESSION_HELPERS = ("forkserver", "resource_tracker")


def buffer(name, element=XY, length=1, slots=8, overflow="block") -> BufferPlan:
    return BufferPlan(name, element, length, slots, overflow)


def worker(name, kind, code, inputs=(), outputs=(), observes=(), **options) -> WorkerPlan:
    """`code` is "function" (a key of `functions=`) or "module:function" in tests/runtime."""
    if ":" in code:
        module, attr = code.split(":")
        target = CallableTarget("module", module, attr)
    else:
        target = CallableTarget("function", "", code)
    return WorkerPlan(
        name,
        kind,
        target,
        options.pop("args", {}),
        tuple(inputs),
        tuple(outputs),
        tuple(observes),
        **options,
    )


def make_plan(buffers, workers, functions=None, name="test") -> Plan:
    return Plan(
        name=name, buffers=tuple(buffers), workers=tuple(workers), functions=functions or {}
    )


def collected(path) -> dict[str, np.ndarray]:
    """What `workers:Collect` exporters saved under `path` (one file per process), merged."""
    folder, stem = os.path.split(str(path))
    parts = [
        np.load(os.path.join(folder, f))
        for f in sorted(os.listdir(folder))
        if f.startswith(stem + ".")
    ]
    if not parts:
        return {
            "x": np.zeros(0),
            "y": np.zeros(0),
            "counter": np.zeros(0, dtype=np.int64),
            "source": np.zeros(0, dtype="U1"),
            "arrived": np.zeros(0),
            "timestamp": np.zeros(0),
            "deadtime": np.zeros(0),
        }
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0].files}


def assert_accounted(stats: dict) -> None:
    """written = consumed[w] + dropped + left[w] for every buffer and consuming worker."""
    for name, b in stats["buffers"].items():
        for w, consumed in b["consumed"].items():
            assert b["written"] == consumed + b["dropped"] + b["left"][w], (name, w, b)


def is_session_helper(process: psutil.Process) -> bool:
    """A forkserver or resource tracker multiprocessing keeps for the whole session (workers
    forked by a forkserver share its command line, but not its parent)."""
    try:
        if not any(h in " ".join(process.cmdline()) for h in _SESSION_HELPERS):
            return False
        parent = process.parent()
        return parent is None or not any(h in " ".join(parent.cmdline()) for h in _SESSION_HELPERS)
    except psutil.Error:
        return False


def descendants(pid: int | None = None) -> list[psutil.Process]:
    """Live descendant processes, session helpers excluded."""
    out = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE or is_session_helper(child):
                continue
        except psutil.Error:
            continue
        out.append(child)
    return out
