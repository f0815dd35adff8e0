"""Placement (SPEC section 8): which node of the cluster runs each worker, and the plan of each
node's partition with the bridges of the buffers that cross between nodes.

A worker with `node=` runs on the node whose address or host name that is (a name that matches
no node, or several, is a `PlacementError` listing the nodes). Importers without `node=` run
on the driver's node; any other worker without it joins the partition of the worker writing
its first input (an observer: its first observed buffer), so a pipeline pinned at its ends
crosses the network once.

A buffer has a home: the node of its consumers when they all sit on one node, else the node of
its first writer. Writers elsewhere send their events home through a bridge, and consumers and
observers elsewhere get them from home through one (see `flowc.backends.ray.bridge`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from flowc.backends.ray.bridge import BRIDGE_IN, BRIDGE_OUT, batch_for
from flowc.callables import CallableTarget
from flowc.errors import FlowcError
from flowc.plan import Plan, WorkerPlan


class PlacementError(FlowcError):
    """A `node=` names no node of the cluster, or several; `worker` is the first such worker
    ("" when the error is of a buffer)."""

    def __init__(self, message: str, worker: str = ""):
        super().__init__(message)
        self.worker = worker


@dataclass(frozen=True)
class Node:
    """A node of the cluster as placement needs it."""

    id: str
    address: str
    hostname: str
    name: str  # Ray's node name (`ray start --node-name`; its address unless given)

    @property
    def label(self) -> str:
        """How the statistics and messages name the node."""
        return self.name or self.address

    @property
    def description(self) -> str:
        return f"{self.label} ({self.address}, host {self.hostname})"


@dataclass(frozen=True)
class Bridge:
    """One crossing of a buffer: from the partition on `source` to the one on `target`."""

    buffer: str
    source: str  # node id
    target: str  # node id
    channel: str  # the name both actors know it by
    out_worker: str  # the bridge-out's name in the source partition
    in_worker: str  # the bridge-in's name in the target partition


@dataclass(frozen=True)
class Partition:
    """The part of the plan one node runs, bridges included."""

    node: Node
    plan: Plan
    sends: tuple[Bridge, ...]
    receives: dict[str, tuple[str, int]]  # channel -> (its bridge-in, which sender it is)
    inlets: dict[str, int]  # bridge-in -> how many partitions send into it


def match_node(name: str, nodes: list[Node]) -> Node:
    """The one node that `name` names: its address, its node name, or its host name."""
    matches = []
    for key in ("address", "name", "hostname"):
        matches = [n for n in nodes if getattr(n, key) == name]
        if len(matches) == 1:
            return matches[0]
        if matches:
            break
    known = ", ".join(sorted(n.description for n in nodes))
    if matches:
        raise PlacementError(
            f"`{name}` names {len(matches)} nodes of the Ray cluster; give one's node name or "
            f"address (its nodes: {known})"
        )
    raise PlacementError(f"no node `{name}` in the Ray cluster (its nodes: {known})")


def place(plan: Plan, nodes: list[Node], driver: Node) -> dict[str, Node]:
    """Worker name -> the node it runs on (PlacementError before anything starts)."""
    placed: dict[str, Node] = {}
    for worker in plan.workers:
        if worker.node:
            try:
                placed[worker.name] = match_node(worker.node, nodes)
            except PlacementError as exc:
                raise PlacementError(str(exc), worker.name) from None
        elif worker.kind == "importer":
            placed[worker.name] = driver
    changed = True
    while changed:  # follow the writers downstream until every worker has a node
        changed = False
        for worker in plan.workers:
            if worker.name in placed:
                continue
            first = (worker.inputs or worker.observes)[:1]
            writers = [w for w in plan.writers_of(first[0])] if first else []
            home = next((placed[w.name] for w in writers if w.name in placed), None)
            if home is not None or not writers:
                placed[worker.name] = home or driver
                changed = True
    for worker in plan.workers:  # a cycle of unpinned workers: the driver's node
        placed.setdefault(worker.name, driver)
    return placed


def partition(plan: Plan, placed: dict[str, Node]) -> list[Partition]:
    """The plan of each node that runs a worker, with the bridges between them."""
    nodes = {n.id: n for n in placed.values()}
    workers: dict[str, list[WorkerPlan]] = {}
    for worker in plan.workers:
        workers.setdefault(placed[worker.name].id, []).append(worker)
    bridges: list[Bridge] = []
    for buffer in plan.buffers:
        writers = {placed[w.name].id for w in plan.writers_of(buffer.name)}
        readers = {placed[w.name].id for w in plan.consumers_of(buffer.name)}
        watchers = {placed[w.name].id for w in plan.observers_of(buffer.name)}
        if not writers or len(writers | readers | watchers) == 1:
            continue
        if len(writers) > 1 and len(readers) > 1:
            raise PlacementError(
                f"buffer `{buffer.name}` has writers on {len(writers)} nodes and consumers on "
                f"{len(readers)}: pin its consumers to one node (or its writers)"
            )
        first_writer = placed[plan.writers_of(buffer.name)[0].name].id
        home = next(iter(readers)) if len(readers) == 1 else first_writer
        short = {n: str(k) for k, n in enumerate(nodes)}
        for source in sorted(writers - {home}):
            bridges.append(_bridge(buffer.name, source, home, short))
        for target in sorted((readers | watchers) - {home}):
            bridges.append(_bridge(buffer.name, home, target, short))
    partitions = []
    for node_id, members in workers.items():
        partitions.append(_partition_plan(plan, nodes[node_id], members, bridges))
    for node_id in {b.target for b in bridges} - set(workers):
        partitions.append(_partition_plan(plan, nodes[node_id], [], bridges))
    return partitions


def _bridge(buffer: str, source: str, target: str, short: dict[str, str]) -> Bridge:
    channel = f"{buffer}:{short[source]}>{short[target]}"
    return Bridge(
        buffer, source, target, channel, f"{channel} out", f"{buffer}:>{short[target]} in"
    )


def _partition_plan(
    plan: Plan, node: Node, members: list[WorkerPlan], bridges: list[Bridge]
) -> Partition:
    sends = tuple(b for b in bridges if b.source == node.id)
    received = [b for b in bridges if b.target == node.id]
    receives: dict[str, tuple[str, int]] = {}
    inlets: dict[str, int] = {}
    extra = []
    for b in sends:
        buffer = plan.buffer(b.buffer)
        extra.append(
            WorkerPlan(
                name=b.out_worker,
                kind="exporter",
                callable=_target(BRIDGE_OUT),
                args={"path": ""},
                inputs=(b.buffer,),
                batch=batch_for(buffer.data_bytes, buffer.slots),
            )
        )
    by_buffer: dict[str, list[Bridge]] = {}
    for b in received:
        by_buffer.setdefault(b.buffer, []).append(b)
    for name, group in by_buffer.items():
        extra.append(
            WorkerPlan(
                name=group[0].in_worker,
                kind="importer",
                callable=_target(BRIDGE_IN),
                args={"path": ""},
                outputs=(name,),
            )
        )
        inlets[group[0].in_worker] = len(group)
        for k, b in enumerate(group):
            receives[b.channel] = (b.in_worker, k)
    # members without their node: the local runtime warns about `node=`, and it is done here
    workers = tuple(dataclasses.replace(w, node=None) for w in members) + tuple(extra)
    touched = {b for w in workers for b in (*w.inputs, *w.outputs, *w.observes)}
    sub = dataclasses.replace(
        plan,
        buffers=tuple(b for b in plan.buffers if b.name in touched),
        workers=workers,
        functions={
            k: v
            for k, v in plan.functions.items()
            if any(w.callable.kind == "function" and w.callable.attr == k for w in members)
        },
    )
    return Partition(node, sub, sends, receives, inlets)


def _target(reference: str) -> CallableTarget:
    module, attr = reference.split(":")
    return CallableTarget("module", module, attr)


def bridge_workers(partition: Partition) -> set[str]:
    """The names of the bridge workers in a partition's plan."""
    return {
        w.name
        for w in partition.plan.workers
        if w.callable.kind == "module"
        and f"{w.callable.target}:{w.callable.attr}" in (BRIDGE_OUT, BRIDGE_IN)
    }
