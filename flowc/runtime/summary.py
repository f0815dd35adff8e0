"""The plain-text end-of-run summary printed to stderr, in the style of KM3Pipe's `timeit`:
per worker the time per event (mean, median, min, max) and blocked time, per buffer what was
written, dropped and left, the peak memory, and the bottleneck named.
"""

from __future__ import annotations


def format_summary(stats: dict) -> str:
    """A table of what every worker and buffer did, from a statistics document (with the
    `bottleneck` the runtime adds to it, when there is one)."""
    lines = [
        f"pipeline {stats.get('pipeline') or '(unnamed)'}: {stats.get('stopped')} "
        f"in {stats.get('elapsed', 0.0):.3f} s, exit {stats.get('exit')}"
    ]
    workers = stats.get("workers") or {}
    if workers:
        lines += ["", *_worker_table(workers)]
    buffers = stats.get("buffers") or {}
    if buffers:
        lines += ["", *_buffer_table(buffers)]
    peak = stats.get("peak_rss_bytes")
    if peak:
        lines += ["", f"peak memory (largest process): {peak / 2**20:.1f} MiB"]
    bottleneck = stats.get("bottleneck")
    if bottleneck:
        reason = {"busy": "busy", "blocked_out": "blocked on a full output"}.get(
            bottleneck["reason"], bottleneck["reason"]
        )
        lines += ["", f"bottleneck: `{bottleneck['worker']}` ({reason}): {bottleneck['text']}"]
    failure = stats.get("failure")
    if failure:
        who = f"worker `{failure['worker']}`" if failure.get("worker") else "the run"
        lines += ["", f"failed: {who}: {failure['message']}"]
    return "\n".join(lines)


def worker_events(w: dict) -> int:
    """Events a worker handled: taken in, put out, or (importers) produced."""
    return max(w.get("events_in", 0), w.get("events_out", 0), w.get("calls", 0))


def _worker_table(workers: dict) -> list[str]:
    header = (
        f"{'worker':<16} {'kind':<9} {'in':>9} {'out':>9} {'err':>5} | "
        f"{'mean':>9} {'median':>9} {'min':>9} {'max':>9} | {'cpu/ev':>9} | "
        f"{'blk in':>13} {'blk out':>13}"
    )
    lines = [
        f"{'':<53}| {'wall time per event':^39} | {'':>9} | {'time blocked':^27}",
        header,
        "-" * len(header),
    ]
    for name, w in workers.items():
        calls = w.get("calls", 0)
        wall = w.get("wall_s", 0.0)
        lines.append(
            f"{name:<16} {w.get('kind', ''):<9} {w.get('events_in', 0):>9} {w.get('events_out', 0):>9} "
            f"{w.get('errors', 0):>5} | "
            f"{_per_event(w.get('call_s', 0.0), calls):>9} "
            f"{format_duration(w.get('call_median_s') if calls else None):>9} "
            f"{format_duration(w.get('call_min_s') if calls else None):>9} "
            f"{format_duration(w.get('call_max_s') if calls else None):>9} | "
            f"{_per_event(w.get('cpu_s', 0.0), worker_events(w)) if wall else '-':>9} | "
            f"{_blocked(w.get('blocked_in_s', 0.0), wall):>13} {_blocked(w.get('blocked_out_s', 0.0), wall):>13}"
        )
        extra = []
        if w.get("kind", "") == "observer":
            extra.append(f"seen {w.get('seen', 0)}, skipped {w.get('skipped', 0)}")
        if w.get("kind", "") == "filter":
            per_output = ", ".join(f"{b} {n}" for b, n in w.get("per_output", {}).items())
            extra.append(
                f"accepted {w.get('accepted', 0)}, discarded {w.get('discarded', 0)}"
                + (f" ({per_output})" if per_output else "")
            )
        if w.get("processes", 1) > 1:
            extra.append(f"{w['processes']} processes")
        for text in extra:
            lines.append(f"{'':<16} {text}")
    lines.append(
        "wall time per event: in the worker's code, waiting for events and for room excluded "
        "(median and min to within 9%); cpu/ev: the processes' CPU time over their events; "
        "blocked: seconds waiting for events (in) and for room in outputs (out), and the share "
        "of the worker's time"
    )
    return lines


def _buffer_table(buffers: dict) -> list[str]:
    header = f"{'buffer':<16} {'written':>9} {'dropped':>9}  consumed / left per reader"
    lines = [header, "-" * len(header)]
    for name, b in buffers.items():
        readers = ", ".join(
            f"{w} {n}/{(b.get('left') or {}).get(w, 0)}" for w, n in b.get("consumed", {}).items()
        )
        lines.append(
            f"{name:<16} {b.get('written', 0):>9} {b.get('dropped', 0):>9}  {readers or '(not consumed)'}"
        )
    return lines


def _blocked(seconds: float, wall: float) -> str:
    share = f"{100 * seconds / wall:3.0f}%" if wall > 0 else "   -"
    return f"{seconds:7.2f}s {share}"


def _per_event(seconds: float, events: int) -> str:
    if not events:
        return "-"
    return format_duration(seconds / events)


def format_duration(seconds: float | None) -> str:
    """A short duration for people: `12.5us`, `3.20ms`, `1.50s` (`-` for None)."""
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f}us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f}ms"
    return f"{seconds:.2f}s"
