"""Runs one plan in its own process, for the tests that signal or kill the supervisor, on the
local runtime or on a Ray cluster (the same scenarios on both backends).

    python scenario.py NAME FOLDER [START_METHOD]
    python scenario.py NAME FOLDER --ray ADDRESS [WORKER=NODE ...]

Prints the run's statistics as JSON on stdout and exits with the run's exit code. On Ray,
WORKER=NODE pins a worker to a node (`node=`); the importer announces its first event by
creating FOLDER/started.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from runtime_plans import buffer, make_plan, worker  # noqa: E402


def endless(folder: str):
    """An importer that never ends, a processor, and a collecting exporter."""
    return make_plan(
        [buffer("a", slots=4), buffer("b", slots=4)],
        [
            worker(
                "src", "importer", "workers:count_forever", outputs=["a"], args={"delay": 0.0005}
            ),
            worker("mid", "processor", "workers:identity", ["a"], ["b"]),
            worker("save", "exporter", "workers:Collect", ["b"], args={"path": f"{folder}/out"}),
        ],
    )


def slow_drain(folder: str):
    """Like `endless`, but draining a full buffer takes seconds: the second signal matters."""
    return make_plan(
        [buffer("a", slots=64)],
        [
            worker("src", "importer", "workers:count_forever", outputs=["a"]),
            worker(
                "save",
                "exporter",
                "workers:Collect",
                ["a"],
                args={"path": f"{folder}/out", "delay": 0.2},
            ),
        ],
    )


def sleepy_importer(folder: str):
    """An importer that sleeps long inside its own code between events."""
    return make_plan(
        [buffer("a", slots=4)],
        [
            worker("src", "importer", "workers:count_forever", outputs=["a"], args={"delay": 30.0}),
            worker("save", "exporter", "workers:Collect", ["a"], args={"path": f"{folder}/out"}),
        ],
    )


SCENARIOS = {"endless": endless, "slow_drain": slow_drain, "sleepy_importer": sleepy_importer}


def announced(plan, folder: str):
    """The plan with its importer creating FOLDER/started at its first event."""
    workers = tuple(
        dataclasses.replace(w, args={**w.args, "started": f"{folder}/started"})
        if w.callable.attr == "count_forever"
        else w
        for w in plan.workers
    )
    return dataclasses.replace(plan, workers=workers)


def pinned(plan, pins: list[str]):
    """The plan with each WORKER=NODE of `pins` as the worker's `node=`."""
    nodes = dict(pin.split("=", 1) for pin in pins)
    workers = tuple(dataclasses.replace(w, node=nodes.get(w.name, w.node)) for w in plan.workers)
    return dataclasses.replace(plan, workers=workers)


if __name__ == "__main__":
    name, folder = sys.argv[1], sys.argv[2]
    plan = SCENARIOS[name](folder)
    if len(sys.argv) > 4 and sys.argv[3] == "--ray":
        plan = pinned(announced(plan, folder), sys.argv[5:])
        options = {"backend": "ray", "address": sys.argv[4]}
    else:
        options = {"start_method": sys.argv[3] if len(sys.argv) > 3 else None}
    result = plan.run(raise_on_failure=False, **options)
    print(json.dumps(result.stats))
    sys.exit(result.exit)
