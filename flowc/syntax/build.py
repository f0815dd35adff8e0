"""Turns Lark's parse tree of a .flow text into the `flowc.syntax.ast` tree, with spans.

Purely structural: it records what was written. Number spellings and string escapes were
already checked by the postlexer, so nothing here can fail on user input.
"""

from __future__ import annotations

from lark import Token, Tree

from flowc.source import SourceFile, Span
from flowc.syntax import ast
from flowc.syntax.grammar import number_value, string_value


class AstBuilder:
    """Builds ast nodes bottom-up from the parse tree of one SourceFile.

    Each rule of flow.lark has a method of its name taking (meta, children). It is a plain
    walk rather than a lark Transformer, whose per-node method wrapping dominated the time
    of parsing large files.
    """

    def __init__(self, source: SourceFile, comments: list[Token] = ()):
        self.source = source
        self.comments = comments

    def transform(self, tree: Tree):
        """The ast node (or intermediate value) for `tree`; nesting is bounded by the postlexer."""
        children = [
            self.transform(child) if isinstance(child, Tree) else child for child in tree.children
        ]
        return getattr(self, tree.data)(tree.meta, children)

    def _span(self, meta) -> Span:
        return Span(self.source, meta.start_pos, meta.end_pos)

    def _token_span(self, token: Token) -> Span:
        return Span(self.source, token.start_pos, token.end_pos)

    # --- values ------------------------------------------------------------------------------

    def number(self, meta, children):
        (token,) = children
        return ast.Number(number_value(token.value), raw=token.value, span=self._span(meta))

    def string(self, meta, children):
        (token,) = children
        return ast.String(string_value(token.value), span=self._span(meta))

    def true(self, meta, children):
        return ast.Bool(True, span=self._span(meta))

    def false(self, meta, children):
        return ast.Bool(False, span=self._span(meta))

    def name_ref(self, meta, children):
        (token,) = children
        return ast.NameRef(token.value, span=self._span(meta))

    def list(self, meta, children):
        return ast.ListValue(tuple(children), span=self._span(meta))

    # --- types -------------------------------------------------------------------------------

    def type_name(self, meta, children):
        (token,) = children
        return ast.TypeName(token.value, span=self._span(meta))

    def struct(self, meta, children):
        return ast.StructType(tuple(children), span=self._span(meta))

    def field(self, meta, children):
        name, code, *shape = children
        text = string_value(name.value) if name.type == "STRING" else name.value
        return ast.FieldDecl(
            text,
            code.value,
            shape[0] if shape else (),
            span=self._span(meta),
            name_span=self._token_span(name),
            code_span=self._token_span(code),
        )

    def shape(self, meta, children):
        return tuple(children)

    def length(self, meta, children):
        (value,) = children
        return value

    # --- statements --------------------------------------------------------------------------

    def pipeline(self, meta, children):
        (name,) = children
        return ast.PipelineDecl(name.value, span=self._span(meta), name_span=self._token_span(name))

    def const(self, meta, children):
        name, value = children
        return ast.ConstDecl(
            name.value, value, span=self._span(meta), name_span=self._token_span(name)
        )

    def type_decl(self, meta, children):
        name, struct = children
        return ast.TypeDecl(
            name.value, struct, span=self._span(meta), name_span=self._token_span(name)
        )

    def buffer(self, meta, children):
        name, type_expr, *rest = children
        length = None
        if rest and not isinstance(rest[0], ast.Option):
            length = rest.pop(0)
        return ast.BufferDecl(
            name.value,
            type_expr,
            length,
            tuple(rest),
            span=self._span(meta),
            name_span=self._token_span(name),
        )

    def option(self, meta, children):
        key, value = children
        return ast.Option(key.value, value, span=self._span(meta), key_span=self._token_span(key))

    def arg(self, meta, children):
        key, value = children
        return ast.Arg(key.value, value, span=self._span(meta), key_span=self._token_span(key))

    def arguments(self, meta, children):
        return tuple(children)

    def buffer_ref(self, meta, children):
        (token,) = children
        return ast.BufferRef(token.value, span=self._span(meta))

    def inputs(self, meta, children):
        return ("inputs", tuple(children))

    def outputs(self, meta, children):
        return ("outputs", tuple(children))

    def observes(self, meta, children):
        return ("observes", tuple(children))

    def worker_kind(self, meta, children):
        (token,) = children
        return token.value

    def worker(self, meta, children):
        kind, name, callable_ref, args, *rest = children
        wiring = {"inputs": (), "outputs": (), "observes": ()}
        options = []
        for item in rest:
            if isinstance(item, ast.Option):
                options.append(item)
            else:
                wiring[item[0]] = item[1]
        return ast.Worker(
            kind,
            name.value,
            callable_ref,
            args,
            wiring["inputs"],
            wiring["outputs"],
            wiring["observes"],
            tuple(options),
            span=self._span(meta),
            name_span=self._token_span(name),
        )

    def dotted_name(self, meta, children):
        return ".".join(token.value for token in children)

    def callable_colon(self, meta, children):
        target, function = children
        return ast.CallableRef("colon", target, function, span=self._span(meta))

    def callable_dotted(self, meta, children):
        (dotted,) = children
        target, dot, function = dotted.rpartition(".")
        if not dot:
            return ast.CallableRef("bare", None, function, span=self._span(meta))
        return ast.CallableRef("dotted", target, function, span=self._span(meta))

    def callable_file(self, meta, children):
        path, function = children
        return ast.CallableRef("file", string_value(path.value), function, span=self._span(meta))

    # --- start rules -------------------------------------------------------------------------

    def module(self, meta, children):
        comments = tuple(
            ast.Comment(token.value.rstrip("\r"), span=self._comment_span(token))
            for token in self.comments
        )
        return ast.Module(
            tuple(children), comments, span=Span(self.source, 0, len(self.source.text))
        )

    def _comment_span(self, token: Token) -> Span:
        end = token.start_pos + len(token.value.rstrip("\r"))
        return Span(self.source, token.start_pos, end)

    def value_only(self, meta, children):
        (value,) = children
        return value

    def type_only(self, meta, children):
        (type_expr,) = children
        return type_expr
