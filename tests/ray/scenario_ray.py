"""Runs an endless plan on the Ray cluster at ADDRESS, for the test that interrupts it.

    python scenario_ray.py ADDRESS FOLDER

Prints the run's statistics as JSON on stdout and exits with the run's exit code.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ray_support import helpers  # noqa: E402

buffer, worker, make_plan = helpers.buffer, helpers.worker, helpers.make_plan

if __name__ == "__main__":
    address, folder = sys.argv[1], sys.argv[2]
    plan = make_plan(
        [buffer("a", slots=4), buffer("b", slots=4)],
        [
            worker(
                "src",
                "importer",
                "ray_workers:count_announced",
                outputs=["a"],
                args={"started": f"{folder}/started", "delay": 0.002},
            ),
            worker("mid", "processor", "workers:identity", ["a"], ["b"]),
            worker("save", "exporter", "workers:Collect", ["b"], args={"path": f"{folder}/out"}),
        ],
    )
    result = plan.run(backend="ray", address=address, raise_on_failure=False)
    print(json.dumps(result.stats))
    sys.exit(result.exit)
