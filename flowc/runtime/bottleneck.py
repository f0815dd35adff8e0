"""Which worker limited a run's throughput, and why: busy in its own work, or blocked on a
full output. Read from the end-of-run statistics (times busy, blocked on input and on output).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from flowc.plan import Plan
from flowc.units import format_duration

# a worker active (neither waiting for events nor for room) this share of its time limits the
# run; below it, a writer that waited this long for room in a full output is named instead
LIMITING_FRACTION = 0.5
# how much the waiting of a worker's upstream writers counts towards naming it
UPSTREAM_WEIGHT = 0.25


@dataclass(frozen=True)
class Bottleneck:
    """The worker that limited the throughput of a run.

    reason: "busy" (it was working nearly all the time: its upstream had to wait for it) or
    "blocked_out" (it waited for room in `buffer`, although its consumers were mostly idle)."""

    worker: str
    kind: str
    reason: str
    buffer: str | None
    active_fraction: float  # share of its time neither waiting for events nor for room
    blocked_in_fraction: float
    blocked_out_fraction: float
    text: str

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Load:
    name: str
    kind: str
    active: float
    blocked_in: float
    blocked_out: float
    per_event_s: float | None


def _loads(stats: dict) -> dict[str, _Load]:
    loads = {}
    for name, w in (stats.get("workers") or {}).items():
        wall = w.get("wall_s") or 0.0
        if w.get("kind") == "observer" or wall <= 0:
            continue
        blocked_in = min(1.0, max(0.0, w.get("blocked_in_s", 0.0) / wall))
        blocked_out = min(1.0 - blocked_in, max(0.0, w.get("blocked_out_s", 0.0) / wall))
        calls = w.get("calls") or 0
        per_event = w.get("call_s", 0.0) / calls if calls else None
        loads[name] = _Load(
            name, w["kind"], 1.0 - blocked_in - blocked_out, blocked_in, blocked_out, per_event
        )
    return loads


def find_bottleneck(stats: dict, plan: Plan | None = None) -> Bottleneck | None:
    """The worker that limited the run, from a statistics document (SPEC section 5 plus the
    runtime's `calls` and `call_s`); `plan` adds who waited on whom to the explanation.
    None when no worker ran, or none was busy or blocked on output half of its time (a run
    cut short by a failure)."""
    loads = _loads(stats)
    if not loads:
        return None
    writers: dict[str, list[str]] = {}
    readers: dict[str, list[str]] = {}
    outputs: dict[str, tuple[str, ...]] = {}
    if plan is not None:
        for w in plan.workers:
            outputs[w.name] = w.outputs
            for b in w.outputs:
                writers.setdefault(b, []).append(w.name)
            for b in w.inputs:
                readers.setdefault(b, []).append(w.name)
    inputs_of = {name: [b for b, names in readers.items() if name in names] for name in loads}

    def upstream_wait(name: str) -> tuple[float, str | None, str | None]:
        """The longest share of time a writer of `name`'s inputs waited for room, with who."""
        best = (0.0, None, None)
        for b in inputs_of[name]:
            for writer in writers.get(b, []):
                if writer in loads and loads[writer].blocked_out > best[0]:
                    best = (loads[writer].blocked_out, writer, b)
        return best

    def score(load: _Load) -> float:
        return load.active + UPSTREAM_WEIGHT * upstream_wait(load.name)[0]

    top = max(loads.values(), key=score)
    if top.active >= LIMITING_FRACTION:
        return _busy(top, upstream_wait(top.name))
    waiting = max(loads.values(), key=lambda load: load.blocked_out)
    if waiting.blocked_out >= LIMITING_FRACTION:
        return _blocked(waiting, outputs.get(waiting.name, ()), readers, loads, stats)
    return None


def _busy(load: _Load, upstream: tuple[float, str | None, str | None]) -> Bottleneck:
    per_event = f" ({format_duration(load.per_event_s)} per event)" if load.per_event_s else ""
    if load.kind == "importer":
        text = (
            f"importer `{load.name}` set the pace: it was busy {_pct(load.active)} of its time "
            f"producing events{per_event} and waited for room in its output "
            f"{_pct(load.blocked_out)} of it"
        )
    else:
        text = f"`{load.name}` ({load.kind}) was busy {_pct(load.active)} of its time{per_event}"
        waited, writer, buffer = upstream
        if writer is not None and waited >= 0.05:
            text += f"; `{writer}` waited for room in `{buffer}` {_pct(waited)} of its time"
        if load.blocked_in < 0.05 and load.kind in ("processor", "filter"):
            text += " (more processes= would share its events)"
    return Bottleneck(
        load.name,
        load.kind,
        "busy",
        None,
        load.active,
        load.blocked_in,
        load.blocked_out,
        text,
    )


def _blocked(
    load: _Load,
    outputs: tuple[str, ...],
    readers: dict[str, list[str]],
    loads: dict[str, _Load],
    stats: dict,
) -> Bottleneck:
    buffers = stats.get("buffers") or {}

    def fullness(b: str) -> int:
        return max((buffers.get(b, {}).get("left") or {}).values(), default=0)

    buffer = max(outputs, key=fullness) if outputs else None
    text = f"`{load.name}` ({load.kind}) waited for room {_pct(load.blocked_out)} of its time"
    if buffer is not None:
        text += f" in `{buffer}`"
        consumers = [loads[r] for r in readers.get(buffer, []) if r in loads]
        if consumers:
            busiest = max(consumers, key=lambda c: c.active)
            text += (
                f", while its consumer `{busiest.name}` was busy only {_pct(busiest.active)}: "
                f"more slots in `{buffer}` would absorb the bursts"
            )
    return Bottleneck(
        load.name,
        load.kind,
        "blocked_out",
        buffer,
        load.active,
        load.blocked_in,
        load.blocked_out,
        text,
    )


def _pct(fraction: float) -> str:
    return f"{100 * fraction:.0f}%"
