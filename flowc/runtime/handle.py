"""A run under way: `RunHandle`, returned by `Plan.start()`, with live statistics, pause,
resume, stop and wait; every method is safe to call from any thread.

The calling thread sets up the shared memory and starts the worker processes (so fork copies
no thread of ours); a background thread then watches the run to its end and cleans up. That
thread holds the run (`_Run`), never the handle: a handle dropped without `wait()` is
collected like an unclosed file, with a ResourceWarning, and its run is stopped (drained).
"""

from __future__ import annotations

import atexit
import copy
import os
import sys
import threading
import warnings

from flowc.plan import Plan
from flowc.runtime.collect import conclude
from flowc.runtime.result import RunError, RunResult
from flowc.runtime.stopping import DRAIN_TIMEOUT_S, check_seconds
from flowc.runtime.supervisor import Supervisor, choose_start_method

# when the interpreter exits during a run, the run gets this long to stop (seconds)
EXIT_STOP_S = 10.0


class RunHandle:
    """A run of a plan on the local runtime, started and not yet waited for.

    Options as `run` (timeout counts from the start), plus `view`: anything
    with show(snapshot) and close() to show the run live (default: none when `quiet`, else
    the live view or status line on stderr); and `server`: the run's live page (built by
    `flowc.serve` in the front door), started once the workers are, serving until the run's end
    plus its linger; leaving the `with` block waits for it to stop.

    When started from the main thread, Ctrl-C, SIGTERM and SIGHUP keep their meaning while
    the run goes on: the first drains the graph, the second stops it at once; `wait()` (or
    leaving the `with` block) gives them back. A handle dropped while its run goes on is
    stopped when collected (drained, as by `stop()`), with a ResourceWarning, and gives the
    signals back at once: the program's next Ctrl-C is its own.
    """

    def __init__(
        self,
        plan: Plan,
        *,
        timeout: float | None = None,
        drain_timeout: float = DRAIN_TIMEOUT_S,
        start_method: str | None = None,
        quiet: bool = True,
        stats_path: str | os.PathLike | None = None,
        view=None,
        server=None,
    ):
        method = choose_start_method(start_method)
        timeout = check_seconds(timeout, "timeout")
        drain_timeout = check_seconds(drain_timeout, "drain_timeout", zero=False)
        if view is None and not quiet:
            from flowc.runtime.live import open_view

            view = open_view(sys.stderr)
        self.plan = plan
        self._view = _KeepsLatest(view)
        self.server = server
        live_dir = None if server is None else server.live_dir
        self._supervisor = Supervisor(
            plan, method, view=self._view, live_dir=live_dir, drain_timeout=drain_timeout
        )
        self._run = _Run(self._supervisor, quiet, stats_path)
        early = self._supervisor.start()
        if server is not None:  # after the workers started: fork copies no server thread
            server.start(self)
        if early is not None:
            self._run.conclude(early)
            return
        atexit.register(self._run.stop_at_exit)
        threading.Thread(
            target=self._run.watch, args=(timeout,), name=f"flowc run {plan.name}", daemon=True
        ).start()

    # --- control -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True until the run has ended and its result is ready."""
        return not self._run.done.is_set()

    @property
    def paused(self) -> bool:
        return self._supervisor.paused and self.running

    @property
    def stopping(self) -> bool:
        """True once the run was asked to stop (by `stop`, a signal, its timeout or a failure)."""
        supervisor = self._supervisor
        return supervisor.stop_requested or supervisor.stop_asked > 0 or supervisor.killed

    def pause(self) -> None:
        """Importers stop producing before their next event; the rest of the graph drains.
        The time paused counts in the deadtime of each importer's next event."""
        self._supervisor.set_paused(True)

    def resume(self) -> None:
        """Importers go on producing."""
        self._supervisor.set_paused(False)

    def stop(self, drain: bool = True) -> None:
        """drain=True: as the first Ctrl-C, the importers stop and the graph drains (no event
        already accepted is lost, `finish()` is called); drain=False: as the second, every
        process is stopped at once. Returns at once; `wait` for the result."""
        if self.running:
            self._supervisor.ask_to_stop(drain)

    def wait(self, timeout: float | None = None) -> RunResult | None:
        """The run's result once it has ended; None if it is still running after `timeout`
        seconds. A failed worker is in the result (`failure`); nothing is raised for it."""
        run = self._run
        if not run.done.wait(timeout):
            return None
        self._release_signals()
        if run.error is not None:
            raise run.error
        return run.result

    @property
    def result(self) -> RunResult | None:
        """The result once the run has ended, else None."""
        return self._run.result if self._run.done.is_set() else None

    def stats(self) -> dict:
        """The statistics document (the `--stats` schema) as of now. While the run goes on,
        `exit` is None, `stopped` is None or why it is stopping, and `paused` says whether
        it is paused; once it has ended, the final document."""
        live = self._supervisor.live_stats()
        if live is not None:
            return live
        run = self._run
        run.done.wait()
        if run.result is None:
            raise RuntimeError("the run ended without a result") from run.error
        return copy.deepcopy(run.result.stats)

    def snapshot(self):
        """The monitor's latest `Snapshot` (rates, fill levels, busy shares), or None before
        the first one."""
        return self._view.latest

    # --- context manager and display ---------------------------------------------------------

    def __enter__(self) -> RunHandle:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.running:
            self.stop(drain=False)
        self._run.done.wait()
        self._release_signals()
        if self.server is not None:  # its linger ends it; an error here, at once
            self.server.wait_closed() if exc_type is None else self.server.close()
        if exc_type is None and self._run.error is not None:
            raise self._run.error

    def __del__(self) -> None:
        run = getattr(self, "_run", None)
        if run is None or sys.is_finalizing():  # __init__ raised; at exit, stop_at_exit stops it
            return
        if not run.done.is_set():
            warnings.warn(
                f"{self!r} was dropped while its run goes on: stopping it (the graph drains); "
                "call wait() or use `with`",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )
            self._supervisor.ask_to_stop(True)
        self._release_signals()

    def __repr__(self) -> str:
        if self.running:
            state = "paused" if self.paused else ("stopping" if self.stopping else "running")
        else:
            result = self._run.result
            state = f"ended, exit {result.exit}" if result else "ended"
        return f"<RunHandle {self.plan.name or '(unnamed)'}: {state}>"

    def _repr_html_(self) -> str:
        from flowc.render.notebook import handle_html

        return handle_html(self)

    def _release_signals(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._supervisor.restore_signal_handlers()


class _Run:
    """A run as its background thread sees it: the supervisor and, once it has ended, the
    result (or the error of ours that ended it). Holds no reference to the handle."""

    def __init__(self, supervisor: Supervisor, quiet: bool, stats_path):
        self.supervisor = supervisor
        self.quiet = quiet
        self.stats_path = stats_path
        self.done = threading.Event()
        self.result: RunResult | None = None
        self.error: BaseException | None = None

    def watch(self, timeout: float | None) -> None:
        try:
            result = self.supervisor.watch(timeout)
        except BaseException as exc:  # a bug of ours: handed to whoever waits
            self.error = exc
            self.done.set()
            return
        self.conclude(result)

    def conclude(self, result: RunResult) -> None:
        try:
            supervisor = self.supervisor
            self.result = conclude(
                result,
                supervisor.plan,
                supervisor.monitor,
                quiet=self.quiet,
                stats_path=self.stats_path,
            )
        except BaseException as exc:
            self.error = exc
        finally:
            atexit.unregister(self.stop_at_exit)
            self.done.set()

    def stop_at_exit(self) -> None:
        if not self.done.is_set():
            self.supervisor.ask_to_stop(False)
            self.done.wait(EXIT_STOP_S)


class _KeepsLatest:
    """A view for the run's monitor: keeps its latest snapshot and passes each on to `view`."""

    def __init__(self, view=None):
        self.view = view
        self.latest = None

    def show(self, snapshot) -> None:
        self.latest = snapshot
        if self.view is not None:
            self.view.show(snapshot)

    def close(self) -> None:
        if self.view is not None:
            self.view.close()


def run(
    plan: Plan,
    *,
    timeout: float | None = None,
    drain_timeout: float = DRAIN_TIMEOUT_S,
    start_method: str | None = None,
    quiet: bool = True,
    stats_path: str | os.PathLike | None = None,
    raise_on_failure: bool = True,
    server=None,
) -> RunResult:
    """Run `plan` until every worker has finished, a worker failed, or the run was stopped.

    timeout:          seconds; then the importers stop and the graph drains (exit 0)
    drain_timeout:    seconds a worker may still run after the run was asked to stop (by the
                      timeout, a signal or the handle); then it is killed and named (exit 1)
    start_method:     "fork", "forkserver" or "spawn" (default: see the module docstring)
    quiet:            False shows the run live on stderr (`flowc.runtime.live`) and prints an
                      end-of-run summary there
    stats_path:       also write the statistics document there, as JSON
    raise_on_failure: raise RunError (holding the result) when a worker failed
    server:           the live page of the run (`flowc.serve`, given by the front door); the
                      run returns once it has stopped serving (its linger after the run)
    """
    with RunHandle(
        plan,
        timeout=timeout,
        drain_timeout=drain_timeout,
        start_method=start_method,
        quiet=quiet,
        stats_path=stats_path,
        server=server,
    ) as handle:
        result = handle.wait()
    if result.failure is not None and raise_on_failure:
        raise RunError(result)
    return result


def start(plan: Plan, **options) -> RunHandle:
    """Start running `plan` and return at once; see `RunHandle`."""
    return RunHandle(plan, **options)
