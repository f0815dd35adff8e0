"""Worker processes find the run's plan in FLOWC_PLAN (for provenance, e.g. the HDF5 sink);
the caller's environment is left as it was."""

from __future__ import annotations

import hashlib
import os

import observe_workers
import pytest

import flowc

SOURCE = """
pipeline provenance
type XY = {x: f8, y: f8}
buffer raw : XY slots=4
importer src  = count(n=5) -> raw
exporter save = PlanRecorder(path=PATH) raw
"""


@pytest.mark.parametrize("start_method", ["fork", "forkserver", "spawn"])
def test_workers_see_the_plan_and_the_caller_keeps_its_environment(
    tmp_path, monkeypatch, start_method
):
    monkeypatch.setenv("FLOWC_PLAN", "the caller's value")
    path = tmp_path / "seen.txt"
    plan = flowc.compile_source(
        SOURCE.replace("PATH", f'"{path}"'),
        functions={"count": observe_workers.count, "PlanRecorder": observe_workers.PlanRecorder},
    )
    assert plan.run(start_method=start_method, timeout=60).ok
    expected = hashlib.sha256(plan.to_json(indent=None).encode()).hexdigest()
    assert path.read_text() == expected
    assert os.environ["FLOWC_PLAN"] == "the caller's value"


def test_a_second_run_under_forkserver_sees_its_own_plan(tmp_path):
    """A forkserver outlives a run and keeps the environment it started with: the plan must
    reach each worker with its process, not through the forkserver's environment."""
    for n in (3, 4):
        path = tmp_path / f"seen{n}.txt"
        plan = flowc.compile_source(
            SOURCE.replace("PATH", f'"{path}"').replace("n=5", f"n={n}"),
            functions={
                "count": observe_workers.count,
                "PlanRecorder": observe_workers.PlanRecorder,
            },
        )
        assert plan.run(start_method="forkserver", timeout=60).ok
        expected = hashlib.sha256(plan.to_json(indent=None).encode()).hexdigest()
        assert path.read_text() == expected
