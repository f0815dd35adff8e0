"""`flowc run --backend ray`, placement with `node=`, Ctrl-C on a Ray run, and the one-line
error where Ray is not installed."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest
from ray_support import helpers, live_actors

from flowc.runtime.result import RunError

buffer, worker, make_plan = helpers.buffer, helpers.worker, helpers.make_plan
collected = helpers.collected

FLOW = """\
pipeline cli
buffer raw : f4[64] slots=8
importer sim  = stdlib.sources.pulses(n=40, seed=1) -> raw {placement}
exporter save = stdlib.sinks.npy(path="{out}") raw
"""


def _flowc(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flowc", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def _no_actor_left() -> None:
    deadline = time.monotonic() + 15
    while live_actors() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert live_actors() == []


def test_cli_runs_the_same_file_on_both_backends_with_one_stats_schema(tmp_path, ray_cluster):
    documents = {}
    for backend in ("local", "ray"):
        flow = tmp_path / f"{backend}.flow"
        flow.write_text(FLOW.format(placement="", out=tmp_path / f"{backend}.npy"))
        extra = ["--address", ray_cluster] if backend == "ray" else []
        done = _flowc(
            "run",
            str(flow),
            "--backend",
            backend,
            "--stats",
            f"{backend}.json",
            *extra,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        documents[backend] = json.loads((tmp_path / f"{backend}.json").read_text())
    local, ray = documents["local"], documents["ray"]
    assert set(local) <= set(ray)
    assert ray["buffers"] == local["buffers"]
    for name, entry in local["workers"].items():
        assert set(entry) <= set(ray["workers"][name])
        assert ray["workers"][name]["events_in"] == entry["events_in"]
        assert ray["workers"][name]["events_out"] == entry["events_out"]
    assert ray["workers"]["save"]["events_in"] == 40
    _no_actor_left()


def test_cli_failure_names_the_worker_and_exits_1(tmp_path, ray_cluster):
    code = tmp_path / "bad.py"
    code.write_text(
        "def explode(data):\n    raise RuntimeError('no calibration for this channel')\n"
    )
    flow = tmp_path / "bad.flow"
    flow.write_text(
        "buffer raw : f4[64] slots=8\n"
        "importer sim = stdlib.sources.pulses(n=40) -> raw\n"
        'exporter calib = "bad.py":explode() raw\n'
    )
    done = _flowc("run", str(flow), "--backend", "ray", "--address", ray_cluster, cwd=tmp_path)
    assert done.returncode == 1
    assert "worker `calib` (process 0) failed: RuntimeError: no calibration" in done.stderr
    assert "explode" in done.stderr  # the traceback of the user's code
    _no_actor_left()


def test_a_worker_runs_on_the_node_it_names(tmp_path, cluster):
    """`node=` by node name: the worker's process is a child of that node's Ray."""
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a")],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 20}, node="b"),
            worker("save", "exporter", "ray_workers:Where", ["a"], args={"path": str(out)}),
        ],
    )
    result = plan.run(backend="ray")
    import ray

    names = {n["NodeID"]: n["NodeName"] for n in ray.nodes()}
    raylets = {
        names[n.node_id]: n.all_processes["raylet"][0].process.pid for n in cluster.list_all_nodes()
    }
    assert out.read_text() == str(raylets["b"])  # `save` follows the writer of its input
    assert result.stats["workers"]["src"]["node"] == "b"
    assert result.stats["workers"]["save"]["node"] == "b"
    assert result.stats["bridges"] == {}


def test_a_host_name_that_names_several_nodes_is_an_error_listing_them(cluster):
    plan = make_plan(
        [buffer("a")],
        [
            worker(
                "src",
                "importer",
                "workers:count",
                outputs=["a"],
                args={"n": 5},
                node=socket.gethostname(),
            ),
            worker("save", "exporter", "workers:identity", ["a"]),
        ],
    )
    with pytest.raises(RunError) as caught:
        plan.run(backend="ray")
    failure = caught.value.result.failure
    assert failure.worker == "src"
    assert f"`{socket.gethostname()}` names 2 nodes of the Ray cluster" in failure.message
    assert "a (127.0.0.1" in failure.message and "b (127.0.0.1" in failure.message
    _no_actor_left()


def test_a_node_not_in_the_cluster_fails_the_run_naming_the_worker(ray_cluster):
    plan = make_plan(
        [buffer("a")],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 5}, node="daq-pc"),
            worker("save", "exporter", "workers:identity", ["a"]),
        ],
    )
    with pytest.raises(RunError) as caught:
        plan.run(backend="ray")
    failure = caught.value.result.failure
    assert failure.worker == "src" and "no node `daq-pc` in the Ray cluster" in failure.message
    assert caught.value.result.exit == 1
    _no_actor_left()


def test_the_local_runtime_warns_that_it_ignores_placement(tmp_path):
    plan = make_plan(
        [buffer("a")],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 5}, node="daq-pc"),
            worker("save", "exporter", "workers:identity", ["a"]),
        ],
    )
    with pytest.warns(UserWarning, match=r"ignores placement \(`node=` on src\)"):
        result = plan.run()
    assert result.stats["workers"]["save"]["events_in"] == 5


def test_without_ray_the_backend_says_how_to_install_it(tmp_path):
    flow = tmp_path / "x.flow"
    flow.write_text(FLOW.format(placement="", out=tmp_path / "x.npy"))
    script = (
        "import sys; sys.modules['ray'] = None\n"
        "from flowc.cli import main\n"
        f"sys.exit(main(['run', {str(flow)!r}, '--backend', 'ray']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        'flowc: error: the Ray backend needs Ray: pip install "flowc[ray]"'
    ]
    assert not (tmp_path / "x.npy").exists()


def test_an_address_that_does_not_answer_fails_at_once(tmp_path):
    pytest.importorskip("ray", reason='Ray is not installed (pip install "flowc[ray]")')
    flow = tmp_path / "x.flow"
    flow.write_text(FLOW.format(placement="", out=tmp_path / "x.npy"))
    started = time.monotonic()
    done = _flowc(
        "run", str(flow), "--backend", "ray", "--address", "127.0.0.1:1", "--quiet", cwd=tmp_path
    )
    assert done.returncode == 1
    assert "the run could not start: no Ray cluster at 127.0.0.1:1" in done.stderr
    assert time.monotonic() - started < 30
