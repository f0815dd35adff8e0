"""Every diagnostic code, explained: `flowc explain CODE` and the docs use it.

`CODES` holds those of the checker (SPEC section 3, E and W): each with the severity, a one-line
title, a few sentences on what it means, and a small example that triggers it beside its fix.
`IMPORT_CODES` holds those of `flowc import mimocorb2` (M), which have no flow example; one
table, `EVERY_CODE`, holds both.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class CodeInfo:
    code: str
    severity: str  # "error" | "warning"
    title: str
    explanation: str
    example: str = ""  # flow text that triggers the diagnostic (none for the import's M codes)
    fix: str = ""  # the same flow text, fixed


_HEADER = "type Pulse = {height: f8, time: f8}\n"
_PULSES = (
    _HEADER + "buffer pulses : Pulse slots=8\nimporter sim = stdlib.sources.pulses(n=4) -> pulses\n"
)
_PAIR = (
    "buffer a : f4[16] slots=4\nbuffer b : f4[16] slots=4\n"
    "buffer both : {a: f4[16], b: f4[16]} slots=4\n"
    "importer sa = stdlib.sources.pulses(n=4) -> a\nimporter sb = stdlib.sources.pulses(n=4) -> b\n"
)
_RAW = "buffer raw : f4[16] slots=4\nimporter sim = stdlib.sources.pulses(n=4) -> raw\n"

CODES: dict[str, CodeInfo] = {
    info.code: info
    for info in (
        CodeInfo(
            "E001",
            "error",
            "syntax error",
            "The text is not valid flow syntax: a token or character appears where the grammar "
            "does not allow it. The message says what was expected there. Syntax errors stop "
            "the check, so fix them first; a file that is not UTF-8 text is reported this way "
            "too, and so is a syntax error in a `--params` TOML file, at its line and column.",
            "buffer raw : f4[16] slots=4\nimporter sim = stdlib.sources.pulses(4) -> raw\n",
            _RAW,
        ),
        CodeInfo(
            "E101",
            "error",
            "a name is declared twice",
            "Buffers, workers, types and consts share one namespace, so each name may be "
            "declared once. The diagnostic points at the second declaration and notes the "
            "first. The `pipeline` name stands outside this namespace.",
            "buffer data : f8 slots=8\nbuffer data : f4 slots=8\n",
            "buffer data : f8 slots=8\nbuffer data32 : f4 slots=8\n",
        ),
        CodeInfo(
            "E102",
            "error",
            "reference to an undeclared buffer",
            "A worker reads, writes or observes a name that is not a declared buffer: a typo, "
            "a buffer that was never declared, or the name of a worker, type or const.",
            "buffer raw : f4[16] slots=4\nimporter sim = stdlib.sources.pulses(n=4) -> rwa\n",
            _RAW,
        ),
        CodeInfo(
            "E103",
            "error",
            "reference to an undeclared type",
            "A buffer's type is neither a declared `type` nor a dtype code such as `f4`. "
            "Declare the type with `type NAME = {field: code, ...}` or use a dtype code for a "
            "plain array.",
            "buffer pulses : Plse slots=8\n",
            _HEADER + "buffer pulses : Pulse slots=8\n",
        ),
        CodeInfo(
            "E104",
            "error",
            "reference to an undeclared const",
            "A name stands where a value is expected, but no const of that name is declared "
            "above it; or `--set NAME=VALUE` (or `overrides=`, or a top-level key of a "
            "`--params` file) names a const the flow does not declare. A const may refer only "
            "to consts declared before it.",
            "buffer raw : f4[LEN] slots=4\n",
            "const LEN = 1024\nbuffer raw : f4[LEN] slots=4\n",
        ),
        CodeInfo(
            "E105",
            "error",
            "unknown option",
            "Buffers take the options `slots=` and `overflow=`; workers take `processes=`, "
            "`on_error=` and `node=`. Any other option, or one given twice, is an error. Arguments for a "
            "worker's code go inside its parentheses, not after the buffers.",
            "buffer raw : f4[16] slots=4\n"
            "importer sim = stdlib.sources.pulses(n=4) -> raw procs=1\n",
            "buffer raw : f4[16] slots=4\n"
            "importer sim = stdlib.sources.pulses(n=4) -> raw processes=1\n",
        ),
        CodeInfo(
            "E106",
            "error",
            "bad option or literal value",
            "A value is of the wrong kind or out of range: `slots`, `processes`, a buffer "
            "length and sub-array dimensions must be positive integers; `overflow` is `block` "
            "or `drop`, `on_error` is `fail` or `skip`; `node` is the name of a machine, a "
            "non-empty string; importers and observers run in one process; every buffer needs "
            "`slots`; a `--set` value (or a `--params` file's) must have its const's type, and "
            "a `--params` worker argument the type its code takes; a mapping gives each key "
            "once; a `--params` value must be one flow can hold (no TOML dates).",
            "buffer raw : f4[16] slots=0\n",
            "buffer raw : f4[16] slots=4\n",
        ),
        CodeInfo(
            "E107",
            "error",
            "unknown dtype code or repeated field",
            "A field of a type has a dtype code flowc does not know, or the same field name "
            "appears twice in one type. The codes are i1 i2 i4 i8 u1 u2 u4 u8 f2 f4 f8 c8 c16 "
            "b1 and their numpy names (int8 ... float64, complex64, complex128, bool), and the "
            "fixed-length strings S<n> (n bytes) and U<n> (n unicode characters), n >= 1; a "
            "malformed string code (S0, U, S016) is reported in a field and as a plain buffer's "
            "type. Types do not nest: a field holds a dtype code, optionally with a sub-array "
            "shape.",
            "type Pulse = {height: f9, time: f8}\n",
            "type Pulse = {height: f8, time: f8}\n",
        ),
        CodeInfo(
            "E108",
            "error",
            "callable cannot be resolved",
            "flowc imports each worker's code when it checks the flow. The module, file or "
            "function was not found, or importing it raised; the message carries the reason. "
            "Files are relative to the .flow file; bare names must be given to "
            "`compile_source(functions=...)`.",
            "buffer raw : f4[16] slots=4\nimporter sim = stdlib.sources.pulse(n=4) -> raw\n",
            _RAW,
        ),
        CodeInfo(
            "E201",
            "error",
            "dtype or shape mismatch between a copying worker's input and outputs",
            "Filters and exporters pass events on unchanged, so each of their outputs must "
            "have exactly the element type and length of their input. To change the type or "
            "length of events, use a processor.",
            _PULSES + "type Height = {height: f8}\nbuffer kept : Height slots=8\n"
            'filter cut = stdlib.filters.select(field="height", min=0.3) pulses -> kept\n'
            "exporter save = stdlib.sinks.null() kept\n",
            _PULSES + "buffer kept : Pulse slots=8\n"
            'filter cut = stdlib.filters.select(field="height", min=0.3) pulses -> kept\n'
            "exporter save = stdlib.sinks.null() kept\n",
        ),
        CodeInfo(
            "E202",
            "error",
            "a worker's declared signature does not match its buffers",
            "The worker's code declares with `@flowc.signature` which fields it needs from "
            "its inputs, what it produces for its outputs, or which kind of worker it is. A "
            "buffer wired to it does not have what it needs, its output buffer's type differs "
            "from what it produces, or the worker is declared as another kind.",
            _RAW + "buffer copy : f4[16] slots=4\n"
            "processor save = stdlib.sinks.null() raw -> copy\n"
            "exporter drain = stdlib.sinks.null() copy\n",
            _RAW + "buffer copy : f4[16] slots=4\n"
            "exporter save = stdlib.sinks.null() raw -> copy\n"
            "exporter drain = stdlib.sinks.null() copy\n",
        ),
        CodeInfo(
            "E203",
            "error",
            "a worker argument names a missing field, or one of the wrong kind",
            "Some arguments name a field of the input (declared with `field_args` in the "
            "code's signature, like `field=` of `stdlib.filters.select`). The field must exist "
            "in every input buffer's type, and have the dtype the signature asks for.",
            _PULSES + "buffer kept : Pulse slots=8\n"
            'filter cut = stdlib.filters.select(field="hieght", min=0.3) pulses -> kept\n'
            "exporter save = stdlib.sinks.null() kept\n",
            _PULSES + "buffer kept : Pulse slots=8\n"
            'filter cut = stdlib.filters.select(field="height", min=0.3) pulses -> kept\n'
            "exporter save = stdlib.sinks.null() kept\n",
        ),
        CodeInfo(
            "E204",
            "error",
            "a worker argument is missing, unknown or of the wrong type",
            "Arguments are passed to the code as keyword arguments, so each must be a "
            "parameter it accepts (unless it takes `**kwargs`), every parameter without a "
            "default must be given, and a value must fit the parameter's annotation (`int | "
            "str`, `Optional[float]`, `list[...]`, `Mapping[...]`), or its default's type when "
            "it has no annotation (a string where a number is expected is an error). `meta`, "
            "`source` and `example` are filled in by flowc and cannot be given. A `--params` "
            "file's table that names no worker, or an argument in it the code does not take, "
            "is reported at its place in the TOML file.",
            "buffer raw : f4[16] slots=4\nimporter sim = stdlib.sources.pulses(n=4, rte=10) -> raw\n",
            "buffer raw : f4[16] slots=4\nimporter sim = stdlib.sources.pulses(n=4, rate=10) -> raw\n",
        ),
        CodeInfo(
            "E205",
            "error",
            "a worker's `batch=` does not match the batch mode its code declares",
            "Code declared with `@flowc.signature(batch=True)` takes batches of events, arrays "
            "of shape (k, LENGTH), so its worker needs `batch=N`; code declared with "
            "`batch=False` takes one event per call, so its worker must not have `batch=`. "
            "Code that declares neither takes what it is given.",
            _PAIR + 'processor build = stdlib.processors.event_builder(inputs=["a", "b"]) '
            "a, b -> both batch=8\nexporter save = stdlib.sinks.null() both\n",
            _PAIR + 'processor build = stdlib.processors.event_builder(inputs=["a", "b"]) '
            "a, b -> both\nexporter save = stdlib.sinks.null() both\n",
        ),
        CodeInfo(
            "E301",
            "error",
            "wrong number of inputs, outputs or observed buffers for the worker's kind",
            "An importer has no inputs and one output; a processor at least one of each; a "
            "filter one input and at least one output; an exporter one input and any number "
            "of outputs (unchanged copies); an observer observes at least one buffer and has "
            "no inputs or outputs.",
            _RAW + "exporter save = stdlib.sinks.null()\n",
            _RAW + "exporter save = stdlib.sinks.null() raw\n",
        ),
        CodeInfo(
            "E302",
            "error",
            "a buffer is read but nothing writes it",
            "A worker reads or observes a buffer that no worker writes, so it would wait "
            "forever. Add an importer or processor that writes the buffer, or read another.",
            "buffer raw : f4[16] slots=4\nexporter save = stdlib.sinks.null() raw\n",
            _RAW + "exporter save = stdlib.sinks.null() raw\n",
        ),
        CodeInfo(
            "E303",
            "error",
            "the graph has a cycle",
            "Events would flow from a worker back to a buffer upstream of it. With bounded "
            "buffers and back-pressure such a loop deadlocks, and the end of the stream never "
            "arrives. The message names the workers and buffers on the cycle.",
            "buffer a : f4[16] slots=4\nbuffer b : f4[16] slots=4\n"
            "importer sim = stdlib.sources.pulses(n=4) -> a\n"
            "exporter save = stdlib.sinks.null() a -> b\n"
            "exporter again = stdlib.sinks.null() b -> a\n",
            "buffer a : f4[16] slots=4\nbuffer b : f4[16] slots=4\n"
            "importer sim = stdlib.sources.pulses(n=4) -> a\n"
            "exporter save = stdlib.sinks.null() a -> b\n"
            "exporter again = stdlib.sinks.null() b\n",
        ),
        CodeInfo(
            "E304",
            "error",
            "not enough shared memory for the buffers",
            "All buffers live in shared memory at once: each takes slots x (LENGTH x element "
            "size + 24 bytes of metadata). Their total exceeds what /dev/shm has free or, when "
            "smaller, what the memory limit of the process's cgroup leaves (a container's "
            "limit: shared memory counts against it, and a run past it is killed while "
            "allocating), or the limit given with --max-shm. The diagnostic points at the "
            "largest buffer.",
            "buffer raw : f8[100000000] slots=1000\n",
            "buffer raw : f8[100000] slots=64\n",
        ),
        CodeInfo(
            "W301",
            "warning",
            "a buffer is written but never consumed",
            "No worker reads the buffer (it is only observed, or nothing touches it at all "
            "after being written). A buffer nobody consumes never blocks its writers: its "
            "events are discarded once its slots are full, and counted as dropped.",
            _RAW,
            _RAW + "exporter save = stdlib.sinks.null() raw\n",
        ),
        CodeInfo(
            "W302",
            "warning",
            "a declared buffer is never used",
            "No worker reads, writes or observes the buffer. It still takes shared memory; "
            "remove it or wire it to a worker.",
            "buffer spare : f4[16] slots=4\n",
            "",
        ),
        CodeInfo(
            "W303",
            "warning",
            "a buffer has fewer slots than the processes reading it",
            "The N processes of a worker share its input events, each holding one slot while "
            "it works. With fewer slots than processes some processes can never get an event. "
            "Give the buffer at least as many slots as the largest `processes=` of its readers.",
            "buffer raw : f4[16] slots=2\nimporter sim = stdlib.sources.pulses(n=4) -> raw\n"
            "exporter save = stdlib.sinks.null() raw processes=4\n",
            "buffer raw : f4[16] slots=8\nimporter sim = stdlib.sources.pulses(n=4) -> raw\n"
            "exporter save = stdlib.sinks.null() raw processes=4\n",
        ),
    )
}


# the diagnostics of `flowc import mimocorb2` (docs/diagnostics.md is generated from this table)
IMPORT_CODES: dict[str, CodeInfo] = {
    c.code: c
    for c in (
        CodeInfo(
            "M001",
            "error",
            "the setup is not a mimoCoRB2 setup",
            "The file is not valid YAML, or its top level is not a mapping with `Buffers` and "
            "`Workers`. Nothing is converted.",
        ),
        CodeInfo(
            "M002",
            "warning",
            "a key is not part of mimoCoRB2's setup format",
            "mimoCoRB2 ignores keys it does not know (often a misspelling, such as `sink:` for "
            "`sinks:`); the converter ignores them too and says so. Top-level keys that only "
            "hold YAML anchors are not reported.",
        ),
        CodeInfo(
            "M003",
            "warning",
            "a name was changed to be a flow name",
            "Buffer and worker names become flow names, which must be identifiers and not "
            "keywords (`filter`, `type`...), and share one namespace. A name that is not one is "
            "written with a suffix or with its other characters replaced by `_`.",
        ),
        CodeInfo(
            "M004",
            "error",
            "the target directory is not a path",
            "`target_directory` must be a path (absolute, relative to the setup's folder, or "
            "starting with `~`). The converter uses `target` beside the setup instead.",
        ),
        CodeInfo(
            "M101",
            "error",
            "a buffer is incomplete or malformed",
            "A buffer needs `slot_count` and `data_length` (positive integers) and `data_dtype` "
            "(a mapping of field names to numpy dtypes). The buffer is left out.",
        ),
        CodeInfo(
            "M102",
            "error",
            "a field's dtype has no flow equivalent",
            "flow fields are numbers, bools and fixed-length strings (`S10` bytes, `U5` "
            "characters) in native byte order, optionally with a sub-array shape. Objects, "
            "datetimes, nested structs and other byte orders cannot be expressed; the field is "
            "left out.",
        ),
        CodeInfo(
            "M201",
            "error",
            "a worker's code cannot be found",
            "The worker's `function` is missing, its `file` does not exist (it is relative to "
            "the setup's folder), or the file has no top-level function of that name.",
        ),
        CodeInfo(
            "M202",
            "warning",
            "a worker's kind was inferred from its buffers",
            "The kind (importer, processor, filter, exporter, observer) is read from the "
            "mimoCoRB2 template the worker's function uses (`Importer(buffer_io)`...). When it "
            "uses none, the kind follows from its sources, sinks and observes; check it.",
        ),
        CodeInfo(
            "M203",
            "error",
            "a library worker has no flowc equivalent",
            "The worker names a function (no `file`) that is not one of mimoCoRB2 0.0.4's "
            "library workers, or one flowc cannot replace: the hardware importers "
            "(importers.picoscope.source, importers.redpitaya.waveform) need their device's "
            "driver, and visualizers.histogram without `bins` in its config only shows files "
            "in a window (a warning: it can simply go). It is written as a comment; a worker on the data path needs a "
            "replacement (mimoCoRB2's function file named with `file:` runs unchanged; "
            "`flowc stdlib` lists the standard workers).",
        ),
        CodeInfo(
            "M204",
            "warning",
            "a library worker was replaced by one that behaves differently",
            "The flowc standard worker that replaces a mimoCoRB2 library worker does the same "
            "job in another way; the message says how (a picture file instead of a window, "
            "seconds instead of a ratio in a deadtime column, another timing), or has no use "
            "for one of its config keys.",
        ),
        CodeInfo(
            "M205",
            "error",
            "a library worker's config or buffers do not fit it",
            "mimoCoRB2 would refuse the library worker at start: a required config key is "
            "missing or malformed (exporters.histogram's `bins`, data.clocked_importer's "
            "`filename` and `rate`), a field it needs is not in its buffer, or it has the wrong "
            "number of sources or sinks. When a config file of the worker could not be read "
            "(M303), the message says so. The worker is written as a comment.",
        ),
        CodeInfo(
            "M301",
            "error",
            "a config value cannot be expressed in flow",
            "Worker arguments are numbers, strings, bools, and lists and mappings of them. A "
            "null or a float that is not finite cannot be written; the key is left out. Give "
            "the worker a default for it, or a value flow can express.",
        ),
        CodeInfo(
            "M302",
            "error",
            "a config key cannot be a flow argument",
            "Config keys become argument names, which must be identifiers that do not start "
            "with `mimo_` (the compatibility layer's own arguments). Rename the key.",
        ),
        CodeInfo(
            "M303",
            "error",
            "a config file cannot be read",
            "A `config` or `base_config` path (relative to the setup's folder) does not exist, "
            "is not valid YAML, or does not hold a mapping.",
        ),
        CodeInfo(
            "M401",
            "error",
            "a worker option is invalid",
            "`number_of_processes` must be a positive integer, and `sources`, `sinks` and "
            "`observes` lists of buffer names.",
        ),
    )
}

# every code flowc reports: the checker's and the import's
EVERY_CODE: dict[str, CodeInfo] = {**CODES, **IMPORT_CODES}


def explain(code: str) -> str:
    """What a code means and how to fix it, as text for a terminal; KeyError if unknown."""
    info = EVERY_CODE[code.upper()]
    if not info.example:
        return (
            f"{info.code} ({info.severity}): {info.title}\n\n"
            f"{textwrap.fill(info.explanation, 88)}\n"
        )
    fix = info.fix if info.fix else "(remove it)\n"
    return (
        f"{info.code} ({info.severity}): {info.title}\n\n"
        f"{textwrap.fill(info.explanation, 88)}\n\n"
        f"Example:\n\n{_indent(info.example)}\n"
        f"Fix:\n\n{_indent(fix)}"
    )


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.splitlines())
