"""What the server knows about one version of a `.flow` text: its diagnostics (from the same
`check_source` as `flowc check`), its syntax tree, its resolved model, and where each name is
declared and used.

The tree and the model are computed only when a feature asks for them (hover, navigation,
completion), once per version. The name index walks the tree generically (every dataclass
field), so node types added to the language later are walked too.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from flowc.compiler import CheckResult, check_source
from flowc.diagnostics import FlowError
from flowc.lsp import code
from flowc.lsp.lexer import is_dtype
from flowc.sema.model import Model
from flowc.sema.resolve import resolve_module
from flowc.source import SourceFile, Span
from flowc.syntax import ast, parse

# what a declaration statement declares
DECLARATION_KINDS = {
    ast.ConstDecl: "const",
    ast.TypeDecl: "type",
    ast.BufferDecl: "buffer",
    ast.Worker: "worker",
}


@dataclass(frozen=True)
class Occurrence:
    """A name written in the text: a declaration's name or a reference to one."""

    name: str
    start: int
    end: int
    declaration: bool
    node: ast.Node  # the declaration statement, or the referring node


def walk(node) -> Iterator[ast.Node]:
    """Every syntax node under `node` (itself included), in field order."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Node):
            yield item
            children = [getattr(item, f.name) for f in dataclasses.fields(item)]
        elif isinstance(item, tuple | list):
            children = list(item)
        else:
            continue
        stack.extend(reversed([c for c in children if isinstance(c, ast.Node | tuple | list)]))


def path_at(module: ast.Module, offset: int) -> list[ast.Node]:
    """The nodes whose span holds `offset`, outermost first (the statement, then inside it)."""
    found: list[ast.Node] = []
    level: list = list(module.statements)
    while level:
        inner = None
        for item in level:
            for node in _nodes_in(item):
                if node.span is not None and node.span.start <= offset <= node.span.end:
                    inner = node
                    break
            if inner is not None:
                break
        if inner is None:
            break
        found.append(inner)
        level = [getattr(inner, f.name) for f in dataclasses.fields(inner)]
    return found


def _nodes_in(item) -> Iterator[ast.Node]:
    if isinstance(item, ast.Node):
        yield item
    elif isinstance(item, tuple | list):
        for child in item:
            yield from _nodes_in(child)


def name_span(node: ast.Node) -> Span | None:
    return getattr(node, "name_span", None) or node.span


class Analysis:
    """One version of a document, checked."""

    def __init__(self, text: str, path: str | None, version: int | None):
        self.text = text
        self.path = path
        self.version = version
        self.source = SourceFile(path or "<untitled>", text)
        self.base_dir = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
        code.forget_changed_code(self.base_dir)
        self.result: CheckResult = check_source(self.source, base_dir=self.base_dir)
        code.forget_changed_code(self.base_dir)  # notes when the code just imported was written

    @property
    def diagnostics(self):
        return self.result.diagnostics

    @cached_property
    def module(self) -> ast.Module | None:
        """The syntax tree, or None when the text does not parse."""
        try:
            return parse(self.source)
        except FlowError:
            return None

    @cached_property
    def model(self) -> Model | None:
        """Names, types, values and code resolved (None when the text does not parse)."""
        if self.module is None:
            return None
        model, _ = resolve_module(self.source, self.module, base_dir=self.base_dir)
        return model

    @cached_property
    def declarations(self) -> dict[str, ast.Node]:
        """The first declaration of each name of the namespace (and the pipeline's)."""
        found: dict[str, ast.Node] = {}
        for statement in self.module.statements if self.module else ():
            if isinstance(statement, tuple(DECLARATION_KINDS)):
                found.setdefault(statement.name, statement)
        return found

    @cached_property
    def occurrences(self) -> list[Occurrence]:
        """Every declared name and every reference to a name, in text order."""
        if self.module is None:
            return []
        declared = self.declarations
        found = []
        for node in walk(self.module):
            if isinstance(node, tuple(DECLARATION_KINDS)):
                span = name_span(node)
                found.append(Occurrence(node.name, span.start, span.end, True, node))
            elif isinstance(node, ast.BufferRef | ast.NameRef) or (
                isinstance(node, ast.TypeName)
                and (node.name in declared or not is_dtype(node.name))
            ):
                if node.span is not None:
                    found.append(Occurrence(node.name, node.span.start, node.span.end, False, node))
        found.sort(key=lambda o: o.start)
        return found

    def occurrence_at(self, offset: int) -> Occurrence | None:
        """The name under the cursor (a cursor just after a name counts as on it)."""
        for occurrence in self.occurrences:
            if occurrence.start <= offset <= occurrence.end:
                return occurrence
        return None

    def occurrences_of(self, name: str) -> list[Occurrence]:
        return [o for o in self.occurrences if o.name == name]

    def kind_of(self, name: str) -> str | None:
        """`buffer`, `type`, `const` or `worker`: what a name is declared as."""
        decl = self.declarations.get(name)
        return DECLARATION_KINDS.get(type(decl)) if decl is not None else None
