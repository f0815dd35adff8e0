"""Name resolution: the syntax tree becomes a `Model`, with every naming and value error found.

Reports E101 (names declared twice), E102 (undeclared buffers), E103 (undeclared types),
E104 (undeclared consts and overrides), E105 (unknown options), E106 (bad values), E107
(bad fields) and E108 (unresolvable callables). Whatever cannot be resolved is None in the
model, so the checks that depend on it stay silent.
"""

from __future__ import annotations

import os
import pkgutil
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from flowc.callables import STDLIB_PACKAGE, CallableTarget, ResolveError, resolve
from flowc.diagnostics import Diagnostic, Note, error
from flowc.sema.model import (
    BufferInfo,
    ConstInfo,
    Model,
    ParamArgument,
    TypeInfo,
    Wire,
    WorkerInfo,
    build_graph,
    did_you_mean,
    name_span,
)
from flowc.sema.values import (
    Evaluator,
    Override,
    apply_override,
    is_int,
    plain_value,
    show,
    show_short,
    what_is,
)
from flowc.source import SourceFile
from flowc.syntax import ast
from flowc.types import (
    DTYPE_CODES,
    STRING_CODES_HELP,
    ElementType,
    FieldType,
    canonical_code,
    code_problem,
    field_code_problem,
)

if TYPE_CHECKING:
    from flowc.params import ParamEntry, ParamsFile

BUFFER_OPTIONS = ("slots", "overflow")
WORKER_OPTIONS = ("processes", "on_error", "node", "batch")
OVERFLOW_MODES = ("block", "drop")
ERROR_MODES = ("fail", "skip")
SINGLE_PROCESS_KINDS = ("importer", "observer")
_CANONICAL_CODES = tuple(code for code in DTYPE_CODES if canonical_code(code) == code)


def _codes_help(code: str) -> str:
    """The help line of an unknown dtype code: a close spelling, and what the codes are."""
    guess = did_you_mean(code, DTYPE_CODES)
    lead = f"did you mean `{guess}`? " if guess else ""
    codes = " ".join(_CANONICAL_CODES)
    return (
        f"{lead}the dtype codes are {codes}, numpy names like `float32`, and the strings "
        f"{STRING_CODES_HELP}"
    )


def resolve_module(
    source: SourceFile,
    module: ast.Module,
    *,
    overrides: Sequence[Override] = (),
    functions: Mapping[str, object] | None = None,
    base_dir: str | None = None,
    max_shm: int | None = None,
    params: ParamsFile | None = None,
) -> tuple[Model, list[Diagnostic]]:
    """The resolved model of a parsed module, and every resolution diagnostic.

    `params` (a `--params` file) sets consts under `overrides` (which win) and sets workers'
    arguments over those written in the flow."""
    resolver = _Resolver(source, functions or {}, base_dir)
    model = resolver.run(module, overrides, max_shm, params)
    return model, resolver.diagnostics


class _Resolver:
    def __init__(self, source: SourceFile, functions: Mapping[str, object], base_dir: str | None):
        self.source = source
        self.functions = functions
        self.base_dir = base_dir if base_dir is not None else os.getcwd()
        self.diagnostics: list[Diagnostic] = []
        self.declared: dict[str, ast.Node] = {}
        self.const_decls: dict[str, ast.ConstDecl] = {}  # the first const of each name
        self.evaluator = Evaluator(self.declared, self.diagnostics.append)
        self.types: dict[str, TypeInfo] = {}
        self.resolved_code: dict[CallableTarget, object] = {}
        self.elements: dict[ElementType, ElementType] = {}
        self.sized: set[ElementType] = set()  # types numpy accepted
        self.worker_params: dict[str, ParamEntry] = {}  # worker name -> its table in --params

    def report(self, diagnostic: Diagnostic) -> None:
        self.diagnostics.append(diagnostic)

    # --- the passes --------------------------------------------------------------------------

    def run(
        self,
        module: ast.Module,
        overrides: Sequence[Override],
        max_shm: int | None,
        params: ParamsFile | None = None,
    ) -> Model:
        pipeline = self.declare_names(module.statements)
        if params is not None:
            overrides = [*self.split_params(params), *overrides]
        pending = self.match_overrides(overrides)
        applied: dict[str, object] = {}
        consts = self.evaluator.consts
        type_decls, buffer_decls, worker_decls = [], [], []
        for stmt in module.statements:
            if isinstance(stmt, ast.ConstDecl):
                value = self.evaluator.evaluate(stmt.value)
                first = stmt.name not in consts
                override = pending.get(stmt.name) if first else None
                if override is not None and value is not None:
                    value = apply_override(value, override, self.report)
                    if value is not None:
                        applied[stmt.name] = value
                if first:
                    consts[stmt.name] = ConstInfo(stmt, value)
            elif isinstance(stmt, ast.TypeDecl):
                type_decls.append(stmt)
            elif isinstance(stmt, ast.BufferDecl):
                buffer_decls.append(stmt)
            elif isinstance(stmt, ast.Worker):
                worker_decls.append(stmt)
        for decl in type_decls:
            info = TypeInfo(decl, self.struct_type(decl.struct))
            self.types.setdefault(decl.name, info)
        buffers: dict[str, BufferInfo] = {}
        for decl in buffer_decls:
            info = self.buffer(decl)
            buffers.setdefault(decl.name, info)
        workers = [self.worker(decl, buffers) for decl in worker_decls]
        model = Model(
            source=self.source,
            module=module,
            pipeline=pipeline,
            consts=dict(consts),
            types=self.types,
            buffers=buffers,
            workers=workers,
            overrides=applied,
            functions=self.functions,
            max_shm=max_shm,
        )
        model.graph = build_graph(workers, buffers.values())
        return model

    def declare_names(self, statements: Sequence[ast.Statement]) -> str | None:
        """Fill the shared namespace (E101 for repeats); return the pipeline's name."""
        pipeline: ast.PipelineDecl | None = None
        for stmt in statements:
            if isinstance(stmt, ast.PipelineDecl):
                if pipeline is None:
                    pipeline = stmt
                else:
                    self.report(
                        error(
                            "E101",
                            f"the pipeline is named twice (`{pipeline.name}` and `{stmt.name}`)",
                            name_span(stmt),
                            notes=[Note("first named here", name_span(pipeline))],
                            help="keep one `pipeline` line",
                        )
                    )
                continue
            if isinstance(stmt, ast.ConstDecl):
                self.const_decls.setdefault(stmt.name, stmt)
            first = self.declared.get(stmt.name)
            if first is None:
                self.declared[stmt.name] = stmt
                continue
            self.report(
                error(
                    "E101",
                    f"`{stmt.name}` is declared twice",
                    name_span(stmt),
                    notes=[
                        Note(
                            f"`{stmt.name}` is first declared here, as {what_is(first)}",
                            name_span(first),
                        )
                    ],
                    help="buffers, workers, types and consts share one namespace: rename one of them",
                )
            )
        return pipeline.name if pipeline else None

    def split_params(self, params: ParamsFile) -> list[Override]:
        """The consts a parameters file sets; its workers' tables go to `worker_params`. A
        table naming no worker is E204, a worker's entry that is no table E106."""
        consts = []
        for entry in params.entries:
            decl = self.declared.get(entry.key)
            if isinstance(decl, ast.Worker):
                if isinstance(entry.value, dict):
                    self.worker_params[entry.key] = entry
                else:
                    self.report(
                        error(
                            "E106",
                            f"`{entry.key}` is a worker: the parameters file sets its arguments "
                            f"in a table, not with {show_short(entry.value)}",
                            entry.span,
                            notes=[Note(f"`{entry.key}` is declared here", name_span(decl))],
                            help=f"write `[{entry.key}]` and its arguments below it, one "
                            "`name = value` a line",
                        )
                    )
            elif isinstance(entry.value, dict) and entry.key not in self.const_decls:
                self.report(self.unknown_worker_table(entry, decl))
            else:
                consts.append(
                    Override(entry.key, entry.key_span, entry.value_span, value=entry.value)
                )
        return consts

    def unknown_worker_table(self, entry: ParamEntry, decl: ast.Node | None) -> Diagnostic:
        workers = [n for n, d in self.declared.items() if isinstance(d, ast.Worker)]
        notes = []
        if decl is not None:
            notes.append(Note(f"`{entry.key}` is {what_is(decl)} declared here", name_span(decl)))
        guess = did_you_mean(entry.key, workers)
        if guess:
            hint = f"did you mean `[{guess}]`?"
        elif workers:
            hint = "a table sets the arguments of a worker: " + ", ".join(f"`{n}`" for n in workers)
        else:
            hint = "the flow has no workers"
        return error(
            "E204",
            f"the parameters file sets arguments of `{entry.key}`, but the flow has no worker "
            "of that name",
            entry.key_span,
            notes=notes,
            help=hint + "; top-level `NAME = value` lines, before the first table, set consts",
        )

    def match_overrides(self, overrides: Sequence[Override]) -> dict[str, Override]:
        """Overrides by const name (the last one wins); E104 for names that are no const."""
        pending: dict[str, Override] = {}
        const_names = list(self.const_decls)
        for override in overrides:
            if override.name in self.const_decls:
                pending[override.name] = override
                continue
            decl = self.declared.get(override.name)
            notes = []
            if decl is not None:
                notes.append(
                    Note(f"`{override.name}` is {what_is(decl)}, not a const", name_span(decl))
                )
            guess = did_you_mean(override.name, const_names)
            if guess:
                hint = f"did you mean `{guess}`?"
            elif const_names:
                hint = "the consts are " + ", ".join(f"`{n}`" for n in const_names)
            else:
                hint = "the flow declares no consts"
            self.report(
                error(
                    "E104",
                    f"cannot set `{override.name}`: the flow declares no const of that name",
                    override.name_span,
                    notes=notes,
                    help=hint,
                )
            )
        return pending

    # --- types -------------------------------------------------------------------------------

    def struct_type(self, struct: ast.StructType) -> ElementType | None:
        """The element type of `{...}`, or None after reporting E107/E106."""
        fields: list[FieldType] = []
        seen: dict[str, ast.FieldDecl] = {}
        ok = True
        if not struct.fields:
            self.report(
                error(
                    "E107",
                    "a type needs at least one field",
                    struct.span,
                    help="write `{name: f8}`",
                )
            )
            return None
        for decl in struct.fields:
            field_name_span = decl.name_span or decl.span
            if decl.name in seen:
                ok = False
                self.report(
                    error(
                        "E107",
                        f"field `{decl.name}` is declared twice in this type",
                        field_name_span,
                        notes=[
                            Note(
                                f"`{decl.name}` is first declared here",
                                seen[decl.name].name_span or seen[decl.name].span,
                            )
                        ],
                        help="rename or remove one of them",
                    )
                )
                continue
            seen[decl.name] = decl
            if decl.name == "":
                ok = False
                self.report(error("E107", "a field name cannot be empty", field_name_span))
                continue
            code = canonical_code(decl.code)
            if code is None:
                ok = False
                self.report(self.unknown_code(decl))
                continue
            shape = []
            for dim in decl.shape:
                value = self.evaluator.evaluate(dim)
                if value is None:
                    ok = False
                elif not is_int(value) or value < 1:
                    ok = False
                    self.report(
                        error(
                            "E106",
                            f"a sub-array dimension must be a positive integer, not {show(value)}",
                            dim.span,
                            help=f"write `{decl.code}[16]` for 16 values per element",
                        )
                    )
                else:
                    shape.append(int(value))
            fields.append(FieldType(decl.name, code, tuple(shape)))
        if not ok:
            return None
        return self.checked_size(self.intern(ElementType.struct(fields)), struct.span)

    def intern(self, element: ElementType) -> ElementType:
        """One shared instance per distinct type, so its numpy dtype is built once."""
        return self.elements.setdefault(element, element)

    def checked_size(self, element: ElementType, span) -> ElementType | None:
        if element in self.sized:
            return element
        try:
            element.numpy  # noqa: B018  (numpy refuses dtypes that are too large)
        except (ValueError, TypeError, OverflowError, MemoryError) as exc:
            self.report(
                error(
                    "E106",
                    f"numpy cannot hold this type: {exc}",
                    span,
                    help="use smaller sub-array shapes",
                )
            )
            return None
        self.sized.add(element)
        return element

    def unknown_code(self, decl: ast.FieldDecl) -> Diagnostic:
        span = decl.code_span or decl.span
        is_type = decl.code in self.types or isinstance(self.declared.get(decl.code), ast.TypeDecl)
        message = field_code_problem(decl.name, decl.code, is_type)
        if is_type:
            help = "types do not nest: spell out the fields, or use a sub-array like `f4[16]`"
        elif code_problem(decl.code) is not None:
            help = f"fixed-length strings are {STRING_CODES_HELP}, n >= 1"
        else:
            help = _codes_help(decl.code)
        return error("E107", message, span, help=help)

    def element_of(self, type_expr: ast.TypeExpr) -> tuple[ElementType | None, str | None]:
        """A buffer's element type and the declared type name it was written with."""
        if isinstance(type_expr, ast.StructType):
            return self.struct_type(type_expr), None
        name = type_expr.name
        if name in self.types:
            return self.types[name].element, name
        declared = self.declared.get(name)
        code = canonical_code(name)
        if code is not None:
            return self.intern(ElementType.plain(code)), None
        problem = code_problem(name)
        if problem is not None and declared is None:
            self.report(
                error(
                    "E107",
                    f"bad string code `{name}` for a plain buffer: {problem}",
                    type_expr.span,
                    help=f"fixed-length strings are {STRING_CODES_HELP}, n >= 1",
                )
            )
            return None, None
        notes = []
        if declared is not None:
            notes.append(
                Note(f"`{name}` is {what_is(declared)} declared here", name_span(declared))
            )
        guess = did_you_mean(name, [*self.types, *DTYPE_CODES])
        self.report(
            error(
                "E103",
                f"undeclared type `{name}`",
                type_expr.span,
                notes=notes,
                help=f"did you mean `{guess}`?"
                if guess
                else f"declare it with `type {name} = {{...}}` or use a dtype code like `f4`",
            )
        )
        return None, None

    # --- buffers -----------------------------------------------------------------------------

    def buffer(self, decl: ast.BufferDecl) -> BufferInfo:
        element, type_name = self.element_of(decl.type)
        if element is not None and isinstance(decl.type, ast.TypeName) and type_name is None:
            element = self.checked_size(element, decl.type.span)
        length = 1 if decl.length is None else self.positive_int(decl.length, "the buffer length")
        options = self.options(decl.options, BUFFER_OPTIONS, "buffer")
        slots = None
        if "slots" in options:
            slots = self.positive_int(options["slots"].value, "`slots`")
        else:
            self.report(
                error(
                    "E106",
                    f"buffer `{decl.name}` has no `slots`",
                    name_span(decl),
                    help="add slots=N: how many events the buffer holds at once",
                )
            )
        overflow = "block"
        if "overflow" in options:
            overflow = self.choice(options["overflow"], OVERFLOW_MODES) or "block"
        return BufferInfo(decl, element, type_name, length, slots, overflow)

    def options(
        self, options: Sequence[ast.Option], known: Sequence[str], owner: str
    ) -> dict[str, ast.Option]:
        """Options by key; E105 for unknown and repeated ones."""
        found: dict[str, ast.Option] = {}
        for option in options:
            span = option.key_span or option.span
            if option.key in found:
                self.report(
                    error(
                        "E105",
                        f"option `{option.key}` is given twice",
                        span,
                        notes=[
                            Note(
                                "first given here",
                                found[option.key].key_span or found[option.key].span,
                            )
                        ],
                        help="keep one of them",
                    )
                )
                continue
            if option.key not in known:
                self.report(
                    error(
                        "E105",
                        f"unknown {owner} option `{option.key}`",
                        span,
                        help=self.option_help(option.key, known, owner),
                    )
                )
                continue
            found[option.key] = option
        return found

    @staticmethod
    def option_help(key: str, known: Sequence[str], owner: str) -> str:
        guess = did_you_mean(key, known)
        names = [f"`{k}=`" for k in known]
        listing = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        if guess:
            return f"did you mean `{guess}`? {owner} options are {listing}"
        other = WORKER_OPTIONS if owner == "buffer" else BUFFER_OPTIONS
        near = key if key in other else did_you_mean(key, other)
        if near:
            kind = "worker" if owner == "buffer" else "buffer"
            return f"`{near}` is a {kind} option; {owner} options are {listing}"
        if owner == "worker":
            return f"worker options are {listing}; arguments for the code go inside its parentheses"
        return f"buffer options are {listing}"

    def positive_int(self, value: ast.Value, what: str) -> int | None:
        result = self.evaluator.evaluate(value)
        if result is None:
            return None
        if not is_int(result) or result < 1:
            self.report(
                error(
                    "E106",
                    f"{what} must be a positive integer, not {show(result)}",
                    value.span,
                    help=f"{what} counts something: give 1 or more",
                )
            )
            return None
        return int(result)

    def choice(self, option: ast.Option, modes: Sequence[str]) -> str | None:
        """The value of an option that takes one of a few names (`block`, `"block"`, a const)."""
        value = option.value
        if isinstance(value, ast.NameRef) and (
            value.name in modes or value.name not in self.evaluator.consts
        ):
            text = value.name
        else:
            text = self.evaluator.evaluate(value)
            if text is None:
                return None
        if text in modes:
            return text
        guess = did_you_mean(text, modes) if isinstance(text, str) else None
        lead = f"did you mean `{guess}`? " if guess else ""
        written = text if isinstance(value, ast.NameRef) else show(text)
        self.report(
            error(
                "E106",
                f"`{option.key}` must be {' or '.join(modes)}, not {written}",
                value.span,
                help=f"{lead}write {' or '.join(f'{option.key}={m}' for m in modes)}",
            )
        )
        return None

    # --- workers -----------------------------------------------------------------------------

    def worker(self, decl: ast.Worker, buffers: Mapping[str, BufferInfo]) -> WorkerInfo:
        target, code = self.callable(decl.callable)
        args: dict[str, object | None] = {}
        for arg in decl.args:
            value = self.evaluator.evaluate(arg.value)
            if arg.key not in args:
                args[arg.key] = value
        param_args = []
        table = self.worker_params.pop(decl.name, None)  # for the first worker of the name
        for entry in table.entries if table is not None else ():
            args[entry.key] = self.param_value(entry)
            param_args.append(
                ParamArgument(entry.key, entry.span, entry.key_span, entry.value_span)
            )
        options = self.options(decl.options, WORKER_OPTIONS, "worker")
        processes = 1
        if "processes" in options:
            value = options["processes"].value
            processes = self.positive_int(value, "`processes`")
            if processes is not None and processes != 1 and decl.kind in SINGLE_PROCESS_KINDS:
                self.report(
                    error(
                        "E106",
                        f"{what_is(decl)} runs in one process, but `{decl.name}` asks for {processes}",
                        value.span,
                        help="remove `processes=`: "
                        + (
                            "an importer's events are numbered in one sequence"
                            if decl.kind == "importer"
                            else "an observer only samples events"
                        ),
                    )
                )
                processes = None
        on_error = "fail"
        if "on_error" in options:
            on_error = self.choice(options["on_error"], ERROR_MODES) or "fail"
        node = self.node_name(options["node"].value) if "node" in options else None
        batch = self.batch_size(decl, options["batch"].value) if "batch" in options else None
        return WorkerInfo(
            decl=decl,
            target=target,
            code=code,
            args=args,
            processes=processes,
            on_error=on_error,
            inputs=tuple(self.wire(ref, "read", buffers) for ref in decl.inputs),
            outputs=tuple(self.wire(ref, "write", buffers) for ref in decl.outputs),
            observes=tuple(self.wire(ref, "observe", buffers) for ref in decl.observes),
            node=node,
            batch=batch,
            param_args=tuple(param_args),
        )

    def param_value(self, entry: ParamEntry) -> object | None:
        """A worker argument's value from the parameters file, as flow data (E106 for TOML
        values flow has not: dates, times, infinities)."""
        value = plain_value(entry.value)
        if value is None:
            self.report(
                error(
                    "E106",
                    f"argument `{entry.key}` = {show_short(entry.value)} is no flow value",
                    entry.value_span,
                    help="flow values are finite numbers, strings, true/false, lists and "
                    "mappings; write a date or time as a string",
                )
            )
        return value

    def batch_size(self, decl: ast.Worker, value: ast.Value) -> int | None:
        """The N of `batch=N`: a positive integer, on any kind but an observer (E106)."""
        if decl.kind == "observer":
            self.report(
                error(
                    "E106",
                    f"an observer takes no batches, but `{decl.name}` asks for `batch=`",
                    value.span,
                    help="remove `batch=`: an observer looks at one event at a time",
                )
            )
            return None
        return self.positive_int(value, "`batch`")

    def node_name(self, value: ast.Value) -> str | None:
        """The machine `node=` names: a non-empty string without spaces (E106 otherwise)."""
        name = self.evaluator.evaluate(value)
        if name is None:
            return None
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            self.report(
                error(
                    "E106",
                    f"`node` must be the name or address of a machine, not {show(name)}",
                    value.span,
                    help='write the host name of a machine of the cluster, e.g. node="daq-pc"',
                )
            )
            return None
        return name

    def wire(self, ref: ast.BufferRef, role: str, buffers: Mapping[str, BufferInfo]) -> Wire:
        buffer = buffers.get(ref.name)
        if buffer is None:
            self.report(self.undeclared_buffer(ref, buffers))
        return Wire(ref, buffer, role)

    def undeclared_buffer(
        self, ref: ast.BufferRef, buffers: Mapping[str, BufferInfo]
    ) -> Diagnostic:
        declared = self.declared.get(ref.name)
        if declared is not None:
            return error(
                "E102",
                f"`{ref.name}` is not a buffer",
                ref.span,
                notes=[
                    Note(f"`{ref.name}` is {what_is(declared)} declared here", name_span(declared))
                ],
                help="workers read and write buffers: declare one with `buffer NAME : TYPE slots=N`",
            )
        guess = did_you_mean(ref.name, buffers)
        return error(
            "E102",
            f"undeclared buffer `{ref.name}`",
            ref.span,
            help=f"did you mean `{guess}`?"
            if guess
            else f"declare it with `buffer {ref.name} : TYPE slots=N`",
        )

    def callable(self, ref: ast.CallableRef) -> tuple[CallableTarget | None, object | None]:
        target = self.target_of(ref)
        if target in self.resolved_code:
            cached = self.resolved_code[target]
            if isinstance(cached, Diagnostic):
                self.report(error(cached.code, cached.message, ref.span, help=cached.help))
                return target, None
            return target, cached
        try:
            code = resolve(target, self.functions)
            if not callable(code):
                raise ResolveError(
                    f"`{target.attr}` given in functions= is not a function or class"
                )
        except ResolveError as exc:
            problem = error(
                "E108",
                f"cannot resolve `{ref.span.text if ref.span else target.describe()}`: {exc.message}",
                ref.span,
                help=self.resolve_help(target),
            )
            self.resolved_code[target] = problem
            self.report(problem)
            return target, None
        self.resolved_code[target] = code
        return target, code

    def target_of(self, ref: ast.CallableRef) -> CallableTarget:
        if ref.form == "bare":
            return CallableTarget("function", "", ref.function)
        if ref.form == "file":
            path = os.path.abspath(os.path.join(self.base_dir, ref.target))
            return CallableTarget("file", path, ref.function)
        module = ref.target or ""
        if module == "stdlib" or module.startswith("stdlib."):
            module = STDLIB_PACKAGE + module[len("stdlib") :]
        return CallableTarget("module", module, ref.function)

    def resolve_help(self, target: CallableTarget) -> str:
        if target.kind == "function":
            guess = did_you_mean(target.attr, self.functions)
            if guess:
                return f"did you mean `{guess}`?"
            return (
                f"pass it to the compiler, `compile_source(text, functions={{{target.attr!r}: ...}})`, "
                "or name it with its module, `package.module:function`"
            )
        if target.kind == "file":
            return "the path is relative to the .flow file's folder"
        module = sys.modules.get(target.target)
        if module is not None:
            public = [
                n
                for n in dir(module)
                if not n.startswith("_") and callable(getattr(module, n, None))
            ]
            guess = did_you_mean(target.attr, public)
            if guess:
                return f"did you mean `{guess}`?"
        stdlib_module = target.target.startswith(STDLIB_PACKAGE + ".")
        if module is not None and stdlib_module:
            # the module is there, the name is not: say what it has
            workers = ", ".join(
                f"`{n}`"
                for n in public
                if getattr(getattr(module, n), "__module__", None) == module.__name__
            )
            return f"it has {workers}; `flowc stdlib` lists the standard workers"
        if stdlib_module or target.target == STDLIB_PACKAGE:
            stdlib = sys.modules.get(STDLIB_PACKAGE)
            names = [m.name for m in pkgutil.iter_modules(getattr(stdlib, "__path__", []))]
            guess = did_you_mean(target.target.rsplit(".", 1)[-1], names)
            if guess:
                return f"did you mean `stdlib.{guess}`? `flowc stdlib` lists the standard workers"
            return "`flowc stdlib` lists the standard workers"
        return "the module must be importable from where flowc runs (check PYTHONPATH)"
