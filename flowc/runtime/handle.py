"""A run under way: `RunHandle`, returned by `Plan.start()`, with live statistics, pause,
resume, stop and wait; every method is safe to call from any thread.

The calling thread sets up the shared memory and starts the worker processes (so fork copies
no thread of ours); a background thread then watches the run to its end and cleans up.
"""

from __future__ import annotations

import atexit
import copy
import os
import sys
import threading

from flowc.plan import Plan
from flowc.runtime.result import RunResult
from flowc.runtime.supervisor import Supervisor, choose_start_method, conclude

# when the interpreter exits during a run, the run gets this long to stop (seconds)
EXIT_STOP_S = 10.0


class RunHandle:
    """A run of a plan on the local runtime, started and not yet waited for.

    Options as `flowc.runtime.run` (timeout counts from the start), plus `view`: anything
    with show(snapshot) and close() to show the run live (default: none when `quiet`, else
    the live view or status line on stderr); and `server`: the run's live page (built by
    `flowc.serve` in the front door), started once the workers are, serving until the run's end
    plus its linger; leaving the `with` block waits for it to stop.

    When started from the main thread, Ctrl-C and SIGTERM keep their meaning while the run
    goes on: the first drains the graph, the second stops it at once.
    """

    def __init__(
        self,
        plan: Plan,
        *,
        timeout: float | None = None,
        start_method: str | None = None,
        quiet: bool = True,
        stats_path: str | os.PathLike | None = None,
        view=None,
        server=None,
    ):
        method = choose_start_method(start_method)
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be 0 or more seconds, not {timeout}")
        if view is None and not quiet:
            from flowc.runtime.live import open_view

            view = open_view(sys.stderr)
        self.plan = plan
        self._quiet = quiet
        self._stats_path = stats_path
        self._done = threading.Event()
        self._result: RunResult | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._view = _KeepsLatest(view)
        self.server = server
        live_dir = None if server is None else server.live_dir
        self._supervisor = Supervisor(plan, method, view=self._view, live_dir=live_dir)
        early = self._supervisor.start()
        if server is not None:  # after the workers started: fork copies no server thread
            server.start(self)
        if early is not None:
            self._conclude(early)
            return
        atexit.register(self._stop_at_exit)
        self._thread = threading.Thread(
            target=self._watch, args=(timeout,), name=f"flowc run {plan.name}", daemon=True
        )
        self._thread.start()

    # --- control -----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True until the run has ended and its result is ready."""
        return not self._done.is_set()

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
        if not self._done.wait(timeout):
            return None
        self._release_signals()
        if self._error is not None:
            raise self._error
        return self._result

    @property
    def result(self) -> RunResult | None:
        """The result once the run has ended, else None."""
        return self._result if self._done.is_set() else None

    def stats(self) -> dict:
        """The statistics document (the `--stats` schema) as of now. While the run goes on,
        `exit` is None, `stopped` is None or why it is stopping, and `paused` says whether
        it is paused; once it has ended, the final document."""
        live = self._supervisor.live_stats()
        if live is not None:
            return live
        self._done.wait()
        if self._result is None:
            raise RuntimeError("the run ended without a result") from self._error
        return copy.deepcopy(self._result.stats)

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
        self._done.wait()
        self._release_signals()
        if self.server is not None:  # its linger ends it; an error here, at once
            self.server.wait_closed() if exc_type is None else self.server.close()
        if exc_type is None and self._error is not None:
            raise self._error

    def __repr__(self) -> str:
        if self.running:
            state = "paused" if self.paused else ("stopping" if self.stopping else "running")
        else:
            state = f"ended, exit {self._result.exit}" if self._result else "ended"
        return f"<RunHandle {self.plan.name or '(unnamed)'}: {state}>"

    def _repr_html_(self) -> str:
        from flowc.render.notebook import handle_html

        return handle_html(self)

    # --- the background thread ---------------------------------------------------------------

    def _watch(self, timeout: float | None) -> None:
        try:
            result = self._supervisor.watch(timeout)
        except BaseException as exc:  # a bug of ours: handed to whoever waits
            self._error = exc
            self._done.set()
            return
        self._conclude(result)

    def _conclude(self, result: RunResult) -> None:
        try:
            self._result = conclude(
                self._supervisor, result, quiet=self._quiet, stats_path=self._stats_path
            )
        except BaseException as exc:
            self._error = exc
        finally:
            atexit.unregister(self._stop_at_exit)
            self._done.set()

    def _release_signals(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self._supervisor.restore_signal_handlers()

    def _stop_at_exit(self) -> None:
        if self.running:
            self.stop(drain=False)
            self._done.wait(EXIT_STOP_S)


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


def start(plan: Plan, **options) -> RunHandle:
    """Start running `plan` and return at once; see `RunHandle`."""
    return RunHandle(plan, **options)
