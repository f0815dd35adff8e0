"""Which worker limited a run's throughput, and why: busy in its own work, blocked on a full
output, or nobody, because the importer paces itself (it sleeps to keep a rate) and the
pipeline keeps up. Read from the end-of-run statistics (time in the worker's code, wall and
CPU, blocked on input and on output). Events dropped by full buffers are named too.

"Busy" means one thing everywhere (the live view, the report, this line): the share of a
worker's time spent in its own code; without call times (FLOWC_CALL_TIMES=off) the share
neither waiting for events nor for room stands in.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from flowc.plan import Plan
from flowc.units import format_duration

# a worker active (neither waiting for events nor for room) this share of its time limits the
# run; below it, a writer that waited this long for room in a full output is named instead
LIMITING_FRACTION = 0.5
# how much the waiting of a worker's upstream writers counts towards naming it
UPSTREAM_WEIGHT = 0.25
# an importer whose code uses less CPU than this share of its wall time sleeps: it is paced
PACED_CPU_SHARE = 0.5


@dataclass(frozen=True)
class Bottleneck:
    """The worker that limited the throughput of a run.

    reason: "busy" (it was working nearly all the time: its upstream had to wait for it),
    "blocked_out" (it waited for room in `buffer`, although its consumers were mostly idle), or
    "paced" (an importer that sleeps to keep its rate, and the pipeline kept up with it).
    `text` ends with the events that full buffers dropped, if any."""

    worker: str
    kind: str
    reason: str
    buffer: str | None
    active_fraction: float  # share of its time busy (in its own code)
    blocked_in_fraction: float
    blocked_out_fraction: float
    text: str

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Load:
    name: str
    kind: str
    active: float  # busy: in its own code (or neither waiting for events nor for room)
    blocked_in: float
    blocked_out: float
    per_event_s: float | None
    cpu_per_event_s: float | None
    rate: float  # events per second over its wall time (out for importers, in otherwise)
    asked: float | None = None  # the rate its `rate=` argument asks for (importers)

    @property
    def paced(self) -> bool:
        """An importer whose code sleeps most of the time it takes: it keeps a rate."""
        return (
            self.kind == "importer"
            and self.per_event_s is not None
            and self.cpu_per_event_s is not None
            and self.cpu_per_event_s < PACED_CPU_SHARE * self.per_event_s
        )


def _loads(stats: dict) -> dict[str, _Load]:
    loads = {}
    for name, w in (stats.get("workers") or {}).items():
        wall = w.get("wall_s") or 0.0
        if w.get("kind") == "observer" or wall <= 0:
            continue
        blocked_in = min(1.0, max(0.0, w.get("blocked_in_s", 0.0) / wall))
        blocked_out = min(1.0 - blocked_in, max(0.0, w.get("blocked_out_s", 0.0) / wall))
        calls = w.get("calls") or 0
        timed = bool(calls) and "call_s" in w
        per_event = w["call_s"] / calls if timed else None
        cpu_per_event = w["cpu_call_s"] / calls if timed and "cpu_call_s" in w else None
        busy = min(1.0, w["call_s"] / wall) if timed else 1.0 - blocked_in - blocked_out
        events = w.get("events_out", 0) if w["kind"] == "importer" else w.get("events_in", 0)
        loads[name] = _Load(
            name,
            w["kind"],
            busy,
            blocked_in,
            blocked_out,
            per_event,
            cpu_per_event,
            events / wall,  # over its whole life, its start included
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

    working = [load for load in loads.values() if not load.paced]
    found = None
    top = max(working, key=score, default=None)
    if top is not None and top.active >= LIMITING_FRACTION:
        found = _busy(top, upstream_wait(top.name))
    else:
        waiting = max(loads.values(), key=lambda load: load.blocked_out)
        if waiting.blocked_out >= LIMITING_FRACTION:
            found = _blocked(waiting, outputs.get(waiting.name, ()), readers, loads, stats)
        else:
            paced = [load for load in loads.values() if load.paced]
            if paced:
                found = _paced([_asked(load, plan) for load in paced], loads)
    drops = _drops(stats, readers, loads)
    if found is None or not drops:
        return found
    return replace(found, text=f"{found.text}; {drops}")


def _asked(load: _Load, plan: Plan | None) -> _Load:
    """The load with the rate its importer's `rate=` argument asks for, when it has one."""
    if plan is None:
        return load
    try:
        asked = plan.worker(load.name).args.get("rate")
    except KeyError:
        return load
    if isinstance(asked, int | float) and not isinstance(asked, bool) and asked > 0:
        return replace(load, asked=float(asked))
    return load


def _pace(load: _Load) -> str:
    """`1,000/s (rate=1000)` as asked, else `about 950/s` as measured over its life."""
    if load.asked is not None:
        return f"{_rate(load.asked)} (rate={load.asked:g})"
    return f"about {_rate(load.rate)}"


def _paced(paced: list[_Load], loads: dict[str, _Load]) -> Bottleneck:
    """The importers keep their own rates and every other worker keeps up."""
    first = paced[0]
    busiest = max(
        (load for load in loads.values() if not load.paced),
        key=lambda load: load.active,
        default=None,
    )
    if len(paced) == 1:
        text = (
            f"importer `{first.name}` is paced at {_pace(first)}: it sleeps to keep its "
            f"rate ({_duration(first.cpu_per_event_s)} CPU of {_duration(first.per_event_s)} "
            "per event); the pipeline keeps up"
        )
    else:
        rates = " and ".join(f"`{load.name}` at {_pace(load)}" for load in paced)
        text = f"importers {rates} are paced: they sleep to keep their rates; the pipeline keeps up"
    if busiest is not None:
        text += f" (the busiest, `{busiest.name}`, was busy {_pct(busiest.active)} of its time)"
    return Bottleneck(
        first.name,
        first.kind,
        "paced",
        None,
        first.active,
        first.blocked_in,
        first.blocked_out,
        text,
    )


def _drops(stats: dict, readers: dict[str, list[str]], loads: dict[str, _Load]) -> str:
    """`kept` dropped 72 of 2,000 events (overflow=drop) while its reader `save` waited for
    events 92% of its time: what full buffers lost, and whether their readers were idle."""
    parts = []
    for name, b in (stats.get("buffers") or {}).items():
        dropped, written = b.get("dropped", 0), b.get("written", 0)
        consumed = b.get("consumed") or {}
        if not dropped or not consumed:  # a buffer nobody consumes only overwrites
            continue
        text = f"`{name}` dropped {dropped:,} of {written:,} events"
        idle = [loads[r] for r in readers.get(name, consumed) if r in loads]
        if idle:
            reader = min(idle, key=lambda load: load.blocked_in)
            text += (
                f" while its reader `{reader.name}` waited for events "
                f"{_pct(reader.blocked_in)} of its time"
            )
            if reader.blocked_in >= LIMITING_FRACTION:
                text += f" (bursts: more slots in `{name}` would keep them)"
        parts.append(text)
    return "; ".join(parts)


def _rate(per_second: float) -> str:
    """A rate to two significant figures: `1,000/s`, `950/s`, `0.25/s`."""
    if per_second <= 0:
        return "0/s"
    digits = 1 - math.floor(math.log10(per_second))
    return f"{round(per_second, digits):,.{max(digits, 0)}f}/s"


def _duration(seconds: float | None) -> str:
    """`70.8 µs`: the one spelling of microseconds in what flowc shows."""
    return format_duration(seconds).replace(" us", " µs")


def _busy(load: _Load, upstream: tuple[float, str | None, str | None]) -> Bottleneck:
    per_event = f" ({_duration(load.per_event_s)} per event)" if load.per_event_s else ""
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
