"""Faults an operator or a fault injector meets (SPEC sections 4 and 5: Stopping, Failure,
Hygiene, exit codes): real `flowc run` processes, each in a session of its own, signalled as a
whole process group or as the supervisor alone; the events exported are counted against
`written`, and after every run no process of its session and no name of it in /dev/shm is left.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import psutil
import pytest
from runtime_plans import HERE, assert_accounted

pytestmark = pytest.mark.runtime
WORKERS = os.path.join(HERE, "fault_workers.py")
METHODS = ["fork", "forkserver", "spawn"]

ENDLESS = """
pipeline endless
buffer a : {x: i8} slots=8
buffer b : {x: i8} slots=8
importer  src  = W:count_forever(delay=0.0005, marker="started") -> a
processor mid  = W:identity() a -> b
exporter  save = W:Save(path="out") b
"""

# draining a full buffer takes seconds: a second signal finds the run still draining
SLOW_DRAIN = """
pipeline slow
buffer a : {x: i8} slots=64
importer  src  = W:count_forever(marker="started") -> a
exporter  save = W:Save(path="out", delay=0.05) a
"""


class FlowcRun:
    """One `flowc run` in a session of its own (its pid is its process group's and session's)."""

    def __init__(self, folder, text: str, *options: str, method: str = "fork", env=None):
        self.folder = folder
        (folder / "x.flow").write_text(text.replace("W:", f'"{WORKERS}":'))
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flowc", "run", "x.flow", "--stats", "s.json", *options],
            cwd=folder,
            start_new_session=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "FLOWC_START_METHOD": method, **(env or {})},
        )
        self.pid = self.process.pid

    def wait_for(self, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not (self.folder / name).exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise AssertionError(f"no {name}: {self.process.communicate()}")
            time.sleep(0.02)

    def wait_for_stop_signals(self, timeout: float = 60) -> float:
        """Wait until flowc has taken SIGHUP (it takes the stop signals together); seconds since
        the start."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{self.pid}/status") as status:
                    caught = next(x for x in status if x.startswith("SigCgt:")).split()[1]
            except (OSError, StopIteration):
                caught = "0"
            if int(caught, 16) & (1 << (signal.SIGHUP - 1)):
                return time.monotonic() - self.started
            time.sleep(0.002)
        raise AssertionError("flowc never took SIGHUP")

    def signal(self, signum, group: bool = True) -> None:
        if group:
            os.killpg(self.pid, signum)
        else:
            os.kill(self.pid, signum)

    def finish(self, timeout: float = 60):
        out, err = self.process.communicate(timeout=timeout)
        self.err = err
        return self.process.returncode, err

    def stats(self) -> dict:
        return json.loads((self.folder / "s.json").read_text())

    def exported(self) -> list[int]:
        return np.load(self.folder / "out.npy").tolist()

    def assert_left_nothing(self) -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (_session(self.pid) or _names_of(self.pid)):
            time.sleep(0.05)
        assert _session(self.pid) == [], "processes of the run's session are left"
        assert _names_of(self.pid) == [], "names of the run are left in /dev/shm"
        assert "Traceback" not in self.err and "KeyboardInterrupt" not in self.err, self.err


def _session(sid: int) -> list[int]:
    found = []
    for pid in psutil.pids():
        try:
            if os.getsid(pid) == sid and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                found.append(pid)
        except (OSError, psutil.Error):
            pass
    return found


def _names_of(pid: int) -> list[str]:
    return [n for n in os.listdir("/dev/shm") if f"flowc_{pid}_" in n]


def _drained_exactly(run: FlowcRun) -> dict:
    """The run drained after a signal: 130, `interrupted`, every event written was exported."""
    code, err = run.finish()
    assert code == 130, err
    stats = run.stats()
    assert (stats["exit"], stats["stopped"], stats["failure"]) == (130, "interrupted", None)
    exported = run.exported()
    assert len(exported) > 50 and exported == list(range(len(exported)))
    assert stats["buffers"]["b"]["written"] == len(exported)
    assert_accounted(stats)
    run.assert_left_nothing()
    return stats


# --- 1, 2: a stop signal to the whole group, SIGHUP -------------------------------------------


@pytest.mark.parametrize(
    "method, signum, group",
    [
        ("fork", signal.SIGTERM, True),
        ("forkserver", signal.SIGTERM, True),
        ("spawn", signal.SIGTERM, True),
        ("forkserver", signal.SIGINT, True),
        ("spawn", signal.SIGHUP, True),
        ("fork", signal.SIGHUP, False),
    ],
)
def test_a_stop_signal_to_the_whole_group_drains_like_one_to_the_supervisor(
    tmp_path, method, signum, group
):
    run = FlowcRun(tmp_path, ENDLESS, "--quiet", method=method)
    run.wait_for("started")
    time.sleep(0.2)
    run.signal(signum, group)
    assert _drained_exactly(run)["start_method"] == method


# --- 3: a second signal, at any time -----------------------------------------------------------


@pytest.mark.parametrize("gap", [0.05, 0.1, 0.15])
def test_a_second_signal_ends_the_run_with_130_and_its_statistics(tmp_path, gap):
    run = FlowcRun(tmp_path, SLOW_DRAIN, "--quiet", "--report", "r.html")
    run.wait_for("started")
    run.signal(signal.SIGTERM)
    time.sleep(gap)
    run.signal(signal.SIGINT)
    code, err = run.finish()
    assert code == 130, err
    assert (run.stats()["exit"], run.stats()["stopped"]) == (130, "interrupted")
    assert (tmp_path / "r.html").stat().st_size > 0
    run.assert_left_nothing()


@pytest.mark.parametrize("method", ["fork", "spawn"])
@pytest.mark.parametrize("second", [None, 0.1])
def test_ctrl_c_while_flowc_starts_is_no_traceback_and_still_ends_with_statistics(
    tmp_path, method, second
):
    """From the moment flowc has taken the stop signals (while numpy and the compiler load,
    before any worker runs) a Ctrl-C is the run's first: it starts, drains at once, 130."""
    run = FlowcRun(tmp_path, ENDLESS, "--quiet", method=method)
    run.wait_for_stop_signals()
    run.signal(signal.SIGINT)
    if second is not None:
        time.sleep(second)
        run.signal(signal.SIGINT)
    code, err = run.finish()
    assert code == 130, err
    assert run.stats()["stopped"] == "interrupted"
    run.assert_left_nothing()


def test_a_second_signal_interrupts_a_worker_module_hanging_in_its_import(tmp_path):
    """Before the run starts there is nothing to drain: the first signal is kept for the run,
    the second ends flowc at once (a module that waits for hardware at import, say)."""
    (tmp_path / "hangs.py").write_text("import time\ntime.sleep(600)\ndef f(data):\n    pass\n")
    text = ENDLESS.replace('W:Save(path="out")', '"hangs.py":f()')
    run = FlowcRun(tmp_path, text, "--quiet")
    run.wait_for_stop_signals()
    time.sleep(0.5)
    run.signal(signal.SIGINT)
    time.sleep(0.2)
    assert run.process.poll() is None  # the first is kept for the run
    run.signal(signal.SIGINT)
    code, err = run.finish(timeout=10)
    assert code == 130 and "interrupted before the run started" in err, err
    assert (run.stats()["stopped"], run.stats()["workers"]) == ("interrupted", {})
    run.assert_left_nothing()


# --- 4: the drain is bounded; observers never hold a run up ------------------------------------

HANGS = """
pipeline hangs
buffer a : {x: i8} slots=8
buffer b : {x: i8} slots=8
importer  src  = W:count_forever(delay=0.0005) -> a
processor mid  = W:hang(at=20, marker="stuck") a -> b
exporter  save = W:Save(path="out") b
"""


@pytest.mark.parametrize("stop", ["timeout", "signal"])
def test_a_worker_still_running_after_the_drain_timeout_is_killed_and_named(tmp_path, stop):
    options = ["--quiet", "--drain-timeout", "1"]
    if stop == "timeout":
        options += ["--timeout", "0.5"]
    run = FlowcRun(tmp_path, HANGS, *options)
    run.wait_for("stuck")
    if stop == "signal":
        run.signal(signal.SIGINT)
    asked = time.monotonic()
    code, err = run.finish()
    assert 0.9 < time.monotonic() - asked < 5
    assert code == 1, err
    assert "worker `mid`" in err and "still running 1 s after the run was asked to stop" in err
    stats = run.stats()
    assert (stats["stopped"], stats["failure"]["worker"]) == ("failed", "mid")
    run.assert_left_nothing()


STUCK_OBSERVER = """
pipeline stuck
buffer a : {x: i8} slots=8
importer  src  = W:count(n=300) -> a
exporter  save = W:Save(path="out") a
observer  look = W:StuckObserver() observes a
"""


def test_an_observer_stuck_in_its_code_does_not_hold_the_run_up(tmp_path):
    run = FlowcRun(tmp_path, STUCK_OBSERVER, "--quiet")
    code, err = run.finish(timeout=30)
    assert code == 0, err
    assert time.monotonic() - run.started < 15
    stats = run.stats()
    assert (stats["stopped"], stats["failure"]) == ("completed", None)
    look = stats["workers"]["look"]
    assert look["seen"] >= 1 and look["seen"] + look["skipped"] == 300
    assert run.exported() == list(range(300))
    run.assert_left_nothing()


def test_an_observer_in_its_finish_is_not_cut_short(tmp_path):
    """Stopping observers a second after the others finished must not lose what their
    `finish()` writes (a histogram's picture)."""
    text = STUCK_OBSERVER.replace("StuckObserver()", 'SlowFinish(path="seen.txt", seconds=2.5)')
    run = FlowcRun(tmp_path, text, "--quiet")
    code, err = run.finish(timeout=30)
    assert code == 0, err
    assert int((tmp_path / "seen.txt").read_text()) == run.stats()["workers"]["look"]["seen"]
    run.assert_left_nothing()


@pytest.mark.parametrize("value", ["nan", "0", "-1", "inf", "soon"])
def test_drain_timeout_is_checked_like_timeout(tmp_path, value):
    run = FlowcRun(tmp_path, ENDLESS, "--drain-timeout", value)
    code, err = run.finish()
    assert code == 2 and "--drain-timeout" in err, err


def test_the_python_api_checks_timeouts_too():
    from runtime_plans import buffer, make_plan, worker

    from flowc.runtime import run as run_plan

    plan = make_plan(
        [buffer("a")],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 3}),
            worker("save", "exporter", "workers:identity", ["a"]),
        ],
    )
    for options in ({"timeout": math.nan}, {"drain_timeout": math.nan}, {"drain_timeout": 0}):
        with pytest.raises(ValueError, match="seconds"):
            run_plan(plan, **options)
    assert run_plan(plan, drain_timeout=2.5).exit == 0


# --- 5: what the workers' code started never outlives the run ----------------------------------


def _children_flow(seconds: str, finite: bool, failing: bool) -> str:
    source = "count(n=300)" if finite else 'count_forever(delay=0.001, marker="started")'
    tail = (
        'processor bad = W:fail_at(at=150) b -> c\nexporter save = W:Save(path="out") c'
        if failing
        else 'exporter save = W:Save(path="out") b'
    )
    return (
        "pipeline children\nbuffer a : {x: i8} slots=8\nbuffer b : {x: i8} slots=8\n"
        "buffer c : {x: i8} slots=8\n"
        f"importer src = W:{source} -> a\n"
        f'processor kids = W:StartsChildren(seconds="{seconds}", marker="kids") a -> b\n'
        f"{tail}\n"
    )


def _sleepers(seconds: str) -> list[int]:
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        if process.info["cmdline"] == ["sleep", seconds]:
            if process.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(process.pid)
    return found


@pytest.mark.parametrize(
    "method, outcome, expected",
    [
        ("fork", "completed", 0),
        ("spawn", "drained", 130),
        ("forkserver", "failed", 1),
        ("fork", "killed", 130),
        ("spawn", "worker killed from outside", 1),
        ("forkserver", "supervisor killed", -9),
    ],
)
def test_processes_the_workers_code_started_never_outlive_the_run(
    tmp_path, method, outcome, expected
):
    """A child, a child in a session of its own and one with an empty environment."""
    seconds = f"{1000 + os.getpid() % 1000}.{len(outcome)}{METHODS.index(method)}"
    text = _children_flow(seconds, outcome == "completed", outcome == "failed")
    run = FlowcRun(tmp_path, text, "--quiet", method=method)
    run.wait_for("kids")
    if outcome in ("drained", "killed", "supervisor killed", "worker killed from outside"):
        run.wait_for("started")
    if outcome == "drained":
        run.signal(signal.SIGTERM)
    elif outcome == "killed":  # a second signal: every worker is SIGKILLed
        run.signal(signal.SIGTERM, group=False)
        run.signal(signal.SIGTERM, group=False)
    elif outcome == "supervisor killed":
        run.signal(signal.SIGKILL, group=False)
    elif outcome == "worker killed from outside":  # as the OOM killer would: no worker cleans up
        first = int((tmp_path / "kids").read_text().split()[0])
        os.kill(psutil.Process(first).ppid(), signal.SIGKILL)
    code, err = run.finish()
    assert code == expected, err
    started = [int(pid) for pid in (tmp_path / "kids").read_text().split()]
    assert len(started) == 3
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _sleepers(seconds):
        time.sleep(0.05)
    assert _sleepers(seconds) == []
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in started)
    if outcome in ("failed", "supervisor killed", "worker killed from outside"):
        run.err = ""  # the failure's own traceback
    run.assert_left_nothing()


# --- 6: stale-name cleanup across PID namespaces -----------------------------------------------


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare"
)
def test_a_live_run_in_another_pid_namespace_keeps_its_shared_memory(tmp_path):
    """This process holds a run's lock, as a live supervisor does; a run started in a new PID
    namespace (where this pid is nobody, or somebody else) must leave its names alone, and
    remove those of a run whose lock is free."""
    from flowc.runtime.shm import RunLock, run_prefix

    live, dead = run_prefix(), run_prefix().replace("flowc_", "flowc_9")
    lock = RunLock(live)
    names = [f"/dev/shm/{live}_b0", f"/dev/shm/sem.{live}_l0", f"/dev/shm/{dead}_b0"]
    for name in names:
        with open(name, "wb") as out:
            out.write(b"x")
    (tmp_path / "small.flow").write_text(
        "pipeline small\nbuffer a : {x: i8} slots=4\n"
        f'importer src = "{WORKERS}":count(n=10) -> a\n'
        f'exporter save = "{WORKERS}":Save(path="out") a\n'
    )
    try:
        done = subprocess.run(
            ["unshare", "--pid", "--fork", "--mount-proc"]
            + [sys.executable, "-m", "flowc", "run", "small.flow", "--quiet"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0 and "unshare" in done.stderr:
            pytest.skip(f"cannot make a PID namespace here: {done.stderr.strip()}")
        assert done.returncode == 0, done.stderr
        assert [os.path.exists(n) for n in names] == [True, True, False]
    finally:
        lock.release()
        for name in names:
            if os.path.exists(name):
                os.unlink(name)


def test_a_run_lock_is_taken_and_released_by_every_run(tmp_path):
    from flowc.runtime.shm import RunLock, remove_stale, run_prefix

    prefix = run_prefix()
    lock = RunLock(prefix)
    segment = f"/dev/shm/{prefix}_b0"
    open(segment, "wb").close()
    assert remove_stale() == [] or segment not in remove_stale()
    assert os.path.exists(segment) and os.path.exists(lock.path)
    lock.release()
    assert not os.path.exists(lock.path)
    assert f"{prefix}_b0" in remove_stale() and not os.path.exists(segment)


# --- combine(values): one result from N processes ----------------------------------------------

COMBINED = """
pipeline combined
buffer a : {x: i8} slots=8
importer  src  = W:count(n=1000) -> a
exporter  sum  = W:Partial(path="combined.txt", fail=FAIL) a processes=2
"""


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_combine_gets_every_processs_finish_value_once_in_the_supervisor(tmp_path, method):
    run = FlowcRun(tmp_path, COMBINED.replace("FAIL", "false"), "--quiet", method=method)
    code, err = run.finish()
    assert code == 0, err
    pid, total, count = (tmp_path / "combined.txt").read_text().split()
    assert (int(pid), int(total), int(count)) == (run.pid, sum(range(1000)), 2)
    run.assert_left_nothing()


def test_a_failing_combine_fails_the_run_naming_the_worker(tmp_path):
    run = FlowcRun(tmp_path, COMBINED.replace("FAIL", "true"), "--quiet")
    code, err = run.finish()
    assert code == 1
    assert "worker `sum`" in err and "combine() raised RuntimeError: combine was asked" in err
    assert run.stats()["failure"]["worker"] == "sum"


# --- 7: E304 counts the cgroup's memory limit ---------------------------------------------------


def _fake_cgroups(root, listing: str, files: dict[str, str]) -> str:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "self_cgroup").write_text(listing)
    return str(root / "self_cgroup")


def test_the_cgroup_memory_limit_is_read_for_v2_and_v1(tmp_path):
    from flowc.sema.checks import cgroup_memory_room

    v2 = tmp_path / "v2"
    listing = _fake_cgroups(
        v2,
        "0::/box/run\n",
        {
            "box/memory.max": "800000000\n",
            "box/memory.current": "100000000\n",
            "box/run/memory.max": "max\n",
            "box/run/memory.current": "5\n",
        },
    )
    assert cgroup_memory_room(str(v2), listing) == (
        700_000_000,
        800_000_000,
        str(v2 / "box/memory.max"),
    )
    v1 = tmp_path / "v1"
    listing = _fake_cgroups(
        v1,
        "12:pids:/a\n4:memory:/docker/abc\n0::/\n",
        {
            "memory/docker/abc/memory.limit_in_bytes": "536870912\n",
            "memory/docker/abc/memory.usage_in_bytes": "0\n",
            "memory/memory.limit_in_bytes": "9223372036854771712\n",
        },
    )
    assert cgroup_memory_room(str(v1), listing)[:2] == (536_870_912, 536_870_912)
    none = tmp_path / "none"
    listing = _fake_cgroups(none, "0::/\n", {"memory.max": "max\n"})
    assert cgroup_memory_room(str(none), listing) is None
    assert cgroup_memory_room(str(none), str(tmp_path / "missing")) is None


def test_e304_names_the_cgroup_limit_when_it_is_below_free_shared_memory(tmp_path, monkeypatch):
    from flowc import compile_source
    from flowc.diagnostics import FlowError
    from flowc.sema import checks

    root = tmp_path / "cg"
    listing = _fake_cgroups(root, "0::/\n", {"memory.max": "800000000\n", "memory.current": "0\n"})
    monkeypatch.setattr(checks, "CGROUP_ROOT", str(root))
    monkeypatch.setattr(checks, "PROC_CGROUP", listing)
    text = (
        "pipeline big\nbuffer a : f8[1000000] slots=200\n"  # 1.5 GiB
        f'importer src = "{WORKERS}":count(n=1) -> a\n'
        f'exporter save = "{WORKERS}":identity() a\n'
    )
    with pytest.raises(FlowError) as caught:
        compile_source(text)
    (e304,) = [d for d in caught.value.diagnostics if d.code == "E304"]
    assert "memory limit of this process's cgroup" in e304.message and "762.9 MiB" in e304.message


# --- 8: exit codes ------------------------------------------------------------------------------

FINITE = """
pipeline finite
buffer a : {x: i8} slots=8
importer  src  = W:count(n=100) -> a
exporter  save = W:Save(path="out") a
"""


@pytest.mark.parametrize("option", ["--stats", "--report"])
def test_an_output_that_cannot_be_written_is_one_line_and_exit_1(tmp_path, option):
    run = FlowcRun(tmp_path, FINITE, option, "/dev/full")
    code, err = run.finish()
    assert code == 1, err
    assert "Traceback" not in err and "internal error" not in err
    errors = [line for line in err.splitlines() if line.startswith("flowc: error:")]
    assert len(errors) == 1 and "/dev/full" in errors[0], err
    assert "pipeline finite: completed" in err  # the summary still tells the run's outcome
    assert run.exported() == list(range(100))


def test_a_bad_start_method_setting_is_a_usage_error(tmp_path):
    run = FlowcRun(tmp_path, FINITE, "--quiet", method="bogus")
    code, err = run.finish()
    assert code == 2 and "FLOWC_START_METHOD='bogus'" in err, err


def test_a_worker_module_that_exits_at_import_is_an_error_not_a_silent_success(tmp_path):
    (tmp_path / "quits.py").write_text("import os\nos._exit(0)\ndef f(data):\n    return data\n")
    (tmp_path / "folder.py").mkdir()
    for worker, expected in (('"quits.py":f', "os._exit(0)"), ('"folder.py":f', "is a directory")):
        text = FINITE.replace('W:Save(path="out")', worker + "()")
        for command in ("check", "run"):
            (tmp_path / "x.flow").write_text(text.replace("W:", f'"{WORKERS}":'))
            done = subprocess.run(
                [sys.executable, "-m", "flowc", command, "x.flow"],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 1, (command, done.stderr)
            assert "E108" in done.stderr and expected in done.stderr


# --- 12: a RunHandle dropped without wait() -------------------------------------------------------


def test_a_dropped_run_handle_is_stopped_with_a_resource_warning(tmp_path):
    from runtime_plans import buffer, make_plan, worker

    from flowc.runtime import start

    plan = make_plan(
        [buffer("a", slots=4)],
        [
            worker("src", "importer", "workers:count_forever", outputs=["a"]),
            worker(
                "save", "exporter", "workers:Collect", ["a"], args={"path": str(tmp_path / "o")}
            ),
        ],
    )
    before = signal.getsignal(signal.SIGINT)
    handle = start(plan, start_method="fork")
    run = handle._run
    pids = [c.process.pid for c in handle._supervisor.children]
    assert signal.getsignal(signal.SIGINT) is not before  # the run's while it goes on
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del handle
    assert [w.category for w in caught] == [ResourceWarning]
    assert "dropped while its run goes on" in str(caught[0].message)
    assert signal.getsignal(signal.SIGINT) is before  # the program's next Ctrl-C is its own
    assert run.done.wait(15)
    assert run.result.stats["stopped"] == "interrupted" and run.result.failure is None
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids)
