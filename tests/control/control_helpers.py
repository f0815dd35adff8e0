"""Helpers of the control tests: plans of test workers, what the exporter saved, the
processes and shared memory a test left."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RUNTIME_TESTS = HERE.parent / "runtime"
for folder in (HERE, RUNTIME_TESTS):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from runtime_plans import buffer, descendants, make_plan, worker  # noqa: E402

__all__ = ["collected", "descendants", "endless_plan", "flowc_names", "finite_plan"]


def flowc_names() -> set[str]:
    """Segments and semaphores of runs supervised by this process."""
    mine = (f"flowc_{os.getpid()}_", f"sem.flowc_{os.getpid()}_")
    return {n for n in os.listdir("/dev/shm") if n.startswith(mine)}


def endless_plan(folder: Path, delay: float = 0.002, slots: int = 4):
    """An importer that never ends, a processor, and a collecting exporter."""
    return make_plan(
        [buffer("a", slots=slots), buffer("b", slots=slots)],
        [
            worker(
                "src",
                "importer",
                "control_workers:count_forever",
                outputs=["a"],
                args={"delay": delay},
            ),
            worker("mid", "processor", "control_workers:identity", ["a"], ["b"]),
            worker(
                "save", "exporter", "control_workers:Collect", ["b"], args={"path": f"{folder}/out"}
            ),
        ],
        name="endless",
    )


def finite_plan(folder: Path, n: int = 200, fail_at: float | None = None):
    """n events through a processor (failing at x == fail_at, if given) into the exporter."""
    mid = (
        worker("mid", "processor", "control_workers:identity", ["a"], ["b"])
        if fail_at is None
        else worker(
            "mid", "processor", "control_workers:fail_at", ["a"], ["b"], args={"at": fail_at}
        )
    )
    return make_plan(
        [buffer("a", slots=8), buffer("b", slots=8)],
        [
            worker("src", "importer", "control_workers:count", outputs=["a"], args={"n": n}),
            mid,
            worker(
                "save", "exporter", "control_workers:Collect", ["b"], args={"path": f"{folder}/out"}
            ),
        ],
        name="finite",
    )


def collected(folder: Path) -> dict[str, np.ndarray] | None:
    """What the Collect exporter saved in `folder` at finish(); None when it never finished."""
    parts = [np.load(p) for p in sorted(Path(folder).glob("out.*.npz"))]
    if not parts:
        return None
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0].files}
