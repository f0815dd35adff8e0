"""Worker code: resolving a callable reference, its declared signature, its calling shape.

Shared by the checker (which imports the code at check time to verify arguments and fields)
and the runtime (which imports it again inside each worker process).
"""

from __future__ import annotations

import ast as pyast
import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import numbers
import os
import sys
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from flowc.errors import FlowcError

STDLIB_PREFIX = "stdlib."
STDLIB_PACKAGE = "flowc.stdlib"
_FILE_MODULE_PREFIX = "_flowc_file_"  # modules imported from a .py file by path


@dataclass(frozen=True)
class CallableTarget:
    """Where a worker's code lives, by reference.

    kind "module":   `target` is an importable module, `attr` a (dotted) name inside it
    kind "file":     `target` is an absolute path of a .py file, `attr` a name inside it
    kind "function": `attr` is a key of the `functions=` mapping given to the compiler
    """

    kind: str
    target: str
    attr: str

    def describe(self) -> str:
        if self.kind == "module":
            if self.target.startswith(STDLIB_PACKAGE + "."):
                return f"stdlib.{self.target[len(STDLIB_PACKAGE) + 1 :]}.{self.attr}"
            return f"{self.target}:{self.attr}"
        if self.kind == "file":
            return f'"{self.target}":{self.attr}'
        return self.attr

    def to_json(self) -> dict:
        return {"kind": self.kind, "target": self.target, "attr": self.attr}

    @staticmethod
    def from_json(data: Mapping) -> CallableTarget:
        return CallableTarget(data["kind"], data["target"], data["attr"])


class ResolveError(FlowcError):
    """The code behind a callable reference could not be found or imported."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)

    def __reduce__(self):
        return (ResolveError, (self.message,))


def resolve(target: CallableTarget, functions: Mapping[str, object] | None = None) -> object:
    """The function or class a target names; raises ResolveError saying why not."""
    if target.kind == "function":
        if not functions or target.attr not in functions:
            raise ResolveError(f"`{target.attr}` is not among the functions given to the compiler")
        return functions[target.attr]
    if target.kind == "module":
        module = _import_module(target.target)
    elif target.kind == "file":
        module = _import_file(target.target)
    else:
        raise ResolveError(f"unknown callable kind {target.kind!r}")
    obj = module
    for part in target.attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            where = target.target if target.kind == "module" else os.path.basename(target.target)
            raise ResolveError(f"`{where}` has no attribute `{target.attr}`") from None
    if not callable(obj):
        raise ResolveError(f"`{target.describe()}` is not a function or class")
    return obj


# --- callables given through functions=, recorded by reference in a plan's JSON -------------


def reference_of(obj: object) -> dict:
    """How a plan's JSON records a callable given through `functions=`: `{"module",
    "qualname"}` when importing the module and following the name finds it again, else
    `{"reason"}`, saying why not (a lambda, a local function, an object without a name)."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        return {"reason": f"a {type(obj).__name__} object has no importable name"}
    if "<lambda>" in qualname:
        return {"reason": "it is a lambda"}
    if "<locals>" in qualname:
        outer = qualname.split(".<locals>", 1)[0]
        return {"reason": f"it is defined inside the function `{outer}`"}
    if module.startswith(_FILE_MODULE_PREFIX):
        return {"reason": "its module was loaded from a file by path, not imported by name"}
    found = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if found is not obj:
        return {"reason": f"`{module}.{qualname}` does not name it"}
    return {"module": module, "qualname": qualname}


def function_from_reference(worker: str, data: Mapping) -> object:
    """The callable a plan's JSON recorded for `worker` (`data` is its callable); raises
    ResolveError naming the worker and saying why it cannot be had without `functions=`."""
    name = data["attr"]
    again = f"pass it again: Plan.from_json(text, functions={{{name!r}: ...}})"
    reference = data.get("reference")
    if reference is None:
        raise ResolveError(
            f"worker `{worker}` calls `{name}`, given to the compiler through functions=, and "
            f"the plan does not record where it comes from; {again}"
        )
    if "reason" in reference:
        raise ResolveError(
            f"worker `{worker}` calls `{name}`, given to the compiler through functions=, which "
            f"cannot be recorded by reference: {reference['reason']}; {again}, or make it a "
            "module-level function"
        )
    module, qualname = reference["module"], reference["qualname"]
    try:
        return resolve(CallableTarget("module", module, qualname))
    except ResolveError as exc:
        raise ResolveError(
            f"worker `{worker}` calls `{name}`, recorded as `{module}:{qualname}`, which cannot "
            f"be imported here: {exc.message}; {again}"
        ) from None


def _import_module(name: str):
    try:
        with _no_exit_while_importing():
            return importlib.import_module(name)
    except KeyboardInterrupt:  # Ctrl-C while the module imports: the user's, not the module's
        raise
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
            raise ResolveError(f"no module named `{exc.name}`") from None
        raise ResolveError(f"importing `{name}` raised {_one_line(exc)}") from None
    except BaseException as exc:  # the user's module may raise anything, even SystemExit
        raise ResolveError(f"importing `{name}` raised {_one_line(exc)}") from None


def _import_file(path: str):
    """Import a .py file under a stable private module name (so classes in it pickle)."""
    path = os.path.abspath(path)
    digest = hashlib.sha1(path.encode()).hexdigest()[:12]
    stem = "".join(c if c.isalnum() else "_" for c in os.path.splitext(os.path.basename(path))[0])
    name = f"{_FILE_MODULE_PREFIX}{stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    if os.path.isdir(path):
        raise ResolveError(f"`{path}` is a directory, not a Python file")
    if not os.path.isfile(path):
        raise ResolveError(f"file `{path}` not found")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ResolveError(f"`{path}` cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    folder = os.path.dirname(path)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        with _no_exit_while_importing():
            spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[name]
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise ResolveError(
            f"importing `{os.path.basename(path)}` raised {_one_line(exc)}"
        ) from None
    finally:
        if added and folder in sys.path:
            sys.path.remove(folder)
    return module


class _ExitAtImport(BaseException):
    """The user's module called os._exit() while it was being imported."""

    def __init__(self, code):
        super().__init__(
            f"os._exit({code}): a worker's module must not end the process when imported"
        )


@contextlib.contextmanager
def _no_exit_while_importing():
    """While a user's module is imported, `os._exit` raises instead of ending the process: a
    module that calls it would make `flowc check` (and a worker) exit at once, silently, with
    its code. (A child the module forks meanwhile still exits for real.)"""
    real, importer = os._exit, os.getpid()

    def refuse(code):
        if os.getpid() != importer:
            real(code)
        raise _ExitAtImport(code)

    os._exit = refuse
    try:
        yield
    finally:
        os._exit = real


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, _ExitAtImport):
        return str(exc)
    text = str(exc).strip().splitlines()
    detail = f": {text[0]}" if text else ""
    return f"{type(exc).__name__}{detail}"


# ---------------------------------------------------------------------------------------------
# declared signatures


@dataclass(frozen=True)
class WorkerSignature:
    """What a worker declares about the buffers it is wired to (see `signature`)."""

    needs: Mapping[str, str | None] = field(default_factory=dict)
    produces: str | Sequence[str] | None = None
    field_args: tuple[str, ...] = ()
    kind: str | None = None
    batch: bool | None = None  # True: takes batches only; False: one event per call only


def signature(
    *,
    needs: Mapping[str, str | None] | None = None,
    produces: str | Sequence[str] | None = None,
    field_args: Sequence[str] = (),
    kind: str | None = None,
    batch: bool | None = None,
) -> Callable:
    """Declare what a worker needs from its inputs and what it produces, for the checker.

    needs:      fields (with a dtype code, or None for any numeric kind) every input must have
    produces:   the output type in flow syntax (`"{height: f8}"`), or a list, one per output
    field_args: names of arguments whose value must be a field of the input
    kind:       the worker kind the code is written for (`"filter"`...), when it is only one
    batch:      True when the code takes batches (`batch=N` must be given), False when it takes
                one event per call (`batch=` must not be given); None (the default) for both
    """

    declared = WorkerSignature(dict(needs or {}), produces, tuple(field_args), kind, batch)

    def attach(obj):
        obj.__flowc_signature__ = declared
        return obj

    return attach


def signature_of(obj) -> WorkerSignature | None:
    return getattr(obj, "__flowc_signature__", None)


# ---------------------------------------------------------------------------------------------
# calling shape

# parameters flowc fills itself instead of taking them from the .flow file:
#   meta    -- the event's metadata record (workers that receive events)
#   source  -- the name of the buffer the event came from (workers that receive events)
#   example -- a zeroed array of the output slot's dtype and shape (LENGTH,) (importers), so a
#              generic source can fill whatever fields and length its buffer declares
#   batch   -- the N of the importer's `batch=N`, or None without it (importers), so a source
#              knows whether to yield events or batches of up to N of them
_RESERVED_FOR_IMPORTERS = ("example", "batch")
_RESERVED_FOR_RECEIVERS = ("meta", "source")


def reserved_parameters(kind: str) -> tuple[str, ...]:
    """The parameter names flowc fills itself for a worker of `kind`."""
    return _RESERVED_FOR_IMPORTERS if kind == "importer" else _RESERVED_FOR_RECEIVERS


@dataclass(frozen=True)
class CallShape:
    """How flowc calls a worker's code.

    `parameters` are the keyword arguments the code accepts from the `.flow` file (the data
    parameter and the `reserved_parameters` of its kind excluded), with `required` those
    without a default.
    """

    is_class: bool
    is_generator: bool
    parameters: tuple[str, ...]
    required: tuple[str, ...]
    accepts_any: bool  # has **kwargs
    wants_meta: bool
    wants_source: bool
    wants_example: bool
    wants_batch: bool = False

    def adapt(self, fn, args: dict):
        """A callable (data, meta, source) -> result calling the step `fn` (the function, or a
        class's `process`) as its signature asks, with the `.flow` file's `args`."""
        meta, source = self.wants_meta, self.wants_source
        if meta and source:
            return lambda data, m, s: fn(data, meta=m, source=s, **args)
        if meta:
            return lambda data, m, s: fn(data, meta=m, **args)
        if source:
            return lambda data, m, s: fn(data, source=s, **args)
        if args:
            return lambda data, m, s: fn(data, **args)
        return lambda data, m, s: fn(data)

    def plain(self, fn, args: dict):
        """`fn` itself when it takes nothing but the data (one call less per event), else
        None."""
        if args or self.wants_meta or self.wants_source:
            return None
        return fn


def call_shape(obj, kind: str) -> CallShape:
    """Inspect a worker's function or class as a worker of `kind` calls it."""
    is_class = inspect.isclass(obj)
    if is_class:
        init_params = _parameters(obj.__init__, skip=1)
        step = getattr(obj, "__iter__" if kind == "importer" else "process", None)
        step_params = _parameters(step, skip=1) if step is not None else []
        is_generator = inspect.isgeneratorfunction(step) if step is not None else False
    else:
        skip = 0 if kind == "importer" else 1
        init_params = _parameters(obj, skip=skip)
        step_params = init_params
        is_generator = inspect.isgeneratorfunction(obj) or inspect.isgeneratorfunction(
            type(obj).__call__
        )
    step_names = {p.name for p in step_params}
    init_names = {p.name for p in init_params}
    reserved = reserved_parameters(kind)
    args = [
        p
        for p in init_params
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in reserved
    ]
    return CallShape(
        is_class=is_class,
        is_generator=is_generator,
        parameters=tuple(p.name for p in args),
        required=tuple(p.name for p in args if p.default is p.empty),
        accepts_any=any(p.kind == p.VAR_KEYWORD for p in init_params),
        wants_meta=kind != "importer" and "meta" in step_names,
        wants_source=kind != "importer" and "source" in step_names,
        wants_example=kind == "importer" and "example" in init_names,
        wants_batch=kind == "importer" and "batch" in init_names,
    )


def _parameters(fn, *, skip: int) -> list[inspect.Parameter]:
    """Parameters of `fn` after the first `skip` positional ones (self, data)."""
    if fn is None or fn is object.__init__:
        return []
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return []
    out = []
    for p in params:
        if skip and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            skip -= 1
            continue
        if p.kind == p.VAR_POSITIONAL:
            continue
        out.append(p)
    return out


# ---------------------------------------------------------------------------------------------
# argument types

# the kinds of value a flow file passes (its literals as Python values), in words
KIND_WORDS = {
    "bool": "a bool",
    "int": "an int",
    "float": "a float",
    "str": "a string",
    "list": "a list",
    "mapping": "a mapping",
}
_ANY = None  # an annotation flowc cannot judge: every value is accepted
_NONE = frozenset()  # `None` in a union: flow has no null, so it adds no kind
# names of builtins, typing, collections.abc and numbers -> the kinds of flow value they take
_KINDS_OF_NAME: dict[str, frozenset[str]] = {
    "bool": frozenset({"bool"}),
    "int": frozenset({"int"}),
    "Integral": frozenset({"int"}),
    "float": frozenset({"float"}),
    "Real": frozenset({"float"}),
    "Number": frozenset({"float"}),
    "str": frozenset({"str"}),
    "list": frozenset({"list"}),
    "tuple": frozenset({"list"}),
    "List": frozenset({"list"}),
    "Tuple": frozenset({"list"}),
    "MutableSequence": frozenset({"list"}),
    "Sequence": frozenset({"list", "str"}),
    "dict": frozenset({"mapping"}),
    "Dict": frozenset({"mapping"}),
    "Mapping": frozenset({"mapping"}),
    "MutableMapping": frozenset({"mapping"}),
    "Collection": frozenset({"list", "str", "mapping"}),
    "Iterable": frozenset({"list", "str", "mapping"}),
}


@dataclass(frozen=True)
class ArgumentType:
    """The kinds of flow value a parameter takes (`bool int float str list mapping`), read
    from its annotation, or from its default's type when it has no annotation."""

    kinds: frozenset[str]
    annotated: bool

    def accepts(self, value: object) -> bool:
        kind = value_kind(value)
        return kind is None or kind in self.kinds or (kind == "int" and "float" in self.kinds)

    def describe(self) -> str:
        words = [word for kind, word in KIND_WORDS.items() if kind in self.kinds]
        return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def value_kind(value: object) -> str | None:
    """The kind of a flow value (`"int"`, `"mapping"`...), None for anything else."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, numbers.Integral):
        return "int"
    if isinstance(value, numbers.Real):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "mapping"
    return None


def argument_types(code: object) -> dict[str, ArgumentType]:
    """Parameter name -> the kinds of value it takes, for the parameters where that is known.

    An annotation decides (`int | str`, `Optional[float]`, `list[int]`, `Mapping[str, Any]`,
    also as a string under `from __future__ import annotations`); one flowc cannot judge
    (`Any`, `np.ndarray`, a class of the user's) takes anything. Without an annotation the
    default's type is used, and an int default (`scale=1`) also takes a float.
    """
    fn = code.__init__ if inspect.isclass(code) else code
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return {}
    found = {}
    for p in params:
        if p.annotation is not p.empty:
            kinds = _annotation_kinds(p.annotation)
            if kinds:
                found[p.name] = ArgumentType(kinds, annotated=True)
        elif p.default is not p.empty and p.default is not None:
            kind = value_kind(p.default)
            if kind is not None:
                lenient = {"int", "float"} if kind == "int" else {kind}
                found[p.name] = ArgumentType(frozenset(lenient), annotated=False)
    return found


def _annotation_kinds(annotation: object) -> frozenset[str] | None:
    """The kinds an annotation object (or its text) takes; None when flowc cannot judge it."""
    if isinstance(annotation, str):
        try:
            tree = pyast.parse(annotation.strip(), mode="eval").body
        except SyntaxError:
            return _ANY
        return _text_kinds(tree)
    if annotation is None or annotation is type(None):
        return _NONE
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return _union(_annotation_kinds(arg) for arg in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _annotation_kinds(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return _union(_NONE if a is None else _value_kinds(a) for a in typing.get_args(annotation))
    target = origin if origin is not None else annotation
    if isinstance(target, type) and target.__module__ in _KNOWN_MODULES:
        return _KINDS_OF_NAME.get(target.__name__, _ANY)
    return _ANY


_KNOWN_MODULES = ("builtins", "typing", "collections.abc", "numbers")


def _text_kinds(node: pyast.expr) -> frozenset[str] | None:
    """The kinds an annotation written as text takes, read without evaluating it."""
    if isinstance(node, pyast.Constant):
        if node.value is None:
            return _NONE
        if isinstance(node.value, str):  # a quoted forward reference
            return _annotation_kinds(node.value)
        return _ANY
    if isinstance(node, pyast.BinOp) and isinstance(node.op, pyast.BitOr):
        return _union((_text_kinds(node.left), _text_kinds(node.right)))
    if isinstance(node, pyast.Subscript):
        base = _dotted_last(node.value)
        args = node.slice.elts if isinstance(node.slice, pyast.Tuple) else [node.slice]
        if base == "Optional":
            return _union(_text_kinds(arg) for arg in args)
        if base == "Union":
            return _union(_text_kinds(arg) for arg in args)
        if base == "Annotated":
            return _text_kinds(args[0])
        if base == "Literal":
            return _union(
                _value_kinds(arg.value) if isinstance(arg, pyast.Constant) else _ANY for arg in args
            )
        return _KINDS_OF_NAME.get(base, _ANY)
    name = _dotted_last(node)
    if name in ("None", "NoneType"):
        return _NONE
    return _KINDS_OF_NAME.get(name, _ANY)


def _dotted_last(node: pyast.expr) -> str | None:
    """`Optional` of `typing.Optional`, `Mapping` of `Mapping`; None for other expressions."""
    if isinstance(node, pyast.Name):
        return node.id
    if isinstance(node, pyast.Attribute):
        return node.attr
    return None


def _value_kinds(value: object) -> frozenset[str] | None:
    kind = value_kind(value)
    return _ANY if kind is None else frozenset({kind})


def _union(parts) -> frozenset[str] | None:
    """The kinds of a union: None when any member cannot be judged."""
    kinds: set[str] = set()
    for part in parts:
        if part is _ANY:
            return _ANY
        kinds |= part
    return frozenset(kinds)
