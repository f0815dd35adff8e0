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


# what SPEC section 5's statistics document holds for every worker
SPEC_WORKER_KEYS = (
    "kind",
    "events_in",
    "events_out",
    "errors",
    "wall_s",
    "cpu_s",
    "blocked_in_s",
    "blocked_out_s",
)


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


def marker_text(folder, prefix) -> str:
    """The text of the one marker file named `prefix...` an observer left in `folder`."""
    names = [n for n in os.listdir(folder) if n.startswith(prefix) and not n.endswith(".npz")]
    assert len(names) == 1, names
    with open(os.path.join(folder, names[0])) as handle:
        return handle.read()


def every_kind_chain(folder, name="test") -> Plan:
    """importer -> processor -> filter (evens) -> exporter, with an observer on the middle
    buffer; the exporter saves into `folder/out`, the observer its marker `folder/w.*`."""
    return make_plan(
        [buffer("a"), buffer("b", slots=4), buffer("c")],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 200}),
            worker("mid", "processor", "workers:identity", ["a"], ["b"]),
            worker("cut", "filter", "workers:is_even", ["b"], ["c"]),
            worker(
                "save", "exporter", "workers:Collect", ["c"], args={"path": str(folder / "out")}
            ),
            worker(
                "look",
                "observer",
                "workers:Watch",
                observes=["b"],
                args={"path": str(folder / "w")},
            ),
        ],
        name=name,
    )


def assert_every_kind_chain_delivered(result, folder) -> None:
    """What `every_kind_chain` must give on any backend: the even events in order, exact
    counts, an observer that saw consistent copies, every event accounted for."""
    assert (result.ok, result.exit, result.stats["stopped"]) == (True, 0, "completed")
    got = collected(folder / "out")
    assert got["x"].tolist() == list(range(0, 200, 2))
    assert got["counter"].tolist() == list(range(0, 200, 2))
    assert set(got["source"].tolist()) == {"c"}
    stats = result.stats
    assert stats["buffers"]["a"] == {
        "written": 200,
        "dropped": 0,
        "consumed": {"mid": 200},
        "left": {"mid": 0},
    }
    cut = stats["workers"]["cut"]
    assert (cut["events_in"], cut["accepted"], cut["discarded"], cut["per_output"]) == (
        200,
        100,
        100,
        {"c": 100},
    )
    assert stats["workers"]["src"]["events_out"] == 200
    assert stats["workers"]["save"]["events_in"] == 100
    look = stats["workers"]["look"]
    assert look["seen"] >= 1 and look["seen"] + look["skipped"] == 200
    seen, torn, sources = marker_text(folder, "w.").split()
    assert (int(seen), int(torn), sources) == (look["seen"], 0, "b")
    assert_accounted(stats)
