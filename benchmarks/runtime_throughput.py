"""Runtime throughput and latency of flowc against its peers: mimoCoRB2 0.0.4,
multiprocessing.Queue and a minimal hand-written shared-memory ring.

The same 3-stage chain (importer -> processor returning its input -> exporter, events of
`{a: f8, b: f8}[LENGTH]`, 32 slots) runs on each, for events of 64 B, 8 KB and 1 MB. Every run
is a fresh subprocess (`benchmarks/peers/*_chain.py`), the implementations take turns
(round-robin, the order rotating with each repetition), and each figure is a median over the
repetitions. See benchmarks/README.md.

    python benchmarks/runtime_throughput.py [--quick] [--only NAME]... [--json FILE] [--markdown]
    python benchmarks/runtime_throughput.py --render FILE [--markdown]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
MIMOCORB2_PYTHON = HERE / ".venv-mimocorb2" / "bin" / "python"
RESULT_PREFIX = "BENCH_RESULT "
RUN_TIMEOUT_S = 300
SLOTS = 32
PACED_RATE_HZ = 1000.0


@dataclass(frozen=True)
class Implementation:
    name: str
    script: str
    description: str
    speed: str = "fast"  # "fast", "slow" or "slowest": how many events it needs (`Profile`)
    by_default: bool = True  # False: runs only when named with --only
    environment: tuple[tuple[str, str], ...] = ()  # set for its runs
    paced: bool = True  # False: no latency runs (they would measure nothing new)

    def python(self) -> tuple[str | None, str | None]:
        """The interpreter that runs this implementation, or None and why there is none."""
        if self.name != "mimocorb2":
            return sys.executable, None
        if MIMOCORB2_PYTHON.exists():
            return str(MIMOCORB2_PYTHON), None
        return None, "no benchmarks/.venv-mimocorb2: run benchmarks/setup_mimocorb2.sh"


IMPLEMENTATIONS = (
    Implementation("flowc", "flowc_chain.py", "compile_source + plan.run"),
    # the same runtime without call times: what flowc's statistics cost
    Implementation(
        "flowc-untimed",
        "flowc_chain.py",
        "flowc with FLOWC_CALL_TIMES=off (event counts only)",
        environment=(("FLOWC_CALL_TIMES", "off"),),
        paced=False,
    ),
    Implementation(
        "mimocorb2", "mimocorb2_chain.py", "mimoCoRB2 0.0.4 (Python 3.12 venv)", speed="slow"
    ),
    Implementation(
        "queue", "queue_chain.py", "two multiprocessing.Queue, arrays pickled", speed="slow"
    ),
    Implementation("ring", "ring_chain.py", "minimal shm ring: 2 semaphores, numpy views"),
    # other engineers' runners, on request: flowc running mimoCoRB2's workers, flowc on Ray
    Implementation(
        "compat",
        "compat_chain.py",
        "mimoCoRB2's workers on flowc (flowc.compat.mimocorb2)",
        speed="slow",
        by_default=False,
    ),
    # flowc's Ray backend: the chain as one partition on one node, and split across two nodes
    # (the importer on one, processor and exporter on the other: `raw` crosses a bridge)
    Implementation(
        "ray", "ray_chain.py", "flowc's Ray backend, one node", speed="slow", by_default=False
    ),
    Implementation(
        "ray-split",
        "ray_chain.py",
        "flowc's Ray backend, two nodes (importer | processor, exporter)",
        speed="slow",
        by_default=False,
        environment=(("FLOWC_RAY_BENCH_SPLIT", "1"),),
    ),
    # Ray alone between the same two nodes, no flowc: an actor on `a` sends numpy arrays of
    # the events' bytes to an actor on `b` in calls as large as the bridge's: the split row's
    # ceiling (its latency: one Ray call per event)
    Implementation(
        "ray-ceiling",
        "ray_ceiling.py",
        "Ray alone, two nodes: numpy arrays of the events' bytes, actor on a -> actor on b",
        by_default=False,
    ),
)


@dataclass(frozen=True)
class Size:
    label: str
    length: int  # elements of 16 bytes

    @property
    def event_bytes(self) -> int:
        return self.length * 16


SIZES = (Size("64 B", 4), Size("8 KB", 512), Size("1 MB", 65536))


@dataclass(frozen=True)
class Profile:
    """How much to run: repetitions and event counts by an implementation's speed (slow ones
    send fewer events at small sizes: their rate is steady long before)."""

    repetitions: int
    events: dict[str, dict[int, int]]
    paced_events: int

    def events_for(self, implementation: Implementation, size: Size) -> int:
        return self.events[implementation.speed][size.length]


FULL = Profile(
    repetitions=5,
    events={
        "fast": {4: 400_000, 512: 500_000, 65536: 8_000},
        "slow": {4: 50_000, 512: 20_000, 65536: 2_000},
        "slowest": {4: 5_000, 512: 5_000, 65536: 1_000},
    },
    paced_events=1_000,
)
QUICK = Profile(
    repetitions=3,
    events={
        "fast": {4: 50_000, 512: 10_000, 65536: 500},
        "slow": {4: 20_000, 512: 5_000, 65536: 500},
        "slowest": {4: 2_000, 512: 2_000, 65536: 300},
    },
    paced_events=500,
)


# ---------------------------------------------------------------------------------------------
# running one chain


def paired(order: list[Implementation]) -> list[Implementation]:
    """`order` with flowc-untimed moved right after flowc: the two runs whose ratio is the cost
    of statistics see the same state of the machine."""
    untimed = [i for i in order if i.name == "flowc-untimed"]
    if not untimed or not any(i.name == "flowc" for i in order):
        return order
    rest = [i for i in order if i.name != "flowc-untimed"]
    at = next(k for k, i in enumerate(rest) if i.name == "flowc")
    return rest[: at + 1] + untimed + rest[at + 1 :]


def run_chain(
    implementation: Implementation,
    size: Size,
    events: int,
    *,
    rate: float,
    flowc_start_method: str | None,
) -> tuple[dict, np.ndarray]:
    """Run one chain in a fresh subprocess; its result line and, for a paced run, latencies."""
    python, missing = implementation.python()
    if python is None:
        return {"ok": False, "available": False, "error": missing}, np.empty(0)
    with tempfile.TemporaryDirectory(prefix="bench_result_") as result_dir:
        command = [
            python,
            str(PEERS / implementation.script),
            "--length",
            str(size.length),
            "--events",
            str(events),
            "--slots",
            str(SLOTS),
            "--rate",
            str(rate),
            "--result-dir",
            result_dir,
        ]
        if implementation.script == "flowc_chain.py" and flowc_start_method:
            command += ["--start-method", flowc_start_method]
        result = _run_subprocess(command, dict(implementation.environment))
        latency_file = Path(result_dir) / "latencies.npy"
        latencies = np.load(latency_file) if rate > 0 and latency_file.exists() else np.empty(0)
    return result, latencies


def _run_subprocess(command: list[str], environment: dict[str, str]) -> dict:
    process = subprocess.Popen(
        command,
        cwd=PEERS,
        env={**os.environ, **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return {"ok": False, "error": f"timed out after {RUN_TIMEOUT_S} s"}
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    tail = (stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
    return {"ok": False, "error": f"exit {process.returncode}, no result line: {tail}"}


# ---------------------------------------------------------------------------------------------
# collecting and summarising


@dataclass
class Cell:
    """Every run of one implementation at one size."""

    throughput_runs: list[dict]
    paced_runs: list[dict]
    latencies: list[np.ndarray]

    def ok_runs(self) -> list[dict]:
        return [r for r in self.throughput_runs if r.get("ok")]

    def events_per_s(self) -> float | None:
        rates = [r["events_per_s"] for r in self.ok_runs() if r.get("events_per_s")]
        return statistics.median(rates) if rates else None

    def cpu_us_per_event(self) -> float | None:
        costs = [r["cpu_s"] / r["events"] * 1e6 for r in self.ok_runs()]
        return statistics.median(costs) if costs else None

    def latency_us(self, percentile: float) -> float | None:
        samples = [
            lat for lat, r in zip(self.latencies, self.paced_runs, strict=True) if r.get("ok")
        ]
        if not samples or not sum(len(s) for s in samples):
            return None
        return float(np.percentile(np.concatenate(samples), percentile) * 1e6)

    def kept_pace(self) -> bool:
        """Whether the paced runs kept up with the pace (else latency includes queueing)."""
        rates = [
            r["events_per_s"] for r in self.paced_runs if r.get("ok") and r.get("events_per_s")
        ]
        return bool(rates) and statistics.median(rates) >= 0.95 * PACED_RATE_HZ

    def errors(self) -> list[str]:
        runs = self.throughput_runs + self.paced_runs
        return [why_failed(r) for r in runs if not r.get("ok")]

    def summary(self, size: Size) -> dict:
        rate = self.events_per_s()
        return {
            "events_per_s": rate,
            "mb_per_s": rate * size.event_bytes / 1e6 if rate else None,
            "cpu_us_per_event": self.cpu_us_per_event(),
            "p50_us": self.latency_us(50),
            "p99_us": self.latency_us(99),
            "runs_ok": len(self.ok_runs()),
            "runs": len(self.throughput_runs),
            "paced_runs_ok": sum(1 for r in self.paced_runs if r.get("ok")),
            "paced_runs": len(self.paced_runs),
            "kept_pace": self.kept_pace(),
            "errors": sorted(set(self.errors())),
        }


def paired_ratio(mine: Cell, theirs: Cell) -> float | None:
    """The median over repetitions of the ratio of events/s of two implementations that ran
    one right after the other (a slow drift of the machine's load cancels out)."""
    ratios = [
        a["events_per_s"] / b["events_per_s"]
        for a, b in zip(mine.throughput_runs, theirs.throughput_runs, strict=False)
        if a.get("ok") and b.get("ok") and a.get("events_per_s") and b.get("events_per_s")
    ]
    return statistics.median(ratios) if ratios else None


def why_failed(run: dict) -> str:
    """One line: the runtime's failure when it reported one, else what the runner saw."""
    if run.get("failure"):
        return run["failure"]
    if run.get("error"):
        return run["error"]
    return f"received {run.get('received')} of {run.get('events')} events"


def interpreter_versions(by_size: dict[str, Cell]) -> str | None:
    """ "Python 3.12.1, numpy 2.4.6" as the runs of one implementation reported it."""
    for cell in by_size.values():
        for run in cell.throughput_runs + cell.paced_runs:
            if run.get("python"):
                return f"Python {run['python']}, numpy {run['numpy']}"
    return None


def unavailable(cell: Cell) -> str | None:
    for run in cell.throughput_runs + cell.paced_runs:
        if run.get("available") is False:
            return run.get("error", "not available")
    return None


# ---------------------------------------------------------------------------------------------
# the report


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def fmt_rate(value: float | None) -> str:
    """A rate with three significant digits or more: 1.1, 15.3, 4,487."""
    if value is not None and value < 100:
        return fmt(value, 1)
    return fmt(value)


def results_table(summaries: dict, implementations, sizes) -> list[list[str]]:
    rows = [
        ["implementation", "size", "events/s", "MB/s", "CPU µs/ev", "p50 µs", "p99 µs", "runs ok"]
    ]
    for size in sizes:
        for implementation in implementations:
            s = summaries[implementation.name][size.label]
            if s.get("unavailable"):
                rows.append([implementation.name, size.label, "not available", "", "", "", "", ""])
                continue
            lag = "" if s["kept_pace"] or s["p50_us"] is None else "*"
            rows.append(
                [
                    implementation.name,
                    size.label,
                    fmt(s["events_per_s"]),
                    fmt_rate(s["mb_per_s"]),
                    fmt(s["cpu_us_per_event"], 1),
                    fmt(s["p50_us"]) + lag,
                    fmt(s["p99_us"]) + lag,
                    f"{s['runs_ok']}/{s['runs']} {s['paced_runs_ok']}/{s['paced_runs']}",
                ]
            )
    return rows


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def ratios_table(summaries: dict, implementations, sizes) -> list[list[str]]:
    peers = [i for i in implementations if i.name != "flowc"]
    rows = [["flowc vs", "size", "events/s ratio", "CPU/ev ratio", "p50 ratio"]]
    flowc = summaries.get("flowc", {})
    for size in sizes:
        mine = flowc.get(size.label, {})
        for peer in peers:
            theirs = summaries[peer.name][size.label]
            rows.append(
                [
                    peer.name,
                    size.label,
                    fmt(ratio(mine.get("events_per_s"), theirs.get("events_per_s")), 2),
                    fmt(ratio(mine.get("cpu_us_per_event"), theirs.get("cpu_us_per_event")), 2),
                    fmt(ratio(mine.get("p50_us"), theirs.get("p50_us")), 2),
                ]
            )
    return rows


def ceiling_table(summaries: dict, sizes) -> list[list[str]]:
    """The split chain against Ray's own ceiling between the same two nodes."""
    rows = [["ray-split vs", "size", "events/s ratio", "p50 ratio"]]
    split, ceiling = summaries["ray-split"], summaries["ray-ceiling"]
    for size in sizes:
        mine, theirs = split.get(size.label, {}), ceiling.get(size.label, {})
        rows.append(
            [
                "ray-ceiling",
                size.label,
                fmt(ratio(mine.get("events_per_s"), theirs.get("events_per_s")), 2),
                fmt(ratio(mine.get("p50_us"), theirs.get("p50_us")), 2),
            ]
        )
    return rows


def goals(summaries: dict) -> list[tuple[str, bool | None, str]]:
    """Each goal: its text, PASS/FAIL (None when it cannot be judged), and the figure."""
    flowc = summaries.get("flowc", {})
    mimocorb2 = summaries.get("mimocorb2", {})
    ring = summaries.get("ring", {})
    out = []

    def against(text, mine, theirs, at_least):
        value = ratio(mine, theirs)
        out.append((text, None if value is None else value >= at_least, fmt(value, 2) + "x"))

    for label, factor in (("64 B", 8), ("8 KB", 6), ("1 MB", 1.5)):
        against(
            f"flowc >= {factor}x mimocorb2 events/s at {label}",
            flowc.get(label, {}).get("events_per_s"),
            mimocorb2.get(label, {}).get("events_per_s"),
            factor,
        )
    for label in ("64 B", "8 KB", "1 MB"):
        against(
            f"flowc >= 0.7x the minimal ring's events/s at {label}",
            flowc.get(label, {}).get("events_per_s"),
            ring.get(label, {}).get("events_per_s"),
            0.7,
        )
    for label in ("64 B", "8 KB", "1 MB"):
        value = flowc.get(label, {}).get("statistics_cost_ratio")
        out.append(
            (
                f"statistics cost < 5%: flowc >= 0.95x flowc-untimed's events/s at {label} "
                "(median of the paired runs' ratios)",
                None if value is None else value >= 0.95,
                fmt(value, 2) + "x",
            )
        )
    for name, floor in (
        ("ray", {"64 B": 0.8, "8 KB": 0.8, "1 MB": 0.8}),
        ("ray-split", {"64 B": 0.25, "8 KB": 0.5, "1 MB": 0.5}),
    ):
        if name not in summaries:
            continue
        for label, at_least in floor.items():
            against(
                f"{name} >= {at_least}x flowc's events/s at {label}",
                summaries[name].get(label, {}).get("events_per_s"),
                flowc.get(label, {}).get("events_per_s"),
                at_least,
            )
    if "ray-split" in summaries:
        p50 = summaries["ray-split"].get("64 B", {}).get("p50_us")
        out.append(
            (
                "ray-split p50 latency across the bridge <= 2 ms at 1 kHz (64 B)",
                None if p50 is None else p50 <= 2000,
                fmt(p50) + " µs",
            )
        )
    cpu = flowc.get("64 B", {}).get("cpu_us_per_event")
    out.append(
        (
            "flowc <= 15 µs CPU per event at 64 B",
            None if cpu is None else cpu <= 15,
            fmt(cpu, 1) + " µs",
        )
    )
    p50 = flowc.get("64 B", {}).get("p50_us")
    out.append(
        (
            "flowc p50 latency <= 100 µs at 1 kHz (64 B)",
            None if p50 is None else p50 <= 100,
            fmt(p50) + " µs",
        )
    )
    return out


def render_plain(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render_markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def verdict(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "n/a "}[passed]


# ---------------------------------------------------------------------------------------------
# main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer events, 3 repetitions")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        choices=[i.name for i in IMPLEMENTATIONS],
        help="run only this implementation (repeatable): "
        + ", ".join(
            i.name if i.by_default else f"{i.name} (only when named)" for i in IMPLEMENTATIONS
        ),
    )
    parser.add_argument("--repetitions", type=int, help="override the profile's repetitions")
    parser.add_argument(
        "--flowc-start-method",
        choices=("fork", "forkserver", "spawn"),
        help="start method for flowc's runs (default: the runtime's default)",
    )
    parser.add_argument("--no-latency", action="store_true", help="skip the paced latency runs")
    parser.add_argument("--json", metavar="FILE", help="write every run's result to FILE")
    parser.add_argument("--markdown", action="store_true", help="print the tables as markdown")
    parser.add_argument(
        "--render",
        metavar="FILE",
        help="print the report of an earlier run from its --json FILE instead of running",
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if args.render:
        document = json.loads(Path(args.render).read_text())
        print_report(document, args.markdown)
        return 0
    profile = QUICK if args.quick else FULL
    repetitions = args.repetitions or profile.repetitions
    implementations = [
        i for i in IMPLEMENTATIONS if (i.name in args.only if args.only else i.by_default)
    ]
    cells = {i.name: {s.label: Cell([], [], []) for s in SIZES} for i in implementations}
    skipped: dict[str, str] = {}
    load_before = os.getloadavg()
    started = time.perf_counter()

    print(
        f"{'quick' if args.quick else 'full'} run: {repetitions} repetitions, "
        f"{len(implementations)} implementations x {len(SIZES)} sizes; "
        f"load average {load_before[0]:.2f} on {os.cpu_count()} cores",
        file=sys.stderr,
    )
    for repetition in range(repetitions):
        order = (
            implementations[repetition % len(implementations) :]
            + implementations[: repetition % len(implementations)]
        )
        order = paired(order)
        passes = [("throughput", 0.0)] + ([] if args.no_latency else [("latency", PACED_RATE_HZ)])
        for kind, rate in passes:
            for size in SIZES:
                for implementation in order:
                    if implementation.name in skipped or (rate and not implementation.paced):
                        continue
                    events = (
                        profile.paced_events if rate else profile.events_for(implementation, size)
                    )
                    result, latencies = run_chain(
                        implementation,
                        size,
                        events,
                        rate=rate,
                        flowc_start_method=args.flowc_start_method,
                    )
                    cell = cells[implementation.name][size.label]
                    if rate:
                        cell.paced_runs.append(result)
                        cell.latencies.append(latencies)
                    else:
                        cell.throughput_runs.append(result)
                    if result.get("available") is False:
                        skipped[implementation.name] = result.get("error", "not available")
                    status = "ok" if result.get("ok") else f"FAILED: {why_failed(result)}"
                    shown = fmt(result.get("events_per_s"))
                    print(
                        f"  [{repetition + 1}/{repetitions}] {kind:10} {size.label:5} "
                        f"{implementation.name:9} {shown:>9} ev/s  {status}",
                        file=sys.stderr,
                    )

    summaries = {}
    for implementation in implementations:
        summaries[implementation.name] = {}
        for size in SIZES:
            cell = cells[implementation.name][size.label]
            summary = cell.summary(size)
            reason = unavailable(cell) or skipped.get(implementation.name)
            if reason:
                summary["unavailable"] = reason
            summaries[implementation.name][size.label] = summary
    if "flowc" in cells and "flowc-untimed" in cells:
        for size in SIZES:
            summaries["flowc"][size.label]["statistics_cost_ratio"] = paired_ratio(
                cells["flowc"][size.label], cells["flowc-untimed"][size.label]
            )

    document = {
        "profile": "quick" if args.quick else "full",
        "repetitions": repetitions,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "took_s": time.perf_counter() - started,
        "interpreters": {i.name: interpreter_versions(cells[i.name]) for i in implementations},
        "skipped": skipped,
        "summaries": summaries,
        "runs": {
            name: {
                label: {"throughput": c.throughput_runs, "paced": c.paced_runs}
                for label, c in by_size.items()
            }
            for name, by_size in cells.items()
        },
    }
    print_report(document, args.markdown)
    if args.json:
        Path(args.json).write_text(json.dumps(document, indent=2))
    return 0


def print_report(document: dict, markdown: bool) -> None:
    """The tables and goals of a run, from its document (as `--json` writes it)."""
    render = render_markdown if markdown else render_plain
    item = "- " if markdown else "  "  # a line of a list: markdown would join plain lines
    summaries = document["summaries"]
    skipped = document["skipped"]
    implementations = [i for i in IMPLEMENTATIONS if i.name in summaries]
    print()
    print(
        f"Chain importer -> processor -> exporter, {{a: f8, b: f8}}[LENGTH], {SLOTS} slots; "
        f"medians of {document['repetitions']} runs; latency over the paced runs at "
        f"{PACED_RATE_HZ:.0f} Hz."
    )
    print()
    print(
        f"{item}machine: {document['cpu_count']} cores, Python {document['python']}, load "
        f"average {document['load_average_before'][0]:.2f} before, "
        f"{document['load_average_after'][0]:.2f} after; took {document['took_s']:.0f} s"
    )
    for implementation in implementations:
        versions = document["interpreters"].get(implementation.name)
        if versions:
            print(f"{item}{implementation.name}: {implementation.description}; {versions}")
    print()
    print(render(results_table(summaries, implementations, SIZES)))
    notes = []
    if any(
        not s["kept_pace"] and s["p50_us"] is not None
        for by_size in summaries.values()
        for s in by_size.values()
    ):
        notes.append(
            f"* could not keep the {PACED_RATE_HZ:.0f} Hz pace: the latency includes queueing"
        )
    notes += [f"{name}: not available: {reason}" for name, reason in skipped.items()]
    notes += [
        f"{implementation.name} {size.label}: {error}"
        for implementation in implementations
        if implementation.name not in skipped
        for size in SIZES
        for error in summaries[implementation.name][size.label]["errors"]
    ]
    if notes:
        print()
        for note in notes:
            print(f"{item}{note}")
    flowc_ran = "flowc" in summaries and "flowc" not in skipped
    if flowc_ran and len(implementations) > 1:
        print()
        print(render(ratios_table(summaries, implementations, SIZES)))
    if "ray-split" in summaries and "ray-ceiling" in summaries:
        print()
        print(render(ceiling_table(summaries, SIZES)))
    if "flowc" in summaries:
        print()
        for text, passed, figure in goals(summaries):
            shown = figure if flowc_ran else "flowc not available"
            print(f"{item if markdown else ''}{verdict(passed)}  {text}: {shown}")


if __name__ == "__main__":
    sys.exit(main())
