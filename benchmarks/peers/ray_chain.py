"""The benchmark chain on flowc's Ray backend: the same flow text as `flowc_chain.py`, run with
`plan.run(backend="ray")` on a local Ray cluster started for the run: one node (the whole chain
is one partition on the local runtime), or with FLOWC_RAY_BENCH_SPLIT=1 (or --split) two nodes
`a` and `b` on this machine, the importer pinned to `a` and the processor and exporter to `b`,
so `raw` crosses between the nodes through a bridge.

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
SPLIT_ENV = "FLOWC_RAY_BENCH_SPLIT"
# a paced importer's wait before its first event on Ray (seconds): the partitions start their
# workers through forkservers, which takes seconds on a busy machine
RAY_SETTLE_S = 3.0


def split_text(text: str) -> str:
    """The chain's flow text with the importer on node `a`, the rest on node `b`."""
    lines = []
    for line in text.splitlines():
        if line.startswith("importer"):
            line += ' node="a"'
        elif line.startswith(("processor", "exporter")):
            line += ' node="b"'
        lines.append(line)
    return "\n".join(lines) + "\n"


def start_cluster(args, split: bool):
    """A Ray cluster for this run on loopback: one node, or nodes `a` and `b`; its Cluster
    object (None for one node)."""
    import logging

    import ray

    if not split:
        ray.init(
            address="local",
            _node_ip_address="127.0.0.1",
            include_dashboard=False,
            num_cpus=args.num_cpus,
            logging_level=logging.WARNING,
        )
        return None
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": args.num_cpus,
            "node_ip_address": "127.0.0.1",
            "node_name": "a",
            "include_dashboard": False,
        },
    )
    cluster.add_node(num_cpus=args.num_cpus, node_ip_address="127.0.0.1", node_name="b")
    ray.init(address=cluster.address, logging_level=logging.WARNING)
    return cluster


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
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of each local Ray node")
    parser.add_argument(
        "--split", action="store_true", help="two nodes: the importer on one, the rest on the other"
    )


def run_elsewhere() -> int | None:
    """Where this run cannot go on here: without Ray (a result line saying so), or outside a
    loopback-only namespace (the script again inside one); its exit code. None: go on."""
    if importlib.util.find_spec("ray") is None:
        emit({"ok": False, "available": False, "error": "Ray is not installed: flowc[ray]"})
        return 0
    if not loopback_only():
        if os.environ.get(ISOLATED_ENV):
            emit({"ok": False, "available": False, "error": "the namespace has more than lo"})
            return 1
        return run_isolated()
    return None


def main() -> int:
    args = parse_args(__doc__, add_options)
    elsewhere = run_elsewhere()
    if elsewhere is not None:
        return elsewhere

    import ray
    from flowc_workers import FUNCTIONS

    import flowc

    args.profile = None
    split = args.split or os.environ.get(SPLIT_ENV) == "1"
    if args.rate > 0:  # a partition takes seconds to start on Ray: pace from when all are up
        args.settle = max(args.settle, RAY_SETTLE_S)
    text = flow_text(args)
    plan = flowc.compile_source(split_text(text) if split else text, functions=FUNCTIONS)
    cluster = start_cluster(args, split)
    cpu_before = tree_cpu_seconds()
    started = time.perf_counter()
    try:
        run = plan.run(backend="ray", quiet=True)
    except flowc.RunError as exc:
        run = exc.result
    wall = time.perf_counter() - started
    ray.shutdown()
    if cluster is not None:
        cluster.shutdown()
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
        nodes=run.stats.get("nodes"),
        bridges=run.stats.get("bridges"),
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
