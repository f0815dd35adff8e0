"""The checks of SPEC section 3 that need the whole resolved model: one small function each.

`CHECKS` lists them in order; each takes the `Model` (with its networkx graph) and yields
diagnostics. A check skips whatever resolution left unknown (None), so one mistake is
reported once, by the check that owns it.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

import networkx as nx

from flowc.callables import argument_types, call_shape, reserved_parameters, signature_of
from flowc.diagnostics import Diagnostic, Label, Note, error, warning
from flowc.sema.model import (
    BufferInfo,
    Model,
    ParamArgument,
    WorkerInfo,
    did_you_mean,
    name_span,
)
from flowc.sema.values import show_short, type_word
from flowc.syntax import ast
from flowc.types import (
    ElementType,
    TypeTextError,
    difference,
    field_requirement,
    parse_type_text,
)

Check = Callable[[Model], Iterator[Diagnostic]]

SHM_PATH = "/dev/shm"
MAX_CYCLES_PER_COMPONENT = 20


# --- E205: a batch mode the code does not declare ------------------------------------------


def check_batch_mode(model: Model) -> Iterator[Diagnostic]:
    """E205: `batch=` is given exactly when the code declares that it takes batches."""
    for worker in model.workers:
        declared = signature_of(worker.code) if worker.code is not None else None
        if declared is None or declared.batch is None:
            continue
        option = next((o for o in worker.decl.options if o.key == "batch"), None)
        described = worker.code_name
        if declared.batch and option is None:
            yield error(
                "E205",
                f"`{described}` takes batches of events, but `{worker.name}` has no `batch=`",
                worker.decl.callable.span,
                help=f"add `batch=N` to `{worker.name}` (N events at most per call, e.g. batch=64)",
            )
        elif not declared.batch and option is not None:
            yield error(
                "E205",
                f"`{described}` takes one event per call, but `{worker.name}` asks for `batch=`",
                option.span,
                help="remove `batch=`, or use code declared with @flowc.signature(batch=True)",
            )


# --- E301: how many buffers each kind takes ------------------------------------------------


@dataclass(frozen=True)
class Count:
    low: int
    high: int | None  # None: no upper bound

    def allows(self, n: int) -> bool:
        return n >= self.low and (self.high is None or n <= self.high)

    def describe(self, noun: str) -> str:
        if self.high == 0:
            return f"no {noun}s"
        if self.low == self.high:
            return f"exactly {self.low} {noun}" + ("s" if self.low != 1 else "")
        if self.high is None and self.low == 0:
            return f"any number of {noun}s"
        return f"at least {self.low} {noun}" + ("s" if self.low != 1 else "")


NONE, ONE, SOME, ANY = Count(0, 0), Count(1, 1), Count(1, None), Count(0, None)

# kind -> (inputs, outputs, observed buffers), SPEC section 2
ARITY: dict[str, tuple[Count, Count, Count]] = {
    "importer": (NONE, ONE, NONE),
    "processor": (SOME, SOME, NONE),
    "filter": (ONE, SOME, NONE),
    "exporter": (ONE, ANY, NONE),
    "observer": (NONE, NONE, SOME),
}
KIND_FORMS = {
    "importer": "importer NAME = CODE(ARGS) -> OUT",
    "processor": "processor NAME = CODE(ARGS) IN, ... -> OUT, ...",
    "filter": "filter NAME = CODE(ARGS) IN -> OUT, ...",
    "exporter": "exporter NAME = CODE(ARGS) IN [-> COPY, ...]",
    "observer": "observer NAME = CODE(ARGS) observes BUF, ...",
}


def check_arity(model: Model) -> Iterator[Diagnostic]:
    """E301: the number of inputs, outputs and observed buffers fits the worker's kind."""
    for worker in model.workers:
        counts = (len(worker.inputs), len(worker.outputs), len(worker.observes))
        wrong = [
            (n, allowed, noun)
            for n, allowed, noun in zip(
                counts, ARITY[worker.kind], ("input", "output", "observed buffer"), strict=True
            )
            if not allowed.allows(n)
        ]
        if not wrong:
            continue
        found = ", ".join(f"{n} {noun}{'s' if n != 1 else ''}" for n, _, noun in wrong)
        wanted = ", ".join(allowed.describe(noun) for _, allowed, noun in wrong)
        yield error(
            "E301",
            f"{worker.kind} `{worker.name}` has {found}, but {_article(worker.kind)} {worker.kind} takes {wanted}",
            worker.decl.span,
            help=f"write it as `{KIND_FORMS[worker.kind]}`" + _kind_hint(worker),
        )


def _arity_ok(worker: WorkerInfo) -> bool:
    """Whether a worker has the buffers its kind takes (else E301 already speaks for it)."""
    counts = (len(worker.inputs), len(worker.outputs), len(worker.observes))
    return all(allowed.allows(n) for n, allowed in zip(counts, ARITY[worker.kind], strict=True))


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _kind_hint(worker: WorkerInfo) -> str:
    if worker.kind == "filter" and len(worker.inputs) > 1:
        return "; a processor may read several buffers"
    if worker.kind != "observer" and worker.observes:
        return "; only an observer observes buffers"
    if worker.kind == "observer" and (worker.inputs or worker.outputs):
        return "; an observer only watches buffers with `observes`"
    if worker.kind == "importer" and worker.inputs:
        return "; an importer is a source: use a processor to read a buffer"
    return ""


# --- E204: arguments held against the code's parameters ------------------------------------


def check_arguments(model: Model) -> Iterator[Diagnostic]:
    """E204: every argument is known to the code, has a plausible type; none is missing."""
    inspected: dict[tuple[int, str], tuple] = {}  # (id(code), kind) -> (shape, types)
    for worker in model.workers:
        code = worker.code
        if code is None:
            continue
        key = (id(code), worker.kind)
        if key not in inspected:
            inspected[key] = (call_shape(code, worker.kind), argument_types(code))
        shape, types = inspected[key]
        described = worker.code_name
        given: dict[str, ast.Arg] = {}
        for arg in worker.arguments:
            if arg.key in given:
                yield error(
                    "E204",
                    f"argument `{arg.key}` is given twice",
                    arg.span,
                    notes=[Note("first given here", given[arg.key].span)],
                    help="keep one of them",
                )
                continue
            given[arg.key] = arg
            reserved = reserved_parameters(worker.decl.kind)
            if arg.key in reserved:
                filled = " and ".join(f"`{name}`" for name in reserved)
                yield error(
                    "E204",
                    f"`{arg.key}` cannot be given in the flow file: flowc passes it to `{described}` itself",
                    arg.span,
                    help=f"remove `{arg.key}=`; flowc fills in {filled} for a {worker.decl.kind}",
                )
                continue
            if arg.key not in shape.parameters and not shape.accepts_any:
                yield error(
                    "E204",
                    f"`{described}` has no parameter `{arg.key}`",
                    arg.key_span or arg.span,
                    help=_parameters_help(arg.key, shape.parameters),
                )
                continue
            value = worker.args.get(arg.key)
            expected = types.get(arg.key)
            if value is None or expected is None or expected.accepts(value):
                continue
            said = "its annotation" if expected.annotated else "its default"
            from_file = isinstance(arg, ParamArgument)
            # a value from a parameters file is held to its type as a `--set` value is (E106)
            yield error(
                "E106" if from_file else "E204",
                f"argument `{arg.key}` of `{described}` takes {expected.describe()}, "
                f"not {type_word(value)} ({show_short(value)})",
                arg.value_span if from_file else arg.span,
                help=f"give {expected.describe()} (as {said} says)",
            )
        missing = [name for name in shape.required if name not in given]
        if missing:
            names = ", ".join(f"`{n}`" for n in missing)
            yield error(
                "E204",
                f"`{described}` needs the argument{'s' if len(missing) > 1 else ''} {names}",
                worker.decl.callable.span,
                help="add " + ", ".join(f"{n}=..." for n in missing) + " inside the parentheses",
            )


def _parameters_help(key: str, parameters: tuple[str, ...]) -> str:
    if not parameters:
        return "it takes no arguments"
    guess = did_you_mean(key, parameters)
    listing = ", ".join(f"`{p}`" for p in parameters)
    return f"did you mean `{guess}`? it takes {listing}" if guess else f"it takes {listing}"


# --- E202, E203: declared signatures --------------------------------------------------------


def check_signatures(model: Model) -> Iterator[Diagnostic]:
    """E202/E203: what the code declares (`@flowc.signature`) matches its buffers."""
    produced_cache: dict[str, ElementType | str] = {}
    for worker in model.workers:
        if worker.code is None:
            continue
        declared = signature_of(worker.code)
        if declared is None:
            continue
        described = worker.code_name
        if declared.kind and declared.kind != worker.kind:
            yield error(
                "E202",
                f"`{described}` is written for {_article(declared.kind)} {declared.kind}, "
                f"but `{worker.name}` is declared as {_article(worker.kind)} {worker.kind}",
                worker.decl.callable.span,
                help=f"declare it as `{declared.kind} {worker.name} = ...`",
            )
        field_values = yield from _check_field_args(worker, declared)
        needs = {
            name: code
            for name, code in declared.needs.items()
            if name not in declared.field_args and name not in field_values
        }
        if needs:
            yield from _check_needs(worker, described, needs)
        if declared.produces is not None:
            yield from _check_produces(model, worker, declared.produces, produced_cache)


def _check_needs(worker: WorkerInfo, described: str, needs) -> Iterator[Diagnostic]:
    """E202, once per input that lacks fields the code needs."""
    wanted = ", ".join(f"`{name}: {code or 'any number'}`" for name, code in needs.items())
    for wire in worker.data_wires:
        buffer = wire.buffer
        if buffer is None or buffer.element is None:
            continue
        reasons = [
            reason
            for name, code in needs.items()
            if (reason := field_requirement(buffer.element, name, code)) is not None
        ]
        if not reasons:
            continue
        if buffer.element.is_plain:
            reasons = reasons[:1]
        yield error(
            "E202",
            f"`{described}` needs {wanted} in `{buffer.name}` ({buffer.describe()}), "
            f"but {'; '.join(reasons)}",
            wire.ref.span,
            notes=[_declared_note(buffer)],
            help=f"give `{buffer.name}` a type with those fields, or wire another buffer",
        )


def _declared_note(buffer: BufferInfo) -> Note:
    return Note(f"`{buffer.name}` is declared here as {buffer.describe()}", name_span(buffer.decl))


def _check_field_args(worker: WorkerInfo, declared) -> Generator[Diagnostic, None, set[str]]:
    """E203 for arguments that must name fields; returns the field names they named."""
    named: set[str] = set()
    args = {arg.key: arg for arg in reversed(worker.arguments)}
    for parameter in declared.field_args:
        arg = args.get(parameter)
        value = worker.args.get(parameter)
        if arg is None or value is None:
            continue
        names = value if isinstance(value, list) else [value]
        if not all(isinstance(n, str) for n in names):
            yield error(
                "E203",
                f"argument `{parameter}` must name a field (a string), not {show_short(value)}",
                arg.span,
                help=f'write {parameter}="FIELD"',
            )
            continue
        named.update(names)
        for wire in worker.data_wires:
            buffer = wire.buffer
            if buffer is None or buffer.element is None:
                continue
            for field_name in names:
                problem = _field_problem(buffer, field_name, parameter, declared.needs)
                if problem is None:
                    continue
                message, hint = problem
                yield error(
                    "E203",
                    message,
                    arg.span,
                    labels=[Label(wire.ref.span, f"{buffer.describe()}")],
                    notes=[_declared_note(buffer)],
                    help=hint,
                )
    return named


def _field_problem(
    buffer: BufferInfo, field_name: str, parameter: str, needs
) -> tuple[str, str] | None:
    element = buffer.element
    if element.is_plain:
        return (
            f'`{parameter}="{field_name}"`: `{buffer.name}` is a plain {element.code} array without fields',
            "field arguments need a buffer of a struct type",
        )
    found = element.field(field_name)
    if found is None:
        names = [f.name for f in element.fields]
        guess = did_you_mean(field_name, names)
        listing = ", ".join(f"`{n}`" for n in names)
        return (
            f"`{buffer.name}` ({buffer.describe()}) has no field `{field_name}`",
            f"did you mean `{guess}`?" if guess else f"its fields are {listing}",
        )
    for key in (parameter, field_name):
        if key in needs:
            reason = field_requirement(element, field_name, needs[key])
            if reason is not None:
                want = needs[key] or "a number"
                return (
                    f'`{parameter}="{field_name}"` must name a field of {want}, but in `{buffer.name}` {reason}',
                    "name a field of the right kind",
                )
    return None


def _check_produces(
    model: Model, worker: WorkerInfo, produces, cache_: dict
) -> Iterator[Diagnostic]:
    described = worker.code_name
    texts = [produces] * len(worker.outputs) if isinstance(produces, str) else list(produces)
    if len(texts) != len(worker.outputs):
        yield error(
            "E202",
            f"`{described}` produces {len(texts)} output{'s' if len(texts) != 1 else ''}, "
            f"but `{worker.name}` writes {len(worker.outputs)}",
            worker.decl.callable.span,
            help=f"wire {len(texts)} output buffer{'s' if len(texts) != 1 else ''} after `->`",
        )
        return
    for text, wire in zip(texts, worker.outputs, strict=True):
        key = text if isinstance(text, str) else repr(text)
        if key not in cache_:
            cache_[key] = _produced_type(model, text)
        produced = cache_[key]
        if isinstance(produced, str):
            yield error(
                "E202",
                f"`{described}` declares produces={text!r}, which is not a usable flow type: {produced}",
                worker.decl.callable.span,
                help="this is a mistake in the worker's @flowc.signature",
            )
            return
        buffer = wire.buffer
        if buffer is None or buffer.element is None:
            continue
        reason = difference(produced, buffer.element)
        if reason is None:
            continue
        yield error(
            "E202",
            f"`{described}` produces {produced.to_flow()}, but `{buffer.name}` holds "
            f"{buffer.describe()}: {reason}",
            wire.ref.span,
            notes=[_declared_note(buffer)],
            help=f"declare `{buffer.name}` with the type {produced.to_flow()}",
        )


def _produced_type(model: Model, text: str) -> ElementType | str:
    """The element type a `produces` text means, or why it has none."""
    if not isinstance(text, str):
        return f"{text!r} is not a string"
    types = {name: info.element for name, info in model.types.items()}
    try:
        element, length = parse_type_text(text, types)
    except TypeTextError as exc:
        return f"{exc.reason}, at column {exc.position + 1}"
    if length is not None:
        return f"`[{length}]` is a buffer's length, which produces= does not give"
    return element


# --- E201: filters and exporters copy events unchanged ---------------------------------------


def check_copies(model: Model) -> Iterator[Diagnostic]:
    """E201: a filter's or exporter's outputs have exactly its input's type and length."""
    for worker in model.workers:
        if worker.kind not in ("filter", "exporter") or len(worker.inputs) != 1:
            continue
        source = worker.inputs[0].buffer
        if source is None or source.element is None or source.length is None:
            continue
        for wire in worker.outputs:
            target = wire.buffer
            if target is None or target.element is None or target.length is None:
                continue
            reason = difference(source.element, target.element)
            if reason is None and source.length != target.length:
                reason = f"the lengths differ ({source.length} and {target.length})"
            if reason is None:
                continue
            yield error(
                "E201",
                f"{worker.kind} `{worker.name}` copies `{source.name}` ({source.describe()}) "
                f"into `{target.name}` ({target.describe()}), but the types differ: {reason}",
                wire.ref.span,
                labels=[Label(worker.inputs[0].ref.span, _spelled_out(source))],
                notes=[_declared_note(target)],
                help=f"{_article(worker.kind)} {worker.kind} copies events unchanged; use a processor to convert them",
            )


# --- graph checks ----------------------------------------------------------------------------


def _edges(model: Model, buffer: BufferInfo, roles: tuple[str, ...], incoming: bool):
    graph = model.graph
    edges = graph.in_edges(buffer, data=True) if incoming else graph.out_edges(buffer, data=True)
    return [(u, v, d) for u, v, d in edges if d["role"] in roles]


def _spelled_out(buffer: BufferInfo) -> str:
    """`Pulse = {height: f8, ...}`: a buffer's type with its fields, for labels."""
    if buffer.type_name is None:
        return buffer.describe()
    return f"{buffer.describe()} = {buffer.element.to_flow()}"


def check_unwritten(model: Model) -> Iterator[Diagnostic]:
    """E302: every buffer that is read or observed has a writer."""
    for buffer in model.buffers.values():
        if _edges(model, buffer, ("write",), incoming=True):
            continue
        for _, worker, data in _edges(model, buffer, ("read", "observe"), incoming=False):
            verb = "observed" if data["role"] == "observe" else "read"
            yield error(
                "E302",
                f"`{buffer.name}` is {verb} by `{worker.name}`, but nothing writes it",
                data["ref"].span,
                notes=[Note(f"`{buffer.name}` is declared here", name_span(buffer.decl))],
                help=f"add an importer or processor with `-> {buffer.name}`, or read another buffer",
            )


def check_cycles(model: Model) -> Iterator[Diagnostic]:
    """E303: events never flow back to where they came from."""
    flow = nx.DiGraph()
    flow.add_edges_from(
        (u, v)
        for u, v, d in model.graph.edges(data=True)
        if d["role"] in ("read", "write") and _arity_ok(v if d["role"] == "read" else u)
    )
    for component in nx.strongly_connected_components(flow):
        if len(component) < 2:
            continue
        sub = flow.subgraph(component)
        for cycle in itertools.islice(nx.simple_cycles(sub), MAX_CYCLES_PER_COMPONENT):
            yield _cycle_diagnostic(model.graph, cycle)


def _cycle_diagnostic(graph: nx.MultiDiGraph, cycle: list) -> Diagnostic:
    steps = []
    for i, node in enumerate(cycle):
        following = cycle[(i + 1) % len(cycle)]
        data = min(
            (d for d in graph.get_edge_data(node, following).values() if d["role"] != "observe"),
            key=lambda d: d["position"],
        )
        steps.append((node, following, data))
    first = min(range(len(steps)), key=lambda i: steps[i][2]["position"])
    steps = steps[first:] + steps[:first]
    path = " -> ".join(f"`{node.name}`" for node, _, _ in steps) + f" -> `{steps[0][0].name}`"
    labels = [
        Label(
            data["ref"].span,
            f"`{u.name}` writes `{v.name}`"
            if data["role"] == "write"
            else f"`{v.name}` reads `{u.name}`",
        )
        for u, v, data in steps[1:]
    ]
    return error(
        "E303",
        f"the graph has a cycle: {path}",
        steps[0][2]["ref"].span,
        labels=labels,
        help="events would circulate forever and back-pressure would deadlock: break the cycle",
    )


# where cgroups are mounted, and the cgroups of this process (E304)
CGROUP_ROOT = "/sys/fs/cgroup"
PROC_CGROUP = "/proc/self/cgroup"
# cgroup v1 writes "no limit" as a number near 2**63
_NO_LIMIT = 2**60


def cgroup_memory_room(
    root: str | None = None, proc_cgroup: str | None = None
) -> tuple[int, int, str] | None:
    """(bytes left, limit, the file that sets it) for the tightest memory limit on the way from
    this process's cgroup to the root (v2 memory.max minus memory.current, v1
    memory.limit_in_bytes minus memory.usage_in_bytes); None when no limit is set or found.
    Pages of /dev/shm count against it: a run past it is OOM-killed while allocating them."""
    root = CGROUP_ROOT if root is None else root
    try:
        with open(PROC_CGROUP if proc_cgroup is None else proc_cgroup) as listing:
            lines = listing.read().splitlines()
    except OSError:
        return None
    tightest = None
    for line in lines:
        hierarchy, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if hierarchy == "0" and not controllers:
            bases = [(root, "memory.max", "memory.current")]
            bases.append((os.path.join(root, "unified"), "memory.max", "memory.current"))
        elif "memory" in controllers.split(","):
            bases = [
                (os.path.join(root, "memory"), "memory.limit_in_bytes", "memory.usage_in_bytes")
            ]
        else:
            continue
        parts = [part for part in path.split("/") if part]
        for base, limit_name, usage_name in bases:
            for depth in range(len(parts), -1, -1):
                folder = os.path.join(base, *parts[:depth])
                limit = _cgroup_number(os.path.join(folder, limit_name))
                if limit is None or limit >= _NO_LIMIT:
                    continue
                room = max(0, limit - (_cgroup_number(os.path.join(folder, usage_name)) or 0))
                if tightest is None or room < tightest[0]:
                    tightest = (room, limit, os.path.join(folder, limit_name))
    return tightest


def _cgroup_number(path: str) -> int | None:
    try:
        with open(path) as setting:
            return int(setting.read().strip())
    except (OSError, ValueError):  # missing, or "max"
        return None


def check_shared_memory(model: Model) -> Iterator[Diagnostic]:
    """E304: the buffers fit in the shared memory there is (or `--max-shm`)."""
    sized = [(b.total_bytes, b) for b in model.buffers.values() if b.complete]
    if not sized:
        return
    total = sum(size for size, _ in sized)
    if model.max_shm is not None:
        limit, where = model.max_shm, f"the limit of {human_bytes(model.max_shm)} (--max-shm)"
    elif os.path.isdir(SHM_PATH):
        limit = shutil.disk_usage(SHM_PATH).free
        where = f"the {human_bytes(limit)} free in {SHM_PATH}"
        room = cgroup_memory_room()
        if room is not None and room[0] < limit:  # shared memory counts against the cgroup
            limit, cgroup_limit, setting = room
            where = (
                f"the {human_bytes(limit)} the memory limit of this process's cgroup leaves "
                f"({human_bytes(cgroup_limit)} in {setting})"
            )
    else:
        return
    if total <= limit:
        return
    size, largest = max(sized, key=lambda item: item[0])
    yield error(
        "E304",
        f"the buffers need {human_bytes(total)} of shared memory, more than {where}",
        name_span(largest.decl),
        notes=[
            Note(
                f"`{largest.name}` is the largest: {largest.slots} slots of {human_bytes(largest.slot_bytes)} "
                f"= {human_bytes(size)}",
                name_span(largest.decl),
            )
        ],
        help="use fewer slots or a smaller LENGTH for the largest buffers",
    )


def human_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} byte{'s' if n != 1 else ''}"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024
        if value < 1024 or unit == "PiB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def check_unconsumed(model: Model) -> Iterator[Diagnostic]:
    """W301: a buffer that is written is also consumed."""
    for buffer in model.buffers.values():
        writes = _edges(model, buffer, ("write",), incoming=True)
        if not writes or _edges(model, buffer, ("read",), incoming=False):
            continue
        observed = _edges(model, buffer, ("observe",), incoming=False)
        fate = (
            "its events are only observed, and dropped when its slots are full"
            if observed
            else "its events are discarded"
        )
        writers = ", ".join(sorted({f"`{u.name}`" for u, _, _ in writes}))
        yield warning(
            "W301",
            f"`{buffer.name}` is written by {writers}, but no worker consumes it: {fate}",
            name_span(buffer.decl),
            help=f"read `{buffer.name}` with an exporter or processor, or remove it",
        )


def check_unused(model: Model) -> Iterator[Diagnostic]:
    """W302: every declared buffer is wired to some worker."""
    for buffer in model.buffers.values():
        if model.graph.degree(buffer) == 0:
            yield warning(
                "W302",
                f"buffer `{buffer.name}` is declared but never used",
                name_span(buffer.decl),
                help="remove it, or wire it to a worker",
            )


def check_slots(model: Model) -> Iterator[Diagnostic]:
    """W303: a buffer has at least as many slots as the processes of any worker reading it."""
    for buffer in model.buffers.values():
        if buffer.slots is None:
            continue
        readers = [
            w
            for _, w, _ in _edges(model, buffer, ("read",), incoming=False)
            if w.processes is not None
        ]
        if not readers:
            continue
        busiest = max(readers, key=lambda w: w.processes)
        if buffer.slots >= busiest.processes:
            continue
        yield warning(
            "W303",
            f"`{buffer.name}` has {buffer.slots} slot{'s' if buffer.slots != 1 else ''}, but "
            f"`{busiest.name}` reads it with {busiest.processes} processes: some will always idle",
            name_span(buffer.decl),
            help=f"give `{buffer.name}` slots={busiest.processes} or more",
        )


CHECKS: tuple[Check, ...] = (
    check_arity,
    check_arguments,
    check_signatures,
    check_batch_mode,
    check_copies,
    check_unwritten,
    check_cycles,
    check_shared_memory,
    check_unconsumed,
    check_unused,
    check_slots,
)


def run_checks(model: Model) -> list[Diagnostic]:
    return [d for check in CHECKS for d in check(model)]
