"""The plain-text end-of-run summary printed to stderr: per worker, per buffer, peak memory."""

from __future__ import annotations


def format_summary(stats: dict) -> str:
    """A table of what every worker and buffer did, from a statistics document."""
    lines = [
        f"pipeline {stats.get('pipeline') or '(unnamed)'}: {stats.get('stopped')} "
        f"in {stats.get('elapsed', 0.0):.3f} s, exit {stats.get('exit')}"
    ]
    workers = stats.get("workers") or {}
    if workers:
        header = (
            f"{'worker':<16} {'kind':<9} {'in':>9} {'out':>9} {'err':>5} "
            f"{'busy/ev':>9} {'median':>9} {'max':>9} {'cpu/ev':>9} "
            f"{'blk in':>8} {'blk out':>8}"
        )
        lines += ["", header, "-" * len(header)]
        for name, w in workers.items():
            events = max(w.get("events_in", 0), w.get("events_out", 0), w.get("calls", 0))
            lines.append(
                f"{name:<16} {w['kind']:<9} {w['events_in']:>9} {w['events_out']:>9} "
                f"{w['errors']:>5} {_per_event(w.get('call_s', 0.0), w.get('calls', 0)):>9} "
                f"{_duration(w.get('call_median_s')):>9} {_duration(w.get('call_max_s')):>9} "
                f"{_per_event(w['cpu_s'], events):>9} "
                f"{w['blocked_in_s']:>7.2f}s {w['blocked_out_s']:>7.2f}s"
            )
            extra = []
            if w["kind"] == "observer":
                extra.append(f"seen {w.get('seen', 0)}, skipped {w.get('skipped', 0)}")
            if w["kind"] == "filter":
                per_output = ", ".join(f"{b} {n}" for b, n in w.get("per_output", {}).items())
                extra.append(
                    f"accepted {w.get('accepted', 0)}, discarded {w.get('discarded', 0)}"
                    + (f" ({per_output})" if per_output else "")
                )
            for text in extra:
                lines.append(f"{'':<16} {text}")
        lines.append(
            "busy/ev, median, max: time spent on each event (waiting for events and for room "
            "excluded); blk in/out: seconds spent waiting for events / for room in outputs"
        )
    buffers = stats.get("buffers") or {}
    if buffers:
        header = f"{'buffer':<16} {'written':>9} {'dropped':>9}  consumed / left per reader"
        lines += ["", header, "-" * len(header)]
        for name, b in buffers.items():
            readers = ", ".join(
                f"{w} {n}/{b['left'].get(w, 0)}" for w, n in b.get("consumed", {}).items()
            )
            lines.append(
                f"{name:<16} {b['written']:>9} {b['dropped']:>9}  {readers or '(not consumed)'}"
            )
    peak = stats.get("peak_rss_bytes")
    if peak:
        lines += ["", f"peak memory (largest process): {peak / 2**20:.1f} MiB"]
    failure = stats.get("failure")
    if failure:
        lines += ["", f"failed: worker `{failure['worker']}`: {failure['message']}"]
    return "\n".join(lines)


def _per_event(seconds: float, events: int) -> str:
    if not events:
        return "-"
    return _duration(seconds / events)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f}us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f}ms"
    return f"{seconds:.2f}s"
