"""Runs a plan on a Ray cluster: one actor per worker process and one broker actor holding the
run's buffers (bounded queues of events), with the local runtime's semantics and statistics.

Events travel as numpy arrays: small ones inline in the calls, large ones through Ray's object
store (written once, read zero-copy). The broker only passes references and metadata along, so
a buffer's `slots` bound the events in flight, and an event read on the node that wrote it
never crosses the network.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import queue
import re
import resource
import signal
import socket
import sys
import threading
import time
import traceback
from typing import NamedTuple

import numpy as np
import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from flowc.callables import call_shape, resolve
from flowc.plan import Plan, WorkerPlan
from flowc.runtime.bottleneck import find_bottleneck
from flowc.runtime.result import RunError, RunResult, WorkerFailure
from flowc.runtime.stats import HIST_BINS, call_times_entry, histogram_bin
from flowc.runtime.stopping import stop_step
from flowc.runtime.summary import format_summary
from flowc.types import META_DTYPE

# events of at least this many bytes go through the object store, smaller ones inline
INLINE_LIMIT = 100 * 1024
# after a timeout or Ctrl-C asked the graph to drain, it gets this long (seconds)
DRAIN_GRACE_S = 60.0
# an observer looks at its buffers at most this often (seconds): each look is a call to the
# broker, which must stay free for the chain; what it misses meanwhile counts as skipped
OBSERVER_PERIOD_S = 0.005
_WAIT_TICK_S = 0.25
# how long the driver waits for a statistics answer from an actor (seconds)
_STATS_WAIT_S = 5.0
_KILL_WAIT_S = 10.0
# a worker process passes the interpreter between its threads this often (seconds): its
# sender threads then take a new event within half a millisecond, not Python's default 5 ms
_SWITCH_INTERVAL_S = 0.0005
# how long a cluster's address gets to answer before the run fails (seconds)
_CONNECT_WAIT_S = 5.0

WRITTEN, DROPPED, STOPPED = "written", "dropped", "stopped"
_END = object()  # after the last event handed to an output
# the counters a worker keeps of its calls' wall and CPU times: total, longest, shortest
_WALL_KEYS = ("call_s", "call_max_s", "call_min_s")
_CPU_KEYS = ("cpu_call_s", "cpu_call_max_s", "cpu_call_min_s")
_SEQUENCES = (list, tuple)


class BufferLayout(NamedTuple):
    """What a worker process needs to know of a buffer it touches."""

    dtype: np.dtype
    length: int
    consumers: dict[str, int]  # consuming worker -> its processes
    slots: int


# ---------------------------------------------------------------------------------------------
# the broker: every buffer of the run as a bounded queue


class _Buffer:
    """One buffer: events in order, a cursor per consuming worker, a slot count in flight.

    An event stays in flight from its put until every consuming worker has taken it and
    finished with it (a process's next take, or its release, says so)."""

    def __init__(self, name: str, slots: int, overflow: str, consumers: dict, writers: int):
        self.name = name
        self.slots = slots
        self.drop = overflow == "drop"
        self.consumers = list(consumers)
        self.writers = writers
        self.closed = 0
        self.stopping = False
        self.events: dict[int, tuple] = {}
        self.remaining: dict[int, int] = {}
        self.first = 0  # oldest sequence number still in flight
        self.next = 0  # sequence number of the next accepted event
        self.cursor = {w: 0 for w in self.consumers}
        self.held: dict[tuple[str, int], list[int]] = {}
        self.stopped_writers: set[str] = set()  # importers whose events are refused
        self.written = 0
        self.dropped = 0
        self.consumed = {w: 0 for w in self.consumers}
        self.latest: tuple | None = None
        self.changed = asyncio.Condition()

    @property
    def ended(self) -> bool:
        return self.closed >= self.writers

    def has_room(self) -> bool:
        return not self.consumers or self.next - self.first < self.slots

    def finish_held(self, key: tuple[str, int]) -> None:
        for seq in self.held.pop(key, ()):
            self.remaining[seq] -= 1
        while self.first < self.next and self.remaining.get(self.first) == 0:
            del self.remaining[self.first]
            del self.events[self.first]
            self.first += 1

    def store(self, payload, meta) -> None:
        self.latest = (payload, meta)
        if self.consumers:
            self.events[self.next] = (payload, meta)
            self.remaining[self.next] = len(self.consumers)
        self.next += 1

    def stats(self) -> dict:
        dropped = self.dropped
        if not self.consumers:
            dropped += max(0, self.next - self.slots)
        return {
            "written": self.written,
            "dropped": dropped,
            "consumed": dict(self.consumed),
            "left": {w: self.next - self.cursor[w] for w in self.consumers},
        }


class Broker:
    """The run's buffers in one asyncio actor; writers put, consumers take, observers peek."""

    def __init__(self, layouts: dict):
        self.buffers = {name: _Buffer(name, *layout) for name, layout in layouts.items()}

    async def put(self, buffer: str, writer: str, events: list, importer: bool) -> list:
        """Accept a writer process's events in order; for each, (WRITTEN, seconds it waited
        for room), or DROPPED when the buffer is full and drops, or STOPPED when an importer
        would wait while the run is stopping (and for each of its later events).

        An importer's event gets its metadata here, as it is accepted (its `meta` is its
        counter): the time it was accepted, and the time it waited for room as its deadtime.
        A writer process has one put under way at a time, so its events keep their order."""
        b = self.buffers[buffer]
        answers = []
        async with b.changed:
            for payload, meta in events:
                answers.append(await self._put_one(b, writer, payload, meta, importer))
            b.changed.notify_all()
        return answers

    @staticmethod
    async def _put_one(b: _Buffer, writer: str, payload, meta, importer: bool) -> tuple:
        if writer in b.stopped_writers:
            return STOPPED, 0.0
        waited = 0.0
        if not b.has_room():
            if b.drop:
                b.written += 1
                b.dropped += 1
                return DROPPED, waited
            b.changed.notify_all()  # readers may take what is in before this writer waits
            started = time.perf_counter()
            await b.changed.wait_for(lambda: b.has_room() or (importer and b.stopping))
            waited = time.perf_counter() - started
            if not b.has_room():
                b.stopped_writers.add(writer)
                return STOPPED, waited
        b.written += 1
        b.store(payload, (meta, time.time(), waited) if importer else meta)
        return WRITTEN, waited

    async def take(self, buffer: str, consumer: str, process: int, most: int):
        """Up to `most` events for a process of `consumer` (finishing those it took before), or
        None at the end of the stream."""
        b = self.buffers[buffer]
        key = (consumer, process)
        async with b.changed:
            b.finish_held(key)
            b.changed.notify_all()
            await b.changed.wait_for(lambda: b.cursor[consumer] < b.next or b.ended)
            start = b.cursor[consumer]
            stop = min(b.next, start + most)
            if start == stop:
                return None
            b.cursor[consumer] = stop
            b.consumed[consumer] += stop - start
            b.held[key] = list(range(start, stop))
            return [b.events[seq] for seq in range(start, stop)]

    async def close(self, buffer: str) -> None:
        """A writer process has finished with `buffer`."""
        b = self.buffers[buffer]
        async with b.changed:
            b.closed += 1
            b.changed.notify_all()

    async def release(self, buffer: str, consumer: str, process: int) -> None:
        """A consumer process is done: the events it holds are finished."""
        b = self.buffers[buffer]
        async with b.changed:
            b.finish_held((consumer, process))
            b.changed.notify_all()

    async def peek(self, buffer: str):
        """(events accepted so far, ended, the latest event or None), for observers."""
        b = self.buffers[buffer]
        return b.next, b.ended, b.latest

    async def stop(self) -> None:
        """The run is stopping: importers waiting for room give up."""
        for b in self.buffers.values():
            async with b.changed:
                b.stopping = True
                b.changed.notify_all()

    async def stats(self) -> dict:
        """Per buffer its counts, and under "" what the broker's own process spent."""
        own = {
            "cpu_s": time.process_time(),
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        }
        return {"": own} | {name: b.stats() for name, b in self.buffers.items()}


# ---------------------------------------------------------------------------------------------
# worker processes


class _Output:
    """The writing end of one buffer in one worker process.

    The worker hands events over with `send`; a thread of its own puts them into the broker,
    one call at a time with every event that has come meanwhile (at most `hold`): a fast
    writer sends batches, a slow one each event at once. The worker blocks when `hold` events
    wait to be sent."""

    def __init__(self, broker, name: str, writer: str, layout: BufferLayout, importer: bool):
        self.broker = broker
        self.name = name
        self.writer = writer
        self.dtype = layout.dtype
        self.shape = (layout.length,)
        self.hold = max(1, layout.slots // 2)
        self.importer = importer
        self.waiting: queue.Queue = queue.Queue(maxsize=self.hold)
        self.handed = 0  # events handed over by the worker
        self.refused = 0  # of those, refused because the run is stopping
        self.dropped = 0
        self.stopped = False
        self.blocked_s = 0.0  # the worker waiting to hand events over
        self.waited_s = 0.0  # its events waiting in the broker for room
        self.error: BaseException | None = None
        self.sender = threading.Thread(target=self._send_all, name=f"put {name}", daemon=True)
        self.sender.start()

    @property
    def written(self) -> int:
        """Writes attempted: the events handed over that the run was not stopping for."""
        return self.handed - self.refused

    @property
    def blocked_out_s(self) -> float:
        """An importer is blocked for as long as its events wait for room (their deadtime);
        another worker for as long as it waits to hand its events over."""
        return self.waited_s if self.importer else self.blocked_s

    def event(self, item) -> np.ndarray:
        """An event as this buffer stores it (raises what numpy raises for a bad item)."""
        if type(item) is np.ndarray and item.dtype == self.dtype and item.shape == self.shape:
            return item
        array = np.empty(self.shape, dtype=self.dtype)
        array[...] = item
        return array

    def send(self, payload, meta) -> None:
        """Hand an event over: `payload` is an array, or the object reference of one."""
        if self.error is not None:
            raise self.error
        if isinstance(payload, np.ndarray):
            if payload.nbytes >= INLINE_LIMIT:
                payload = ray.put(payload)  # a copy in the object store
            elif payload.flags.writeable:
                payload = payload.copy()  # the worker's code may change it once it is handed over
        started = time.perf_counter()
        self.waiting.put((payload, meta))
        self.blocked_s += time.perf_counter() - started
        self.handed += 1

    def flush(self) -> None:
        """Wait until every event handed over has been put."""
        started = time.perf_counter()
        self.waiting.put(_END)
        self.sender.join()
        self.blocked_s += time.perf_counter() - started
        if self.error is not None:
            raise self.error

    def _send_all(self) -> None:
        waiting = self.waiting
        put = self.broker.put.remote
        ended = False
        while not ended:
            batch = [waiting.get()]
            while len(batch) < self.hold:
                try:
                    batch.append(waiting.get_nowait())
                except queue.Empty:
                    break
            if batch[-1] is _END:
                batch.pop()
                ended = True
            if not batch:
                continue
            try:
                answers = ray.get(put(self.name, self.writer, batch, self.importer))
            except BaseException as exc:  # the broker is gone: the worker raises it
                self.error = exc
                return
            for outcome, waited in answers:
                self.waited_s += waited
                if outcome == DROPPED:
                    self.dropped += 1
                elif outcome == STOPPED:
                    self.refused += 1
                    self.stopped = True


def _arrays(batch: list) -> list:
    """The events of a batch as read-only arrays, those in the object store fetched at once."""
    refs = [payload for payload, _ in batch if isinstance(payload, ray.ObjectRef)]
    fetched = iter(ray.get(refs) if refs else ())
    return [
        _read_only(next(fetched) if isinstance(payload, ray.ObjectRef) else payload)
        for payload, _ in batch
    ]


def _user_traceback(exc: BaseException) -> str:
    """The traceback of an exception without flowc's and Ray's frames (unless it has no
    others): the user's code is what the reader has to look at."""
    flowc_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    ray_dir = os.path.dirname(os.path.abspath(ray.__file__)) + os.sep
    report = traceback.TracebackException.from_exception(exc)
    theirs = [
        frame
        for frame in report.stack
        if not frame.filename.startswith((flowc_dir + "backends", flowc_dir + "runtime", ray_dir))
    ]
    if theirs:
        report.stack = traceback.StackSummary.from_list(theirs)
    return "".join(report.format())


def _read_only(array):
    if isinstance(array, np.ndarray) and array.flags.writeable:
        array.flags.writeable = False
    return array


@ray.remote
class WorkerActor:
    """One process of a worker: runs the user's code on the events of its inputs."""

    def __init__(self, worker: WorkerPlan, index: int, broker, layouts: dict, setup: dict):
        self.worker = worker
        self.index = index
        self.broker = broker
        self.layouts: dict[str, BufferLayout] = layouts
        self.functions = setup["functions"]
        for folder in reversed(setup["sys_path"]):
            if folder and os.path.isdir(folder) and folder not in sys.path:
                sys.path.insert(0, folder)
        if os.path.isdir(setup["cwd"]):
            os.chdir(setup["cwd"])
        sys.setswitchinterval(_SWITCH_INTERVAL_S)
        self.stopping = threading.Event()
        self.counters = {
            "errors": 0,
            "seen": 0,
            "skipped": 0,
            "accepted": 0,
            "discarded": 0,
            "blocked_in_s": 0.0,
            "call_s": 0.0,
            "call_max_s": 0.0,
            "call_min_s": float("inf"),
            "cpu_call_s": 0.0,
            "cpu_call_max_s": 0.0,
            "cpu_call_min_s": float("inf"),
        }
        self.consumed = [0] * len(worker.inputs)
        self.hist = [0] * HIST_BINS
        self.cpu_hist = [0] * HIST_BINS
        writer = f"{worker.name}:{index}"
        importer = worker.kind == "importer"
        self.outputs = [_Output(broker, b, writer, layouts[b], importer) for b in worker.outputs]
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()
        self.wall_s = 0.0

    # --- what the driver calls ---------------------------------------------------------------

    def run(self) -> dict:
        """Run to the end of the stream; returns {"failure": None or (message, traceback)}."""
        self.started = time.perf_counter()
        self.cpu_started = time.process_time()  # the actor's start-up is Ray's, not the worker's
        try:
            self._load_code()
            {"importer": self._run_importer, "observer": self._run_observer}.get(
                self.worker.kind, self._run_consumer
            )()
            if self.finish is not None:
                self.finish()
            for port in self.outputs:
                port.flush()
                ray.get(self.broker.close.remote(port.name))
        except BaseException as exc:  # the user's code may raise anything; the driver decides
            message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return {"failure": (message.splitlines()[0], _user_traceback(exc))}
        finally:
            self.wall_s = time.perf_counter() - self.started
        return {"failure": None}

    def ready(self) -> bool:
        """Answers once the actor's process is up (the driver starts its clock then)."""
        return True

    def stop(self) -> None:
        """Importers stop at their next event."""
        self.stopping.set()

    def stats(self) -> dict:
        c = self.counters
        wall = self.wall_s or time.perf_counter() - self.started
        entry = {
            "events_in": sum(self.consumed),
            "consumed": list(self.consumed),
            "written": [p.written for p in self.outputs],
            "errors": c["errors"],
            "wall_s": wall,
            "cpu_s": time.process_time() - self.cpu_started,
            "blocked_in_s": c["blocked_in_s"],
            "blocked_out_s": sum(p.blocked_out_s for p in self.outputs),
            "hist": list(self.hist),
            "cpu_hist": list(self.cpu_hist),
            "cpu_call_s": c["cpu_call_s"],
            "cpu_call_max_s": c["cpu_call_max_s"],
            "cpu_call_min_s": c["cpu_call_min_s"],
            "call_s": c["call_s"],
            "call_max_s": c["call_max_s"],
            "call_min_s": c["call_min_s"],
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        }
        for key in ("seen", "skipped", "accepted", "discarded"):
            entry[key] = c[key]
        return entry

    # --- the user's code ---------------------------------------------------------------------

    def _load_code(self) -> None:
        worker = self.worker
        code = resolve(worker.callable, self.functions)
        self.shape = call_shape(code, worker.kind)
        args = dict(worker.args)
        self.finish = None
        if worker.kind == "importer":
            if self.shape.wants_example:
                out = self.layouts[worker.outputs[0]]
                args["example"] = np.zeros(out.length, dtype=out.dtype)
            self.events = code(**args)
            if self.shape.is_class:
                self.finish = getattr(self.events, "finish", None)
        elif self.shape.is_class:
            instance = code(**args)
            self.finish = getattr(instance, "finish", None)
            self.step = self.shape.adapt(instance.process, {})
        else:
            self.step = self.shape.adapt(code, args)

    @staticmethod
    def _call_started() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def _record(self, started: tuple[float, float], blocked_s: float = 0.0) -> None:
        """Count a call of the user's code begun at `started` (`_call_started`), less the time
        it was blocked writing, in wall and in CPU time (every call is timed: a call here costs
        far more than its clocks)."""
        wall = time.perf_counter() - started[0] - blocked_s
        cpu = time.process_time() - started[1]
        c = self.counters
        for seconds, (total, most, least), hist in (
            (wall, _WALL_KEYS, self.hist),
            (cpu, _CPU_KEYS, self.cpu_hist),
        ):
            c[total] += seconds
            if seconds > c[most]:
                c[most] = seconds
            if seconds < c[least]:
                c[least] = seconds
            hist[histogram_bin(seconds)] += 1

    def _run_importer(self) -> None:
        out = self.outputs[0]
        events = iter(self.events)
        counter = 0
        while not self.stopping.is_set() and not out.stopped:
            started = self._call_started()
            try:
                item = next(events)
            except StopIteration:
                break
            self._record(started)
            try:
                event = out.event(item)
            except Exception:
                if self.worker.on_error != "skip":
                    raise
                self.counters["errors"] += 1
                counter += 1
                continue
            out.send(event, counter)
            counter += 1

    def _run_consumer(self) -> None:
        worker = self.worker
        handle = {
            "processor": self._process,
            "filter": self._filter,
            "exporter": self._export,
        }[worker.kind]
        processes = self.layouts[worker.inputs[0]].consumers[worker.name]
        # a batch leaves room in the buffer for the writers
        most = [max(1, self.layouts[b].slots // (2 * processes)) for b in worker.inputs]
        skip = worker.on_error == "skip"
        perf = time.perf_counter
        takes = {
            self.broker.take.remote(b, worker.name, self.index, most[i]): i
            for i, b in enumerate(worker.inputs)
        }
        while takes:
            started = perf()
            ready, _ = ray.wait(list(takes), num_returns=1)
            self.counters["blocked_in_s"] += perf() - started
            i = takes.pop(ready[0])
            batch = ray.get(ready[0])
            if batch is None:
                continue
            source = worker.inputs[i]
            for (payload, meta), data in zip(batch, _arrays(batch), strict=True):
                self.consumed[i] += 1
                blocked_before = self._blocked_out()
                started = self._call_started()
                try:
                    handle(data, payload, meta, source)
                except Exception:
                    if not skip:
                        raise
                    self.counters["errors"] += 1
                self._record(started, self._blocked_out() - blocked_before)
            takes[self.broker.take.remote(source, worker.name, self.index, most[i])] = i
        for b in worker.inputs:
            ray.get(self.broker.release.remote(b, worker.name, self.index))

    def _blocked_out(self) -> float:
        return sum(p.blocked_s for p in self.outputs)

    def _write(self, j: int, item, data, payload, meta) -> None:
        out = self.outputs[j]
        if item is data and data.dtype == out.dtype and data.shape == out.shape:
            event = payload  # the input itself: pass its reference on, no copy
        else:
            event = out.event(item)
        out.send(event, meta)

    def _meta_record(self, meta):
        return np.array([meta], dtype=META_DTYPE)[0]

    def _process(self, data, payload, meta, source) -> None:
        result = self.step(data, self._meta_record(meta), source)
        results = result if self.shape.is_generator else (result,)
        count = len(self.outputs)
        for each in results:
            if each is None:
                continue
            if not isinstance(each, _SEQUENCES):
                if count != 1:
                    raise TypeError(
                        f"processor `{self.worker.name}` has {count} outputs and returned a "
                        f"{type(each).__name__}; return a list with one item (or None) per output"
                    )
                self._write(0, each, data, payload, meta)
                continue
            if len(each) != count:
                raise ValueError(
                    f"processor `{self.worker.name}` returned {len(each)} results for {count} "
                    f"output(s) ({', '.join(self.worker.outputs)}); return one item (or None) "
                    "per output"
                )
            for j, item in enumerate(each):
                if item is not None:
                    self._write(j, item, data, payload, meta)

    def _filter(self, data, payload, meta, source) -> None:
        decision = self.step(data, self._meta_record(meta), source)
        count = len(self.outputs)
        if isinstance(decision, _SEQUENCES) or (
            isinstance(decision, np.ndarray) and decision.ndim == 1 and decision.size > 1
        ):
            if len(decision) != count:
                raise ValueError(
                    f"filter `{self.worker.name}` returned {len(decision)} decisions for "
                    f"{count} output(s); return a bool, or a list of one bool per output"
                )
            chosen = [j for j in range(count) if decision[j]]
        else:
            chosen = range(count) if decision else ()
        for j in chosen:
            self._write(j, data, data, payload, meta)
        self.counters["accepted" if chosen else "discarded"] += 1

    def _export(self, data, payload, meta, source) -> None:
        self.step(data, self._meta_record(meta), source)
        for j in range(len(self.outputs)):
            self._write(j, data, data, payload, meta)

    def _run_observer(self) -> None:
        observed = self.worker.observes
        last = [0] * len(observed)
        skip = self.worker.on_error == "skip"
        perf = time.perf_counter
        while True:
            looked = perf()
            looks = ray.get([self.broker.peek.remote(b) for b in observed])
            finished = True
            for k, (accepted, ended, latest) in enumerate(looks):
                if accepted > last[k] and latest is not None:
                    self.counters["seen"] += 1
                    self.counters["skipped"] += accepted - last[k] - 1
                    last[k] = accepted
                    payload, meta = latest
                    data = payload if isinstance(payload, np.ndarray) else ray.get(payload)
                    started = self._call_started()
                    try:
                        self.step(_read_only(data), self._meta_record(meta), observed[k])
                    except Exception:
                        if not skip:
                            raise
                        self.counters["errors"] += 1
                    self._record(started)
                if not ended or accepted > last[k]:
                    finished = False
            if finished:
                return
            time.sleep(max(0.0, looked + OBSERVER_PERIOD_S - perf()))


# ---------------------------------------------------------------------------------------------
# the driver


def run(
    plan: Plan,
    *,
    address: str | None = None,
    timeout: float | None = None,
    quiet: bool = True,
    stats_path: str | os.PathLike | None = None,
    raise_on_failure: bool = True,
    num_cpus: int | None = None,
) -> RunResult:
    """Run `plan` on Ray until every worker has finished, a worker failed, or it was stopped.

    address:  a running cluster (`ray://host:10001`, `host:6379`, "auto"); None starts a local
              one on loopback for this run (or uses the one this process already connected to)
    timeout:  seconds, counted from when every worker's actor is up; then the importers stop
              and the graph drains (exit 0)
    num_cpus: CPUs of a local cluster started for this run
    The other options are those of `flowc.runtime.run`.
    """
    if timeout is not None and timeout < 0:
        raise ValueError(f"timeout must be 0 or more seconds, not {timeout}")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    connected_here = not ray.is_initialized()
    if connected_here:
        options = {"include_dashboard": False, "logging_level": logging.WARNING}
        if address is None:
            options.update(address="local", _node_ip_address="127.0.0.1", num_cpus=num_cpus)
        else:
            options["address"] = address
        try:
            _check_reachable(address)
            ray.init(**options)
        except Exception as exc:  # Ray raises ConnectionError, ValueError, RuntimeError...
            where = f"at {address}" if address else "on this machine"
            unreachable = RayRun(plan)
            unreachable.failure = WorkerFailure(
                "", 0, f"no Ray cluster {where}: {_first_line(exc)}"
            )
            unreachable.stopped = "failed"
            result = unreachable._result(time.perf_counter(), collect=False)
            return _report(result, quiet, stats_path, raise_on_failure)
    try:
        result = RayRun(plan).run(timeout)
    finally:
        if connected_here:
            ray.shutdown()
    bottleneck = find_bottleneck(result.stats, plan)
    result.stats["bottleneck"] = bottleneck.to_json() if bottleneck else None
    return _report(result, quiet, stats_path, raise_on_failure)


def _report(result: RunResult, quiet: bool, stats_path, raise_on_failure: bool) -> RunResult:
    """Print the failure and the summary, write the statistics, raise as the local run does."""
    if result.failure is not None:
        text = f"flowc: {result.failure}"
        if result.failure.traceback:
            text += "\n" + result.failure.traceback.rstrip()
        print(text, file=sys.stderr)
    if not quiet:
        print(format_summary(result.stats), file=sys.stderr)
    if stats_path is not None:
        with open(stats_path, "w", encoding="utf-8") as out:
            json.dump(result.stats, out, indent=2)
            out.write("\n")
    if result.failure is not None and raise_on_failure:
        raise RunError(result)
    return result


class RayRun:
    """One run on the cluster: its actors, how it watches them, and its statistics."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.broker = None
        self.actors: list[tuple[WorkerPlan, int, object]] = []
        self.running: dict = {}  # run() reference -> (worker, index, actor)
        self.final: dict[tuple[str, int], dict] = {}
        self.failure: WorkerFailure | None = None
        self.stopped = "completed"
        self.stop_requested = False
        self.killed = False
        self.signals = 0
        self.buffer_stats: dict | None = None
        self.starting: list = []  # ready() references of actors not known to be up yet

    def run(self, timeout: float | None) -> RunResult:
        started = time.perf_counter()
        old_handlers = {}
        try:
            placements = self._placements()
            if self.failure is not None:
                return self._result(started, collect=False)
            if threading.current_thread() is threading.main_thread():
                old_handlers = self._install_signal_handlers()
            self._start(placements)
            self._watch(timeout)
            return self._result(started, collect=True)
        finally:
            for signum, handler in old_handlers.items():
                signal.signal(signum, handler)
            self._kill_all()

    def _placements(self) -> dict[str, NodeAffinitySchedulingStrategy]:
        """Worker name -> where `node=` pins it; a node not in the cluster fails the run."""
        pinned = [w for w in self.plan.workers if w.node]
        if not pinned:
            return {}
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        placements = {}
        for worker in pinned:
            match = [
                n
                for n in nodes
                if worker.node in (n.get("NodeManagerHostname"), n.get("NodeManagerAddress"))
            ]
            if not match:
                known = ", ".join(
                    sorted(f"{n['NodeManagerHostname']} ({n['NodeManagerAddress']})" for n in nodes)
                )
                self.failure = WorkerFailure(
                    worker.name,
                    0,
                    f"no node `{worker.node}` in the Ray cluster (its nodes: {known})",
                )
                self.stopped = "failed"
                return {}
            placements[worker.name] = NodeAffinitySchedulingStrategy(match[0]["NodeID"], soft=False)
        return placements

    def _start(self, placements: dict) -> None:
        plan = self.plan
        processes = {w.name: w.processes for w in plan.workers}
        layouts = {}
        broker_layouts = {}
        for b in plan.buffers:
            consumers = {w.name: processes[w.name] for w in plan.consumers_of(b.name)}
            writers = sum(w.processes for w in plan.writers_of(b.name))
            layouts[b.name] = BufferLayout(b.dtype, b.length, consumers, b.slots)
            broker_layouts[b.name] = (b.slots, b.overflow, consumers, writers)
        # the broker sits with the first pinned importer, where most events come from
        importers = [w.name for w in plan.workers if w.kind == "importer" and w.name in placements]
        broker_options = {"num_cpus": 0, "max_restarts": 0}
        if importers:
            broker_options["scheduling_strategy"] = placements[importers[0]]
        self.broker = ray.remote(Broker).options(**broker_options).remote(broker_layouts)
        setup = {"sys_path": list(sys.path), "cwd": os.getcwd()}
        for worker in plan.workers:
            functions = {}
            if worker.callable.kind == "function" and worker.callable.attr in plan.functions:
                functions[worker.callable.attr] = plan.functions[worker.callable.attr]
            options = {"num_cpus": 0, "max_concurrency": 2, "max_restarts": 0}
            if worker.name in placements:
                options["scheduling_strategy"] = placements[worker.name]
            for index in range(worker.processes):
                try:
                    actor = WorkerActor.options(**options).remote(
                        worker, index, self.broker, layouts, dict(setup, functions=functions)
                    )
                except Exception as exc:  # e.g. a `functions=` callable that does not pickle
                    self._fail(worker, index, f"cannot start on Ray: {_first_line(exc)}", "")
                    return
                self.actors.append((worker, index, actor))
                self.running[actor.run.remote()] = (worker, index, actor)
                self.starting.append(actor.ready.remote())

    # --- watching ----------------------------------------------------------------------------

    def _install_signal_handlers(self) -> dict:
        def on_signal(signum, frame):
            self.signals += 1

        return {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}

    def _watch(self, timeout: float | None) -> None:
        """Until every actor has finished; `timeout` counts from when they are all up."""
        deadline = None
        drain_deadline = None
        while self.running and not self.killed:
            now = time.perf_counter()
            if self.starting:
                _, self.starting = ray.wait(
                    self.starting, num_returns=len(self.starting), timeout=0
                )
                if not self.starting and timeout is not None:
                    deadline = now + timeout
            if deadline is not None and now >= deadline and not self.stop_requested:
                self.stopped = "timeout"
                self._request_stop()
                drain_deadline = now + DRAIN_GRACE_S
            if drain_deadline is not None and now >= drain_deadline and self.failure is None:
                worker, index, _ = next(iter(self.running.values()))
                self._fail(
                    worker,
                    index,
                    f"still running {DRAIN_GRACE_S:g} s after the run was asked to stop; killed",
                    "",
                )
                break
            tick = _WAIT_TICK_S / 5 if self.starting else _WAIT_TICK_S
            if deadline is not None and not self.stop_requested:
                tick = max(0.0, min(tick, deadline - now))
            ready, _ = ray.wait(list(self.running), num_returns=1, timeout=tick)
            for ref in ready:
                self._finished(ref)
            self._handle_signals()

    def _finished(self, ref) -> None:
        worker, index, actor = self.running.pop(ref)
        try:
            outcome = ray.get(ref)
        except RayActorError as exc:
            self._fail(worker, index, _death_message(exc), "")
            return
        except RayError as exc:
            self._fail(worker, index, f"{type(exc).__name__}: {exc}".splitlines()[0], "")
            return
        if outcome["failure"] is not None:
            message, trace = outcome["failure"]
            self._fail(worker, index, message, trace)
            return
        try:
            self.final[worker.name, index] = ray.get(actor.stats.remote(), timeout=_STATS_WAIT_S)
        except (RayError, GetTimeoutError):
            pass

    def _fail(self, worker: WorkerPlan, index: int, message: str, trace: str) -> None:
        if self.failure is None and not self.killed:
            self.failure = WorkerFailure(worker.name, index, message, trace)
            self.stopped = "failed"
        self._collect_live()
        self._kill_all()

    def _handle_signals(self) -> None:
        action, self.stopped = stop_step(
            self.signals, self.stop_requested, self.stopped, self.failure is not None
        )
        if action == "kill":
            self._collect_live()
            self._kill_all()
        elif action == "drain":
            self._request_stop()

    def _request_stop(self) -> None:
        """Stop the importers; the rest of the graph drains and finishes."""
        self.stop_requested = True
        for worker, _, actor in self.actors:
            if worker.kind == "importer":
                actor.stop.remote()
        self.broker.stop.remote()

    def _collect_live(self) -> None:
        """Statistics of the processes still running, before they are killed."""
        live = {
            (w.name, i): actor.stats.remote()
            for w, i, actor in self.running.values()
            if (w.name, i) not in self.final
        }
        for key, ref in live.items():
            try:
                self.final[key] = ray.get(ref, timeout=_STATS_WAIT_S)
            except (RayError, GetTimeoutError):
                pass
        if self.broker is not None and self.buffer_stats is None:
            try:
                self.buffer_stats = ray.get(self.broker.stats.remote(), timeout=_STATS_WAIT_S)
            except (RayError, GetTimeoutError):
                pass

    def _kill_all(self) -> None:
        """Kill every actor of the run and wait until the cluster says they are gone."""
        if self.running:
            self.killed = True
        refs = list(self.running)
        for _, _, actor in self.actors:
            ray.kill(actor, no_restart=True)
        if self.broker is not None:
            ray.kill(self.broker, no_restart=True)
        if refs:
            ray.wait(refs, num_returns=len(refs), timeout=_KILL_WAIT_S)
        self.running.clear()
        self.actors = []
        self.broker = None

    # --- the result --------------------------------------------------------------------------

    def _result(self, started: float, collect: bool) -> RunResult:
        if collect and self.broker is not None and self.buffer_stats is None:
            self._collect_live()
        exit_code = {"completed": 0, "timeout": 0, "interrupted": 130, "failed": 1}[self.stopped]
        document = {
            "pipeline": self.plan.name,
            "elapsed": time.perf_counter() - started,
            "exit": exit_code,
            "stopped": self.stopped,
            "buffers": {},
            "workers": {},
            "failure": None,
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "start_method": None,
            "backend": "ray",
        }
        if collect:
            self._collect(document)
        if self.failure is not None:
            f = self.failure
            document["failure"] = {
                "worker": f.worker,
                "process": f.process,
                "message": f.message,
                "traceback": f.traceback,
            }
        ok = self.failure is None and not (self.killed and self.stopped == "interrupted")
        return RunResult(ok=ok, exit=exit_code, stats=document, failure=self.failure)

    def _collect(self, document: dict) -> None:
        plan = self.plan
        buffers = {
            b.name: {"written": 0, "dropped": 0, "consumed": {}, "left": {}} for b in plan.buffers
        }
        counts = dict(self.buffer_stats or {})
        document["broker"] = counts.pop("", None)
        buffers.update(counts)
        workers = {}
        peak = document["peak_rss_bytes"]
        for worker in plan.workers:
            rows = [
                self.final[worker.name, i]
                for i in range(worker.processes)
                if (worker.name, i) in self.final
            ]

            def total(key: str, rows=rows):
                return sum(r[key] for r in rows)

            def longest(key: str, rows=rows) -> float:
                return max((r[key] for r in rows), default=0.0)

            hist = [sum(r["hist"][k] for r in rows) for k in range(HIST_BINS)]
            cpu_hist = [sum(r["cpu_hist"][k] for r in rows) for k in range(HIST_BINS)]
            calls = sum(hist)
            written = [sum(r["written"][j] for r in rows) for j in range(len(worker.outputs))]
            worker_peak = max((r["peak_rss_bytes"] for r in rows), default=0)
            peak = max(peak, worker_peak)
            entry = {
                "kind": worker.kind,
                "processes": worker.processes,
                "events_in": total("events_in"),
                "events_out": sum(written),
                "errors": total("errors"),
                "wall_s": total("wall_s"),
                "cpu_s": total("cpu_s"),
                "blocked_in_s": total("blocked_in_s"),
                "blocked_out_s": total("blocked_out_s"),
                **call_times_entry(
                    calls,
                    (total("call_s"), hist, longest("call_max_s")),
                    (total("cpu_call_s"), cpu_hist, longest("cpu_call_max_s")),
                ),
                "call_min_s": min(r["call_min_s"] for r in rows) if calls else None,
                "cpu_call_min_s": min(r["cpu_call_min_s"] for r in rows) if calls else None,
                "peak_rss_bytes": worker_peak,
            }
            if worker.node:
                entry["node"] = worker.node
            if worker.kind == "observer":
                entry["seen"] = total("seen")
                entry["skipped"] = total("skipped")
                entry["events_in"] = entry["seen"]
            if worker.kind == "filter":
                entry["accepted"] = total("accepted")
                entry["discarded"] = total("discarded")
                entry["per_output"] = dict(zip(worker.outputs, written, strict=True))
            workers[worker.name] = entry
        document["buffers"] = buffers
        document["workers"] = workers
        document["peak_rss_bytes"] = peak


def _check_reachable(address: str | None) -> None:
    """Fail at once (ConnectionError) when a `host:port` or `ray://host:port` address does not
    answer, instead of Ray's minutes of retries."""
    found = re.fullmatch(r"(?:ray://)?\[?([^\]/]+?)\]?:(\d+)/?", address or "")
    if found is None:
        return
    host, port = found.group(1), int(found.group(2))
    try:
        socket.create_connection((host, port), timeout=_CONNECT_WAIT_S).close()
    except OSError as exc:
        raise ConnectionError(f"{host}:{port} does not answer ({exc.strerror or exc})") from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _death_message(exc: RayActorError) -> str:
    """One line for an actor whose process died (killed, crashed, or left by itself)."""
    found = re.search(r"Worker exit type: (\w+)", str(exc))
    how = f"; Ray reports exit type {found.group(1)}" if found else ""
    return f"its process died before the end of its stream (killed, crashed or exited{how})"
