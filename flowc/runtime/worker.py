"""One worker process: attach to the run's shared memory, call the user's code per event.

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
from typing import Any

import numpy as np

from flowc.callables import call_shape, resolve
from flowc.plan import WorkerPlan
from flowc.runtime import stats as S
from flowc.runtime.ring import (
    CLOSED,
    DROPPED,
    LAST_SLOT,
    PUBLISHED,
    STOPPED,
    InputPort,
    OutputPort,
    Ring,
    RingLayout,
)
from flowc.runtime.shm import Segment, open_semaphore

_PR_SET_PDEATHSIG = 1
# an observer with nothing new to look at sleeps this long (seconds)
OBSERVER_IDLE_S = 0.001
_SEQLOCK_ATTEMPTS = 16


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


class StopImport(BaseException):
    """Raised inside an importer's own code when the supervisor asks the run to stop."""


class _Flags:
    in_user_code = False


def _on_stop_signal(signum, frame):
    if _Flags.in_user_code:
        raise StopImport


def _die_with_supervisor(supervisor_pid: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    try:
        os.kill(supervisor_pid, 0)
    except ProcessLookupError:
        os._exit(1)


def worker_main(spec: ProcessSpec, conn) -> None:
    """Entry point of a worker process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
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
    _die_with_supervisor(spec.supervisor_pid)
    started_wall = time.perf_counter()
    process = None
    try:
        process = WorkerProcess(spec)
        conn.send(("attached",))
        process.load_code()
        process.run()
    except BaseException as exc:  # the user's code may raise anything; the supervisor decides
        if process is not None:
            process.record_times(started_wall)
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        try:
            conn.send(
                ("failed", message.splitlines()[0] if message else "", traceback.format_exc())
            )
        except OSError:
            pass
        conn.close()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)
    process.record_times(started_wall)
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
        row = words[spec.row_offset : spec.row_offset + spec.row.words]
        self.counters = row
        self.floats = row.cast("B").cast("d")
        row[S.STATE] = S.STATE_STARTING

        self.rings: dict[str, Ring] = {}
        for name, layout in spec.rings.items():
            segment = Segment.attach(layout.path, layout.size)
            consumed = bool(layout.consumers)
            self.rings[name] = Ring(
                layout,
                segment,
                open_semaphore(layout.lock_name),
                open_semaphore(layout.free_name) if consumed else None,
            )
        readies = {w: open_semaphore(n) for w, n in spec.ready_names.items()}
        self.ready = readies.get(plan.name)

        self.inputs = [
            InputPort(
                self.rings[b],
                spec.rings[b].consumers.index(plan.name),
                row,
                spec.row.consumed_base + i,
            )
            for i, b in enumerate(plan.inputs)
        ]
        self.outputs = [
            OutputPort(
                self.rings[b],
                [readies[w] for w in spec.rings[b].consumers],
                row,
                spec.row.written_base + j,
                spec.row.dropped_base + j,
                self.stop_flag,
            )
            for j, b in enumerate(plan.outputs)
        ]
        self.in_views = [self.rings[b].slot_views(writeable=False) for b in plan.inputs]
        self.out_views = [self.rings[b].slot_views(writeable=True)[0] for b in plan.outputs]
        self.skip_errors = plan.on_error == "skip"
        self.hist_base = spec.row.hist_base

    def load_code(self) -> None:
        """Import the user's code and call it once (a generator, or a class's `__init__`)."""
        spec, plan = self.spec, self.plan
        code = resolve(plan.callable, spec.functions)
        self.shape = call_shape(code, plan.kind)
        args = dict(plan.args)
        self.finish = None
        if plan.kind == "importer":
            if self.shape.wants_example:
                layout = spec.rings[plan.outputs[0]]
                args["example"] = np.zeros(layout.length, dtype=layout.dtype)
            if self.shape.is_class:
                instance = code(**args)
                self.finish = getattr(instance, "finish", None)
                self.events = instance
            else:
                self.events = code(**args)
            self.step = None
        elif self.shape.is_class:
            instance = code(**args)
            self.finish = getattr(instance, "finish", None)
            self.step = _adapt(instance.process, {}, self.shape)
        else:
            self.step = _adapt(code, args, self.shape)

    # --- running -----------------------------------------------------------------------------

    def run(self) -> None:
        self.counters[S.STATE] = S.STATE_RUNNING
        kind = self.kind
        if kind == "importer":
            self.run_importer()
        elif kind == "observer":
            self.run_observer()
        else:
            self.run_consumer()
        if self.finish is not None:
            self.finish()
        for port in self.outputs:
            port.close()
        self.counters[S.STATE] = S.STATE_FINISHED

    def record_times(self, started_wall: float) -> None:
        floats = self.floats
        floats[S.WALL_S] = time.perf_counter() - started_wall
        floats[S.CPU_S] = time.process_time()
        floats[S.BLOCKED_OUT_S] = sum(p.blocked_total_s for p in self.outputs)
        self.counters[S.PEAK_RSS] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def _record_call(self, seconds: float) -> None:
        floats = self.floats
        floats[S.CALL_S] += seconds
        if seconds > floats[S.CALL_MAX_S]:
            floats[S.CALL_MAX_S] = seconds
        self.counters[self.hist_base + S.histogram_bin(seconds)] += 1

    def run_importer(self) -> None:
        out = self.outputs[0]
        views = self.out_views[0]
        ring = out.ring
        meta_words, meta_floats = ring.meta_words, ring.meta_floats
        stop = self.stop_flag
        events = iter(self.events)
        counter = 0
        perf = time.perf_counter
        now = time.time
        record = self._record_call
        while not stop[0]:
            started = perf()
            try:
                try:
                    _Flags.in_user_code = True
                    item = next(events)
                finally:
                    _Flags.in_user_code = False
            except (StopIteration, StopImport):
                break
            record(perf() - started)
            slot = out.claim(stoppable=True)
            if slot == STOPPED:
                break
            if slot == DROPPED:
                counter += 1
                continue
            try:
                views[slot][...] = item
            except BaseException:
                out.abort(slot)
                raise
            at = slot * 3
            meta_words[at] = counter
            meta_floats[at + 1] = now()
            meta_floats[at + 2] = out.blocked_s
            out.publish(slot)
            counter += 1

    def next_event(self):
        """(input index, slot) of the next event for this worker, or (-1, -1) at end of stream."""
        ready = self.ready
        inputs = self.inputs
        count = len(inputs)
        turn = 0
        while True:
            if not ready.acquire(False):
                started = time.perf_counter()
                ready.acquire()
                self.floats[S.BLOCKED_IN_S] += time.perf_counter() - started
            if count == 1:
                port = inputs[0]
                closed = port.words[CLOSED]
                slot = port.pop()
                if slot >= 0:
                    return 0, slot
                if closed:
                    return -1, -1
                continue
            all_closed = all(port.words[CLOSED] for port in inputs)
            for k in range(count):
                i = (turn + k) % count
                slot = inputs[i].pop()
                if slot >= 0:
                    return i, slot
            turn = (turn + 1) % count
            if all_closed:
                return -1, -1

    def run_consumer(self) -> None:
        kind = self.kind
        handle = {
            "processor": self._process_event,
            "filter": self._filter_event,
            "exporter": self._export_event,
        }[kind]
        inputs = self.inputs
        in_views = self.in_views
        names = [port.name for port in inputs]
        outputs = self.outputs
        perf = time.perf_counter
        record = self._record_call
        skip_errors = self.skip_errors
        counters = self.counters
        while True:
            i, slot = self.next_event()
            if i < 0:
                return
            data, meta = in_views[i]
            blocked_before = sum(p.blocked_total_s for p in outputs) if outputs else 0.0
            started = perf()
            try:
                handle(i, slot, data[slot], meta[slot], names[i])
            except Exception:
                if not skip_errors:
                    raise
                counters[S.ERRORS] += 1
            elapsed = perf() - started
            if outputs:
                elapsed -= sum(p.blocked_total_s for p in outputs) - blocked_before
            record(elapsed)
            inputs[i].done(slot)

    def _copy_meta(self, i: int, slot: int, out: OutputPort, out_slot: int) -> None:
        source = self.inputs[i].ring.meta_bytes
        out.ring.meta_bytes[out_slot * 24 : out_slot * 24 + 24] = source[slot * 24 : slot * 24 + 24]

    def _process_event(self, i, slot, data, meta, source) -> None:
        result = self.step(data, meta, source)
        if self.shape.is_generator:
            for each in result:
                self._write_results(i, slot, each)
        else:
            self._write_results(i, slot, result)

    def _write_results(self, i, slot, result) -> None:
        if result is None:
            return
        outputs = self.outputs
        if isinstance(result, list | tuple):
            if len(result) != len(outputs):
                raise ValueError(
                    f"processor `{self.plan.name}` returned {len(result)} results for "
                    f"{len(outputs)} output(s) ({', '.join(p.name for p in outputs)}); "
                    "return one item (or None) per output"
                )
            items = result
        elif len(outputs) == 1:
            items = (result,)
        else:
            raise TypeError(
                f"processor `{self.plan.name}` has {len(outputs)} outputs and returned a "
                f"{type(result).__name__}; return a list with one item (or None) per output"
            )
        for j, item in enumerate(items):
            if item is None:
                continue
            out = outputs[j]
            out_slot = out.claim()
            if out_slot < 0:
                continue
            try:
                self.out_views[j][out_slot][...] = item
            except BaseException:
                out.abort(out_slot)
                raise
            self._copy_meta(i, slot, out, out_slot)
            out.publish(out_slot)

    def _copy_event(self, i, slot, j) -> None:
        """Copy an input event unchanged to output j."""
        out = self.outputs[j]
        out_slot = out.claim()
        if out_slot < 0:
            return
        size = out.data_bytes
        out.ring.data_bytes[out_slot * size : out_slot * size + size] = self.inputs[
            i
        ].ring.data_bytes[slot * size : slot * size + size]
        self._copy_meta(i, slot, out, out_slot)
        out.publish(out_slot)

    def _filter_event(self, i, slot, data, meta, source) -> None:
        decision = self.step(data, meta, source)
        count = len(self.outputs)
        if isinstance(decision, list | tuple) or (
            isinstance(decision, np.ndarray) and decision.ndim == 1 and decision.size > 1
        ):
            if len(decision) != count:
                raise ValueError(
                    f"filter `{self.plan.name}` returned {len(decision)} decisions for "
                    f"{count} output(s); return a bool, or a list of one bool per output"
                )
            chosen = [j for j in range(count) if decision[j]]
        else:
            chosen = range(count) if decision else ()
        for j in chosen:
            self._copy_event(i, slot, j)
        self.counters[S.ACCEPTED if chosen else S.DISCARDED] += 1

    def _export_event(self, i, slot, data, meta, source) -> None:
        self.step(data, meta, source)
        for j in range(len(self.outputs)):
            self._copy_event(i, slot, j)

    def run_observer(self) -> None:
        plan = self.plan
        rings = [self.rings[b] for b in plan.observes]
        copies = [np.zeros(r.layout.length, dtype=r.layout.dtype) for r in rings]
        copy_bytes = [memoryview(c).cast("B") for c in copies]
        meta_copies = [np.zeros(1, dtype=r.meta.dtype) for r in rings]
        meta_bytes = [memoryview(m).cast("B") for m in meta_copies]
        metas = [m[0] for m in meta_copies]
        last = [0] * len(rings)
        counters = self.counters
        perf = time.perf_counter
        while True:
            progressed = False
            finished = True
            for k, ring in enumerate(rings):
                words = ring.words
                closed = words[CLOSED]
                published = words[PUBLISHED]
                if published > last[k]:
                    progressed = True
                    fresh = published - last[k]
                    last[k] = published
                    if _copy_latest(ring, copy_bytes[k], meta_bytes[k]):
                        counters[S.SEEN] += 1
                        counters[S.SKIPPED] += fresh - 1
                        started = perf()
                        try:
                            self.step(copies[k], metas[k], plan.observes[k])
                        except Exception:
                            if not self.skip_errors:
                                raise
                            counters[S.ERRORS] += 1
                        self._record_call(perf() - started)
                    else:
                        counters[S.SKIPPED] += fresh
                if not closed or words[PUBLISHED] > last[k]:
                    finished = False
            if finished:
                return
            if not progressed:
                time.sleep(OBSERVER_IDLE_S)


def _copy_latest(ring: Ring, data_copy: memoryview, meta_copy: memoryview) -> bool:
    """Copy the most recently published slot, consistently (seqlock); False if it kept moving."""
    words = ring.words
    layout = ring.layout
    size = layout.data_bytes
    for _ in range(_SEQLOCK_ATTEMPTS):
        slot = words[LAST_SLOT]
        at = layout.sequence_base + slot
        before = words[at]
        if before & 1:
            continue
        data_copy[:] = ring.data_bytes[slot * size : slot * size + size]
        meta_copy[:] = ring.meta_bytes[slot * 24 : slot * 24 + 24]
        if words[at] == before:
            return True
    return False


def _adapt(fn, args: dict, shape):
    """A callable (data, meta, source) -> result calling `fn` as its signature asks."""
    meta, source = shape.wants_meta, shape.wants_source
    if meta and source:
        return lambda data, m, s: fn(data, meta=m, source=s, **args)
    if meta:
        return lambda data, m, s: fn(data, meta=m, **args)
    if source:
        return lambda data, m, s: fn(data, source=s, **args)
    if args:
        return lambda data, m, s: fn(data, **args)
    return lambda data, m, s: fn(data)
