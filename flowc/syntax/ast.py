"""The syntax tree of a `.flow` file: frozen dataclasses, each carrying its span.

The tree is purely structural: it says what was written, not whether it makes sense (that is
`flowc.sema`'s job). Spans, raw spellings and comments' positions do not take part in equality,
so `parse(print(tree)) == tree` holds for any tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flowc.source import Span
from flowc.types import KEYWORDS  # noqa: F401  (re-exported for the parser and printer)

WORKER_KINDS = ("importer", "processor", "filter", "exporter", "observer")


@dataclass(frozen=True)
class Node:
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


# --- values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Number(Node):
    value: int | float
    raw: str | None = field(default=None, compare=False, kw_only=True)  # as written, for fmt


@dataclass(frozen=True)
class String(Node):
    value: str


@dataclass(frozen=True)
class Bool(Node):
    value: bool


@dataclass(frozen=True)
class ListValue(Node):
    items: tuple[Value, ...]


@dataclass(frozen=True)
class Entry(Node):
    """`key: value` inside a mapping; the key was written as a name or a quoted string."""

    key: str
    value: Value
    key_span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class MappingValue(Node):
    """`{key: value, "other key": value}`, entries in the order written (repeats included:
    a key given twice is a sema error, not a syntax error)."""

    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class NameRef(Node):
    """A name standing where a literal may: a reference to a `const`."""

    name: str


Value = Number | String | Bool | ListValue | MappingValue | NameRef


# --- types -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldDecl(Node):
    """`name: code[shape]` inside `{...}`; the span covers the whole field."""

    name: str
    code: str
    shape: tuple[Value, ...] = ()
    name_span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)
    code_span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class StructType(Node):
    fields: tuple[FieldDecl, ...]


@dataclass(frozen=True)
class TypeName(Node):
    """A name in type position: a declared `type` or a dtype code (`f4`, `float32`)."""

    name: str


TypeExpr = StructType | TypeName


# --- statements ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option(Node):
    """`key=value` after a buffer or worker; the span covers `key=value`."""

    key: str
    value: Value
    key_span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Arg(Node):
    """`key=value` inside a worker's parentheses."""

    key: str
    value: Value
    key_span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class CallableRef(Node):
    """How a worker names its code.

    form is one of
      "colon"  -- `pkg.mod:fn`        target="pkg.mod", function="fn" (function may be dotted)
      "dotted" -- `pkg.mod.fn`        target="pkg.mod", function="fn" (also `stdlib.sources.pulses`)
      "file"   -- `"peaks.py":fn`     target="peaks.py" (as written), function="fn"
      "bare"   -- `fn`                target=None, function="fn" (from compile_source(functions=))
    """

    form: str
    target: str | None
    function: str


@dataclass(frozen=True)
class BufferRef(Node):
    name: str


@dataclass(frozen=True)
class PipelineDecl(Node):
    name: str
    name_span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class ConstDecl(Node):
    name: str
    value: Value
    name_span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class TypeDecl(Node):
    name: str
    struct: StructType
    name_span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class BufferDecl(Node):
    """`buffer NAME : TYPE[LENGTH] options...`; length is None when no `[n]` was written."""

    name: str
    type: TypeExpr
    length: Value | None
    options: tuple[Option, ...] = ()
    name_span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Worker(Node):
    """`KIND NAME = CALLABLE(ARGS) INPUTS -> OUTPUTS observes BUFFERS OPTIONS`."""

    kind: str
    name: str
    callable: CallableRef
    args: tuple[Arg, ...] = ()
    inputs: tuple[BufferRef, ...] = ()
    outputs: tuple[BufferRef, ...] = ()
    observes: tuple[BufferRef, ...] = ()
    options: tuple[Option, ...] = ()
    name_span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


Statement = PipelineDecl | ConstDecl | TypeDecl | BufferDecl | Worker


@dataclass(frozen=True)
class Comment(Node):
    """`# text` (text includes the `#`); kept so that `flowc fmt` preserves it."""

    text: str


@dataclass(frozen=True)
class Module(Node):
    statements: tuple[Statement, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False)
