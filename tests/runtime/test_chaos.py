"""Failures, kills, signals, timeouts and a too-small /dev/shm: the run ends, reports, and
leaves no process and no shared memory behind (the autouse `no_leaks` fixture checks)."""

from __future__ import annotations

import json
import multiprocessing.context
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest
from runtime_plans import HERE, assert_accounted, buffer, collected, descendants, make_plan, worker

from flowc.runtime import RunError, run
from flowc.types import ElementType

pytestmark = pytest.mark.runtime
SCENARIO = os.path.join(HERE, "scenario.py")


def _chain(tmp_path, middle: str, n: int = 200, **options):
    return make_plan(
        [buffer("a"), buffer("b")],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": n}),
            worker("mid", "processor", middle, ["a"], ["b"], **options),
            worker(
                "save", "exporter", "workers:Collect", ["b"], args={"path": str(tmp_path / "out")}
            ),
        ],
    )


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_raising_worker_fails_the_run_with_its_name_and_traceback(tmp_path, capfd, start_method):
    plan = _chain(tmp_path, "workers:fail_at", args={"at": 17})
    with pytest.raises(RunError) as caught:
        run(plan, start_method=start_method)
    result = caught.value.result
    assert (result.ok, result.exit, result.stats["stopped"]) == (False, 1, "failed")
    failure = result.failure
    # the message names the event the call handled, by its importer's counter
    assert failure.worker == "mid"
    assert failure.message == "ValueError: bad event x=17 (at event 17 of `a`)"
    assert "fail_at" in failure.traceback and "ValueError" in failure.traceback
    # the user's frames only: not the runtime's, nor the adapter that called fail_at
    assert "flowc/runtime" not in failure.traceback
    assert "flowc/callables.py" not in failure.traceback
    assert result.stats["failure"]["worker"] == "mid"
    err = capfd.readouterr().err
    assert "worker `mid`" in err and "Traceback" in err and "bad event x=17" in err


def test_failure_can_be_returned_instead_of_raised(tmp_path):
    result = run(_chain(tmp_path, "workers:fail_at", args={"at": 3}), raise_on_failure=False)
    assert result.exit == 1 and result.failure.worker == "mid"


def test_on_error_skip_counts_and_skips_failing_events(tmp_path):
    result = run(_chain(tmp_path, "workers:fail_every", n=100, args={"every": 5}, on_error="skip"))
    assert result.exit == 0
    assert result.stats["workers"]["mid"]["errors"] == 20
    assert collected(tmp_path / "out")["x"].tolist() == [x for x in range(100) if x % 5]
    assert_accounted(result.stats)


def test_a_bad_processor_result_is_a_failure_not_a_hang(tmp_path):
    plan = make_plan(
        [buffer("a"), buffer("b"), buffer("c")],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 5}),
            worker("two", "processor", "workers:identity", ["a"], ["b", "c"]),
            worker("s1", "exporter", "workers:identity", ["b"]),
            worker("s2", "exporter", "workers:identity", ["c"]),
        ],
    )
    result = run(plan, raise_on_failure=False)
    assert result.failure.worker == "two"
    assert "one item (or None) per output" in result.failure.message


def test_a_worker_killed_mid_stream_is_noticed_within_a_second(tmp_path):
    plan = _chain(tmp_path, "workers:kill_self_at", n=10**7, args={"at": 100})
    started = time.monotonic()
    result = run(plan, raise_on_failure=False)
    assert time.monotonic() - started < 3
    assert result.failure.worker == "mid"
    assert result.failure.message == "killed by signal 9 (SIGKILL)"
    assert result.exit == 1


def _branches(tmp_path, middle: str, at: int, n: int = 5000):
    """`src` writes `a`, read by `mid` (which fails at event `at`) and by `keep`, which saves
    every event it gets at finish(); `mid` writes `b` for `save`."""
    return make_plan(
        [buffer("a", slots=8), buffer("b", slots=8)],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": n}),
            worker("mid", "processor", middle, ["a"], ["b"], args={"at": float(at)}),
            worker(
                "keep", "exporter", "workers:Collect", ["a"], args={"path": str(tmp_path / "k")}
            ),
            worker(
                "save", "exporter", "workers:Collect", ["b"], args={"path": str(tmp_path / "s")}
            ),
        ],
    )


@pytest.mark.parametrize("middle", ["workers:fail_at", "workers:kill_self_at"])
def test_a_failure_loses_nothing_the_rest_of_the_graph_accepted(tmp_path, middle):
    """A worker fails (raises, or is killed) mid-stream: the importers stop, and every other
    worker finishes what its buffers hold and runs its finish(), so what was written into `a`
    reaches `keep`'s file, what `mid` wrote reaches `save`'s, and each worker's statistics are
    its own (it ended by itself); the events written for `mid` after it failed are left."""
    result = run(_branches(tmp_path, middle, at=1000), raise_on_failure=False, drain_timeout=60)
    assert (result.exit, result.stats["stopped"], result.failure.worker) == (1, "failed", "mid")
    stats = result.stats
    a, b = stats["buffers"]["a"], stats["buffers"]["b"]
    assert a["written"] >= 1001
    assert collected(tmp_path / "k")["x"].tolist() == list(range(a["written"]))
    assert collected(tmp_path / "s")["x"].tolist() == list(range(b["written"]))
    assert b["written"] == 1000
    assert_accounted(stats)
    for name in ("src", "keep", "save"):
        assert stats["workers"][name]["wall_s"] > 0, name  # it recorded its own end
    # `src` was not held up by `mid`'s full input until the drain timeout killed it
    assert "still running" not in result.failure.message


def test_unresolvable_code_in_a_worker_fails_cleanly(tmp_path):
    plan = _chain(tmp_path, "workers:no_such_function")
    result = run(plan, raise_on_failure=False, start_method="spawn")
    assert result.failure.worker == "mid"
    assert "no_such_function" in result.failure.message


def test_timeout_drains_the_graph_and_exits_zero(tmp_path):
    plan = make_plan(
        [buffer("a", slots=4), buffer("b", slots=4)],
        [
            worker(
                "src", "importer", "workers:count_forever", outputs=["a"], args={"delay": 0.001}
            ),
            worker("mid", "processor", "workers:identity", ["a"], ["b"]),
            worker(
                "save", "exporter", "workers:Collect", ["b"], args={"path": str(tmp_path / "out")}
            ),
        ],
    )
    result = run(plan, timeout=0.5)
    assert (result.ok, result.exit, result.stats["stopped"]) == (True, 0, "timeout")
    x = collected(tmp_path / "out")["x"].tolist()
    assert len(x) > 10 and x == list(range(len(x)))
    assert result.stats["buffers"]["b"]["written"] == len(x)
    assert_accounted(result.stats)


def _start_scenario(name, folder, method="fork"):
    return subprocess.Popen(
        [sys.executable, SCENARIO, name, str(folder), method],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_workers(proc, count, timeout=30.0) -> list[psutil.Process]:
    """The scenario's worker processes, once `count` of them run (the janitor not counted)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = [c for c in descendants(proc.pid) if "janitor" not in " ".join(_cmdline(c))]
        if len(children) >= count:
            return children
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"the scenario did not start {count} workers")


def _cmdline(process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_first_signal_drains_without_losing_accepted_events(tmp_path, signum):
    proc = _start_scenario("endless", tmp_path)
    _wait_for_workers(proc, 3)
    time.sleep(0.7)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert _segments_of(proc.pid) == []
    stats = json.loads(out)
    assert stats["stopped"] == "interrupted"
    x = collected(tmp_path / "out")["x"].tolist()  # saved by Collect.finish(): finish() ran
    assert len(x) > 10 and x == list(range(len(x)))
    assert stats["buffers"]["a"]["written"] == len(x)
    assert_accounted(stats)


def test_first_signal_interrupts_an_importer_sleeping_in_its_own_code(tmp_path):
    proc = _start_scenario("sleepy_importer", tmp_path)
    _wait_for_workers(proc, 2)
    time.sleep(0.5)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert time.monotonic() - started < 3
    assert proc.returncode == 130
    assert collected(tmp_path / "out")["x"].tolist() == []


def test_second_signal_stops_at_once(tmp_path):
    proc = _start_scenario("slow_drain", tmp_path)
    _wait_for_workers(proc, 2)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 3
    assert proc.returncode == 130, err
    assert _segments_of(proc.pid) == []
    assert json.loads(out)["stopped"] == "interrupted"


@pytest.mark.parametrize("start_method", ["fork", "forkserver"])
def test_a_killed_supervisor_leaves_no_process_and_no_shared_memory(tmp_path, start_method):
    proc = _start_scenario("endless", tmp_path, start_method)
    _wait_for_workers(proc, 3)
    time.sleep(0.3)
    workers = psutil.Process(proc.pid).children(recursive=True)  # forkserver and janitor too
    proc.kill()
    proc.communicate(timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        alive = [w for w in workers if w.is_running() and w.status() != psutil.STATUS_ZOMBIE]
        if not alive and not _segments_of(proc.pid):
            break
        time.sleep(0.05)
    assert alive == [] and _segments_of(proc.pid) == []


def test_the_janitor_cleans_up_when_the_supervisor_dies_during_start_up(tmp_path):
    proc = _start_scenario("endless", tmp_path, "spawn")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not _segments_of(proc.pid):
        time.sleep(0.01)
    segments = _segments_of(proc.pid)
    assert segments, "the run never created its segments"
    modes = {_mode(name) for name in segments} - {None}
    assert modes == {0o600}, "segments must be readable and writable by the owner only"
    proc.kill()
    proc.communicate(timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _segments_of(proc.pid):
        time.sleep(0.05)
    assert _segments_of(proc.pid) == []


def _mode(name: str) -> int | None:
    try:
        return os.stat(f"/dev/shm/{name}").st_mode & 0o777
    except FileNotFoundError:
        return None


def _segments_of(pid: int) -> list[str]:
    return [
        n for n in os.listdir("/dev/shm") if n.startswith((f"flowc_{pid}_", f"sem.flowc_{pid}_"))
    ]


def test_segments_of_dead_supervisors_are_removed_by_the_next_run(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)
    stale = [f"/dev/shm/flowc_{pid}_deadbeef_b0", f"/dev/shm/sem.flowc_{pid}_deadbeef_l0"]
    for path in stale:
        with open(path, "wb") as f:
            f.write(b"x")
    run(_chain(tmp_path, "workers:identity", n=3))
    assert [p for p in stale if os.path.exists(p)] == []


def test_a_plan_larger_than_free_shared_memory_fails_at_start(tmp_path):
    free = shutil.disk_usage("/dev/shm").free
    length = 2**20
    slots = free // (8 * length) + 2
    plan = make_plan(
        [
            buffer("small"),
            buffer("huge", element=ElementType.plain("f8"), length=length, slots=slots),
        ],
        [
            worker("src", "importer", "workers:count", outputs=["small"], args={"n": 3}),
            worker("mid", "processor", "workers:identity", ["small"], ["huge"]),
            worker("save", "exporter", "workers:identity", ["huge"]),
        ],
    )
    started = time.monotonic()
    result = run(plan, raise_on_failure=False)
    assert time.monotonic() - started < 5
    assert result.exit == 1 and result.stats["stopped"] == "failed"
    message = result.failure.message
    assert "buffer `huge`" in message and "/dev/shm" in message and "free" in message


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare"
)
def test_a_small_dev_shm_fails_at_start_with_a_clear_message(tmp_path):
    script = (
        f"import sys; sys.path.insert(0, {HERE!r})\n"
        "from runtime_plans import buffer, make_plan, worker\n"
        "from flowc.runtime import run\n"
        "from flowc.types import ElementType\n"
        "plan = make_plan([buffer('big', element=ElementType.plain('f8'), length=2**17, slots=8)],"
        " [worker('src', 'importer', 'workers:count', outputs=['big'], args={'n': 1}),"
        "  worker('save', 'exporter', 'workers:identity', ['big'])])\n"
        "result = run(plan, raise_on_failure=False)\n"
        "print(result.failure.message)\n"
        "import os; print(sorted(os.listdir('/dev/shm')))\n"
    )
    shell = f'mount -t tmpfs -o size=4m tmpfs /dev/shm && {sys.executable} -c "$FLOWC_SCRIPT"'
    done = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", shell],
        capture_output=True,
        text=True,
        env={**os.environ, "FLOWC_SCRIPT": script},
        timeout=60,
    )
    if done.returncode != 0 and "unshare" in done.stderr:
        pytest.skip(f"cannot make a private /dev/shm here: {done.stderr.strip()}")
    lines = done.stdout.splitlines()
    assert "buffer `big`" in lines[0] and "8.0 MiB" in lines[0] and "/dev/shm has" in lines[0]
    assert lines[1] == "[]"


def test_start_method_is_checked():
    with pytest.raises(ValueError, match="unknown start method"):
        run(make_plan([], []), start_method="vfork")


def test_unpicklable_functions_under_spawn_fail_with_a_clear_message(tmp_path):
    def local_source(example):
        yield from (np.zeros_like(example) for _ in range(3))

    plan = make_plan(
        [buffer("a")],
        [
            worker("src", "importer", "local_source", outputs=["a"]),
            worker("save", "exporter", "workers:identity", ["a"]),
        ],
        functions={"local_source": local_source},
    )
    result = run(plan, start_method="spawn", raise_on_failure=False)
    assert result.failure.worker == "src"
    assert "importable module-level object" in result.failure.message


def test_on_error_skip_in_an_importer_skips_events_it_cannot_store(tmp_path):
    plan = make_plan(
        [buffer("a", element=ElementType.plain("f8"), length=4)],
        [
            worker(
                "src", "importer", "workers:ragged", outputs=["a"], args={"n": 10}, on_error="skip"
            ),
            worker("save", "exporter", "workers:identity", ["a"]),
        ],
    )
    result = run(plan)
    assert result.stats["workers"]["src"]["errors"] == 5
    assert result.stats["buffers"]["a"]["written"] == 5


def test_a_worker_that_exits_quietly_mid_stream_is_a_failure_not_a_hang(tmp_path):
    result = run(
        _chain(tmp_path, "workers:exit_quietly_at", n=10**6, args={"at": 50}),
        raise_on_failure=False,
    )
    assert result.exit == 1 and result.failure.worker == "mid"
    assert "before the end of its stream" in result.failure.message


def test_a_worker_that_cannot_be_started_fails_the_run_cleanly(tmp_path, monkeypatch):
    start = multiprocessing.context.ForkProcess.start

    def refuse_the_exporter(process):
        if process.name.startswith("flowc:save:"):
            raise OSError("Resource temporarily unavailable")
        start(process)

    monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", refuse_the_exporter)
    result = run(
        _chain(tmp_path, "workers:identity", n=10**6), start_method="fork", raise_on_failure=False
    )
    assert (result.exit, result.failure.worker) == (1, "save")
    assert "could not be started" in result.failure.message
