"""The run handle: live statistics, pause and resume, stop with and without drain, wait,
the context manager, and control from a second thread."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from control_helpers import collected, descendants, endless_plan, finite_plan

from flowc.runtime import RunError


def events_saved(handle) -> int:
    return handle.stats()["workers"]["save"]["events_in"]


def settled(handle, quiet_for: float = 0.3, limit: float = 10.0) -> int:
    """The exporter's count once it has not changed for `quiet_for` seconds."""
    deadline = time.monotonic() + limit
    last = events_saved(handle)
    while time.monotonic() < deadline:
        time.sleep(quiet_for)
        now = events_saved(handle)
        if now == last:
            return now
        last = now
    raise AssertionError(f"the counters still grow after {limit} s")


def grows(handle, than: int, limit: float = 10.0) -> int:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        now = events_saved(handle)
        if now > than:
            return now
        time.sleep(0.05)
    raise AssertionError(f"the counters stayed at {than} for {limit} s")


def assert_gap_free(saved: dict[str, np.ndarray]) -> None:
    """The exporter got events 0..n-1, each once, in order: a prefix of the stream."""
    n = len(saved["x"])
    assert n > 0
    assert np.array_equal(saved["x"], np.arange(n))
    assert np.array_equal(saved["counter"], np.arange(n))


def test_pause_stops_the_counters_and_resume_restarts_them_with_nothing_lost(tmp_path):
    with endless_plan(tmp_path).start() as handle:
        grows(handle, 20)
        handle.pause()
        assert handle.paused
        paused_at = settled(handle)
        time.sleep(0.6)
        stats = handle.stats()
        assert stats["paused"] is True
        assert stats["workers"]["save"]["events_in"] == paused_at
        assert stats["workers"]["src"]["events_out"] == paused_at  # everything drained
        a = stats["buffers"]["a"]
        assert a["written"] == a["consumed"]["mid"] + a["dropped"] + a["left"]["mid"] == paused_at
        handle.resume()
        assert not handle.paused
        grows(handle, paused_at + 20)
        handle.stop(drain=True)
        result = handle.wait(20)
    assert result is not None and result.ok
    saved = collected(tmp_path)
    assert_gap_free(saved)
    assert len(saved["x"]) == result.stats["buffers"]["a"]["written"] > paused_at + 20
    # the pause is in the deadtime of the first event written after it
    assert saved["deadtime"][paused_at] >= 0.6
    assert saved["deadtime"][:paused_at].max() < 0.6
    source = result.stats["workers"]["src"]
    assert source["paused_s"] >= 0.6 and source["paused_s"] < source["wall_s"]


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_stop_with_drain_exports_a_gap_free_prefix_and_calls_finish(tmp_path, start_method):
    handle = endless_plan(tmp_path).start(start_method=start_method)
    grows(handle, 50)
    handle.stop()  # drain
    result = handle.wait(20)
    assert not handle.running
    assert result.ok and result.exit == 130 and result.stats["stopped"] == "interrupted"
    saved = collected(tmp_path)
    assert saved is not None, "finish() was not called"
    assert_gap_free(saved)
    buffers = result.stats["buffers"]
    assert len(saved["x"]) == buffers["a"]["written"] == buffers["b"]["consumed"]["save"]
    assert buffers["b"]["left"]["save"] == 0
    assert handle.stats() == result.stats


def test_stop_without_drain_ends_at_once(tmp_path):
    handle = endless_plan(tmp_path).start()
    grows(handle, 10)
    started = time.monotonic()
    handle.stop(drain=False)
    result = handle.wait(10)
    assert result is not None and time.monotonic() - started < 5
    assert result.exit == 130 and not result.ok
    assert collected(tmp_path) is None  # killed: finish() never ran


def test_the_handle_is_driven_from_a_second_thread(tmp_path):
    handle = endless_plan(tmp_path).start()
    seen: dict = {}

    def control():
        seen["running"] = handle.running
        grows(handle, 20)
        handle.pause()
        seen["paused_at"] = settled(handle)
        time.sleep(0.3)
        seen["still"] = events_saved(handle)
        handle.resume()
        grows(handle, seen["still"] + 10)
        handle.stop()
        seen["result"] = handle.wait(20)

    thread = threading.Thread(target=control)
    thread.start()
    result = handle.wait(30)
    thread.join(30)
    assert seen["running"] is True
    assert seen["still"] == seen["paused_at"]
    assert seen["result"] is result and result.ok
    assert_gap_free(collected(tmp_path))


def test_stats_while_running_keep_the_stats_schema(tmp_path):
    with endless_plan(tmp_path).start() as handle:
        grows(handle, 5)
        stats = handle.stats()
        assert handle.running
    assert stats["exit"] is None and stats["stopped"] is None and stats["paused"] is False
    assert set(stats) >= {"pipeline", "elapsed", "exit", "stopped", "buffers", "workers"}
    assert set(stats["buffers"]["a"]) == {"written", "dropped", "consumed", "left"}
    for key in ("kind", "events_in", "events_out", "errors", "wall_s", "cpu_s"):
        assert key in stats["workers"]["mid"]
    a = stats["buffers"]["a"]
    # counters are read one after another while the workers go on: only a paused (settled)
    # run balances exactly (see the pause test)
    assert a["written"] >= 5 and a["consumed"]["mid"] >= 5


def test_wait_with_a_timeout_returns_none_while_running(tmp_path):
    with endless_plan(tmp_path).start() as handle:
        assert handle.wait(0.2) is None
        assert handle.running and handle.result is None


def test_leaving_the_block_stops_the_run_even_on_an_exception(tmp_path):
    with pytest.raises(KeyError), endless_plan(tmp_path).start() as handle:
        grows(handle, 5)
        raise KeyError("the caller's own error")
    assert not handle.running
    assert handle.result.exit == 130
    assert descendants() == []


def test_a_run_that_ends_by_itself_completes(tmp_path):
    handle = finite_plan(tmp_path, n=300).start()
    result = handle.wait(30)
    assert result.ok and result.exit == 0 and result.stats["stopped"] == "completed"
    assert "paused_s" not in result.stats["workers"]["src"]  # the schema of a run never paused
    assert len(collected(tmp_path)["x"]) == 300
    handle.pause()  # too late: nothing happens
    handle.stop()
    assert handle.wait(0) is result


def test_a_failed_worker_is_in_the_result_and_run_still_raises(tmp_path):
    plan = finite_plan(tmp_path, n=100, fail_at=30)
    with plan.start() as handle:
        result = handle.wait(30)
    assert result.exit == 1 and result.failure.worker == "mid"
    assert "bad event 30" in result.failure.message
    with pytest.raises(RunError) as raised:
        plan.run(timeout=30)
    assert raised.value.result.failure.worker == "mid"


def test_a_stop_while_paused_drains_and_ends(tmp_path):
    with endless_plan(tmp_path).start() as handle:
        grows(handle, 10)
        handle.pause()
        time.sleep(0.2)
        handle.stop()
        result = handle.wait(10)
    assert result is not None and result.ok
    assert_gap_free(collected(tmp_path))


def test_a_negative_timeout_is_refused(tmp_path):
    with pytest.raises(ValueError, match="timeout"):
        endless_plan(tmp_path).start(timeout=-1)


def test_the_timeout_counts_from_the_start(tmp_path):
    started = time.monotonic()
    with endless_plan(tmp_path).start(timeout=0.5) as handle:
        result = handle.wait(20)
    assert result.stats["stopped"] == "timeout" and result.exit == 0
    assert time.monotonic() - started < 10
    assert_gap_free(collected(tmp_path))


def test_ctrl_c_drains_a_started_run_and_is_given_back_after(tmp_path):
    import os
    import signal

    before = signal.getsignal(signal.SIGINT)
    with endless_plan(tmp_path).start() as handle:
        grows(handle, 10)
        os.kill(os.getpid(), signal.SIGINT)
        result = handle.wait(20)
    assert result.stats["stopped"] == "interrupted" and result.ok
    assert_gap_free(collected(tmp_path))
    assert signal.getsignal(signal.SIGINT) is before


def test_two_runs_at_once_each_give_back_what_they_took(tmp_path):
    import os
    import signal

    before = signal.getsignal(signal.SIGINT)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = endless_plan(tmp_path / "one").start()
    second = endless_plan(tmp_path / "two").start()
    first.stop()
    assert first.wait(20).stats["stopped"] == "interrupted"
    grows(second, 5)
    os.kill(os.getpid(), signal.SIGINT)  # still the second run's Ctrl-C
    assert second.wait(20).stats["stopped"] == "interrupted"
    assert signal.getsignal(signal.SIGINT) is before


def test_ctrl_c_after_a_run_not_waited_for_is_the_callers_again(tmp_path):
    import os
    import signal

    handle = finite_plan(tmp_path, n=20).start()
    deadline = time.monotonic() + 20
    while handle.running and time.monotonic() < deadline:
        time.sleep(0.02)  # not wait(): the run's handler stays installed
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert handle.wait(0).ok


def test_start_on_an_unknown_backend_is_refused(tmp_path):
    # (backend="ray" starts on a Ray cluster: tests/raybackend, in a loopback-only namespace)
    with pytest.raises(ValueError, match="unknown backend 'dask'"):
        endless_plan(tmp_path).start(backend="dask")


def test_a_run_that_cannot_start_ends_at_once_with_its_failure(tmp_path):
    from runtime_plans import buffer, make_plan, worker

    plan = make_plan(
        [buffer("a")],
        [
            worker("src", "importer", "gen", outputs=["a"]),
            worker("save", "exporter", "control_workers:Collect", ["a"], args={"path": "x"}),
        ],
        functions={"gen": lambda: iter(())},  # cannot be sent to a spawned process
    )
    with plan.start(start_method="spawn") as handle:
        assert not handle.running
        result = handle.wait(0)
    assert result.exit == 1 and result.failure.worker == "src"
    assert handle.stats()["stopped"] == "failed"
