"""The Ray backend's driver: runs each partition of a plan on its node as the local runtime,
inside an actor pinned there, and joins their bridges, their control and their statistics.

A partition's actor (`PartitionActor`) starts its sub-plan with `flowc.runtime.start`, the same
supervisor, workers and rings as `flowc run` on that machine, and holds the Ray ends of its
bridges (`flowc.backends.ray.bridge`). The driver only asks: it starts the partitions, passes
stop, drain, pause and resume to every one, follows the stop signals with the runtime's own
policy (`flowc.runtime.stopping`), lets the other partitions drain when a worker in one fails
(as one partition does), ends the run at once when a node or an actor is lost, and merges the
partitions' statistics into one `--stats` document.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from multiprocessing import forkserver

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from flowc.backends.ray.bridge import Inlet, Outlet
from flowc.backends.ray.placement import (
    Node,
    Partition,
    PlacementError,
    bridge_workers,
    partition,
    place,
)
from flowc.plan import Plan
from flowc.runtime.bottleneck import find_bottleneck
from flowc.runtime.result import RunError, RunResult, WorkerFailure
from flowc.runtime.stopping import (
    DRAIN_TIMEOUT_S,
    STOP_SIGNALS,
    check_seconds,
    kept_stop_signals,
    stop_step,
)
from flowc.runtime.summary import format_summary

_WAIT_TICK_S = 0.2
# how long the driver waits for an actor's answer to a question (seconds)
_ASK_WAIT_S = 10.0
# a partition that has not answered a look for this long has lost its node (seconds)
_LOST_AFTER_S = 5.0
_LOOK_EVERY_S = 1.0
# how long a cluster's address gets to answer before the run fails (seconds)
_CONNECT_WAIT_S = 5.0
# how the runs of the partitions rank when their ends are merged: the first that applies
_ENDINGS = ("failed", "interrupted", "timeout", "completed")


class PartitionActor:
    """One partition on its node: the local runtime running its sub-plan, and its bridges."""

    def __init__(self, plan: Plan, setup: dict):
        for folder in reversed(setup["sys_path"]):
            if folder and os.path.isdir(folder) and folder not in sys.path:
                sys.path.insert(0, folder)
        if os.path.isdir(setup["cwd"]):
            os.chdir(setup["cwd"])
        self.plan = plan
        self.dir = tempfile.mkdtemp(prefix="flowc_bridge_")
        if setup["start_method"] in (None, "forkserver"):  # warm now: the run's clock is not on
            forkserver.set_forkserver_preload(["flowc.runtime.worker"])
            forkserver.ensure_running()
        self.handle = None
        self.outlets: dict[str, Outlet] = {}
        self.inlets: dict[str, Inlet] = {}
        self.channels: dict[str, tuple[Inlet, int]] = {}

    def open(self, sends: list, inlets: dict, receives: dict) -> None:
        """Open the bridges' sockets: `sends` [(channel, bridge-out, target actor, sender)],
        `inlets` {bridge-in: senders}, `receives` {channel: (bridge-in, sender)}."""
        paths = {}
        for k, (name, senders) in enumerate(inlets.items()):
            paths[name] = os.path.join(self.dir, f"in{k}")
            self.inlets[name] = Inlet(paths[name], senders)
        for channel, (name, sender) in receives.items():
            self.channels[channel] = (self.inlets[name], sender)
        for k, (channel, name, target, sender) in enumerate(sends):
            paths[name] = os.path.join(self.dir, f"out{k}")
            self.outlets[name] = Outlet(paths[name], channel, sender, target)
        self.plan = dataclasses.replace(
            self.plan,
            workers=tuple(
                dataclasses.replace(w, args={**w.args, "path": paths[w.name]})
                if w.name in paths
                else w
                for w in self.plan.workers
            ),
        )

    def start(self, timeout: float | None, drain_timeout: float, method: str | None) -> None:
        """Start the partition's run (the start method as the local runtime chooses it: in
        an actor, forkserver; a worker forked from the actor's process does not survive it)."""
        from flowc.runtime import start
        from flowc.runtime.supervisor import choose_start_method

        method = choose_start_method(method)
        self.handle = start(
            self.plan,
            timeout=timeout,
            drain_timeout=drain_timeout,
            start_method=method,
            quiet=True,
        )
        if method != "fork":
            # the driver reports the run: what the runtime here would print at its end (a
            # failure) would only repeat that, through Ray's log. Workers are not forked from
            # this process, so their own output is untouched.
            sys.stderr = open(os.devnull, "w")  # noqa: SIM115  (for the actor's life)

    def push(
        self, channel: str, sender: int, sequence: int, events: int, rows_bytes: int, *pieces
    ) -> None:
        inlet, index = self.channels[channel]
        inlet.push(index, sequence, events, rows_bytes, pieces)

    def wait(self) -> dict:
        """The partition's result once its run has ended, with what its bridges carried."""
        result = self.handle.wait()
        self._close()
        return {
            "result": dataclasses.replace(result, timeline={}),
            "sent": {name: [o.events, o.frames] for name, o in self.outlets.items()},
            "bridge_error": next(
                (f"{type(o.error).__name__}: {o.error}" for o in self.outlets.values() if o.error),
                None,
            ),
        }

    def stop(self, drain: bool) -> None:
        if self.handle is not None:
            self.handle.stop(drain)

    def pause(self, paused: bool) -> None:
        if self.handle is not None:
            (self.handle.pause if paused else self.handle.resume)()

    def stats(self) -> dict | None:
        return None if self.handle is None else self.handle.stats()

    def look(self) -> bool:
        return True

    def _close(self) -> None:
        for end in (*self.outlets.values(), *self.inlets.values()):
            end.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def run(
    plan: Plan,
    *,
    address: str | None = None,
    timeout: float | None = None,
    drain_timeout: float = DRAIN_TIMEOUT_S,
    quiet: bool = True,
    stats_path: str | os.PathLike | None = None,
    raise_on_failure: bool = True,
    num_cpus: int | None = None,
    start_method: str | None = None,
) -> RunResult:
    """Run `plan` on Ray until every partition has finished, one failed, or it was stopped.

    address:  a running cluster (`ray://host:10001`, `host:6379`, "auto"); None starts a local
              one on loopback for this run (or uses the one this process is connected to)
    num_cpus: CPUs of a local cluster started for this run
    The other options are those of `flowc.runtime.run`; `timeout` counts in each partition
    from its start.
    """
    handle = start(
        plan,
        address=address,
        timeout=timeout,
        drain_timeout=drain_timeout,
        num_cpus=num_cpus,
        start_method=start_method,
        _in_this_thread=True,
    )
    result = handle.wait()
    _report(result, quiet, stats_path)
    if result.failure is not None and raise_on_failure:
        raise RunError(result)
    return result


def start(
    plan: Plan,
    *,
    address: str | None = None,
    timeout: float | None = None,
    drain_timeout: float = DRAIN_TIMEOUT_S,
    num_cpus: int | None = None,
    start_method: str | None = None,
    _in_this_thread: bool = False,
) -> RayRun:
    """Start `plan` on Ray and return its handle at once (wait, stop, pause, resume, stats)."""
    timeout = check_seconds(timeout, "timeout")
    drain_timeout = check_seconds(drain_timeout, "drain_timeout", zero=False)
    run = RayRun(plan, timeout, drain_timeout, start_method)
    run.begin(address, num_cpus)
    if _in_this_thread:
        run.watch_here()
    else:
        threading.Thread(target=run.watch, name=f"flowc ray {plan.name}", daemon=True).start()
    return run


class RayRun:
    """A run of a plan on Ray: its partitions, how the driver follows them, its result."""

    def __init__(
        self, plan: Plan, timeout: float | None, drain_timeout: float, start_method: str | None
    ):
        self.plan = plan
        self.start_method = start_method
        self.timeout = timeout
        self.drain_timeout = drain_timeout
        self.partitions: list[Partition] = []
        self.actors: list = []
        self.waiting: dict = {}  # wait() reference -> partition index
        self.ends: dict[int, dict] = {}
        self.failure: WorkerFailure | None = None
        self.asked = 0  # stop requests: 1 drain, 2 stop at once
        self.signals = 0
        self.drain_requested = False
        self.killed = False
        self.stopped: str | None = None
        self.connected_here = False
        self.started = time.perf_counter()
        self.done = threading.Event()
        self.result: RunResult | None = None
        self.looks: dict = {}  # look() reference -> (partition index, when asked)
        self.kept = None  # the stop signals `flowc run` keeps (flowc.runtime.stopping)

    # --- control, from any thread ------------------------------------------------------------

    @property
    def running(self) -> bool:
        return not self.done.is_set()

    def stop(self, drain: bool = True) -> None:
        """As a first Ctrl-C (drain: importers stop, bridges drain) or a second (at once)."""
        self.asked = max(self.asked, 1 if drain else 2)

    def pause(self) -> None:
        for actor in self.actors:
            actor.pause.remote(True)

    def resume(self) -> None:
        for actor in self.actors:
            actor.pause.remote(False)

    def wait(self, timeout: float | None = None) -> RunResult | None:
        if not self.done.wait(timeout):
            return None
        return self.result

    def stats(self) -> dict:
        """The merged statistics so far (the final document once the run has ended)."""
        if self.done.is_set():
            return self.result.stats
        ends = {}
        for k, actor in enumerate(self.actors):
            try:
                live = ray.get(actor.stats.remote(), timeout=_ASK_WAIT_S)
            except (RayError, GetTimeoutError):
                continue
            if live is not None:
                ends[k] = {"result": RunResult(ok=True, exit=0, stats=live), "sent": {}}
        return self._merge(ends, None, None)

    # --- starting ----------------------------------------------------------------------------

    def begin(self, address: str | None, num_cpus: int | None) -> None:
        """Connect, place, and start every partition; a failure here is the run's result."""
        try:
            self._connect(address, num_cpus)
            nodes, driver = _nodes()
            placed = place(self.plan, nodes, driver)
            self.partitions = partition(self.plan, placed)
            self._start_partitions()
        except PlacementError as exc:
            self._fail(exc.worker, str(exc))
        except _NoCluster as exc:
            self._fail("", str(exc))
        except RayError as exc:
            self._fail("", f"the partitions could not start on Ray: {_first_line(exc)}")

    def _connect(self, address: str | None, num_cpus: int | None) -> None:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if ray.is_initialized():
            return
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
            raise _NoCluster(f"no Ray cluster {where}: {_first_line(exc)}") from None
        self.connected_here = True

    def _start_partitions(self) -> None:
        setup = {
            "sys_path": list(sys.path),
            "cwd": os.getcwd(),
            "start_method": self.start_method or os.environ.get("FLOWC_START_METHOD"),
        }
        remote = ray.remote(PartitionActor)
        by_node = {}
        for part in self.partitions:
            actor = remote.options(
                num_cpus=0,
                max_concurrency=64,
                max_restarts=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(part.node.id, soft=False),
            ).remote(part.plan, setup)
            self.actors.append(actor)
            by_node[part.node.id] = (part, actor)
        opened = []
        for part, actor in zip(self.partitions, self.actors, strict=True):
            sends = []
            for b in part.sends:
                target_part, target = by_node[b.target]
                sends.append((b.channel, b.out_worker, target, target_part.receives[b.channel][1]))
            opened.append(actor.open.remote(sends, part.inlets, part.receives))
        ray.get(opened)
        ray.get(
            [
                a.start.remote(self.timeout, self.drain_timeout, self.start_method)
                for a in self.actors
            ]
        )
        for k, actor in enumerate(self.actors):
            self.waiting[actor.wait.remote()] = k

    # --- watching ----------------------------------------------------------------------------

    def watch_here(self) -> None:
        """Watch in the calling thread, following the stop signals while the run goes on:
        those `flowc run` keeps for its whole life, else (in the main thread) our own."""
        old = {}
        self.kept = kept_stop_signals()
        if self.kept is None and threading.current_thread() is threading.main_thread():

            def on_signal(signum, frame):
                self.signals += 1

            old = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
        try:
            self.watch()
        finally:
            for signum, handler in old.items():
                signal.signal(signum, handler)

    def watch(self) -> None:
        try:
            self._watch()
            self.result = self._result()
        except BaseException as exc:  # a bug of ours must not leave actors behind
            self.result = RunResult(
                ok=False,
                exit=1,
                stats={},
                failure=WorkerFailure("", 0, f"{type(exc).__name__}: {exc}"),
            )
            raise
        finally:
            self._kill_all()
            if self.connected_here:
                ray.shutdown()
            self.done.set()

    def _watch(self) -> None:
        last_look = time.perf_counter()
        while self.waiting:
            ready, _ = ray.wait(list(self.waiting), num_returns=1, timeout=_WAIT_TICK_S)
            for ref in ready:
                self._ended(ref)
            self._follow_requests()
            now = time.perf_counter()
            if now - last_look >= _LOOK_EVERY_S:
                last_look = now
                self._look(now)
            if self.killed and self.failure is not None:
                return

    def _ended(self, ref) -> None:
        k = self.waiting.pop(ref)
        part = self.partitions[k]
        try:
            self.ends[k] = ray.get(ref)
        except RayActorError as exc:
            self._lost(k, _first_line(exc))
            return
        except RayError as exc:
            self._fail(_first_worker(part), f"on node `{part.node.label}`: {_first_line(exc)}")
            return
        result = self.ends[k]["result"]
        if result.failure is not None and self.failure is None:
            # as in one partition: the rest of the graph drains what it accepted
            self._stop_all(drain=True)

    def _lost(self, k: int, why: str) -> None:
        part = self.partitions[k]
        alive = {n["NodeID"]: n.get("Alive") for n in ray.nodes()}
        if alive.get(part.node.id):
            message = f"its partition on node `{part.node.label}` died ({why})"
        else:
            message = f"its node `{part.node.label}` was lost"
        self._fail(_first_worker(part), message)

    def _look(self, now: float) -> None:
        """Ask every partition still running whether it answers; one that has not answered
        for _LOST_AFTER_S has lost its node (or its actor)."""
        ready = [r for r in self.looks if ray.wait([r], timeout=0)[0]]
        for ref in ready:
            k, _ = self.looks.pop(ref)
            try:
                ray.get(ref)
            except RayError as exc:
                if k in self.waiting.values():
                    self._lost(k, _first_line(exc))
        for k, asked in list(self.looks.values()):
            if now - asked > _LOST_AFTER_S and k in self.waiting.values():
                self._lost(k, f"no answer for {_LOST_AFTER_S:g} s")
                return
        pending = {k for k, _ in self.looks.values()}
        for k in set(self.waiting.values()) - pending:
            self.looks[self.actors[k].look.remote()] = (k, now)

    def _follow_requests(self) -> None:
        signals = self.signals if self.kept is None else self.kept.count
        action, self.stopped = stop_step(
            max(signals, self.asked),
            self.drain_requested,
            self.stopped,
            self.failure is not None,
            self.killed,
        )
        if action == "drain":
            self.drain_requested = True
            self._stop_all(drain=True)
        elif action == "kill":
            self._stop_all(drain=False)

    def _stop_all(self, drain: bool) -> None:
        if not drain:
            self.killed = True
        for k in set(self.waiting.values()):
            self.actors[k].stop.remote(drain)

    def _fail(self, worker: str, message: str) -> None:
        if self.failure is None:
            self.failure = WorkerFailure(worker, 0, message)
        self._stop_all(drain=False)

    def _kill_all(self) -> None:
        """Let the partitions clean up (their runs are over or stopping), then kill the actors."""
        if self.waiting:
            ray.wait(list(self.waiting), num_returns=len(self.waiting), timeout=_ASK_WAIT_S)
        for actor in self.actors:
            ray.kill(actor, no_restart=True)

    # --- the result --------------------------------------------------------------------------

    def _result(self) -> RunResult:
        results = {k: end["result"] for k, end in self.ends.items()}
        failure = self.failure
        if failure is None:
            failures = [(k, r.failure) for k, r in results.items() if r.failure is not None]
            # a bridge fails because of what happened elsewhere: name the cause first
            failures.sort(key=lambda f: f[1].worker in bridge_workers(self.partitions[f[0]]))
            if failures:
                failure = failures[0][1]
        if failure is not None:
            stopped, exit_code = "failed", 1
        else:
            ranked = sorted(results.values(), key=lambda r: _ENDINGS.index(r.stats["stopped"]))
            stopped = ranked[0].stats["stopped"] if ranked else "completed"
            exit_code = ranked[0].exit if ranked else 0
            if self.stopped == "interrupted" and stopped != "interrupted":
                stopped, exit_code = "interrupted", 130
        document = self._merge(self.ends, exit_code, stopped)
        if failure is not None:
            document["failure"] = dataclasses.asdict(failure)
        bottleneck = find_bottleneck(document, self.plan)
        document["bottleneck"] = bottleneck.to_json() if bottleneck else None
        ok = failure is None and not (self.killed and stopped == "interrupted")
        return RunResult(ok=ok, exit=exit_code, stats=document, failure=failure)

    def _merge(self, ends: dict, exit_code: int | None, stopped: str | None) -> dict:
        """One statistics document of the whole plan from the partitions' documents: every
        worker with its node, every buffer counted once across its bridges, and the bridges."""
        plan = self.plan
        documents = {k: end["result"].stats for k, end in ends.items()}
        workers, buffers, bridges = {}, {}, {}
        bridge_names = {k: bridge_workers(p) for k, p in enumerate(self.partitions)}
        for k, document in documents.items():
            node = self.partitions[k].node
            for name, entry in document.get("workers", {}).items():
                if name not in bridge_names[k]:
                    pinned = plan.worker(name).node
                    workers[name] = {**entry, "node": pinned or node.label}
        for buffer in plan.buffers:
            buffers[buffer.name] = self._buffer_counts(buffer.name, documents)
        for k, part in enumerate(self.partitions):
            sent = ends.get(k, {}).get("sent", {})
            for b in part.sends:
                target = next(p for p in self.partitions if p.node.id == b.target)
                events, frames = sent.get(b.out_worker, [0, 0])
                bridges[b.channel] = {
                    "buffer": b.buffer,
                    "from": part.node.label,
                    "to": target.node.label,
                    "events": events,
                    "batches": frames,
                }
        any_document = next(iter(documents.values()), {})
        return {
            "pipeline": plan.name,
            "elapsed": time.perf_counter() - self.started,
            "exit": exit_code,
            "stopped": stopped,
            "buffers": buffers,
            "workers": {w.name: workers[w.name] for w in plan.workers if w.name in workers},
            "failure": None,
            "peak_rss_bytes": max(
                (d.get("peak_rss_bytes", 0) for d in documents.values()), default=0
            ),
            "start_method": any_document.get("start_method"),
            "backend": "ray",
            "nodes": sorted({p.node.label for p in self.partitions}),
            "bridges": bridges,
        }

    def _buffer_counts(self, name: str, documents: dict) -> dict:
        """written, dropped, consumed and left of a buffer over every partition it is in:
        events a bridge carried are counted once, and those on their way (in a ring upstream
        or between the nodes) are `left` for the consumers downstream."""
        index = {p.node.id: k for k, p in enumerate(self.partitions)}
        in_bridges = {}
        counts = {"written": 0, "dropped": 0, "consumed": {}, "left": {}}
        for k, part in enumerate(self.partitions):
            local = documents.get(k, {}).get("buffers", {}).get(name)
            if local is None:
                continue
            names = bridge_workers(part)
            relayed = sum(
                documents[k]["workers"].get(w.name, {}).get("events_out", 0)
                for w in part.plan.workers
                if w.name in names and name in w.outputs
            )
            in_bridges[part.node.id] = relayed
            counts["written"] += local["written"] - relayed
            counts["dropped"] += local["dropped"]

        def upstream(node_id: str) -> int:
            """Events on their way into this node's ring (none when nothing sends there)."""
            feeding = [
                (p, b)
                for p in self.partitions
                for b in p.sends
                if b.buffer == name and b.target == node_id
            ]
            if not feeding:
                return 0
            total = 0
            for p, b in feeding:
                local = documents.get(index[p.node.id], {}).get("buffers", {}).get(name, {})
                total += local.get("consumed", {}).get(b.out_worker, 0)
                total += local.get("left", {}).get(b.out_worker, 0)
                total += upstream(p.node.id)
            return total - in_bridges.get(node_id, 0)

        for k, part in enumerate(self.partitions):
            local = documents.get(k, {}).get("buffers", {}).get(name)
            if local is None:
                continue
            names = bridge_workers(part)
            on_way = upstream(part.node.id)
            for consumer, n in local["consumed"].items():
                if consumer not in names:
                    counts["consumed"][consumer] = n
                    counts["left"][consumer] = local["left"].get(consumer, 0) + on_way
        return counts


class _NoCluster(Exception):
    """No Ray cluster answers where the run was sent."""


def _nodes() -> tuple[list[Node], Node]:
    """The cluster's live nodes, and the driver's."""
    nodes = []
    for n in ray.nodes():
        if not n.get("Alive"):
            continue
        address = n.get("NodeManagerAddress", "")
        name = n.get("NodeName") or address
        nodes.append(Node(n["NodeID"], address, n.get("NodeManagerHostname", ""), name))
    here = ray.get_runtime_context().get_node_id()
    driver = next((n for n in nodes if n.id == here), nodes[0])
    return nodes, driver


def _first_worker(part: Partition) -> str:
    names = bridge_workers(part)
    return next((w.name for w in part.plan.workers if w.name not in names), "")


def _report(result: RunResult, quiet: bool, stats_path) -> None:
    """Print the failure and (unless quiet) the summary; write the statistics."""
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
