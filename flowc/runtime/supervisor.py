"""The supervisor: starts and watches a run's worker processes, stops them on signals,
timeouts and failures (the stop/drain/kill policy), and tears the run down. What the run
allocates in /dev/shm is `flowc.runtime.allocation`'s; its statistics document is
`flowc.runtime.collect`'s.

Start method: `start_method=`, else `FLOWC_START_METHOD`, else fork when the calling process
runs a single Python thread (fork starts a worker in about a millisecond, spawn and forkserver
need a fresh interpreter that imports numpy and the user's code) and forkserver when it runs
several (forking a threaded process may copy a lock another thread holds; Python 3.14 makes
forkserver the default for that reason).

Hygiene: every segment and semaphore is named `flowc_<pid>_<random>`. They are unlinked as soon
as every worker process has attached to them (the memory itself lives until the last process
unmaps it), so from then on a killed supervisor cannot leak anything; for the short start-up
window a janitor process (`janitor.py`, its own session) removes them if the supervisor dies,
and kills the workers the supervisor left (they also die with their parent: PR_SET_PDEATHSIG).
While the run has names in /dev/shm the supervisor holds its lock (`shm.RunLock`), which is
how another run, in any PID namespace, tells them from a dead run's.

Stopping (`flowc.runtime.stopping`): the supervisor alone acts on SIGINT, SIGTERM and SIGHUP;
workers ignore them (and start with them blocked), so a signal to the whole process group
drains the run as one to the supervisor does. A drain is bounded by the drain timeout, and
observers are stopped a second after every other worker has finished.

Processes the workers' code starts never outlive the run. Each worker is a child subreaper
(PR_SET_CHILD_SUBREAPER), so everything its code starts stays in its process tree even when
an intermediate parent exits or a daemon calls setsid; a worker ends that tree when it ends
(completed or failed), and the supervisor kills a worker's tree with the worker. A subreaper,
not one process group or session per run: groups and sessions are left by any child that calls
setsid or setpgid, and a supervisor that is a subreaper would also adopt the orphans of the host
program that called `plan.run`. For when no tree is left to walk (a worker killed from outside,
by the OOM killer say, or the supervisor killed by SIGKILL), each worker also leads a process
group of its own and sets FLOWC_RUN=<prefix> in its environment: the supervisor at teardown,
or the janitor, kills those groups and every process that carries the mark. (A cgroup
would be exact, but needs a delegated cgroup tree the runtime cannot count on.)

Workers report failures over one pipe each; the supervisor waits on those pipes and on every
process's sentinel, so a death (even by SIGKILL) is seen at once.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass

from flowc.callables import resolve
from flowc.plan import Plan, WorkerPlan
from flowc.runtime import janitor
from flowc.runtime import stats as S
from flowc.runtime.allocation import Allocation
from flowc.runtime.calltimes import enabled_by as call_times_enabled_by
from flowc.runtime.collect import collect, new_document, record_failure
from flowc.runtime.janitor import process_start_time
from flowc.runtime.monitor import Monitor
from flowc.runtime.result import RunResult, WorkerFailure
from flowc.runtime.ring import DEAD_LOCK_WAIT_S
from flowc.runtime.shm import SHM_DIR, SharedMemoryError, remove_stale, run_prefix
from flowc.runtime.stopping import (
    DRAIN_TIMEOUT_S,
    OBSERVER_LAST_LOOK_S,
    STOP_SIGNALS,
    kept_stop_signals,
    stop_step,
)
from flowc.runtime.worker import ProcessSpec, worker_main

START_METHODS = ("fork", "forkserver", "spawn")
_WAIT_TICK_S = 0.5
# while a worker that ended early has events written for it, they are released this often (s)
_GONE_TICK_S = 0.005
# a killed process is waited for at most this long (one stuck in the kernel is left to it)
_JOIN_LIMIT_S = 5.0


def choose_start_method(requested: str | None) -> str:
    method = requested or os.environ.get("FLOWC_START_METHOD") or None
    if method is None:
        return "fork" if threading.active_count() == 1 else "forkserver"
    if method not in START_METHODS:
        raise ValueError(f"unknown start method {method!r}: use one of {', '.join(START_METHODS)}")
    return method


def _preload_in_forkserver() -> None:
    """Have a forkserver import the worker code (numpy, flowc) once, before it forks workers,
    instead of every worker importing it again (seconds on a busy machine). Only takes effect
    when this process starts its forkserver; modules the caller asked for stay preloaded."""
    from multiprocessing import forkserver

    preload = list(getattr(forkserver._forkserver, "_preload_modules", ["__main__"]))
    if "flowc.runtime.worker" not in preload:
        forkserver.set_forkserver_preload([*preload, "flowc.runtime.worker"])


@contextlib.contextmanager
def _stop_signals_blocked():
    """Start a process with the stop signals blocked: the mask is inherited through fork and
    exec, so a new worker (and a forkserver, and its workers) cannot die of a signal to the
    process group before `worker_main` ignores them; here they are delivered at the end."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _start_helpers(start_method: str) -> None:
    """Start multiprocessing's resource tracker (spawn, forkserver) and forkserver with the stop
    signals blocked, so that a signal to the process group cannot kill them (a forkserver's
    death kills its workers). Each in a block of its own: starting the tracker unblocks
    SIGINT and SIGTERM of the calling thread (bpo-33613) and would leave a forkserver
    started after it in the same block exposed."""
    if start_method == "fork":
        return
    from multiprocessing import forkserver, resource_tracker

    with _stop_signals_blocked():
        resource_tracker.ensure_running()
    if start_method == "forkserver":
        with _stop_signals_blocked():
            forkserver.ensure_running()


def _kill_with_descendants(children: list[_Child]) -> None:
    """SIGKILL worker processes and every process their code started (a worker is a child
    subreaper, so those are all in its tree; a killed worker cannot end them itself)."""
    started = [pid for c in children if c.process.pid for pid in janitor.tree(c.process.pid)]
    for child in children:
        try:
            child.process.kill()
        except (OSError, AttributeError):
            pass
    janitor.kill(started)


class _StartFailed(Exception):
    """A worker process could not be started (fork refused, forkserver gone...)."""

    def __init__(self, worker: str, index: int, cause: BaseException):
        super().__init__(f"{worker}:{index}: {cause}")
        self.worker, self.index, self.cause = worker, index, cause


@dataclass
class _Child:
    """One worker process as the supervisor sees it."""

    worker: WorkerPlan
    index: int
    process: multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection
    attached: bool = False
    exited: bool = False
    failure: tuple[str, str] | None = None  # (message, traceback) the child sent
    let_go: bool = False  # an observer stopped after its last look: its end is no failure
    finishing: bool = False  # in its finish() (told over the pipe)
    started_ticks: int | None = None  # its start time (clock ticks after boot)
    finished: tuple | None = None  # (what finish() returned,) sent for a class with combine


class Supervisor:
    """Owns one run: its allocation (shared memory, semaphores), processes and janitor."""

    def __init__(
        self,
        plan: Plan,
        start_method: str,
        view=None,
        live_dir: str | None = None,
        drain_timeout: float = DRAIN_TIMEOUT_S,
    ):
        if start_method == "forkserver":
            _preload_in_forkserver()
        self.plan = plan
        self.live_dir = live_dir  # FLOWC_LIVE_DIR of the workers (flowc.runtime.publish), or None
        self.view = view  # shows the monitor's snapshots (flowc.runtime.live), or None
        self.monitor: Monitor | None = None
        self.context = multiprocessing.get_context(start_method)
        self.start_method = start_method
        # whether workers keep the times of their calls (FLOWC_CALL_TIMES)
        self.call_times = call_times_enabled_by(os.environ)
        self.prefix = run_prefix()
        self.allocation = Allocation(plan, self.prefix)
        self.children: list[_Child] = []
        self.failure: WorkerFailure | None = None
        self.stopped = "completed"
        self.stop_requested = False
        self.killed = False
        self.signals = 0
        # the handler `flowc run` keeps for its whole life (flowc.runtime.stopping), or None
        self.kept_signals = None
        self.drain_timeout = drain_timeout
        # after a stop request: when workers still running are killed (a failure); once every
        # other worker has finished: when observers still looking are (no failure)
        self.drain_deadline: float | None = None
        self.observers_deadline: float | None = None
        self.observers_finishing = False  # observers in finish() got their own deadline
        # workers all of whose processes ended before their stream did, and the events
        # released on their behalf, by (buffer, worker)
        self.gone: list[WorkerPlan] = []
        self.discarded: dict[tuple[str, str], int] = {}
        self.janitor: subprocess.Popen | None = None
        # control from other threads (flowc.runtime.handle): guards the statistics' mapping
        self.lock = threading.Lock()
        self.started: float | None = None
        self.stop_asked = 0  # 1: drain (as a first Ctrl-C), 2: stop at once (as a second)
        self.paused = False
        self.finished = False
        self.wake_read = self.wake_write = -1
        self.old_handlers: dict = {}
        self.signal_handler = None  # ours, while installed

    # --- the run -----------------------------------------------------------------------------

    def run(self, timeout: float | None) -> RunResult:
        """Start the run and watch it to its end, in the calling thread."""
        early = self.start()
        return early if early is not None else self.watch(timeout)

    def start(self) -> RunResult | None:
        """Set up the shared memory and start the worker processes, in the calling thread (so
        fork copies no other thread of ours). The result, after cleaning up, when the run could
        not start; else None, and `watch` (in any thread) follows."""
        self.started = time.perf_counter()
        self._take_signals()
        try:
            early = self._start()
        except BaseException:
            self._clean_up()
            raise
        if early is not None:
            self._clean_up()
        return early

    def watch(self, timeout: float | None) -> RunResult:
        """Watch a started run to its end, clean up, return its result; `timeout` in seconds
        from `start`."""
        try:
            self._watch(self.started, timeout, self.wake_read)
            self._combine()
            self.monitor.finish(time.perf_counter() - self.started)
            return self._result(self.started, collect=True)
        finally:
            self._clean_up()

    def _start(self) -> RunResult | None:
        started = self.started
        remove_stale()
        failure = self._check_functions()
        if failure is not None:
            self.failure = failure
            self.stopped = "failed"
            return self._result(started, collect=False)
        if not os.path.isdir(SHM_DIR):
            self.failure = WorkerFailure(
                "", 0, f"{SHM_DIR} is not available: flowc's runtime needs Linux shared memory"
            )
            self.stopped = "failed"
            return self._result(started, collect=False)
        self._start_janitor()
        try:
            self.allocation.create()
        except SharedMemoryError as exc:
            self.failure = WorkerFailure("", 0, str(exc))
            self.stopped = "failed"
            return self._result(started, collect=False)
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_write, False)
        try:
            self._start_processes(self.wake_read, self.wake_write, self.allocation.run_lock.fd)
        except _StartFailed as failed:
            self.failure = WorkerFailure(
                failed.worker,
                failed.index,
                f"the process could not be started: {type(failed.cause).__name__}: {failed.cause}",
            )
            self.stopped = "failed"
            self._terminate_all()
        return None

    def _clean_up(self) -> None:
        if self.monitor is not None:
            self.monitor.close()
        self.finished = True
        if self.kept_signals is not None:
            self.kept_signals.forget(self._wake)
        if threading.current_thread() is threading.main_thread():
            self.restore_signal_handlers()
        self._kill_all()
        # what the workers' code started and no worker could end: a worker that did not exit
        # by itself (killed from outside, or by us while its code was starting a process)
        ended = [c for c in self.children if c.process.exitcode and c.started_ticks is not None]
        if ended:
            for child in ended:
                janitor.kill(janitor.group(child.process.pid, child.started_ticks))
            janitor.kill(janitor.marked(self.prefix))
        self.allocation.unlink()
        with self.lock:
            self.allocation.close()
        fds = (self.wake_read, self.wake_write)
        self.wake_read = self.wake_write = -1
        for fd in fds:
            if fd >= 0:
                os.close(fd)
        self._stop_janitor()

    # --- control from other threads ----------------------------------------------------------

    def ask_to_stop(self, drain: bool = True) -> None:
        """As a first Ctrl-C (drain) or a second (stop at once); from any thread."""
        self.stop_asked = max(self.stop_asked, 1 if drain else 2)
        self._wake()

    def set_paused(self, paused: bool) -> None:
        """Importers wait before their next event while paused; from any thread."""
        with self.lock:
            if self.allocation.statistics is None:
                return
            self.allocation.statistics.set_paused(paused)
            self.paused = paused

    def live_stats(self) -> dict | None:
        """The statistics document so far, from any thread (`exit` None, `stopped` None or why
        it is stopping, `paused`); None when the run has not started or its memory is gone.
        The counters are read one after another while the workers go on, so they balance
        exactly only once the graph is still (paused and drained)."""
        with self.lock:
            if self.allocation.statistics is None or self.finished:
                return None
            document = new_document(
                self.plan,
                self.started,
                None,
                self.stopped if self.stopping else None,
                self.start_method,
            )
            document["paused"] = self.paused
            self._collect(document)
            return document

    @property
    def stopping(self) -> bool:
        return self.stop_requested or self.killed or self.failure is not None

    def restore_signal_handlers(self) -> None:
        """Give the stop signals back to the caller; only in the main thread. A handler
        installed after ours (another run's) stays, and gives the caller's back when that run
        is over (the handlers of runs that ended meanwhile are skipped)."""
        for signum in list(self.old_handlers):
            if signal.getsignal(signum) is not self.signal_handler:
                continue
            handler = self.old_handlers.pop(signum)
            earlier = getattr(handler, "supervisor", None)
            while earlier is not None and earlier.finished and signum in earlier.old_handlers:
                handler = earlier.old_handlers.pop(signum)
                earlier = getattr(handler, "supervisor", None)
            signal.signal(signum, handler)

    def _wake(self) -> None:
        """Have the watch loop look at what was asked, now."""
        fd = self.wake_write
        if fd >= 0:
            try:
                os.write(fd, b"s")
            except OSError:
                pass

    def _check_functions(self) -> WorkerFailure | None:
        """Under spawn and forkserver, `functions=` callables must pickle (by reference)."""
        if self.start_method == "fork":
            return None
        for worker in self.plan.workers:
            if worker.callable.kind != "function":
                continue
            fn = self.plan.functions.get(worker.callable.attr)
            try:
                pickle.dumps(fn)
            except Exception as exc:
                return WorkerFailure(
                    worker.name,
                    0,
                    f"`{worker.callable.attr}` given through functions= cannot be sent to a "
                    f"{self.start_method} process ({type(exc).__name__}: {exc}); under spawn "
                    "and forkserver it must be an importable module-level object, or use "
                    "start_method='fork'",
                )
        return None

    def _start_janitor(self) -> None:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "janitor.py")
        self.janitor = subprocess.Popen(
            [sys.executable, "-I", "-S", script, str(os.getpid()), self.prefix, SHM_DIR],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )

    def _tell_janitor(self, pid: int, started: int | None) -> None:
        """The janitor kills the workers too if the supervisor dies (a forkserver's workers do
        not die with it by themselves)."""
        if self.janitor is None or self.janitor.stdin is None or started is None:
            return
        try:
            self.janitor.stdin.write(f"{pid} {started}\n".encode())
            self.janitor.stdin.flush()
        except OSError:
            pass

    def _stop_janitor(self) -> None:
        janitor = self.janitor
        if janitor is None:
            return
        try:
            janitor.stdin.write(b"done\n")  # else its end of file means the supervisor died
            janitor.stdin.close()
            janitor.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            janitor.kill()
            janitor.wait()

    def _take_signals(self) -> None:
        """Follow the stop signals from now on: the count `flowc run` keeps for its whole life
        (signals before this run started included), else, in the main thread, handlers of our
        own until the run is over."""
        kept = kept_stop_signals()
        if kept is not None:
            self.kept_signals = kept
            kept.listen(self._wake)
        elif threading.current_thread() is threading.main_thread():
            self.old_handlers = self._install_signal_handlers()

    def _install_signal_handlers(self) -> dict:
        def on_signal(signum, frame):
            if self.finished:  # the run is over: the signal is the caller's again
                self.restore_signal_handlers()
                handler = signal.getsignal(signum)
                if handler is not on_signal and callable(handler):
                    handler(signum, frame)
                elif handler == signal.SIG_DFL:
                    signal.raise_signal(signum)
                return
            self.signals += 1
            self._wake()

        on_signal.supervisor = self
        self.signal_handler = on_signal
        return {signum: signal.signal(signum, on_signal) for signum in STOP_SIGNALS}

    def _start_processes(self, *supervisor_fds: int) -> None:
        plan = self.plan
        # a forked child flushes the buffers it inherits: empty them first, or text repeats
        sys.stdout.flush()
        sys.stderr.flush()
        inherited = tuple(supervisor_fds)
        plan_json = plan.to_json(indent=None)
        if self.janitor is not None and self.janitor.stdin is not None:
            inherited += (self.janitor.stdin.fileno(),)
        _start_helpers(self.start_method)
        allocation = self.allocation
        for worker in plan.workers:
            touched = dict.fromkeys(worker.inputs + worker.outputs + worker.observes)
            rings = {b: allocation.rings[b].layout for b in touched}
            ready_names = {
                w: n
                for w, n in allocation.ready_names.items()
                if w == worker.name or any(w in rings[b].consumers for b in worker.outputs)
            }
            functions = {}
            if worker.callable.kind == "function" and worker.callable.attr in plan.functions:
                functions[worker.callable.attr] = plan.functions[worker.callable.attr]
            for index in range(worker.processes):
                receive, send = self.context.Pipe(duplex=False)
                spec = ProcessSpec(
                    worker=worker,
                    index=index,
                    rings=rings,
                    ready_names=ready_names,
                    control_path=allocation.control.path,
                    control_size=allocation.layout.size,
                    row_offset=allocation.layout.offset(worker.name, index),
                    row=allocation.layout.rows[worker.name],
                    supervisor_pid=os.getpid(),
                    functions=functions,
                    inherited_fds=inherited if self.start_method == "fork" else (),
                    plan_json=plan_json,
                    call_times=self.call_times,
                    live_dir=self.live_dir,
                    run_id=self.prefix,
                )
                process = self.context.Process(
                    target=worker_main,
                    args=(spec, send),
                    name=f"flowc:{worker.name}:{index}",
                )
                child = _Child(worker, index, process, receive)
                self.children.append(child)
                try:
                    with _stop_signals_blocked():
                        process.start()
                except Exception as exc:
                    receive.close()
                    send.close()
                    self.children.pop()
                    raise _StartFailed(worker.name, index, exc) from exc
                send.close()
                child.started_ticks = process_start_time(process.pid)
                self._tell_janitor(process.pid, child.started_ticks)
                if self.start_method == "fork":
                    inherited += (receive.fileno(),)

    # --- watching ----------------------------------------------------------------------------

    def _watch(self, started: float, timeout: float | None, wake_read: int) -> None:
        deadline = None if timeout is None else started + timeout
        by_conn = {c.conn: c for c in self.children}
        by_sentinel = {c.process.sentinel: c for c in self.children}
        self.monitor = Monitor(
            self.plan,
            self.allocation.statistics,
            self.allocation.rings,
            self.view,
            call_times=self.call_times,
        )
        while not all(c.exited for c in self.children):
            now = time.perf_counter()
            if deadline is not None and now >= deadline and not self.stop_requested:
                self.stopped = "timeout"
                self._request_stop()
            if self._past_deadlines(now):
                continue
            waits = [
                t
                for t in (deadline, self.drain_deadline, self.observers_deadline)
                if t is not None and t > now
            ]
            longest = _GONE_TICK_S if self.gone else _WAIT_TICK_S
            tick = min([longest, self.monitor.due_in(now - started)] + [t - now for t in waits])
            watched = [wake_read] + [c.conn for c in self.children if not c.conn.closed]
            watched += [c.process.sentinel for c in self.children if not c.exited]
            for ready in multiprocessing.connection.wait(watched, timeout=tick):
                if ready == wake_read:
                    os.read(wake_read, 64)
                elif ready in by_conn:
                    self._receive(by_conn[ready])
            for ready_sentinel in [s for s in by_sentinel if not by_sentinel[s].exited]:
                child = by_sentinel[ready_sentinel]
                if child.process.exitcode is not None:
                    self._exited(child)
            self._handle_signals()
            if self.gone:
                self._discard()
            self.monitor.tick(time.perf_counter() - started)
            if not self.allocation.unlinked and all(c.attached or c.exited for c in self.children):
                self.allocation.unlink()

    def _combine(self) -> None:
        """Hand what `finish()` returned in each process of a class worker with `combine`, in
        process order, to `combine(values)`: once, here, in the supervisor's working
        directory. A failure there fails the run, naming the worker."""
        if self.failure is not None or self.killed:
            return
        for worker in self.plan.workers:
            children = [c for c in self.children if c.worker is worker]
            if not children or any(c.finished is None for c in children):
                continue
            try:
                code = resolve(worker.callable, self.plan.functions)
                code.combine([c.finished[0] for c in sorted(children, key=lambda c: c.index)])
            except BaseException as exc:  # the user's code may raise anything
                message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                self.failure = WorkerFailure(
                    worker.name, 0, f"combine() raised {message}", traceback.format_exc()
                )
                self.stopped = "failed"
                return

    def _receive(self, child: _Child) -> None:
        try:
            while child.conn.poll():
                message = child.conn.recv()
                if message[0] == "attached":
                    child.attached = True
                    if self.stop_requested and child.worker.kind == "importer":
                        self._signal_stop(child)
                elif message[0] == "failed":
                    child.failure = (message[1], message[2])
                elif message[0] == "finishing":
                    child.finishing = True
                elif message[0] == "finished":
                    child.finished = (message[1],)
        except (EOFError, OSError):
            child.conn.close()

    def _exited(self, child: _Child) -> None:
        self._receive(child)
        child.process.join()
        child.exited = True
        if not child.conn.closed:
            child.conn.close()
        code = child.process.exitcode
        state = self.allocation.statistics.states(child.worker.name)[child.index]
        if (code == 0 and state == S.STATE_FINISHED) or child.let_go:
            return
        if self.killed:
            return
        self._abandon(child)
        if self.failure is not None:
            return
        if child.failure is not None:
            message, trace = child.failure
        elif code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            message, trace = f"killed by signal {-code} ({name})", ""
        elif code == 0:
            message, trace = "the process exited before the end of its stream", ""
        else:
            message, trace = f"the process exited with code {code}", ""
        self.failure = WorkerFailure(child.worker.name, child.index, message, trace)
        self.stopped = "failed"
        # the rest of the graph drains what it accepted (its files complete), as after a
        # first Ctrl-C, within the drain timeout
        self._request_stop()

    def _abandon(self, child: _Child) -> None:
        """A process ended without finishing its stream (it failed or was killed): close its
        outputs on its behalf, and once its worker has no process left, take over its inputs
        (see `_discard`), so that nobody waits for it while the graph drains."""
        for buffer in child.worker.outputs:
            ring = self.allocation.rings[buffer]
            if ring.close_writer(lock_wait=DEAD_LOCK_WAIT_S):
                for consumer in ring.layout.consumers:
                    self.allocation.wake(consumer)
        if all(c.exited for c in self.children if c.worker is child.worker):
            self.gone.append(child.worker)
            self._discard()

    def _discard(self) -> None:
        """Release what is written for the workers that have no process left: their writers
        must never wait for them (the events are counted as left for them)."""
        for worker in self.gone:
            for buffer in worker.inputs:
                ring = self.allocation.rings[buffer]
                discarded = ring.discard_for(ring.layout.consumers.index(worker.name))
                if discarded:
                    key = (buffer, worker.name)
                    self.discarded[key] = self.discarded.get(key, 0) + discarded

    def _handle_signals(self) -> None:
        signals = self.signals if self.kept_signals is None else self.kept_signals.count
        action, self.stopped = stop_step(
            max(signals, self.stop_asked),
            self.stop_requested,
            self.stopped,
            self.failure is not None,
            self.killed,
        )
        if action == "kill":
            self._kill_all()
        elif action == "drain":
            self._request_stop()

    def _past_deadlines(self, now: float) -> bool:
        """Kill what outlived the drain (a failure) and observers that outlived their last look
        (no failure); True when it did."""
        if self.drain_deadline is not None and now >= self.drain_deadline and not self.killed:
            if any(not c.exited and c.worker.kind != "observer" for c in self.children):
                if self.failure is None:
                    self._not_drained()
                else:  # the failure is what the run reports
                    self._kill_all()
                return True
        observers = [c for c in self.children if c.worker.kind == "observer" and not c.exited]
        if not observers or any(
            not c.exited and c.worker.kind != "observer" for c in self.children
        ):
            return False
        if self.observers_deadline is None:
            self.observers_deadline = now + OBSERVER_LAST_LOOK_S
            return False
        if now < self.observers_deadline:
            return False
        if not self.observers_finishing and any(c.finishing for c in observers):
            # those in finish() (saving a histogram) get the drain timeout; the others not
            self.observers_finishing = True
            self.observers_deadline = now + self.drain_timeout
            observers = [c for c in observers if not c.finishing]
            if not observers:
                return False
        for child in observers:  # a last look was had: stopping an observer is no failure
            child.let_go = True
        _kill_with_descendants(observers)
        for child in observers:
            child.process.join(_JOIN_LIMIT_S)
            self._exited(child)
        return True

    def _request_stop(self) -> None:
        """Stop the importers; the rest of the graph drains and finishes, within the drain
        timeout from now."""
        if self.drain_deadline is None:
            self.drain_deadline = time.perf_counter() + self.drain_timeout
        self.stop_requested = True
        self.allocation.statistics.stop()
        for child in self.children:
            if child.worker.kind == "importer" and child.attached and not child.exited:
                self._signal_stop(child)

    def _signal_stop(self, child: _Child) -> None:
        try:
            os.kill(child.process.pid, signal.SIGUSR1)
        except ProcessLookupError:
            pass

    def _not_drained(self) -> None:
        """The drain timeout ran out: kill every process, name the first worker still running
        (upstream first) and the others."""
        stuck = [c for c in self.children if not c.exited and c.worker.kind != "observer"]
        names = list(dict.fromkeys(c.worker.name for c in stuck[1:] if c.worker != stuck[0].worker))
        also = f" (still running too: {', '.join(names)})" if names else ""
        self.failure = WorkerFailure(
            stuck[0].worker.name,
            stuck[0].index,
            f"still running {self.drain_timeout:g} s after the run was asked to stop "
            f"(--drain-timeout); killed{also}",
        )
        self.stopped = "failed"
        self._kill_all()

    def _terminate_all(self) -> None:
        """Stop every worker process at once (workers leave SIGTERM to the supervisor)."""
        self.allocation.statistics.stop()
        self._kill_all()

    def _kill_all(self) -> None:
        if not self.children:
            return
        alive = [
            c for c in self.children if c.process.pid is not None and c.process.exitcode is None
        ]
        if alive:
            self.killed = True
        _kill_with_descendants(alive)
        for child in self.children:
            if child.process.pid is not None:
                child.process.join(_JOIN_LIMIT_S)
            if not child.exited:
                child.exited = True
                if not child.conn.closed:
                    child.conn.close()

    # --- the result --------------------------------------------------------------------------

    def _result(self, started: float, collect: bool) -> RunResult:
        exit_code = {"completed": 0, "timeout": 0, "interrupted": 130, "failed": 1}[self.stopped]
        document = new_document(self.plan, started, exit_code, self.stopped, self.start_method)
        if collect:
            self._kill_all()
            self._collect(document)
        if self.failure is not None:
            record_failure(document, self.failure)
        ok = self.failure is None and not (self.killed and self.stopped == "interrupted")
        return RunResult(ok=ok, exit=exit_code, stats=document, failure=self.failure)

    def _collect(self, document: dict) -> None:
        let_go = {c.worker.name for c in self.children if c.let_go}
        collect(
            document,
            self.plan,
            self.allocation.statistics,
            self.allocation.rings,
            let_go,
            self.discarded,
        )
