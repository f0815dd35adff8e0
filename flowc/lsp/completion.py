"""Completion from the text before the cursor, which need not parse.

Where a statement starts: the keywords. After `:` in a buffer: type names and dtype codes (and
dtype codes after a field's `:` inside `{...}`). At a worker's callable: the standard workers
(after `stdlib.`, their names without the prefix). Inside a callable's parentheses: the
arguments its signature takes that are not given yet, and for an argument the signature marks
as a field (`field_args`) the fields of the worker's input buffers. After `)` (inputs), `->`
and `observes`: buffer names; after a buffer list: the options of the statement.

Names come from a scan of the current text (so a buffer declared a moment ago is offered even
while the file has a syntax error); types' fields from the last model that resolved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from lsprotocol import types

from flowc.diagnostics import FlowError
from flowc.lsp import code
from flowc.lsp.code import Parameter, parameters_of
from flowc.lsp.lexer import (
    STATEMENT_KEYWORDS,
    WORKER_KINDS,
    Token,
    declared_names,
    statement_end,
    statement_start,
    tokens,
)
from flowc.sema.model import Model
from flowc.sema.resolve import (
    BUFFER_OPTIONS,
    ERROR_MODES,
    OVERFLOW_MODES,
    WORKER_OPTIONS,
    resolve_module,
)
from flowc.source import SourceFile
from flowc.stdlib.catalog import entries
from flowc.syntax import parse
from flowc.types import DTYPE_CODES

_PARTIAL = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")
Kind = types.CompletionItemKind


@dataclass(frozen=True)
class Context:
    """What completion knows besides the text."""

    model: Model | None  # the last model of this document that resolved, for types' fields
    base_dir: str


def complete(text: str, offset: int, context: Context) -> list[Item]:
    start = statement_start(text, offset)
    before = tokens(text, start, offset)
    if before and before[-1].kind == "comment":
        return []
    partial_match = _PARTIAL.search(text, start, offset)
    partial = partial_match.group() if partial_match else ""
    if before and before[-1].end == offset and before[-1].kind in ("name", "key"):
        before = before[:-1]  # the word being typed
    replace_from = offset - len(partial)
    if before and before[-1].kind == "string" and before[-1].end == offset:
        string = before[-1]
        if not (len(string.text) > 1 and string.text.endswith('"')):  # inside an open string
            return _in_string(text, start, before[:-1], string, offset, context)
    if not before:
        return [
            _item(k, Kind.Keyword, offset - len(partial), offset, text=f"{k} ")
            for k in STATEMENT_KEYWORDS
        ]
    head = before[0].text
    names = declared_names(text)
    if head == "buffer":
        return _buffer_statement(before, names, replace_from, offset)
    if head == "type":
        return _dtype_items(replace_from, offset) if _after_field_colon(before) else []
    if head in WORKER_KINDS:
        return _worker_statement(text, start, before, partial, names, replace_from, offset, context)
    return []


@dataclass(frozen=True)
class Item:
    """A completion: `text` replaces the characters [start, end) (the word being typed)."""

    label: str
    kind: types.CompletionItemKind
    start: int
    end: int
    text: str
    detail: str | None = None
    doc: str | None = None
    sort: str | None = None


def _item(label, kind, start, end, *, text=None, detail=None, doc=None, sort=None) -> Item:
    return Item(label, kind, start, end, label if text is None else text, detail, doc, sort)


def to_lsp(items: list[Item], position_of: Callable[[int], types.Position]):
    """Completion items with edits replacing the word being typed, in LSP positions."""
    return [
        types.CompletionItem(
            label=item.label,
            kind=item.kind,
            detail=item.detail,
            documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=item.doc)
            if item.doc
            else None,
            sort_text=item.sort,
            filter_text=item.label,
            text_edit=types.TextEdit(
                range=types.Range(start=position_of(item.start), end=position_of(item.end)),
                new_text=item.text,
            ),
        )
        for item in items
    ]


# --- buffers and types -----------------------------------------------------------------------


def _after_field_colon(before: list[Token]) -> bool:
    """Inside `{...}` right after a field name's `:`."""
    last = before[-1]
    return last.text == ":" and last.depth >= 1


def _dtype_items(start: int, end: int):
    return [_item(code, Kind.TypeParameter, start, end, detail="dtype") for code in DTYPE_CODES]


def _buffer_statement(before: list[Token], names, start: int, end: int):
    last = before[-1]
    if _after_field_colon(before):
        return _dtype_items(start, end)
    if last.text == ":" and last.depth == 0:
        declared = [
            _item(name, Kind.Class, start, end, detail="type", sort="0" + name)
            for name, kind in names.items()
            if kind == "type"
        ]
        return declared + _dtype_items(start, end)
    if _option_value(before):
        return _option_values(before, start, end)
    colon = next((t for t in before if t.text == ":" and t.depth == 0), None)
    if colon is not None and last.depth == 0 and last is not colon and last.text not in ("=", ","):
        return [
            _item(option, Kind.Property, start, end, text=f"{option}=", detail="buffer option")
            for option in BUFFER_OPTIONS
        ]
    return []


_OPTION_VALUES = {"overflow": OVERFLOW_MODES, "on_error": ERROR_MODES}


def _option_value(before: list[Token]) -> bool:
    """Right after `overflow=` or `on_error=` of a statement."""
    return (
        len(before) >= 2
        and before[-1].text == "="
        and before[-1].depth == 0
        and before[-2].kind == "key"
        and before[-2].text in _OPTION_VALUES
    )


def _option_values(before: list[Token], start: int, end: int):
    key = before[-2].text
    return [
        _item(value, Kind.EnumMember, start, end, detail=f"{key}=", sort=str(i))
        for i, value in enumerate(_OPTION_VALUES[key])
    ]


# --- workers ---------------------------------------------------------------------------------


def _worker_statement(text, start, before, partial, names, replace_from, offset, context):
    kind = before[0].text
    equals = next((t for t in before[1:] if t.text == "=" and t.depth == 0), None)
    if equals is None:
        return []
    paren = next(
        (t for t in before if t.text == "(" and t.depth == 0 and t.start > equals.start), None
    )
    if paren is None:
        return _callables(kind, partial, replace_from, offset)
    closing = next(
        (t for t in before if t.text == ")" and t.depth == 0 and t.start > paren.start), None
    )
    if closing is None:
        callable_text = text[equals.end : paren.start].strip()
        return _arguments(text, start, before, kind, callable_text, replace_from, offset, context)
    last = before[-1]
    buffers = [
        _item(name, Kind.Variable, replace_from, offset, detail=_buffer_detail(name, context))
        for name, what in names.items()
        if what == "buffer"
    ]
    if _option_value(before):
        return _option_values(before, replace_from, offset)
    if last is closing or last.kind == "arrow" or last.text in (",", "observes"):
        return buffers
    if last.depth == 0 and last.kind in ("name", "number", "string"):
        options = [
            _item(
                option,
                Kind.Property,
                replace_from,
                offset,
                text=f"{option}=",
                detail="worker option",
            )
            for option in WORKER_OPTIONS
        ]
        words = [
            _item(word, Kind.Keyword, replace_from, offset, text=f"{word} ")
            for word in ("->", "observes")
        ]
        return options + words
    return []


def _buffer_detail(name: str, context: Context) -> str:
    buffer = context.model.buffers.get(name) if context.model else None
    return f"buffer : {buffer.describe()}" if buffer is not None else "buffer"


def _callables(kind: str, partial: str, start: int, end: int):
    items = []
    prefixed = partial.startswith("stdlib.")
    for entry in entries():
        label = entry.name if prefixed else f"stdlib.{entry.name}"
        items.append(
            _item(
                label,
                Kind.Function,
                start + (len("stdlib.") if prefixed else 0),
                end,
                detail=entry.kind,
                doc=entry.doc,
                sort=("0" if entry.kind == kind else "1") + entry.name,
            )
        )
    return items


def _arguments(text, start, before, kind, callable_text, replace_from, offset, context):
    parameters = _parameters(kind, callable_text, context.base_dir)
    last = before[-1]
    inside = [t for t in before if t.depth >= 1]
    if (last.text == "(" and last.depth == 0) or (last.text == "," and last.depth == 1):
        given = {t.text for t in inside if t.kind == "key" and t.depth == 1}
        return [
            _item(
                p.name,
                Kind.Property,
                replace_from,
                offset,
                text=f"{p.name}=",
                detail="required" if p.default is None else f"default {p.default}",
                sort=("0" if p.default is None else "1") + p.name,
            )
            for p in parameters
            if p.name not in given
        ]
    key = _current_key(inside)
    parameter = next((p for p in parameters if p.name == key), None)
    if parameter is not None and parameter.is_field and last.text in ("=", "[", ","):
        return [
            _item(f'"{name}"', Kind.Field, replace_from, offset, detail=detail)
            for name, detail in _input_fields(text, start, context)
        ]
    if last.text == "=":
        names = declared_names(text)
        return [
            _item(name, Kind.Constant, replace_from, offset, detail="const")
            for name, what in names.items()
            if what == "const"
        ]
    return []


def _current_key(inside: list[Token]) -> str | None:
    """The argument whose value the cursor is in: the last key at depth 1."""
    for token in reversed(inside):
        if token.kind == "key" and token.depth == 1:
            return token.text
    return None


def _in_string(text, start, before, string, offset, context):
    """Inside an open string: field names, when it is the value of a field argument."""
    head = before[0].text if before else ""
    if head not in WORKER_KINDS:
        return []
    equals = next((t for t in before[1:] if t.text == "=" and t.depth == 0), None)
    paren = next((t for t in before if t.text == "(" and t.depth == 0), None)
    if equals is None or paren is None or string.depth == 0:
        return []
    callable_text = text[equals.end : paren.start].strip()
    key = _current_key([t for t in before if t.depth >= 1])
    parameters = _parameters(head, callable_text, context.base_dir)
    parameter = next((p for p in parameters if p.name == key), None)
    if parameter is None or not parameter.is_field:
        return []
    return [
        _item(name, Kind.Field, string.start + 1, offset, detail=detail)
        for name, detail in _input_fields(text, start, context)
    ]


def _input_fields(text: str, start: int, context: Context) -> list[tuple[str, str]]:
    """(field name as flow text, detail) of the worker's inputs (or observed buffers); of every
    buffer when the statement names none yet."""
    model = context.model
    if model is None:
        return []
    statement = tokens(text, start, statement_end(text, start))
    closing = next((t for t in statement if t.text == ")" and t.depth == 0), None)
    wired = []
    if closing is not None:
        reading = True  # inputs, then outputs after `->`, then observed buffers
        for token in statement[statement.index(closing) + 1 :]:
            if token.kind == "key":
                break
            if token.kind == "arrow" or token.text == "observes":
                reading = token.text == "observes"
            elif token.kind == "name" and token.depth == 0 and reading:
                wired.append(token.text)
    buffers = [model.buffers[n] for n in wired if n in model.buffers] or list(
        model.buffers.values()
    )
    found: dict[str, str] = {}
    for buffer in buffers:
        if buffer.element is None:
            continue
        for field in buffer.element.fields:
            shown = field.to_flow().split(": ", 1)[1]
            found.setdefault(field.name, f"{shown} in {buffer.name}")
    return [
        (name.replace("\\", "\\\\").replace('"', '\\"'), detail) for name, detail in found.items()
    ]


def _parameters(kind: str, callable_text: str, base_dir: str) -> tuple[Parameter, ...]:
    """The parameters of the code a callable names, resolved as the checker resolves it."""
    return _resolved_parameters(kind, callable_text, base_dir, code.generation)


@lru_cache(maxsize=128)
def _resolved_parameters(
    kind: str, callable_text: str, base_dir: str, generation: int
) -> tuple[Parameter, ...]:
    source = SourceFile("<completion>", f"{kind} completing = {callable_text}()\n")
    try:
        module = parse(source)
    except FlowError:
        return ()
    model, _ = resolve_module(source, module, base_dir=base_dir)
    found = model.workers[0].code if model.workers else None
    if found is None:
        return ()
    return tuple(parameters_of(found, kind))
