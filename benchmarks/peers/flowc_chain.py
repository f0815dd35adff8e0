"""The benchmark chain on flowc: flow text compiled with `flowc.compile_source(functions=...)`
and run with `plan.run(quiet=True)` on the shared-memory runtime.

Run by `benchmarks/runtime_throughput.py`; prints one result line (see `common.emit`), which
says `"available": false` while flowc's compiler or runtime is missing from the checkout.
"""

from __future__ import annotations

import importlib.util
import time

from common import chain_result, emit, parse_args, reap_children, tree_cpu_seconds

FLOW_TEXT = """\
pipeline runtime_throughput

type Event = {{a: f8, b: f8}}

buffer raw       : Event[{length}] slots={slots}
buffer processed : Event[{length}] slots={slots}

importer  generate = {importer} -> raw
processor copy     = passthrough() raw -> processed
exporter  collect  = {exporter} processed
"""


def flow_text(args) -> str:
    result_dir = args.result_dir.replace("\\", "\\\\").replace('"', '\\"')
    if args.rate > 0:
        importer = f"paced_source(n={args.events}, rate={args.rate!r}, settle={args.settle!r})"
        exporter = f'LatencySink(result_dir="{result_dir}", n={args.events})'
    else:
        importer = f"source(n={args.events})"
        exporter = f'ArrivalSink(result_dir="{result_dir}")'
    return FLOW_TEXT.format(
        length=args.length, slots=args.slots, importer=importer, exporter=exporter
    )


def missing_part() -> str | None:
    """Why flowc cannot run the chain in this checkout yet, or None when it can."""
    try:
        import flowc  # noqa: F401
    except ImportError as exc:
        return f"flowc does not import: {exc}"
    if importlib.util.find_spec("flowc.runtime.supervisor") is None:
        return "flowc.runtime.supervisor does not exist yet"
    return None


def add_options(parser) -> None:
    parser.add_argument(
        "--start-method",
        choices=("fork", "forkserver", "spawn"),
        default=None,
        help="flowc's start method (default: the runtime's own default or FLOWC_START_METHOD)",
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

    cpu_before = tree_cpu_seconds()
    started = time.perf_counter()
    try:
        run = plan.run(quiet=True, start_method=args.start_method)
    except flowc.RunError as exc:
        run = exc.result
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
    emit(result)


if __name__ == "__main__":
    main()
