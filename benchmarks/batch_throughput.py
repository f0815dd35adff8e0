"""Batch throughput: the 3-stage chain of `runtime_throughput.py` (importer -> processor
returning its input -> exporter, events of `{a: f8, b: f8}[LENGTH]`) with `batch=N` on every
stage, beside the per-event flowc chain, the minimal shared-memory ring and GNU Radio.

Every run is a fresh subprocess; the figure of each row is the median of the repetitions.
flowc's batched rows give each buffer 2 N slots (a batch never holds more events than its input
has slots), at most 16 MB and at least the 32 slots the per-event rows keep. GNU Radio runs three `gr.sync_block` Python blocks (source filling its output,
pass-through copying, sink reading) with 64-byte items under Debian's /usr/bin/python3 (the
`gnuradio` package); it says "not available" where that is not installed.

    python benchmarks/batch_throughput.py [--quick] [--json FILE]
    python benchmarks/batch_throughput.py --chain --batch N --length L --events E --slots S
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
RESULT_PREFIX = "BENCH_RESULT "
GNURADIO_PYTHON = "/usr/bin/python3"
RUN_TIMEOUT_S = 300
EVENT_BYTES = 16  # {a: f8, b: f8}
SIZES = {"64 B": 4, "8 KB": 512, "1 MB": 65536}
BATCHES = (1, 64, 1024)
# a batched buffer holds two batches, up to this many bytes (a larger ring only costs page
# faults and cache misses), and never fewer than the per-event rows' 32 slots
MAX_BUFFER_BYTES = 16 << 20

# events per run: (full, quick) for each size, batched and per event
EVENTS = {
    "batched": {4: (20_000_000, 5_000_000), 512: (2_000_000, 500_000), 65536: (20_000, 5_000)},
    "per-event": {4: (400_000, 150_000), 512: (200_000, 60_000), 65536: (10_000, 3_000)},
}

FLOW_TEXT = """\
pipeline batch_throughput

type Event = {{a: f8, b: f8}}

buffer raw       : Event[{length}] slots={slots}
buffer processed : Event[{length}] slots={slots}

importer  generate = source(n={events}) -> raw batch={batch}
processor copy     = passthrough() raw -> processed batch={batch}
exporter  collect  = ArrivalSink(path="{path}") processed batch={batch}
"""


# --- the chain's workers (given in process through `functions=`, as the per-event chain's) ---


def source(n: int, example=None, batch=None):
    """Yields `n` zeroed events in batches of `batch` rows (one array, made once)."""
    rows = np.zeros((batch, len(example)), dtype=example.dtype)
    full, rest = divmod(n, batch)
    for _ in range(full):
        yield rows
    if rest:
        yield rows[:rest]


def passthrough(data):
    """Returns its input: the runtime copies the batch into the output slots."""
    return data


class ArrivalSink:
    """Counts the events that arrive and when the first and last batch came."""

    def __init__(self, path: str):
        self.path = path
        self.count = 0
        self.first = self.last = 0.0
        self.first_size = 0

    def process(self, data):
        now = time.time()
        if not self.count:
            self.first, self.first_size = now, len(data)
        self.last = now
        self.count += len(data)

    def finish(self):
        with open(self.path, "w") as out:
            json.dump(
                {
                    "count": self.count,
                    "first": self.first,
                    "last": self.last,
                    "first_size": self.first_size,
                },
                out,
            )


FUNCTIONS = {"source": source, "passthrough": passthrough, "ArrivalSink": ArrivalSink}


def slots_for(batch: int, length: int) -> int:
    most = MAX_BUFFER_BYTES // (length * EVENT_BYTES)
    return max(32, min(2 * batch, most))


def run_chain_here(batch: int, length: int, events: int, slots: int) -> dict:
    """Run the batched chain in this process (the supervisor) and say how fast it went: the
    functions given in process and the CPU of the process tree counted as the per-event chain
    (`peers/flowc_chain.py`) does, helpers left running stopped and reaped."""
    import flowc

    sys.path.insert(0, str(PEERS))
    from common import reap_children, tree_cpu_seconds

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "arrivals.json")
        text = FLOW_TEXT.format(length=length, slots=slots, events=events, batch=batch, path=path)
        plan = flowc.compile_source(text, functions=FUNCTIONS)
        cpu_before = tree_cpu_seconds()
        started = time.perf_counter()
        run = plan.run(quiet=True)
        wall = time.perf_counter() - started
        reap_children()
        cpu = tree_cpu_seconds() - cpu_before
        with open(path) as f:
            record = json.load(f)
    window = record["last"] - record["first"]
    # steady state: the events after the first batch, over the time they took
    after_first = record["count"] - record["first_size"]
    return {
        "ok": run.ok and record["count"] == events,
        "events": events,
        "received": record["count"],
        "events_per_s": after_first / window if window > 0 and after_first > 0 else None,
        "wall_s": wall,
        "cpu_s": cpu,
        "calls": {name: w.get("calls") for name, w in run.stats.get("workers", {}).items()},
        # each worker's own CPU seconds, as the per-event chain's result gives them
        "runtime_cpu_s": {name: w.get("cpu_s") for name, w in run.stats.get("workers", {}).items()},
    }


# --- the orchestrator ------------------------------------------------------------------------


def _result_of(command: list[str], environment: dict | None = None) -> dict:
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            env={**os.environ, **(environment or {})},
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {RUN_TIMEOUT_S} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {"ok": False, "error": f"exit {done.returncode}: {tail}"}


def run_batched(batch: int, length: int, events: int) -> dict:
    slots = slots_for(batch, length)
    command = [sys.executable, str(Path(__file__)), "--chain", "--batch", str(batch)]
    command += ["--length", str(length), "--events", str(events), "--slots", str(slots)]
    return _result_of(command)


def run_peer(script: str, length: int, events: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, str(PEERS / script), "--length", str(length)]
        command += ["--events", str(events), "--result-dir", folder]
        return _result_of(command)


def run_gnuradio(items: int) -> dict:
    if not os.path.exists(GNURADIO_PYTHON):
        return {"ok": False, "available": False, "error": f"{GNURADIO_PYTHON} is missing"}
    command = [GNURADIO_PYTHON, str(PEERS / "gnuradio_chain.py"), "--items", str(items)]
    return _result_of(command)


def median_rate(results: list[dict]) -> float | None:
    rates = [r["events_per_s"] for r in results if r.get("ok") and r.get("events_per_s")]
    return statistics.median(rates) if rates else None


def median_cpu_us(results: list[dict]) -> float | None:
    """CPU microseconds per event of the whole chain (less sensitive to other load)."""
    costs = [1e6 * r["cpu_s"] / r["events"] for r in results if r.get("ok") and r.get("cpu_s")]
    return statistics.median(costs) if costs else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer events, 1 repetition")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions (default 3)")
    parser.add_argument("--json", metavar="FILE", help="also write every result to FILE")
    parser.add_argument("--chain", action="store_true", help="(internal) run one batched chain")
    parser.add_argument("--batch", type=int)
    parser.add_argument("--length", type=int)
    parser.add_argument("--events", type=int)
    parser.add_argument("--slots", type=int)
    args = parser.parse_args()
    if args.chain:
        result = run_chain_here(args.batch, args.length, args.events, args.slots)
        print(RESULT_PREFIX + json.dumps(result), flush=True)
        return

    which = 1 if args.quick else 0
    repeat = args.repeat or (1 if args.quick else 3)
    started = time.perf_counter()
    load = os.getloadavg()[0]
    results: dict[str, dict[str, list[dict]]] = {}
    for _ in range(repeat):
        for size, length in SIZES.items():
            row = results.setdefault(size, {})
            for batch in BATCHES:
                events = (
                    EVENTS["batched"][length][which]
                    if batch > 1
                    else (EVENTS["per-event"][length][which])
                )
                result = run_batched(batch, length, events)
                row.setdefault(f"flowc batch={batch}", []).append(result)
                _progress(size, f"flowc batch={batch}", result)
            events = EVENTS["per-event"][length][which]
            for name, script in (("flowc per event", "flowc_chain.py"), ("ring", "ring_chain.py")):
                result = run_peer(script, length, events)
                row.setdefault(name, []).append(result)
                _progress(size, name, result)
        result = run_gnuradio(EVENTS["per-event"][4][which] * 4)
        results["64 B"].setdefault("GNU Radio", []).append(result)
        _progress("64 B", "GNU Radio", result)

    print()
    print(
        f"Chain importer -> processor -> exporter, {{a: f8, b: f8}}[LENGTH]; medians of "
        f"{repeat} run(s); load average {load:.2f} before, {os.getloadavg()[0]:.2f} after; "
        f"took {time.perf_counter() - started:.0f} s"
    )
    print()
    names = ["flowc batch=1", "flowc batch=64", "flowc batch=1024", "flowc per event", "ring"]
    names.append("GNU Radio")
    header = f"{'implementation':<18}" + "".join(f"{size:>14}" for size in SIZES)
    print(header)
    print("-" * len(header))
    rates = {size: {n: median_rate(r) for n, r in row.items()} for size, row in results.items()}
    for name in names:
        cells = []
        for size in SIZES:
            rate = rates[size].get(name)
            if name == "GNU Radio" and size != "64 B":
                cells.append("")
            elif rate is None:
                failed = results[size].get(name, [{}])[-1]
                cells.append("n/a" if failed.get("available") is False else "failed")
            else:
                cells.append(f"{rate:,.0f}")
        print(f"{name:<18}" + "".join(f"{c:>14}" for c in cells))
    print("(events per second)")
    print()
    print(header)
    print("-" * len(header))
    for name in names:
        cells = []
        for size in SIZES:
            cost = median_cpu_us(results[size].get(name, []))
            cells.append("" if cost is None else f"{cost:,.3f}")
        print(f"{name:<18}" + "".join(f"{c:>14}" for c in cells))
    print("(CPU microseconds per event, every process of the chain)")
    print()
    _verdicts(rates)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


def _progress(size: str, name: str, result: dict) -> None:
    rate = result.get("events_per_s")
    shown = f"{rate:>14,.0f} ev/s" if rate else f"  {result.get('error', 'no rate')}"
    print(f"  {size:<5} {name:<18}{shown}", flush=True)


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a and b else "-"


def _verdicts(rates: dict) -> None:
    small, mid, large = rates["64 B"], rates["8 KB"], rates["1 MB"]
    top = "flowc batch=1024"
    gnuradio = small.get("GNU Radio")
    checks = [
        (f"{top} >= 10 M events/s at 64 B", small.get(top), 10e6),
        (f"{top} >= 500 k events/s at 8 KB", mid.get(top), 5e5),
        (f"{top} at 1 MB >= per-event flowc", large.get(top), large.get("flowc per event")),
    ]
    for text, value, goal in checks:
        verdict = "n/a " if value is None or goal is None else ("PASS" if value >= goal else "FAIL")
        print(f"{verdict}  {text}: {f'{value:,.0f}' if value else '-'}")
    print(
        f"      at 64 B: {top} is {_ratio(small.get(top), gnuradio)} GNU Radio, "
        f"{_ratio(small.get(top), small.get('ring'))} the per-event ring, "
        f"{_ratio(small.get(top), small.get('flowc per event'))} per-event flowc"
    )
    for size, row in rates.items():
        print(
            f"      at {size}: batch=1 is {_ratio(row.get('flowc batch=1'), row.get('flowc per event'))} "
            "the per-event flowc chain (batch=1 goal: >= 1.0x)"
        )


if __name__ == "__main__":
    main()
