"""The canonical text of a syntax tree: what `flowc fmt` writes.

Layout:
- one statement per line, single spaces between parts:
  `buffer raw : Sample[4096] slots=128`,
  `processor finder = "peaks.py":find_pulses(threshold=0.2) raw -> pulses processes=2`;
  `key=value` without spaces (arguments and options); `, ` between list items, fields,
  arguments and buffer names; `name: code` inside `{...}`; ` : ` after a buffer's name;
- a statement stays on one line however long it is, except that a type whose one-line form is
  longer than 100 characters lists its fields one per line, indented by four spaces, each
  followed by a comma, and a const mapping longer than that lists its entries the same way;
- mappings print as `{key: value, "other key": value}`, keys quoted only when they are not
  plain names;
- comments are kept: a comment on its own line stays on its own line before the statement
  that followed it; a comment at the end of a statement's last line stays there, two spaces
  after it; a comment inside a multi-line statement moves to its own line before the
  statement; trailing whitespace is removed from comments;
- one blank line separates two items (statements or own-line comments) wherever the source
  had one or more blank lines between them; there are none at the start or the end;
- numbers keep their spelling (`Number.raw`); numbers built without one print as Python's
  repr; strings use the escapes \\" \\\\ \\n \\t; field names are quoted only when they are
  not plain names (`"1st_chA_h": f4`);
- column alignment is kept: a run of one-line statements on consecutive lines, each differing
  from its canonical text only in wider gaps between its parts, where a wider gap lines a part
  up with a part of the line above or below, is printed as written, with the gaps before its
  trailing comments;
- LF line endings; the text ends with one newline (an empty module prints as "").

The result is idempotent, and parse(format_module(tree)) == tree for every tree.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from flowc.source import SourceFile
from flowc.syntax import ast
from flowc.types import flow_field_name

MAX_LINE = 100
INDENT = "    "
_BLANK_LINE = re.compile(r"\n[ \t\f\r\ufeff]*\n")


def format_module(module: ast.Module) -> str:
    """The canonical text of a module, comments included."""
    lines: list[str] = []
    previous_end: int | None = None
    source_text = _module_text(module)
    for item in _layout(module):
        if lines and _blank_between(source_text, previous_end, item.start):
            lines.append("")
        text = item.text
        if item.trailing:
            text = f"{text}{item.gap}{item.trailing}"
        lines.append(text)
        previous_end = item.end
    return "\n".join(lines) + "\n" if lines else ""


# --- values and types ------------------------------------------------------------------------


def format_value(value: ast.Value) -> str:
    if isinstance(value, ast.Bool):
        return "true" if value.value else "false"
    if isinstance(value, ast.Number):
        return value.raw if value.raw is not None else repr(value.value)
    if isinstance(value, ast.String):
        return quote(value.value)
    if isinstance(value, ast.NameRef):
        return value.name
    if isinstance(value, ast.ListValue):
        return "[" + ", ".join(format_value(item) for item in value.items) + "]"
    if isinstance(value, ast.MappingValue):
        return "{" + ", ".join(format_entry(entry) for entry in value.entries) + "}"
    raise TypeError(f"not a flow value: {value!r}")


def format_entry(entry: ast.Entry) -> str:
    """`key: value`, the key quoted only when it is not a plain name."""
    return f"{flow_field_name(entry.key)}: {format_value(entry.value)}"


def format_mapping(mapping: ast.MappingValue, *, multiline: bool = False) -> str:
    """A mapping on one line, or (multiline) its entries one per line, each with a comma."""
    if not multiline or not mapping.entries:
        return format_value(mapping)
    return "{\n" + "".join(f"{INDENT}{format_entry(e)},\n" for e in mapping.entries) + "}"


def quote(text: str) -> str:
    """A string literal for `text`."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped.replace("\t", "\\t") + '"'


def format_field(field: ast.FieldDecl) -> str:
    shape = ""
    if field.shape:
        shape = "[" + ", ".join(format_value(dim) for dim in field.shape) + "]"
    return f"{flow_field_name(field.name)}: {field.code}{shape}"


def format_type(type_expr: ast.TypeExpr, *, multiline: bool = False) -> str:
    if isinstance(type_expr, ast.TypeName):
        return type_expr.name
    fields = [format_field(field) for field in type_expr.fields]
    if multiline and fields:
        return "{\n" + "".join(f"{INDENT}{field},\n" for field in fields) + "}"
    return "{" + ", ".join(fields) + "}"


# --- statements ------------------------------------------------------------------------------


def format_statement(statement: ast.Statement) -> str:
    """A statement's canonical text (several lines only for a long struct or const mapping)."""
    line = _statement_text(statement, multiline=False)
    if len(line) > MAX_LINE and _has_lines(statement):
        return _statement_text(statement, multiline=True)
    return line


def _has_lines(statement: ast.Statement) -> bool:
    """Whether a statement can be printed over several lines: a struct, or a const mapping."""
    if isinstance(statement, ast.ConstDecl):
        return isinstance(statement.value, ast.MappingValue)
    return _struct_of(statement) is not None


def _struct_of(statement: ast.Statement) -> ast.StructType | None:
    if isinstance(statement, ast.TypeDecl):
        return statement.struct
    if isinstance(statement, ast.BufferDecl) and isinstance(statement.type, ast.StructType):
        return statement.type
    return None


def _statement_text(statement: ast.Statement, *, multiline: bool) -> str:
    if isinstance(statement, ast.PipelineDecl):
        return f"pipeline {statement.name}"
    if isinstance(statement, ast.ConstDecl):
        value = statement.value
        if isinstance(value, ast.MappingValue):
            return f"const {statement.name} = {format_mapping(value, multiline=multiline)}"
        return f"const {statement.name} = {format_value(value)}"
    if isinstance(statement, ast.TypeDecl):
        return f"type {statement.name} = {format_type(statement.struct, multiline=multiline)}"
    if isinstance(statement, ast.BufferDecl):
        text = f"buffer {statement.name} : {format_type(statement.type, multiline=multiline)}"
        if statement.length is not None:
            text += f"[{format_value(statement.length)}]"
        return text + _options(statement.options)
    if isinstance(statement, ast.Worker):
        return _worker_text(statement)
    raise TypeError(f"not a flow statement: {statement!r}")


def _worker_text(worker: ast.Worker) -> str:
    args = ", ".join(f"{arg.key}={format_value(arg.value)}" for arg in worker.args)
    parts = [f"{worker.kind} {worker.name} = {format_callable(worker.callable)}({args})"]
    if worker.inputs:
        parts.append(_names(worker.inputs))
    if worker.outputs:
        parts.append("-> " + _names(worker.outputs))
    if worker.observes:
        parts.append("observes " + _names(worker.observes))
    return " ".join(parts) + _options(worker.options)


def format_callable(ref: ast.CallableRef) -> str:
    if ref.form == "colon":
        return f"{ref.target}:{ref.function}"
    if ref.form == "dotted":
        return f"{ref.target}.{ref.function}"
    if ref.form == "file":
        return f"{quote(ref.target)}:{ref.function}"
    return ref.function


def _names(refs: tuple[ast.BufferRef, ...]) -> str:
    return ", ".join(ref.name for ref in refs)


def _options(options: tuple[ast.Option, ...]) -> str:
    return "".join(f" {option.key}={format_value(option.value)}" for option in options)


# --- layout: comments and blank lines --------------------------------------------------------


@dataclass
class _Item:
    """One printed item: its text, a trailing comment, and where it came from in the source."""

    text: str
    start: int | None = None
    end: int | None = None
    trailing: str | None = None
    gap: str = "  "  # before the trailing comment


def _layout(module: ast.Module) -> list[_Item]:
    """Statements and comments in print order, comments attached as described above."""
    statements = module.statements
    placed = [s for s in statements if s.span is not None]
    starts = [s.span.start for s in placed]
    ordered = starts == sorted(starts)
    leading: dict[int, list[_Item]] = {}
    trailing: dict[int, str] = {}
    trailing_at: dict[int, int] = {}  # where each trailing comment starts
    top: list[_Item] = []
    bottom: list[_Item] = []
    for comment in module.comments:
        text = comment.text.rstrip()
        span = comment.span
        if span is None or not ordered:
            top.append(_Item(text))
            continue
        index = bisect.bisect_right(starts, span.start) - 1
        owner = placed[index] if index >= 0 else None
        if owner is not None and span.start < owner.span.end:
            # inside a multi-line statement: print it before the statement
            leading.setdefault(id(owner), []).append(
                _Item(text, owner.span.start, owner.span.start)
            )
        elif owner is not None and _same_line(span.file, owner.span.end, span.start):
            trailing[id(owner)] = text
            trailing_at[id(owner)] = span.start
        elif index + 1 < len(placed):
            follower = placed[index + 1]
            leading.setdefault(id(follower), []).append(_Item(text, span.start, span.end))
        else:
            bottom.append(_Item(text, span.start, span.end))
    items = top
    kept = _aligned_blocks(statements)
    for statement in statements:
        items.extend(leading.get(id(statement), ()))
        span = statement.span
        end = None
        text = format_statement(statement)
        gap = "  "
        if span is not None:
            end = span.end
            if id(statement) in kept:
                text = span.file.text[span.start : span.end]
                if id(statement) in trailing:
                    between = span.file.text[span.end : trailing_at[id(statement)]]
                    gap = between if len(between) >= 2 and not between.strip(" ") else gap
            if id(statement) in trailing:
                end = span.file.text.find("\n", span.end)
                end = len(span.file.text) if end < 0 else end
        items.append(
            _Item(text, span.start if span else None, end, trailing.get(id(statement)), gap)
        )
    items.extend(bottom)
    return items


def _aligned_blocks(statements) -> set[int]:
    """The statements (by id) printed as written: runs of two or more on consecutive lines,
    each differing from its canonical text only in the width of its gaps, in which a wider gap
    lines a part up with a part of the line above or below (column alignment)."""
    written: list[str | None] = []
    for statement in statements:
        span = statement.span
        text = span.file.text[span.start : span.end] if span is not None else None
        canonical = format_statement(statement)
        written.append(text if text is not None and _aligned(text, canonical) else None)
    runs: list[list[int]] = []
    for k, line in enumerate(written):
        if line is None:
            continue
        if runs and runs[-1][-1] == k - 1 and _consecutive(statements[k - 1], statements[k]):
            runs[-1].append(k)
        else:
            runs.append([k])
    kept: set[int] = set()
    for run in runs:
        lines = [written[k] for k in run]
        if any(
            _part_starts(a, widened=True) & _part_starts(b, widened=False)
            or _part_starts(b, widened=True) & _part_starts(a, widened=False)
            for a, b in zip(lines, lines[1:], strict=False)
        ):
            kept.update(id(statements[k]) for k in run)
    return kept


def _consecutive(first, second) -> bool:
    """Whether `second` starts on the line after the one `first` ends on."""
    if second.span.file is not first.span.file:
        return False
    return first.span.file.text[first.span.end : second.span.start].count("\n") == 1


def _part_starts(line: str, *, widened: bool) -> set[int]:
    """Columns where the parts of a line start (only those after two or more spaces)."""
    return {
        k
        for k in range(1, len(line))
        if line[k] != " " and line[k - 1] == " " and (not widened or line[k - 2 : k] == "  ")
    } | (set() if widened else {0})


def _aligned(written: str, canonical: str) -> bool:
    """Whether a statement as written differs from its canonical one-line text only in the
    width of the gaps between its parts (spaces that align columns)."""
    if "\n" in canonical or "\n" in written or "\t" in written or "\r" in written:
        return False
    return [part for part in written.split(" ") if part] == canonical.split(" ")


def _same_line(source: SourceFile, a: int, b: int) -> bool:
    return "\n" not in source.text[a:b]


def _blank_between(text: str | None, previous_end: int | None, start: int | None) -> bool:
    if text is None or previous_end is None or start is None or previous_end > start:
        return False
    return _BLANK_LINE.search(text, previous_end, start) is not None


def _module_text(module: ast.Module) -> str | None:
    """The source text the module's spans point into (None for a tree built by hand)."""
    if module.span is not None:
        return module.span.file.text
    for node in (*module.statements, *module.comments):
        if node.span is not None:
            return node.span.file.text
    return None
