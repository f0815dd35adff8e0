"""The benchmark chain on flowc: flow text compiled with `flowc.compile_source(functions=...)`
and run with `plan.run(quiet=True)` on the shared-memory runtime.

Run by `benchmarks/runtime_throughput.py`; prints one result line (see `common.emit`), which
says `"available": false` while flowc's compiler or runtime is missing from the checkout.
"""

from __future__ import annotations

import cProfile
import importlib
import os
import pstats
import sys
import time

from common import chain_result, emit, parse_args, reap_children, tree_cpu_seconds

FLOW_TEXT = """\
pipeline runtime_throughput

type Event = {{a: f8, b: f8}}

buffer raw       : Event[{length}] slots={slots}
buffer processed : Event[{length}] slots={slots}

importer  generate = {importer} -> raw
processor copy     = {processor} raw -> processed
exporter  collect  = {exporter} processed
"""

PROFILED_PROCESSES = ("generate", "copy", "collect", "supervisor")


def flow_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def flow_text(args) -> str:
    result_dir = flow_string(args.result_dir)
    processor = "passthrough()"
    if args.profile:
        profile = {
            name: flow_string(os.path.join(args.profile, f"{name}.prof"))
            for name in PROFILED_PROCESSES
        }
        importer = f"profiled_source(n={args.events}, profile_path={profile['generate']})"
        processor = f"ProfiledPassthrough(profile_path={profile['copy']})"
        exporter = (
            f"ProfiledArrivalSink(result_dir={result_dir}, profile_path={profile['collect']})"
        )
    elif args.rate > 0:
        importer = f"paced_source(n={args.events}, rate={args.rate!r}, settle={args.settle!r})"
        exporter = f"LatencySink(result_dir={result_dir}, n={args.events})"
    else:
        importer = f"source(n={args.events})"
        exporter = f"ArrivalSink(result_dir={result_dir})"
    return FLOW_TEXT.format(
        length=args.length,
        slots=args.slots,
        importer=importer,
        processor=processor,
        exporter=exporter,
    )


def print_profiles(folder: str, top: int = 14) -> None:
    """The functions each process spent most of its own time in, to stderr."""
    for name in PROFILED_PROCESSES:
        path = os.path.join(folder, f"{name}.prof")
        if not os.path.exists(path):
            print(f"== {name}: no profile", file=sys.stderr)
            continue
        print(f"== {name}", file=sys.stderr)
        stats = pstats.Stats(path, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(top)


def missing_part() -> str | None:
    """Why flowc cannot run the chain in this checkout yet, or None when it can."""
    try:
        import flowc  # noqa: F401
    except ImportError as exc:
        return f"flowc does not import: {exc}"
    try:
        importlib.import_module("flowc.runtime.supervisor")
    except ImportError as exc:
        return f"flowc.runtime.supervisor does not import: {exc}"
    return None


def add_options(parser) -> None:
    parser.add_argument(
        "--start-method",
        choices=("fork", "forkserver", "spawn"),
        default=None,
        help="flowc's start method (default: the runtime's own default or FLOWC_START_METHOD)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="run cProfile in every process (throughput run only), leave DIR/<process>.prof "
        "and print each one's top functions to stderr",
    )


def main() -> None:
    args = parse_args(__doc__, add_options)
    reason = missing_part()
    if reason is not None:
        emit({"ok": False, "available": False, "error": reason})
        return

    from flowc_workers import FUNCTIONS

    import flowc

    try:
        plan = flowc.compile_source(flow_text(args), functions=FUNCTIONS)
    except flowc.FlowError as exc:
        messages = "; ".join(f"{d.code}: {d.message}" for d in exc.diagnostics)
        emit({"ok": False, "available": True, "error": f"the chain does not compile: {messages}"})
        return

    if args.profile:
        os.makedirs(args.profile, exist_ok=True)
    supervisor_profile = cProfile.Profile() if args.profile else None
    cpu_before = tree_cpu_seconds()
    started = time.perf_counter()
    if supervisor_profile is not None:
        supervisor_profile.enable()
    try:
        run = plan.run(quiet=True, start_method=args.start_method)
    except flowc.RunError as exc:
        run = exc.result
    finally:
        if supervisor_profile is not None:
            supervisor_profile.disable()
    wall = time.perf_counter() - started
    unreaped = reap_children()
    cpu = tree_cpu_seconds() - cpu_before

    workers = run.stats.get("workers", {})
    result = chain_result(
        args,
        wall_s=wall,
        cpu_s=cpu,
        unreaped=unreaped,
        available=True,
        start_method=args.start_method,
        exit=run.exit,
        failure=str(run.failure) if run.failure else None,
        runtime_elapsed_s=run.stats.get("elapsed"),
        runtime_cpu_s={name: w.get("cpu_s") for name, w in workers.items()},
    )
    result["ok"] = result["ok"] and run.ok
    if supervisor_profile is not None:
        supervisor_profile.dump_stats(os.path.join(args.profile, "supervisor.prof"))
        print_profiles(args.profile)
    emit(result)


if __name__ == "__main__":
    main()
