"""What requests to stop mean for a run, for every backend: the first drains the graph, the
second stops it at once, and a drain under way for a timeout becomes an interruption."""

from __future__ import annotations


def stop_step(
    asked: int, drain_requested: bool, stopped: str | None, failed: bool, killed: bool = False
) -> tuple[str | None, str | None]:
    """(action, stopped) after `asked` requests: action is "kill", "drain" or None, and
    `stopped` the run's new reason (a failure keeps its own)."""
    interrupted = stopped if failed else "interrupted"
    if not asked:
        return None, stopped
    if asked >= 2 and not killed:
        return "kill", interrupted
    if not drain_requested:
        return "drain", interrupted
    if stopped == "timeout":
        return None, interrupted
    return None, stopped
