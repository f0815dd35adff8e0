"""What every chain runner of the benchmark shares: arguments, pacing, the exporter's record,
CPU accounting over the whole process tree, and the one result line the orchestrator reads.

Plain numpy + psutil + the standard library, so the mimoCoRB2 runner can import it from its own
Python 3.12 virtualenv.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

import numpy as np
import psutil

# one element of an event: two float64 fields; LENGTH 4 / 512 / 65536 -> 64 B / 8 KB / 1 MB
EVENT_DTYPE = np.dtype([("a", "<f8"), ("b", "<f8")])
# the metadata record of a slot, as in mimoCoRB2 and flowc
META_DTYPE = np.dtype([("counter", "<i8"), ("timestamp", "<f8"), ("deadtime", "<f8")])

RESULT_PREFIX = "BENCH_RESULT "


def parse_args(description: str, extra=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--length", type=int, required=True, help="elements per event")
    parser.add_argument("--events", type=int, required=True, help="events the importer sends")
    parser.add_argument("--slots", type=int, default=32, help="slots per buffer (queue size)")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="events per second; 0: as fast as possible"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=0.5,
        help="seconds a paced importer waits before its first event, so every process is up",
    )
    parser.add_argument("--result-dir", required=True, help="where the exporter leaves its record")
    if extra is not None:
        extra(parser)
    return parser.parse_args()


def zeroed_event(length: int) -> np.ndarray:
    return np.zeros(length, dtype=EVENT_DTYPE)


class Pacer:
    """Makes a paced importer hand over event i at `start + settle + i / rate`.

    The hand-over time (`time.time()`) is written into the event itself, as its first `a`, so
    every implementation's latency is measured alike: from the moment the importer's code hands
    the event over to the moment the exporter's code receives it, whatever the implementation
    puts in its own metadata and wherever it takes its timestamp.
    """

    def __init__(self, rate: float, settle: float):
        self.period = 1.0 / rate
        self.start = time.time() + settle

    def hand_over(self, index: int, event: np.ndarray) -> np.ndarray:
        delay = self.start + index * self.period - time.time()
        if delay > 0:
            time.sleep(delay)
        event["a"][0] = time.time()
        return event


def handed_over_at(event: np.ndarray) -> float:
    """When the importer handed `event` over (see `Pacer`)."""
    return float(event["a"][0])


class ExporterRecord:
    """What an exporter notes per event: arrival times, and latencies in a paced run.

    Every implementation's exporter does the same per-event work through this class, and
    leaves the record in `result_dir` for its runner to read.
    """

    def __init__(self, result_dir: str, capacity: int):
        self.result_dir = result_dir
        self.count = 0
        self.first_arrival = 0.0
        self.last_arrival = 0.0
        self.latencies = np.zeros(capacity, dtype=np.float64)

    def arrived(self) -> None:
        now = time.time()
        if self.count == 0:
            self.first_arrival = now
        self.last_arrival = now
        self.count += 1

    def arrived_with(self, timestamp: float) -> None:
        """An event the importer handed over at `timestamp` (time.time()) has arrived."""
        now = time.time()
        if self.count < len(self.latencies):
            self.latencies[self.count] = now - timestamp
        if self.count == 0:
            self.first_arrival = now
        self.last_arrival = now
        self.count += 1

    def save(self) -> None:
        with open(os.path.join(self.result_dir, "exporter.json"), "w") as f:
            json.dump(
                {
                    "count": self.count,
                    "first_arrival": self.first_arrival,
                    "last_arrival": self.last_arrival,
                },
                f,
            )
        np.save(
            os.path.join(self.result_dir, "latencies.npy"),
            self.latencies[: min(self.count, len(self.latencies))],
        )


def load_record(result_dir: str) -> tuple[dict, np.ndarray]:
    with open(os.path.join(result_dir, "exporter.json")) as f:
        record = json.load(f)
    return record, np.load(os.path.join(result_dir, "latencies.npy"))


def tree_cpu_seconds() -> float:
    """User + system CPU of this process and of every descendant reaped so far (transitively)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime


def _is_resource_tracker(process: psutil.Process) -> bool:
    try:
        return any("resource_tracker" in part for part in process.cmdline())
    except psutil.Error:
        return False


def reap_children(timeout: float = 3.0) -> list[str]:
    """Stop and reap the helper processes a run leaves behind (a forkserver, a janitor), so
    their CPU and that of the workers they reaped is counted. multiprocessing's resource
    tracker is left alone: it ignores SIGTERM and ends with this process.

    Returns a description of those that would not stop in time.
    """
    children = [p for p in psutil.Process().children() if not _is_resource_tracker(p)]
    for child in children:
        try:
            child.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(children, timeout=timeout)
    return [f"pid {p.pid}" for p in alive]


def latency_summary(latencies: np.ndarray) -> dict | None:
    if len(latencies) == 0:
        return None
    micro = latencies * 1e6
    return {
        "p50_us": float(np.percentile(micro, 50)),
        "p99_us": float(np.percentile(micro, 99)),
        "max_us": float(micro.max()),
        "samples": len(micro),
    }


def emit(result: dict) -> None:
    """Print the one line the orchestrator reads (after anything the run itself printed)."""
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def chain_result(
    args: argparse.Namespace, *, wall_s: float, cpu_s: float, unreaped: list[str], **extra
) -> dict:
    """The result line of a finished run, from the exporter's record and the runner's clocks."""
    try:
        record, latencies = load_record(args.result_dir)
    except OSError:
        return {
            "ok": False,
            "error": "the exporter left no record",
            "length": args.length,
            "events": args.events,
            "wall_s": wall_s,
            "cpu_s": cpu_s,
            **extra,
        }
    window = record["last_arrival"] - record["first_arrival"]
    received = record["count"]
    result = {
        "ok": received == args.events,
        "length": args.length,
        "events": args.events,
        "received": received,
        "paced_rate": args.rate,
        # steady state: events that arrived after the first one, over the time they took
        "events_per_s": (received - 1) / window if received > 1 and window > 0 else None,
        "window_s": window,
        "wall_s": wall_s,
        "cpu_s": cpu_s,
        "unreaped": unreaped,
        "latency": latency_summary(latencies) if args.rate > 0 else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    result.update(extra)
    return result


def run_process_chain(args, context, importer, processor, exporter, first, second) -> None:
    """Run a hand-written importer -> processor -> exporter chain over two channels (queues,
    rings...) in three processes of `context`, and emit its result line."""
    processes = [
        context.Process(
            target=importer,
            args=(first, args.events, args.length, args.rate, args.settle),
            name="importer",
        ),
        context.Process(target=processor, args=(first, second), name="processor"),
        context.Process(
            target=exporter,
            args=(second, args.result_dir, args.events, args.rate > 0),
            name="exporter",
        ),
    ]
    cpu_before = tree_cpu_seconds()
    started = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    wall = time.perf_counter() - started
    unreaped = reap_children()
    cpu = tree_cpu_seconds() - cpu_before
    failed = [p.name for p in processes if p.exitcode != 0]
    result = chain_result(args, wall_s=wall, cpu_s=cpu, unreaped=unreaped, failed=failed)
    result["ok"] = result["ok"] and not failed
    emit(result)
