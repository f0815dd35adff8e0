"""The benchmark chain on flowc's Ray backend: the same flow text as `flowc_chain.py`, run with
`plan.run(backend="ray")` on a local Ray cluster started for the run.

Ray must reach nothing but loopback: outside a network namespace that has only `lo`, this
script runs itself again inside one (`unshare --net`, which needs root) and passes the result
line on. Prints one result line (see `common.emit`); `"available": false` without Ray.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time

from common import RESULT_PREFIX, chain_result, emit, parse_args, reap_children, tree_cpu_seconds
from flowc_chain import flow_text

ISOLATED_ENV = "FLOWC_RAY_BENCH_ISOLATED"


def loopback_only() -> bool:
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def run_isolated() -> int:
    """This script again, in a network namespace of its own with only loopback up."""
    command = " ".join(["ip link set lo up && exec", sys.executable, *(repr(a) for a in sys.argv)])
    done = subprocess.run(
        ["unshare", "--net", "bash", "-c", command],
        env={**os.environ, ISOLATED_ENV: "1", "RAY_USAGE_STATS_ENABLED": "0"},
        capture_output=True,
        text=True,
    )
    sys.stderr.write(done.stderr)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if lines:
        print(lines[-1], flush=True)
        return 0
    emit({"ok": False, "available": False, "error": "could not run in a loopback-only namespace"})
    return 1


def add_options(parser) -> None:
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the local Ray cluster")


def main() -> int:
    args = parse_args(__doc__, add_options)
    if importlib.util.find_spec("ray") is None:
        emit({"ok": False, "available": False, "error": "Ray is not installed: flowc[ray]"})
        return 0
    if not loopback_only():
        if os.environ.get(ISOLATED_ENV):
            emit({"ok": False, "available": False, "error": "the namespace has more than lo"})
            return 1
        return run_isolated()

    import logging

    import ray
    from flowc_workers import FUNCTIONS

    import flowc

    args.profile = None
    plan = flowc.compile_source(flow_text(args), functions=FUNCTIONS)
    ray.init(
        address="local",
        _node_ip_address="127.0.0.1",
        include_dashboard=False,
        num_cpus=args.num_cpus,
        logging_level=logging.WARNING,
    )
    cpu_before = tree_cpu_seconds()
    started = time.perf_counter()
    try:
        run = plan.run(backend="ray", quiet=True)
    except flowc.RunError as exc:
        run = exc.result
    wall = time.perf_counter() - started
    ray.shutdown()
    unreaped = reap_children()
    cpu = tree_cpu_seconds() - cpu_before
    workers = run.stats.get("workers", {})
    result = chain_result(
        args,
        wall_s=wall,
        cpu_s=cpu,
        unreaped=unreaped,
        available=True,
        backend="ray",
        exit=run.exit,
        failure=str(run.failure) if run.failure else None,
        runtime_elapsed_s=run.stats.get("elapsed"),
        runtime_cpu_s={name: w.get("cpu_s") for name, w in workers.items()},
        broker_cpu_s=(run.stats.get("broker") or {}).get("cpu_s"),
        blocked_s={
            name: {"in": w.get("blocked_in_s"), "out": w.get("blocked_out_s")}
            for name, w in workers.items()
        },
        busy_per_event_s={
            name: (w["call_s"] / w["calls"] if w.get("calls") else None)
            for name, w in workers.items()
        },
    )
    result["ok"] = result["ok"] and run.ok
    event_bytes = args.length * 16  # {a: f8, b: f8}
    rate = result.get("events_per_s")
    result["mb_per_s"] = rate * event_bytes / 1e6 if rate else None
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
