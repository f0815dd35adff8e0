"""Ray's own ceiling between two nodes, no flowc: what the `ray-split` chain's bridge could
carry at best. Two Ray nodes `a` and `b` on this machine (as `ray_chain.py --split` makes
them); an actor pinned to `a` sends numpy arrays of the events' bytes to an actor pinned to
`b` in Ray calls, as a bridge does at its best: calls of up to the bridge's CALL_BYTES (at
least 20 calls per run), at most its MOST_CALLS under way. The receiving actor only notes
when each call arrived. A paced run (`--rate`) sends each event alone in a call of its own,
stamped with the time it was handed over, so its latency is that of one Ray call between the
nodes.

Ray must reach nothing but loopback: this runs inside a loopback-only network namespace as
`ray_chain.py` does. Prints one result line (see `common.emit`).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from common import Pacer, chain_result, emit, parse_args, reap_children, tree_cpu_seconds
from ray_chain import add_options, run_elsewhere, start_cluster

EVENT_BYTES = 16  # one element of {a: f8, b: f8}


class Receiver:
    """On node `b`: notes each batch's arrival (and, paced, each event's latency)."""

    def __init__(self, result_dir: str, capacity: int):
        from common import ExporterRecord

        self.record = ExporterRecord(result_dir, capacity)

        self.first_batch = 0

    def take(self, frame: np.ndarray, events: int, handed_over: float | None) -> None:
        if handed_over is not None:
            self.record.arrived_with(handed_over)
            return
        if self.record.count == 0:
            self.first_batch = events
        self.record.arrived()
        self.record.count += events - 1

    def save(self) -> int:
        """Leave the record; the events of the first batch (they arrived at its start)."""
        self.record.save()
        return self.first_batch


class Sender:
    """On node `a`: sends `events` events to the receiver, `batch` at a time, at most
    `in_flight` calls under way; paced: one event per call at `rate`."""

    def send(self, receiver, events: int, batch: int, event_bytes: int, in_flight: int) -> None:
        import ray

        under_way: list = []
        sent = 0
        while sent < events:
            count = min(batch, events - sent)
            frame = np.ones(count * event_bytes, dtype=np.uint8)
            while len(under_way) >= in_flight:
                done, under_way = ray.wait(under_way, num_returns=1)
                ray.get(done)
            under_way.append(receiver.take.remote(frame, count, None))
            sent += count
        ray.get(under_way)

    def paced(self, receiver, events: int, event_bytes: int, rate: float, settle: float) -> None:
        import ray

        pacer = Pacer(rate, settle)
        frame = np.ones(event_bytes, dtype=np.uint8)
        under_way = []
        for k in range(events):
            pacer.hand_over(k, np.zeros(1, dtype=[("a", "<f8")]))
            under_way.append(receiver.take.remote(frame, 1, time.time()))
        ray.get(under_way)


def add_ceiling_options(parser) -> None:
    add_options(parser)
    parser.add_argument("--in-flight", type=int, help="calls under way (default: the bridge's)")
    parser.add_argument("--batch", type=int, help="events per call (default: the bridge's)")


def main() -> int:
    args = parse_args(__doc__, add_ceiling_options)
    elsewhere = run_elsewhere()
    if elsewhere is not None:
        return elsewhere

    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from flowc.backends.ray import bridge

    event_bytes = args.length * EVENT_BYTES
    batch = args.batch or max(1, min(bridge.CALL_BYTES // event_bytes, args.events // 20))
    in_flight = args.in_flight or bridge.MOST_CALLS
    cluster = start_cluster(args, split=True)
    nodes = {n["NodeName"]: n["NodeID"] for n in ray.nodes() if n.get("Alive")}

    def pinned(cls, node):
        return ray.remote(cls).options(
            num_cpus=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(nodes[node], soft=False),
        )

    receiver = pinned(Receiver, "b").remote(args.result_dir, args.events)
    sender = pinned(Sender, "a").remote()
    ray.get([receiver.__ray_ready__.remote(), sender.__ray_ready__.remote()])
    cpu_before = tree_cpu_seconds()
    started = time.perf_counter()
    if args.rate > 0:
        ray.get(sender.paced.remote(receiver, args.events, event_bytes, args.rate, args.settle))
    else:
        ray.get(sender.send.remote(receiver, args.events, batch, event_bytes, in_flight))
    first_batch = ray.get(receiver.save.remote())
    wall = time.perf_counter() - started
    ray.shutdown()
    cluster.shutdown()
    unreaped = reap_children()
    result = chain_result(
        args,
        wall_s=wall,
        cpu_s=tree_cpu_seconds() - cpu_before,
        unreaped=unreaped,
        available=True,
        backend="ray",
        batch=batch,
        in_flight=in_flight,
    )
    if result.get("window_s"):  # the steady rate: the events after the first batch
        result["events_per_s"] = (result["received"] - first_batch) / result["window_s"]
    rate = result.get("events_per_s")
    result["mb_per_s"] = rate * event_bytes / 1e6 if rate else None
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
