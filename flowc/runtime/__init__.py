"""The shared-memory runtime: rings, worker processes, the supervisor, statistics.

Never imports the parser or the checker: it runs a `flowc.plan.Plan`.
"""

from flowc.runtime.result import RunError, RunResult, WorkerFailure

__all__ = ["RunError", "RunResult", "WorkerFailure", "run", "start"]


def run(plan, **options):
    """Run a plan to the end; see `flowc.runtime.handle.run`."""
    from flowc.runtime.handle import run as _run

    return _run(plan, **options)


def start(plan, **options):
    """Start a plan and return its `RunHandle` at once; see `flowc.runtime.handle`."""
    from flowc.runtime.handle import start as _start

    return _start(plan, **options)
