"""Go to definition, find references, rename and the outline (document symbols).

Buffers, types, consts and workers share one namespace, so every occurrence of a declared name
is the same thing; definition on a worker's callable opens the Python file at the function.
"""

from __future__ import annotations

import re

from lsprotocol import types

from flowc.lsp.analysis import Analysis, Occurrence, path_at
from flowc.lsp.code import source_location
from flowc.lsp.hover import worker_info
from flowc.lsp.lexer import DECLARATION_LINE, declared_names
from flowc.syntax import ast
from flowc.syntax.printer import format_callable, format_type, format_value
from flowc.types import KEYWORDS, flow_field_name

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class RenameRefused(Exception):
    """A rename that would not give a valid, unused name."""


def declared_occurrence(analysis: Analysis, offset: int) -> Occurrence | None:
    """The occurrence under the cursor when its name is declared in the file."""
    occurrence = analysis.occurrence_at(offset)
    if occurrence is None or occurrence.name not in analysis.declarations:
        return None
    return occurrence


def definition(analysis: Analysis, offset: int) -> tuple[str | None, int, int] | None:
    """(None, start, end) in this text, or (python file, line, name's column) for a
    callable's code."""
    occurrence = declared_occurrence(analysis, offset)
    if occurrence is not None:
        decl = analysis.declarations[occurrence.name]
        span = decl.name_span or decl.span
        return None, span.start, span.end
    if analysis.module is None:
        return None
    path = path_at(analysis.module, offset)
    if (
        path
        and isinstance(path[0], ast.Worker)
        and any(isinstance(node, ast.CallableRef) for node in path)
    ):
        info = worker_info(analysis, path[0]) if analysis.model else None
        if info is not None and info.code is not None:
            return source_location(info.code)
    return None


def references(analysis: Analysis, offset: int, include_declaration: bool) -> list[Occurrence]:
    occurrence = declared_occurrence(analysis, offset)
    if occurrence is None:
        return []
    return [
        o
        for o in analysis.occurrences_of(occurrence.name)
        if include_declaration or not o.declaration
    ]


def rename(analysis: Analysis, offset: int, new_name: str) -> list[Occurrence]:
    """The occurrences to rewrite as `new_name`; raises RenameRefused saying why not."""
    occurrence = declared_occurrence(analysis, offset)
    if occurrence is None:
        raise RenameRefused("only a declared buffer, type, const or worker can be renamed")
    if not _NAME.match(new_name) or new_name in KEYWORDS:
        raise RenameRefused(f"`{new_name}` is not a name flow allows")
    if new_name != occurrence.name and new_name in declared_names(analysis.text):
        raise RenameRefused(
            f"`{new_name}` is already declared: buffers, workers, types and consts share one namespace"
        )
    return analysis.occurrences_of(occurrence.name)


# --- the outline -----------------------------------------------------------------------------

SymbolKind = types.SymbolKind


def document_symbols(analysis: Analysis, position_range) -> list[types.DocumentSymbol]:
    """The outline: pipeline, consts, types (with their fields), buffers and workers."""
    if analysis.module is None:
        return _scanned_symbols(analysis.text, position_range)
    symbols = []
    for statement in analysis.module.statements:
        symbol = _symbol(statement, position_range)
        if symbol is not None:
            symbols.append(symbol)
    return symbols


def _symbol(statement: ast.Node, position_range) -> types.DocumentSymbol | None:
    children = None
    if isinstance(statement, ast.PipelineDecl):
        kind, detail = SymbolKind.Module, "pipeline"
    elif isinstance(statement, ast.ConstDecl):
        kind, detail = SymbolKind.Constant, format_value(statement.value)
    elif isinstance(statement, ast.TypeDecl):
        kind, detail = SymbolKind.Struct, "type"
        children = [
            types.DocumentSymbol(
                name=flow_field_name(field.name),
                detail=field.code + _shape(field),
                kind=SymbolKind.Field,
                range=position_range(field.span.start, field.span.end),
                selection_range=position_range(
                    (field.name_span or field.span).start, (field.name_span or field.span).end
                ),
            )
            for field in statement.struct.fields
            if field.span is not None
        ]
    elif isinstance(statement, ast.BufferDecl):
        kind, detail = SymbolKind.Variable, format_type(statement.type)
    elif isinstance(statement, ast.Worker):
        kind, detail = (
            SymbolKind.Function,
            f"{statement.kind} {format_callable(statement.callable)}",
        )
    else:
        return None
    name_span = statement.name_span or statement.span
    return types.DocumentSymbol(
        name=statement.name,
        detail=detail,
        kind=kind,
        range=position_range(statement.span.start, statement.span.end),
        selection_range=position_range(name_span.start, name_span.end),
        children=children,
    )


def _shape(field: ast.FieldDecl) -> str:
    return "[" + ", ".join(format_value(d) for d in field.shape) + "]" if field.shape else ""


_SCANNED_KINDS = {
    "const": SymbolKind.Constant,
    "type": SymbolKind.Struct,
    "buffer": SymbolKind.Variable,
    "worker": SymbolKind.Function,
}


def _scanned_symbols(text: str, position_range) -> list[types.DocumentSymbol]:
    """The outline of a text that does not parse: one symbol per declaration line."""
    symbols = []
    for match in DECLARATION_LINE.finditer(text):
        word = match.group(1)
        kind = _SCANNED_KINDS.get(word, SymbolKind.Function)
        symbols.append(
            types.DocumentSymbol(
                name=match.group(2),
                detail=word,
                kind=kind,
                range=position_range(match.start(), match.end()),
                selection_range=position_range(match.start(2), match.end(2)),
            )
        )
    return symbols
