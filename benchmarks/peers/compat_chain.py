"""The benchmark chain's mimoCoRB2 workers (`mimocorb2_workers.py`, unchanged) run by flowc
through `flowc.compat.mimocorb2`: the same worker code as the `mimocorb2` row, on flowc's runtime.

The flow text is what `flowc import mimocorb2` writes for `mimocorb2_chain.py`'s setup: one
adapter per worker, its config as arguments. Run by `benchmarks/runtime_throughput.py`; prints
one result line (see `common.emit`).
"""

from __future__ import annotations

import time
from pathlib import Path

from common import chain_result, emit, parse_args, reap_children, tree_cpu_seconds

HERE = Path(__file__).resolve().parent
WORKERS_FILE = HERE / "mimocorb2_workers.py"

FLOW_TEXT = """\
pipeline runtime_throughput_compat

type Event = {{a: f8, b: f8}}

buffer raw       : Event[{length}] slots={slots}
buffer processed : Event[{length}] slots={slots}

importer  source      = flowc.compat.mimocorb2.ImporterWorker({source}) -> raw
processor passthrough = flowc.compat.mimocorb2.ProcessorWorker({passthrough}) raw -> processed
exporter  sink        = flowc.compat.mimocorb2.ExporterWorker({sink}) processed
"""


def flow_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def flow_text(args) -> str:
    def adapter(function: str, *, sources=(), sinks=(), configured=False) -> str:
        spec = f"{{a: f8, b: f8}}[{args.length}]"
        parts = [
            f"mimo_file={flow_string(str(WORKERS_FILE))}",
            f"mimo_function={flow_string(function)}",
            f"mimo_name={flow_string(function)}",
            f"mimo_setup_dir={flow_string(str(HERE))}",
            f"mimo_run_dir={flow_string(args.result_dir)}",
        ]
        for key, names in (("mimo_sources", sources), ("mimo_sinks", sinks)):
            if names:
                parts.append(
                    f"{key}=[" + ", ".join(flow_string(f"{n}: {spec}") for n in names) + "]"
                )
        if configured:
            parts += [
                f"n_events={args.events}",
                f"rate={float(args.rate)!r}",
                f"settle={float(args.settle)!r}",
                f"result_dir={flow_string(args.result_dir)}",
            ]
        return ", ".join(parts)

    return FLOW_TEXT.format(
        length=args.length,
        slots=args.slots,
        source=adapter("source", sinks=["raw"], configured=True),
        passthrough=adapter("passthrough", sources=["raw"], sinks=["processed"]),
        sink=adapter("sink", sources=["processed"], configured=True),
    )


def main() -> None:
    args = parse_args(__doc__)
    try:
        import flowc
        import flowc.compat.mimocorb2  # noqa: F401
    except ImportError as exc:
        emit({"ok": False, "available": False, "error": f"flowc.compat does not import: {exc}"})
        return
    try:
        plan = flowc.compile_source(flow_text(args))
    except flowc.FlowError as exc:
        messages = "; ".join(f"{d.code}: {d.message}" for d in exc.diagnostics)
        emit({"ok": False, "available": True, "error": f"the chain does not compile: {messages}"})
        return
    cpu_before = tree_cpu_seconds()
    started = time.perf_counter()
    try:
        run = plan.run(quiet=True)
    except flowc.RunError as exc:
        run = exc.result
    wall = time.perf_counter() - started
    unreaped = reap_children()
    cpu = tree_cpu_seconds() - cpu_before
    result = chain_result(
        args,
        wall_s=wall,
        cpu_s=cpu,
        unreaped=unreaped,
        available=True,
        exit=run.exit,
        failure=str(run.failure) if run.failure else None,
    )
    result["ok"] = result["ok"] and run.ok
    emit(result)


if __name__ == "__main__":
    main()
