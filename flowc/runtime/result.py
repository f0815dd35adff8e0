"""What a run returns: `RunResult`, and `RunError` when a worker failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowc.errors import FlowcError


@dataclass(frozen=True)
class WorkerFailure:
    """Why a run failed: the worker (and which of its processes) and what happened to it.

    `worker` is "" when the run could not start at all (e.g. not enough shared memory)."""

    worker: str
    process: int
    message: str  # one line: "ValueError: bad height" or "killed by signal 9 (SIGKILL)"
    traceback: str = ""

    def __str__(self) -> str:
        if not self.worker:
            return f"the run could not start: {self.message}"
        return f"worker `{self.worker}` (process {self.process}) failed: {self.message}"


@dataclass(frozen=True)
class RunResult:
    """ok: the run completed or drained; exit: the process exit code of SPEC section 5;
    stats: the `--stats` document; failure: set when a worker failed; timeline: counters and
    fill levels sampled during the run (`flowc.runtime.monitor`), for the HTML report."""

    ok: bool
    exit: int
    stats: dict[str, Any] = field(default_factory=dict)
    failure: WorkerFailure | None = None
    timeline: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:
        """One line: `<flowc.RunResult pulses: completed in 1.23 s, exit 0, ok>` (the tables are
        `stats`; `flowc.runtime.summary.format_summary` prints them)."""
        stats = self.stats or {}
        text = (
            f"<flowc.RunResult {stats.get('pipeline') or '(unnamed)'}: "
            f"{stats.get('stopped', 'ended')} in {stats.get('elapsed') or 0.0:.2f} s, "
            f"exit {self.exit}, {'ok' if self.ok else 'not ok'}"
        )
        if self.failure is not None:
            text += f"; {str(self.failure).splitlines()[0]}"
        return text + ">"

    def _repr_html_(self) -> str:
        """In Jupyter: how the run ended and its summary tables."""
        from flowc.render.notebook import result_html

        return result_html(self)


class RunError(FlowcError):
    """A worker failed; `.result` holds the RunResult with the failure and the statistics."""

    def __init__(self, result: RunResult):
        self.result = result
        super().__init__(str(result.failure) if result.failure else "the run failed")

    def __reduce__(self):
        return (RunError, (self.result,))
