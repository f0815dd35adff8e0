"""Partitions on two nodes (`a` and `b`, one machine): each runs on the local runtime, and the
buffers between them are bridged. Every event crosses exactly once, in order, with its
metadata; fan-in from both nodes; an observer on the far side; a drain crosses the bridge;
a failure or a lost node on one side ends the whole run, naming it; nothing is left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from ray_support import RUNTIME_TESTS, helpers, no_actor_left, partition_pids

from flowc.runtime.result import RunError

buffer, worker, make_plan = helpers.buffer, helpers.worker, helpers.make_plan
collected, assert_accounted = helpers.collected, helpers.assert_accounted


def _wait_for(path) -> None:
    """Until the importer has announced its first event, then a second more."""
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert path.exists(), "the importer never started"
    time.sleep(1.0)


def _save(buffer_name: str, path, node: str | None = None, **options):
    """The exporter `save`, collecting what it reads from `buffer_name` into `path`."""
    return worker(
        "save",
        "exporter",
        "workers:Collect",
        [buffer_name],
        args={"path": str(path)},
        node=node,
        **options,
    )


def _chain(out, n: int, processes: int, **last):
    """src (node a) -> a -> mid (unpinned: joins src) -> b -> save (node b)."""
    return make_plan(
        [buffer("a", slots=8), buffer("b", slots=8)],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": n}, node="a"),
            worker("mid", "processor", "workers:identity", ["a"], ["b"], processes=processes),
            _save("b", out, node="b", **last),
        ],
    )


def _endless(tmp_path, far: str):
    """An endless importer on node a (it announces its first event) straight into a
    collecting exporter on node `far`."""
    return make_plan(
        [buffer("a", slots=8)],
        [
            worker(
                "src",
                "importer",
                "workers:count_forever",
                outputs=["a"],
                args={"delay": 0.001, "started": str(tmp_path / "started")},
                node="a",
            ),
            _save("a", tmp_path / "o", node=far),
        ],
    )


def test_a_chain_pinned_at_both_ends_crosses_once_with_every_event_once(tmp_path, cluster):
    out = tmp_path / "out"
    result = _chain(out, 3000, processes=2).run(backend="ray")
    got = collected(out)
    assert sorted(got["counter"].tolist()) == list(range(3000))  # every event, exactly once
    assert np.array_equal(got["x"], got["counter"])  # the importer's metadata crossed whole
    assert (got["timestamp"] > 0).all() and (got["deadtime"] >= 0).all()
    stats = result.stats
    assert {w: stats["workers"][w]["node"] for w in ("src", "mid", "save")} == {
        "src": "a",
        "mid": "a",
        "save": "b",
    }
    (bridge,) = stats["bridges"].values()
    assert (bridge["buffer"], bridge["from"], bridge["to"], bridge["events"]) == (
        "b",
        "a",
        "b",
        3000,
    )
    assert stats["buffers"]["b"] == {
        "written": 3000,
        "dropped": 0,
        "consumed": {"save": 3000},
        "left": {"save": 0},
    }
    assert set(stats["workers"]) == {"src", "mid", "save"}  # the bridges are no workers
    assert result.exit == 0 and stats["stopped"] == "completed" and stats["backend"] == "ray"
    assert no_actor_left()


def test_one_process_per_worker_keeps_the_order_across_the_bridge(tmp_path, cluster):
    out = tmp_path / "out"
    _chain(out, 2000, processes=1).run(backend="ray")
    assert collected(out)["counter"].tolist() == list(range(2000))


def test_batch_workers_run_on_both_sides_of_the_bridge(tmp_path, cluster):
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a", slots=16), buffer("b", slots=16)],
        [
            worker(
                "src",
                "importer",
                "workers:count_batches",
                outputs=["a"],
                args={"n": 2000, "size": 25},
                node="a",
                batch=25,
            ),
            worker("mid", "processor", "workers:double_y_batch", ["a"], ["b"], batch=10),
            worker(
                "save",
                "exporter",
                "workers:CollectBatches",
                ["b"],
                args={"path": str(out)},
                node="b",
                batch=32,
            ),
        ],
    )
    result = plan.run(backend="ray")
    got = collected(out)
    assert got["x"].tolist() == list(range(2000))  # one process each: in order, every event
    assert got["y"].tolist() == [4 * x for x in range(2000)]
    assert result.stats["workers"]["save"]["events_in"] == 2000
    assert_accounted(result.stats)


def test_fan_in_from_both_nodes(tmp_path, cluster):
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a", slots=4)],
        [
            worker("i1", "importer", "workers:count", outputs=["a"], args={"n": 800}, node="a"),
            worker("i2", "importer", "workers:count", outputs=["a"], args={"n": 700}, node="b"),
            _save("a", out, node="b"),
        ],
    )
    result = plan.run(backend="ray")
    assert sorted(collected(out)["counter"].tolist()) == sorted([*range(800), *range(700)])
    stats = result.stats
    assert stats["buffers"]["a"]["written"] == 1500
    assert stats["buffers"]["a"]["consumed"] == {"save": 1500}
    assert_accounted(stats)
    assert [(b["from"], b["to"], b["events"]) for b in stats["bridges"].values()] == [
        ("a", "b", 800)
    ]


def test_an_observer_on_the_far_side_sees_the_events(tmp_path, cluster):
    out, seen = tmp_path / "out", tmp_path / "seen"
    plan = make_plan(
        [buffer("a", slots=16)],
        [
            worker(
                "src",
                "importer",
                "workers:count",
                outputs=["a"],
                args={"n": 3000, "delay": 0.0005},
                node="a",
            ),
            _save("a", out),
            worker(
                "watch",
                "observer",
                "workers:Watch",
                observes=["a"],
                args={"path": str(seen)},
                node="b",
            ),
        ],
    )
    result = plan.run(backend="ray")
    stats = result.stats
    assert stats["workers"]["watch"]["node"] == "b" and stats["workers"]["save"]["node"] == "a"
    watch = stats["workers"]["watch"]
    assert watch["seen"] > 0 and watch["seen"] + watch["skipped"] <= 3000
    (text,) = [p.read_text() for p in tmp_path.iterdir() if p.name.startswith("seen.")]
    count, torn, _ = text.split(" ")
    assert int(count) == watch["seen"] and torn == "0"
    assert len(collected(out)["x"]) == 3000


def test_stop_drains_across_the_bridge(tmp_path, cluster):
    """A stop (as a first Ctrl-C) stops the importer on a; what it wrote crosses to b."""
    plan = make_plan(
        [buffer("a", slots=8), buffer("b", slots=8)],
        [
            worker(
                "src",
                "importer",
                "workers:count_forever",
                outputs=["a"],
                args={"delay": 0.001, "started": str(tmp_path / "started")},
                node="a",
            ),
            worker("mid", "processor", "workers:identity", ["a"], ["b"]),
            _save("b", tmp_path / "out", node="b"),
        ],
    )
    handle = plan.start(backend="ray")
    _wait_for(tmp_path / "started")
    handle.stop()
    result = handle.wait(60)
    assert result is not None and result.exit == 130
    written = result.stats["buffers"]["a"]["written"]
    assert written > 0
    assert collected(tmp_path / "out")["x"].tolist() == list(range(written))
    assert_accounted(result.stats)
    assert no_actor_left()


def test_pause_resume_and_live_statistics_reach_every_partition(tmp_path, cluster):
    plan = _endless(tmp_path, far="b")
    handle = plan.start(backend="ray")
    _wait_for(tmp_path / "started")
    handle.pause()
    time.sleep(1.5)
    paused = handle.stats()["buffers"]["a"]
    time.sleep(1.0)
    assert handle.stats()["buffers"]["a"]["written"] == paused["written"] > 0
    assert paused["consumed"]["save"] == paused["written"]  # drained across the bridge
    handle.resume()
    time.sleep(1.0)
    assert handle.stats()["buffers"]["a"]["written"] > paused["written"]
    handle.stop()
    result = handle.wait(60)
    assert result is not None and result.exit == 130
    written = result.stats["buffers"]["a"]["written"]
    assert collected(tmp_path / "o")["x"].tolist() == list(range(written))
    assert no_actor_left()


def test_ctrl_c_drains_across_the_bridge(tmp_path, ray_cluster):
    """The runtime's own scenario, pinned at both ends, interrupted like a terminal would."""
    process = subprocess.Popen(
        [
            sys.executable,
            os.path.join(RUNTIME_TESTS, "scenario.py"),
            "endless",
            str(tmp_path),
            "--ray",
            ray_cluster,
            "src=a",
            "save=b",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    while not (tmp_path / "started").exists() and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        time.sleep(0.1)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=90)
    assert process.returncode == 130, stderr
    stats = json.loads(stdout.splitlines()[-1])
    assert stats["stopped"] == "interrupted"
    written = stats["buffers"]["a"]["written"]
    assert written > 0 and collected(tmp_path / "out")["x"].tolist() == list(range(written))
    assert stats["workers"]["save"]["node"] == "b"
    assert no_actor_left()


def test_a_worker_failing_on_b_ends_the_run_naming_it(tmp_path, cluster):
    plan = make_plan(
        [buffer("a", slots=8)],
        [
            worker("src", "importer", "workers:count_forever", outputs=["a"], node="a"),
            worker("check", "exporter", "workers:fail_at", ["a"], args={"at": 500}, node="b"),
        ],
    )
    started = time.monotonic()
    with pytest.raises(RunError) as caught:
        plan.run(backend="ray")
    result = caught.value.result
    assert time.monotonic() - started < 60
    assert result.failure.worker == "check"
    assert "ValueError: bad event x=500" in result.failure.message
    assert "fail_at" in result.failure.traceback
    assert result.exit == 1 and result.stats["stopped"] == "failed"
    assert no_actor_left()


def test_a_failure_on_b_loses_nothing_node_a_accepted(tmp_path, cluster):
    """`a` is read on both nodes: when `check` fails on b, the partition on a drains, so its
    exporter's file holds every event written into `a`."""
    plan = make_plan(
        [buffer("a", slots=8)],
        [
            worker(
                "src",
                "importer",
                "workers:count_forever",
                outputs=["a"],
                args={"delay": 0.0002},
                node="a",
            ),
            worker("check", "exporter", "workers:fail_at", ["a"], args={"at": 500}, node="b"),
            _save("a", tmp_path / "out", node="a"),
        ],
    )
    with pytest.raises(RunError) as caught:
        plan.run(backend="ray")
    result = caught.value.result
    assert result.failure.worker == "check" and result.exit == 1
    written = result.stats["buffers"]["a"]["written"]
    assert written > 500
    assert collected(tmp_path / "out")["x"].tolist() == list(range(written))
    assert no_actor_left()


def test_a_lost_node_ends_the_run_naming_it_and_nothing_is_left(tmp_path, cluster):
    doomed = cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1", node_name="doomed")
    cluster.wait_for_nodes()
    plan = _endless(tmp_path, far="doomed")
    handle = plan.start(backend="ray")
    _wait_for(tmp_path / "started")
    pids = partition_pids()
    assert len(pids) == 2
    killed = time.monotonic()
    threading.Thread(target=cluster.remove_node, args=(doomed, False), daemon=True).start()
    result = handle.wait(60)
    assert result is not None, "the run went on without its node"
    assert time.monotonic() - killed < 20
    assert result.exit == 1 and result.failure.worker == "save"
    assert "node `doomed`" in result.failure.message
    assert no_actor_left()
    for pid in pids:  # the partitions' supervisors and their memory are gone on both nodes
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not os.path.exists(f"/proc/{pid}")
        left = [n for n in os.listdir("/dev/shm") if n.startswith(f"flowc_{pid}_")]
        assert left == [], left
