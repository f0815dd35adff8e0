"""What serving the live page costs the pipeline: the runtime benchmark's 3-stage chain
(`peers/flowc_chain.py`: importer -> raw -> processor -> processed -> exporter, 32 slots per
buffer) run plainly and with `serve=` while a page is open, taking turns.

"A page is open" means what a browser does: this script, a process apart from the run, reads
the server-sent event stream (`/events`, four frames a second) for the whole run and scrapes
`/metrics` once a second, as Prometheus would. The throughput is the exporter's steady state,
as in `runtime_throughput.py`: (received - 1) / (last arrival - first arrival). Each run is a
fresh subprocess; the figure judged is the median over repetitions of served / plain events/s
of runs next to each other. Goal: at least 0.95.

    python benchmarks/serve_overhead.py                  # 64 B and 8 KB events, 5 repetitions
    python benchmarks/serve_overhead.py --quick          # 64 B only, 3 repetitions
    python benchmarks/serve_overhead.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
GOAL = 0.95
# (elements per event, events per run): 64 B and 8 KB events, runs of one to two seconds
SIZES = ((4, 300_000), (512, 200_000))
URL_LINE = re.compile(r"flowc: serving (http://[^/\s]+)/\?token=")


def child(mode: str, length: int, events: int, result_dir: str) -> None:
    """One run of the chain in this process; prints the exporter's figures as one JSON line."""
    sys.path.insert(0, str(PEERS))
    from common import load_record
    from flowc_chain import flow_text
    from flowc_workers import FUNCTIONS

    import flowc

    options = argparse.Namespace(
        result_dir=result_dir, length=length, slots=32, events=events, profile=None, rate=0.0
    )
    plan = flowc.compile_source(flow_text(options), functions=FUNCTIONS)
    serving = {}
    if mode == "served":  # bound before the run starts, as `flowc run --serve` does
        from flowc.serve import bind

        serving["server"] = bind("127.0.0.1:0")
    before, started = _cpu_seconds(), time.perf_counter()
    result = plan.run(quiet=True, **serving)
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - before
    record, _ = load_record(result_dir)
    window = record["last_arrival"] - record["first_arrival"]
    print(
        json.dumps(
            {
                "ok": result.ok and record["count"] == events,
                "events_per_s": (record["count"] - 1) / window if window > 0 else None,
                # the supervisor process (where the server runs): CPU seconds per second
                "supervisor_cpu": cpu / wall,
            }
        ),
        flush=True,
    )


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


class Page:
    """What a browser with the page open does: reads /events, scrapes /metrics each second."""

    def __init__(self, base: str):
        self.base = base
        self.frames = 0
        self.scrapes = 0
        self.started = time.monotonic()
        self.done = threading.Event()
        self.threads = [
            threading.Thread(target=self.read_events, daemon=True),
            threading.Thread(target=self.scrape, daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def read_events(self) -> None:
        try:
            with urllib.request.urlopen(f"{self.base}/events", timeout=30) as stream:
                for line in stream:
                    if line.startswith(b"data: "):
                        self.frames += 1
        except OSError:
            pass  # the server stopped with the run

    def scrape(self) -> None:
        while not self.done.wait(1.0):
            try:
                with urllib.request.urlopen(f"{self.base}/metrics", timeout=5) as response:
                    response.read()
                    self.scrapes += 1
            except OSError:
                return

    def close(self) -> float:
        """Frames received per second."""
        self.done.set()
        for thread in self.threads:
            thread.join(10)
        return self.frames / max(time.monotonic() - self.started, 1e-9)


def one_run(mode: str, length: int, events: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="flowc_serve_bench_") as folder:
        process = subprocess.Popen(
            [sys.executable, __file__, "--child", mode, str(length), str(events), folder],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        page = None
        if mode == "served":
            line = process.stderr.readline()
            match = URL_LINE.search(line)
            if match is None:
                process.kill()
                raise SystemExit(f"the served run printed no address: {line!r}")
            page = Page(match.group(1))
        out, err = process.communicate(timeout=300)
        if process.returncode != 0:
            raise SystemExit(f"the {mode} run failed ({process.returncode}): {err}")
        result = json.loads(out.strip().splitlines()[-1])
        if page is not None:
            result["frames_per_s"] = page.close()
            result["scrapes"] = page.scrapes
        return result


def measure(length: int, events: int, repetitions: int) -> dict:
    plain, served, ratios, frames, cpu = [], [], [], [], {"plain": [], "served": []}
    for repetition in range(repetitions):
        order = ("plain", "served") if repetition % 2 == 0 else ("served", "plain")
        pair = {mode: one_run(mode, length, events) for mode in order}
        plain.append(pair["plain"]["events_per_s"])
        served.append(pair["served"]["events_per_s"])
        ratios.append(served[-1] / plain[-1])
        frames.append(pair["served"]["frames_per_s"])
        for mode in cpu:
            cpu[mode].append(pair[mode]["supervisor_cpu"])
        print(
            f"  {length * 16:>6} B  plain {plain[-1]:>10,.0f}/s  served {served[-1]:>10,.0f}/s  "
            f"ratio {ratios[-1]:.3f}  page {frames[-1]:.1f} frames/s  supervisor CPU "
            f"{cpu['plain'][-1]:.1%} / {cpu['served'][-1]:.1%}",
            file=sys.stderr,
        )
    return {
        "event_bytes": length * 16,
        "events": events,
        "plain_events_per_s": statistics.median(plain),
        "served_events_per_s": statistics.median(served),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "frames_per_s": statistics.median(frames),
        "supervisor_cpu_plain": statistics.median(cpu["plain"]),
        "supervisor_cpu_served": statistics.median(cpu["served"]),
        "passes": statistics.median(ratios) >= GOAL,
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="64 B events only, 3 repetitions")
    parser.add_argument("--repetitions", type=int, default=None)
    parser.add_argument("--json", metavar="FILE", help="also write the results there")
    args = parser.parse_args()
    sizes = SIZES[:1] if args.quick else SIZES
    repetitions = args.repetitions or (3 if args.quick else 5)
    rows = [measure(length, events, repetitions) for length, events in sizes]
    print(
        "| event | plain events/s | served + page open | ratio (median of pairs) | page frames/s "
        "| supervisor CPU plain / served | goal >= 0.95 |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['event_bytes']:,} B | {row['plain_events_per_s']:,.0f} | "
            f"{row['served_events_per_s']:,.0f} | {row['ratio']:.3f} | "
            f"{row['frames_per_s']:.1f} | {row['supervisor_cpu_plain']:.1%} / "
            f"{row['supervisor_cpu_served']:.1%} | {'pass' if row['passes'] else 'FAIL'} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
