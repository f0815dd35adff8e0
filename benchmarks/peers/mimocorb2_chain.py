"""The benchmark chain on mimoCoRB2 0.0.4 (needs its Python >= 3.12 virtualenv, made by
`benchmarks/setup_mimocorb2.sh`): a setup dict with two buffers (slot_count, data_length,
data_dtype) and three workers (file, function, sources, sinks, config), built by its `Control`.

The run is headless: `Control.start_workers()` and wait for every worker process, without the
terminal, GUI or statistics-logger interfaces (which would only add to its figures).
Run by `benchmarks/runtime_throughput.py`; prints one result line (see `common.emit`).
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from common import chain_result, emit, parse_args, reap_children, tree_cpu_seconds
from mimocorb2 import Control

HERE = Path(__file__).resolve().parent


def setup_dict(args, target_directory: str) -> dict:
    buffer = {
        "slot_count": args.slots,
        "data_length": args.length,
        "data_dtype": {"a": "f8", "b": "f8"},
    }
    config = {
        "n_events": args.events,
        "rate": args.rate,
        "settle": args.settle,
        "result_dir": args.result_dir,
    }
    workers_file = "mimocorb2_workers.py"
    return {
        "target_directory": target_directory,
        "Buffers": {"raw": dict(buffer), "processed": dict(buffer)},
        "Workers": {
            "source": {
                "file": workers_file,
                "function": "source",
                "sinks": ["raw"],
                "config": dict(config),
            },
            "passthrough": {
                "file": workers_file,
                "function": "passthrough",
                "sources": ["raw"],
                "sinks": ["processed"],
            },
            "sink": {
                "file": workers_file,
                "function": "sink",
                "sources": ["processed"],
                "config": dict(config),
            },
        },
    }


def mimocorb2_log_files() -> list[str]:
    """The log file Control's `configure_logging` made in the temporary directory."""
    return [
        handler.baseFilename
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.FileHandler)
    ]


def main() -> None:
    args = parse_args(__doc__)
    target_directory = tempfile.mkdtemp(prefix="bench_mimocorb2_")
    try:
        # Control prints where its log goes and renders its data-flow graph: not part of the run
        with contextlib.redirect_stdout(io.StringIO()):
            control = Control(setup_dict(args, target_directory), HERE, mode="kbd")
        cpu_before = tree_cpu_seconds()
        started = time.perf_counter()
        control.start_workers()
        processes = [p for worker in control.workers.values() for p in worker.processes]
        for process in processes:
            process.join()
        wall = time.perf_counter() - started
        unreaped = reap_children()
        cpu = tree_cpu_seconds() - cpu_before
        failed = [p.name for p in processes if p.exitcode != 0]
        result = chain_result(args, wall_s=wall, cpu_s=cpu, unreaped=unreaped, failed=failed)
        result["ok"] = result["ok"] and not failed
        # mimoBuffer.__del__ closes and unlinks its shared memory
        del control, processes
        gc.collect()
    finally:
        for log_file in mimocorb2_log_files():
            with contextlib.suppress(OSError):
                os.remove(log_file)
        shutil.rmtree(target_directory, ignore_errors=True)
    emit(result)


if __name__ == "__main__":
    main()
