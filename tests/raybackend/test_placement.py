"""Placement and partitioning of a plan over nodes (SPEC section 8), without a cluster: which
node runs each worker, each node's sub-plan, and the bridges between them."""

from __future__ import annotations

import pytest

pytest.importorskip("ray", reason='Ray is not installed (pip install "flowc[ray]")')

from ray_support import helpers  # noqa: E402

from flowc.backends.ray.placement import (  # noqa: E402
    Node,
    PlacementError,
    bridge_workers,
    partition,
    place,
)

buffer, worker, make_plan = helpers.buffer, helpers.worker, helpers.make_plan

A = Node("id-a", "10.0.0.1", "daq-pc", "a")
B = Node("id-b", "10.0.0.2", "ana", "b")
C = Node("id-c", "10.0.0.3", "ana", "c")  # shares its host name with b
NODES = [A, B, C]


def _names(placed: dict) -> dict[str, str]:
    return {w: n.name for w, n in placed.items()}


def test_unpinned_workers_follow_the_writer_of_their_first_input():
    plan = make_plan(
        [buffer("raw"), buffer("kept"), buffer("late")],
        [
            worker("save", "exporter", "workers:Collect", ["kept"], node="10.0.0.2"),
            worker("sim", "importer", "workers:count", outputs=["raw"], node="daq-pc"),
            worker("cut", "processor", "workers:identity", ["raw"], ["kept"]),
            worker("look", "observer", "workers:Watch", observes=["kept"]),
            worker("more", "importer", "workers:count", outputs=["late"]),
            worker("last", "exporter", "workers:Collect", ["late"]),
        ],
    )
    placed = place(plan, NODES, driver=C)
    assert _names(placed) == {
        "sim": "a",  # by host name
        "save": "b",  # by address
        "cut": "a",  # reads raw, which sim writes
        "look": "a",  # observes kept, which cut writes
        "more": "c",  # an importer without node=: the driver's node
        "last": "c",
    }


def test_a_node_name_matching_no_node_or_several_is_an_error_listing_the_nodes():
    for name, expected in (
        ("daq", "no node `daq` in the Ray cluster"),
        ("ana", "`ana` names 2 nodes of the Ray cluster"),
    ):
        plan = make_plan(
            [buffer("raw")],
            [
                worker("sim", "importer", "workers:count", outputs=["raw"], node=name),
                worker("save", "exporter", "workers:Collect", ["raw"]),
            ],
        )
        with pytest.raises(PlacementError) as caught:
            place(plan, NODES, driver=A)
        assert caught.value.worker == "sim"
        assert expected in str(caught.value)
        for node in NODES:
            assert f"{node.name} ({node.address}, host {node.hostname})" in str(caught.value)


def test_a_chain_pinned_at_its_ends_crosses_once():
    plan = make_plan(
        [buffer("raw", slots=16), buffer("kept", slots=16)],
        [
            worker("sim", "importer", "workers:count", outputs=["raw"], node="a"),
            worker("cut", "processor", "workers:identity", ["raw"], ["kept"], processes=2),
            worker("save", "exporter", "workers:Collect", ["kept"], node="b"),
        ],
    )
    parts = {p.node.name: p for p in partition(plan, place(plan, NODES, driver=A))}
    assert set(parts) == {"a", "b"}
    (bridge,) = parts["a"].sends
    assert (bridge.buffer, bridge.source, bridge.target) == ("kept", "id-a", "id-b")
    out = parts["a"].plan.worker(bridge.out_worker)
    assert (out.kind, out.inputs, out.batch) == ("exporter", ("kept",), 8)
    into = parts["b"].plan.worker(bridge.in_worker)
    assert (into.kind, into.outputs) == ("importer", ("kept",))
    assert parts["b"].receives == {bridge.channel: (bridge.in_worker, 0)}
    assert {b.name for b in parts["a"].plan.buffers} == {"raw", "kept"}
    assert {b.name for b in parts["b"].plan.buffers} == {"kept"}
    assert bridge_workers(parts["a"]) == {bridge.out_worker}
    assert all(w.node is None for p in parts.values() for w in p.plan.workers)


def test_fan_in_from_two_nodes_sends_to_the_consumers_node():
    plan = make_plan(
        [buffer("raw")],
        [
            worker("i1", "importer", "workers:count", outputs=["raw"], node="a"),
            worker("i2", "importer", "workers:count", outputs=["raw"], node="c"),
            worker("save", "exporter", "workers:Collect", ["raw"], node="b"),
        ],
    )
    parts = {p.node.name: p for p in partition(plan, place(plan, NODES, driver=A))}
    assert sorted(b.channel.split(":")[0] for p in parts.values() for b in p.sends) == [
        "raw",
        "raw",
    ]
    assert parts["b"].inlets == {next(iter(parts["b"].inlets)): 2}
    assert sorted(index for _, index in parts["b"].receives.values()) == [0, 1]


def test_writers_and_consumers_on_several_nodes_each_are_refused():
    plan = make_plan(
        [buffer("raw")],
        [
            worker("i1", "importer", "workers:count", outputs=["raw"], node="a"),
            worker("i2", "importer", "workers:count", outputs=["raw"], node="b"),
            worker("e1", "exporter", "workers:Collect", ["raw"], node="a"),
            worker("e2", "exporter", "workers:Collect", ["raw"], node="b"),
        ],
    )
    with pytest.raises(PlacementError, match="pin its consumers to one node"):
        partition(plan, place(plan, NODES, driver=A))
