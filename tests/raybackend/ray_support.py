"""Helpers of the Ray backend tests: the runtime tests' plan builders and worker code on the
path, whether Ray may start here, and what a run may leave behind."""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
import time
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME_TESTS = os.path.join(os.path.dirname(HERE), "runtime")
for folder in (HERE, RUNTIME_TESTS):
    if folder not in sys.path:
        sys.path.insert(0, folder)

import runtime_plans as helpers  # noqa: E402, F401  (the runtime tests' plan builders, re-exported)


def flowc_segments() -> set[str]:
    """Shared memory of local runs supervised by this process."""
    mine = (f"flowc_{os.getpid()}_", f"sem.flowc_{os.getpid()}_")
    return {n for n in os.listdir("/dev/shm") if n.startswith(mine)}


def ray_skip_reason() -> str | None:
    """Why Ray may not start here, or None."""
    if importlib.util.find_spec("ray") is None:
        return 'Ray is not installed (pip install "flowc[ray]")'
    interfaces = sorted(name for _, name in socket.if_nameindex())
    if interfaces != ["lo"]:
        return (
            "Ray runs only in a network namespace with nothing but loopback (this one has "
            f"{', '.join(interfaces)}): run tests/raybackend/run_isolated.sh"
        )
    return None


def live_actors() -> list[dict]:
    """Actors of the cluster that are not dead (from the cluster's own table)."""
    from ray._private import state

    return [a for a in state.actors().values() if a.get("State") != "DEAD"]


def no_actor_left(wait_s: float = 15.0) -> bool:
    """Whether every actor of the cluster is dead (waiting up to `wait_s` for it)."""
    deadline = time.monotonic() + wait_s
    while live_actors() and time.monotonic() < deadline:
        time.sleep(0.2)
    return live_actors() == []


def partition_pids() -> list[int]:
    """The processes of the partitions running now (each supervises its node's part)."""
    return [a["Pid"] for a in live_actors() if "PartitionActor" in a.get("ActorClassName", "")]


@dataclass
class Backend:
    """Runs plans on one backend; `name` is "local" or "ray"."""

    name: str

    def run(self, plan, **options):
        return plan.run(backend=self.name, **options)
