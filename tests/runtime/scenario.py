"""Runs one plan in its own process, for the tests that signal or kill the supervisor.

    python scenario.py NAME FOLDER [START_METHOD]

Prints the run's statistics as JSON on stdout and exits with the run's exit code.
"""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from runtime_plans import buffer, make_plan, worker  # noqa: E402

from flowc.runtime import run  # noqa: E402


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


if __name__ == "__main__":
    name, folder = sys.argv[1], sys.argv[2]
    method = sys.argv[3] if len(sys.argv) > 3 else None
    result = run(SCENARIOS[name](folder), start_method=method, raise_on_failure=False)
    print(json.dumps(result.stats))
    sys.exit(result.exit)
