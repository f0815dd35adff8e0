"""One worker process: attach to the run's shared memory, call the user's code per event, or
per batch of up to N events with `batch=N` (`BatchRunner`).

`worker_main` is the entry point of every child process; it never returns an exception to
multiprocessing: a failure is sent to the supervisor over the process's pipe, then it exits 1.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing import forkserver
from typing import Any

import numpy as np

from flowc import callables
from flowc.callables import call_shape, resolve
from flowc.plan import WorkerPlan
from flowc.runtime import janitor
from flowc.runtime import stats as S
from flowc.runtime.batch import BatchRunner, put
from flowc.runtime.calltimes import CallTimes
from flowc.runtime.observing import follow
from flowc.runtime.publish import LIVE_DIR_ENVIRONMENT, WORKER_ENVIRONMENT
from flowc.runtime.ring import (
    CLOSED,
    STOPPED,
    ProcessClock,
    ResultError,
    Ring,
    RingLayout,
    input_port,
    output_port,
)
from flowc.runtime.shm import Segment, open_semaphore
from flowc.runtime.stopping import STOP_SIGNALS
from flowc.types import META_COUNTER, META_DEADTIME, META_TIMESTAMP, META_WORDS

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
# what the worker's code started gets this long to end after SIGTERM, then SIGKILL (seconds)
_DESCENDANTS_GRACE_S = 0.5
# results read as one item per output
_SEQUENCES = (list, tuple)
# a worker waiting for events looks at its inputs at least this often, rung or not (seconds):
# it also bounds how long events a busy writer has not announced yet can wait
_IDLE_LOOK_S = 0.1
# the environment variable that gives the worker's code the plan's JSON (for provenance)
PLAN_ENVIRONMENT = "FLOWC_PLAN"
# a paused importer looks this often whether the run was resumed or stopped (seconds)
PAUSE_LOOK_S = 0.005


@dataclass(frozen=True)
class ProcessSpec:
    """Everything a worker process needs; picklable (sent to spawned children)."""

    worker: WorkerPlan
    index: int  # which of the worker's processes
    rings: dict[str, RingLayout]  # every buffer the worker reads, writes or observes
    ready_names: dict[str, str]  # consuming worker -> name of its ready semaphore
    control_path: str
    control_size: int
    row_offset: int  # in words
    row: S.RowLayout
    supervisor_pid: int
    functions: dict[str, Any] = field(default_factory=dict)
    inherited_fds: tuple[int, ...] = ()  # supervisor-only fds a forked child must close
    plan_json: str = ""  # the whole plan, given to the worker's code as FLOWC_PLAN
    call_times: bool = True  # keep the call times (statistics); off, they only tell slow from fast
    live_dir: str | None = None  # where observers publish live documents (flowc run --serve)
    run_id: str = ""  # the run's name prefix: FLOWC_RUN of every program the worker's code starts


class StopImport(BaseException):
    """Raised inside an importer's own code when the supervisor asks the run to stop."""


# [True] while an importer runs its own code (there, and only there, a stop may interrupt it)
_in_user_code = [False]


def _on_stop_signal(signum, frame):
    if _in_user_code[0]:
        raise StopImport


def _die_with_supervisor(supervisor_pid: int) -> None:
    """Die with the supervisor (PR_SET_PDEATHSIG), and keep every process the worker's code
    starts a descendant, even one whose parent exits (PR_SET_CHILD_SUBREAPER), so that
    `_end_descendants` finds them all."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    try:  # a process group of its own: the janitor ends what the code started by its id
        os.setpgid(0, 0)
    except OSError:
        pass
    try:
        os.kill(supervisor_pid, 0)
    except ProcessLookupError:
        os._exit(1)


def _end_descendants() -> None:
    """End every process the worker's code started and left running (SIGTERM, then SIGKILL
    after a grace) and reap them: nothing the run started may outlive it."""
    pids = janitor.tree(os.getpid())
    if not pids:
        return
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + _DESCENDANTS_GRACE_S
    while time.monotonic() < deadline and janitor.tree(os.getpid()):
        _reap()
        time.sleep(0.01)
    janitor.kill(janitor.tree(os.getpid()))
    time.sleep(0.01)
    _reap()


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


# the runtime's own frames, and those of the adapters that call the user's code in the shape
# it was written for (flowc.callables)
_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_ADAPTERS = os.path.abspath(callables.__file__)


def _runtime_frame(filename: str) -> bool:
    return filename.startswith(_RUNTIME_DIR) or filename == _ADAPTERS


def _user_traceback(exc: BaseException) -> str:
    """The traceback of an exception without the runtime's own frames: the user's code is
    what the reader has to look at (a failure inside the runtime keeps every frame; a result
    the runtime cannot use is told by its message alone: no traceback)."""
    if isinstance(exc, ResultError):
        return ""
    report = traceback.TracebackException.from_exception(exc)
    theirs = [frame for frame in report.stack if not _runtime_frame(frame.filename)]
    if theirs:
        report.stack = traceback.StackSummary.from_list(theirs)
    return "".join(report.format())


def _leave_forkserver() -> None:
    """A forkserver hands each child a copy of the pipe whose closing tells it its clients are
    gone; a worker holding it would keep the forkserver alive after the supervisor died, and
    the forkserver's death is what kills the worker (PR_SET_PDEATHSIG). Close it."""
    server = forkserver._forkserver
    if server._forkserver_alive_fd is not None:
        try:
            os.close(server._forkserver_alive_fd)
        except OSError:
            pass
        server._forkserver_alive_fd = None


def worker_main(spec: ProcessSpec, conn) -> None:
    """Entry point of a worker process."""
    # every stop signal is the supervisor's: one sent to the whole process group (a terminal's
    # Ctrl-C, `kill -TERM -PGID`) must drain the run as one sent to the supervisor alone does.
    # The process started with them blocked (the supervisor's mask), so none came in between;
    # the supervisor stops a worker with SIGUSR1 (importers) or SIGKILL.
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    signal.signal(signal.SIGUSR1, _on_stop_signal)
    try:
        signal.set_wakeup_fd(-1)
    except ValueError:
        pass
    for fd in spec.inherited_fds:
        try:
            os.close(fd)
        except OSError:
            pass
    _leave_forkserver()
    _die_with_supervisor(spec.supervisor_pid)
    # set here, not inherited: a forkserver keeps the environment of the run that started it
    os.environ[PLAN_ENVIRONMENT] = spec.plan_json
    os.environ[janitor.RUN_ENVIRONMENT] = spec.run_id
    if spec.live_dir is not None:
        os.environ[LIVE_DIR_ENVIRONMENT] = spec.live_dir
        os.environ[WORKER_ENVIRONMENT] = spec.worker.name
    else:  # not inherited from a served run this one runs inside
        os.environ.pop(LIVE_DIR_ENVIRONMENT, None)
        os.environ.pop(WORKER_ENVIRONMENT, None)
    started_wall = time.perf_counter()
    process = None
    try:
        process = WorkerProcess(spec)
        conn.send(("attached",))
        process.load_code()
        # the supervisor gives an observer in finish() (a histogram being saved) time to end
        process.run(finishing=lambda: conn.send(("finishing",)))
        if process.combines:
            conn.send(("finished", process.finished))
    except BaseException as exc:  # the user's code may raise anything; the supervisor decides
        if process is not None:
            process.times.flush()  # the calls it made count, also in a run that failed
            process.record_times(started_wall)
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        message = message.splitlines()[0] if message else ""
        event = getattr(exc, "flowc_event", None)
        if event:
            message = f"{message} (at {event})"
        try:
            conn.send(("failed", message, _user_traceback(exc)))
        except OSError:
            pass
        conn.close()
        _end_descendants()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)
    # a stop request from now on is late, not fatal: a spawned worker's exit gives SIGUSR1
    # back its default action (terminate) while the supervisor may still be sending one
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    process.record_times(started_wall)
    _end_descendants()
    conn.close()


class WorkerProcess:
    """The state of one worker process: its ports, slot views and the user's code."""

    def __init__(self, spec: ProcessSpec):
        self.spec = spec
        plan = spec.worker
        self.plan = plan
        self.kind = plan.kind
        control = Segment.attach(spec.control_path, spec.control_size)
        self.control = control
        words = memoryview(control.mapping).cast("q")
        self.stop_flag = words[S.STOP : S.STOP + 1]
        self.pause_flag = words[S.PAUSE : S.PAUSE + 1]
        row = words[spec.row_offset : spec.row_offset + spec.row.words]
        self.counters = row
        self.floats = row.cast("B").cast("d")
        row[S.STATE] = S.STATE_STARTING

        self.rings: dict[str, Ring] = {}
        for name, layout in spec.rings.items():
            segment = Segment.attach(layout.path, layout.size)
            self.rings[name] = Ring(
                layout,
                segment,
                open_semaphore(layout.lock_name),
                [open_semaphore(n) for n in layout.free_names],
            )
        readies = {w: open_semaphore(n) for w, n in spec.ready_names.items()}
        self.ready = readies.get(plan.name)

        self.clock = ProcessClock()
        self.inputs = [
            input_port(
                self.rings[b],
                spec.rings[b].consumers.index(plan.name),
                row,
                spec.row.consumed_base + i,
                self.clock,
            )
            for i, b in enumerate(plan.inputs)
        ]
        self.outputs = [
            output_port(
                self.rings[b],
                [readies[w] for w in spec.rings[b].consumers],
                row,
                spec.row.written_base + j,
                spec.row.dropped_base + j,
                self.stop_flag,
                self.clock,
                batched=bool(plan.inputs),
            )
            for j, b in enumerate(plan.outputs)
        ]
        self.in_views = [self.rings[b].slot_views(writeable=False) for b in plan.inputs]
        self.skip_errors = plan.on_error == "skip"
        self.times = CallTimes(row, self.floats, spec.row.hist_base, self.clock, spec.call_times)

    def load_code(self) -> None:
        """Import the user's code and call it once (a generator, or a class's `__init__`)."""
        spec, plan = self.spec, self.plan
        code = resolve(plan.callable, spec.functions)
        self.shape = call_shape(code, plan.kind)
        args = dict(plan.args)
        self.finish = None
        self.finished = None  # what finish() returned: the supervisor's, for `combine`
        # a class with combine(values) gets every process's finish() return, at the end
        self.combines = self.shape.is_class and callable(getattr(code, "combine", None))
        if plan.kind == "importer":
            if self.shape.wants_example:
                layout = spec.rings[plan.outputs[0]]
                args["example"] = np.zeros(layout.length, dtype=layout.dtype)
            if self.shape.wants_batch:
                args["batch"] = plan.batch
            if self.shape.is_class:
                instance = code(**args)
                self.finish = getattr(instance, "finish", None)
                self.events = instance
            else:
                self.events = code(**args)
            self.step = self.plain_step = None
        elif self.shape.is_class:
            instance = code(**args)
            self.finish = getattr(instance, "finish", None)
            self.step = self.shape.adapt(instance.process, {})
            self.plain_step = self.shape.plain(instance.process, {})
        else:
            self.step = self.shape.adapt(code, args)
            self.plain_step = self.shape.plain(code, args)

    # --- running -----------------------------------------------------------------------------

    def run(self, finishing=None) -> None:
        """Run to the end of the stream, then `finish()`; `finishing()` is called before it."""
        self.counters[S.STATE] = S.STATE_RUNNING
        kind = self.kind
        if self.plan.batch is not None and kind != "observer":
            BatchRunner(self, StopImport, _in_user_code).run()
        elif kind == "importer":
            self.run_importer()
        elif kind == "observer":
            self.run_observer()
        else:
            self.run_consumer()
        self.clock.before_blocking()
        if self.finish is not None:
            if finishing is not None:
                finishing()
            self.finished = self.finish()
        for port in self.outputs:
            port.close()
        self.counters[S.STATE] = S.STATE_FINISHED

    def record_times(self, started_wall: float) -> None:
        floats = self.floats
        floats[S.WALL_S] = time.perf_counter() - started_wall
        floats[S.CPU_S] = time.process_time()
        floats[S.BLOCKED_OUT_S] = self.clock.blocked_out_s
        self.counters[S.PEAK_RSS] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def run_importer(self) -> None:
        if getattr(self.events, "relays_metadata", False):
            self.run_relay()
            return
        out = self.outputs[0]
        ring = out.ring
        meta_words, meta_floats = ring.meta_words, ring.meta_floats
        stop, pause = self.stop_flag, self.pause_flag
        events = iter(self.events)
        counter = 0
        paused_s = 0.0  # paused since the last event was written: part of the next one's deadtime
        perf = time.perf_counter
        now = time.time
        cpu = time.process_time
        times = self.times
        timed = times.timed
        countdown = times.calls_until_timed()
        claim, publish, fill = out.claim, out.publish, out.fill
        skip_errors, counters = self.skip_errors, self.counters
        in_user_code = _in_user_code
        # the metadata record's words (flowc.types), as locals of the loop
        record, counter_at, stamp_at, deadtime_at = (
            META_WORDS,
            META_COUNTER,
            META_TIMESTAMP,
            META_DEADTIME,
        )
        while not stop[0]:
            if pause[0]:
                paused_s += self.sit_out_pause()
                continue
            countdown -= 1
            if not countdown:
                started, cpu_started = perf(), cpu()
            try:
                try:
                    in_user_code[0] = True
                    item = next(events)
                finally:
                    in_user_code[0] = False
            except (StopIteration, StopImport):
                countdown += 1  # that was no call
                break
            if not countdown:
                countdown = timed(perf() - started, cpu() - cpu_started)
            slot = claim(True)
            if slot < 0:
                if slot == STOPPED:
                    break
                counter += 1
                continue
            try:
                fill(slot, item)
            except Exception:
                out.abort(slot)
                if not skip_errors:
                    raise
                counters[S.ERRORS] += 1
                counter += 1
                continue
            at = slot * record
            meta_words[at + counter_at] = counter
            meta_floats[at + stamp_at] = now()
            meta_floats[at + deadtime_at] = out.blocked_s + paused_s
            publish(slot)
            paused_s = 0.0
            counter += 1
        times.finish(countdown)

    def run_relay(self) -> None:
        """An importer that relays events already stamped elsewhere (the Ray backend's
        bridge-in, `relays_metadata`): it yields (rows, metadata records), written as they are.
        It is no source: a stop request or a pause does not stop it; it ends when its stream
        does, once the partitions that send into it have drained."""
        out = self.outputs[0]
        for rows, meta in self.events:
            put(out, rows, meta)

    def sit_out_pause(self) -> float:
        """Wait while the run is paused and not stopping; the seconds waited."""
        self.clock.before_blocking()
        pause, stop = self.pause_flag, self.stop_flag
        started = time.perf_counter()
        while pause[0] and not stop[0]:
            time.sleep(PAUSE_LOOK_S)
        paused = time.perf_counter() - started
        self.floats[S.PAUSED_S] += paused
        return paused

    def next_event(self):
        """Yield (input index, slot) of each event for this worker until its inputs end.

        The `ready` semaphore is a doorbell: after taking a ring (waiting or in passing) the
        process always looks at its inputs again before it sleeps, so no event is missed. The
        end comes when every input is closed and, looked at after that, empty."""
        ready = self.ready
        inputs = self.inputs
        count = len(inputs)
        floats = self.floats
        perf = time.perf_counter
        before_blocking = self.clock.before_blocking
        pops = [port.pop for port in inputs]
        closed_words = [port.words for port in inputs]
        turn = 0
        closed = False
        while True:
            for k in range(count):
                i = (turn + k) % count if count > 1 else 0
                slot = pops[i]()
                if slot >= 0:
                    turn = i + 1
                    ready.acquire(False)
                    yield i, slot
                    break
            else:
                if closed:
                    return
                closed = all(words[CLOSED] for words in closed_words)
                if closed:
                    continue  # look once more: events may have come before the close
                before_blocking()
                started = perf()
                ready.acquire(True, _IDLE_LOOK_S)
                floats[S.BLOCKED_IN_S] += perf() - started

    def wait_for_event(self, port) -> int:
        """The slot of the next event of the only input of a one-process worker, waiting for it;
        -1 once the input is closed and, looked at after that, empty.

        The hot loop pops without looking at the `ready` doorbell; rings left in it are drained
        here, before the process looks at the input a last time and sleeps."""
        ready, pop, words = self.ready, port.pop, port.words
        floats = self.floats
        perf = time.perf_counter
        while True:
            while ready.acquire(False):
                pass
            slot = pop()
            if slot >= 0:
                return slot
            if words[CLOSED]:
                return pop()  # events may have come before the close
            self.clock.before_blocking()
            started = perf()
            ready.acquire(True, _IDLE_LOOK_S)
            floats[S.BLOCKED_IN_S] += perf() - started

    def run_consumer(self, handle=None) -> None:
        """Call `handle(input index, slot)` on each event until the inputs end; by default the
        handler of the worker's kind (a `batch=1` worker brings its own)."""
        if handle is None:
            handle = {
                "processor": self._processor_handler,
                "filter": self._filter_handler,
                "exporter": self._exporter_handler,
            }[self.kind]()
        done = [port.done for port in self.inputs]
        perf, cpu = time.perf_counter, time.process_time
        times = self.times
        timed = times.timed
        countdown = times.calls_until_timed()
        skip_errors = self.skip_errors
        counters = self.counters
        clock = self.clock
        # the common case, one input read by one process, pops in the loop itself; otherwise
        # `next_event` takes turns between the inputs and shares the doorbell between processes
        only = self.inputs[0] if len(self.inputs) == 1 and self.plan.processes == 1 else None
        pop = only.pop if only is not None else None
        events = self.next_event() if only is None else None
        # rings left in the doorbell by a writer this process keeps up with are taken at each
        # timed call, so they cannot pile up to the semaphore's limit in a long run
        ring_taken = self.ready.acquire if only is not None else None
        i = 0
        while True:
            if pop is not None:
                slot = pop()
                if slot < 0:
                    slot = self.wait_for_event(only)
                    if slot < 0:
                        break
            else:
                event = next(events, None)
                if event is None:
                    break
                i, slot = event
            countdown -= 1
            if not countdown:
                blocked_before = clock.blocked_out_s
                started, cpu_started = perf(), cpu()
            try:
                handle(i, slot)
            except Exception as exc:
                if not skip_errors:
                    self.mark_failed_event(
                        exc, i, self.rings[self.plan.inputs[i]].meta[slot : slot + 1]
                    )
                    raise
                counters[S.ERRORS] += 1
            if not countdown:
                countdown = timed(
                    perf() - started - (clock.blocked_out_s - blocked_before), cpu() - cpu_started
                )
                if ring_taken is not None:
                    while ring_taken(False):
                        pass
            done[i](slot)
        times.finish(countdown)

    def mark_failed_event(self, exc: BaseException, i: int, meta) -> None:
        """Note on `exc` which events of input i (their metadata records) the failing call
        handled, so the failure's message names them: "event 41 of `raw`"."""
        first, last = int(meta["counter"][0]), int(meta["counter"][-1])
        which = f"event {first}" if first == last else f"events {first} to {last}"
        try:
            exc.flowc_event = f"{which} of `{self.plan.inputs[i]}`"
        except AttributeError:  # an exception type that takes no attributes
            pass

    def copier(self):
        """copy(i, slot, j): copy input i's event in `slot` unchanged to output j."""
        inputs = [(port.data_slots, port.meta_slots) for port in self.inputs]
        outputs = [
            (port.claim, port.publish, port.data_slots, port.meta_slots) for port in self.outputs
        ]

        def copy(i: int, slot: int, j: int) -> None:
            claim, publish, data, meta = outputs[j]
            into = claim()
            if into < 0:
                return
            in_data, in_meta = inputs[i]
            data[into][:] = in_data[slot]
            meta[into][:] = in_meta[slot]
            publish(into)

        return copy

    def _processor_handler(self):
        step = self.step
        in_views = self.in_views
        names = [port.name for port in self.inputs]
        in_meta = [port.meta_slots for port in self.inputs]
        outputs = self.outputs
        count = len(outputs)
        copy = self.copier()
        # (input, output) pairs of one type and length: a result that is the input view itself
        # is copied as bytes, which is faster than numpy's assignment
        same = {
            (i, j)
            for i, a in enumerate(self.inputs)
            for j, b in enumerate(outputs)
            if a.ring.layout.dtype == b.ring.layout.dtype
            and a.ring.layout.length == b.ring.layout.length
        }
        generator = self.shape.is_generator
        name = self.plan.name

        def write(i: int, slot: int, view, j: int, item) -> None:
            if item is view and (i, j) in same:
                copy(i, slot, j)
                return
            out = outputs[j]
            into = out.claim()
            if into < 0:
                return
            try:
                out.fill(into, item)
            except BaseException:
                out.abort(into)
                raise
            out.meta_slots[into][:] = in_meta[i][slot]
            out.publish(into)

        def emit(i: int, slot: int, view, result) -> None:
            if result is None:
                return
            if not isinstance(result, _SEQUENCES):
                if count != 1:
                    raise ResultError(
                        f"processor `{name}` has {count} outputs and returned a "
                        f"{type(result).__name__}; return a list with one item (or None) per output"
                    )
                write(i, slot, view, 0, result)
                return
            if len(result) != count:
                raise ResultError(
                    f"processor `{name}` returned {len(result)} results for {count} output(s) "
                    f"({', '.join(p.name for p in outputs)}); return one item (or None) per output"
                )
            for j, item in enumerate(result):
                if item is not None:
                    write(i, slot, view, j, item)

        def handle(i: int, slot: int) -> None:
            data, meta = in_views[i]
            view = data[slot]
            result = step(view, meta[slot], names[i])
            if generator:
                for each in result:
                    emit(i, slot, view, each)
            else:
                emit(i, slot, view, result)

        if generator or count != 1:
            return handle

        # one output, one result per event: the common case, without the general path's calls
        out = outputs[0]
        claim, publish, fill, abort = out.claim, out.publish, out.fill, out.abort
        out_data, out_meta = out.data_slots, out.meta_slots
        in_data = [port.data_slots for port in self.inputs]
        same_type = [(i, 0) in same for i in range(len(self.inputs))]
        plain = self.plain_step

        def handle_one(i: int, slot: int) -> None:
            data, meta = in_views[i]
            view = data[slot]
            result = plain(view) if plain is not None else step(view, meta[slot], names[i])
            if result is None:
                return
            if isinstance(result, _SEQUENCES):
                emit(i, slot, view, result)
                return
            into = claim()
            if into < 0:
                return
            if result is view and same_type[i]:
                out_data[into][:] = in_data[i][slot]
            else:
                try:
                    fill(into, result)
                except BaseException:
                    abort(into)
                    raise
            out_meta[into][:] = in_meta[i][slot]
            publish(into)

        return handle_one

    def _filter_handler(self):
        step = self.step
        in_views = self.in_views
        names = [port.name for port in self.inputs]
        count = len(self.outputs)
        copy = self.copier()
        counters = self.counters
        name = self.plan.name
        everywhere = range(count)

        def handle(i: int, slot: int) -> None:
            data, meta = in_views[i]
            decision = step(data[slot], meta[slot], names[i])
            if isinstance(decision, _SEQUENCES) or (
                isinstance(decision, np.ndarray) and decision.ndim == 1 and decision.size > 1
            ):
                if len(decision) != count:
                    raise ResultError(
                        f"filter `{name}` returned {len(decision)} decisions for {count} "
                        "output(s); return a bool, or a list of one bool per output"
                    )
                chosen = [j for j in everywhere if decision[j]]
            else:
                chosen = everywhere if decision else ()
            for j in chosen:
                copy(i, slot, j)
            counters[S.ACCEPTED if chosen else S.DISCARDED] += 1

        return handle

    def _exporter_handler(self):
        step = self.step
        in_views = self.in_views
        names = [port.name for port in self.inputs]
        copy = self.copier()
        everywhere = range(len(self.outputs))

        def handle(i: int, slot: int) -> None:
            data, meta = in_views[i]
            step(data[slot], meta[slot], names[i])
            for j in everywhere:
                copy(i, slot, j)

        return handle

    def run_observer(self) -> None:
        """Follow the observed buffers event by event (`flowc.runtime.observing`), handing each
        copy to the user's code, until every buffer is finished and looked at."""
        plan = self.plan
        followers = follow({b: self.rings[b] for b in plan.observes})
        counters = self.counters
        perf, cpu = time.perf_counter, time.process_time
        timed = self.times.timed_alone
        while True:
            started_round = perf()
            finished = True
            for name, follower in followers.items():
                events, done = follower.look()
                finished = finished and done
                for data, meta in events:
                    counters[S.SEEN] += 1
                    started, cpu_started = perf(), cpu()
                    try:
                        self.step(data, meta, name)
                    except Exception:
                        if not self.skip_errors:
                            raise
                        counters[S.ERRORS] += 1
                    timed(perf() - started, cpu() - cpu_started)
            counters[S.SKIPPED] = sum(f.skipped for f in followers.values())
            if finished:
                return
            nap = min(f.nap() for f in followers.values()) - (perf() - started_round)
            if nap > 0:
                time.sleep(nap)
