"""Builds the `flowc.syntax.ast` tree, with spans, while Lark parses: no parse tree in between.

`AstBuilder` is given to Lark as an inline transformer: each rule of flow.lark has a method of
its name that receives the rule's children (every token is kept, so spans run from the first
child to the last). Purely structural: it records what was written. Number spellings and
string escapes are checked by the postlexer (with `number_value` and `string_value` here), so
nothing here can fail on user input.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from lark import Token

from flowc.source import SourceFile, Span
from flowc.syntax import ast

_STRING_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}

_current_source: ContextVar[SourceFile] = ContextVar("flowc_building_source")


@contextmanager
def building(source: SourceFile) -> Iterator[None]:
    """Make `source` the file the spans of nodes built in this block point into."""
    reset = _current_source.set(source)
    try:
        yield
    finally:
        _current_source.reset(reset)


def number_value(raw: str) -> int | float | None:
    """The value of a number spelled in Python syntax with an optional sign, or None."""
    digits = raw.lstrip("+-")
    sign = -1 if raw.startswith("-") else 1
    try:
        return sign * int(digits, 0)
    except ValueError:
        pass
    if digits[:2].lower() in ("0x", "0o", "0b") or not any(c in digits for c in ".eE"):
        return None
    try:
        return sign * float(digits)
    except ValueError:
        return None


def string_value(raw: str) -> str | int:
    """The text of a string literal (quotes included in `raw`), or the offset of a bad escape."""
    body = raw[1:-1]
    if "\\" not in body:
        return body
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            escaped = _STRING_ESCAPES.get(body[i + 1])
            if escaped is None:
                return i + 1
            out.append(escaped)
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def comments_of(tokens: list[Token], source: SourceFile) -> tuple[ast.Comment, ...]:
    """Comment nodes for the COMMENT tokens the postlexer collected (without a CRLF's `\\r`)."""
    comments = []
    for token in tokens:
        text = token.value.rstrip("\r")
        span = Span(source, token.start_pos, token.start_pos + len(text))
        comments.append(ast.Comment(text, span=span))
    return tuple(comments)


@dataclass(frozen=True)
class _Part:
    """A piece of a statement that is not a node of its own (`-> a, b`, `(x=1)`, `[16]`)."""

    items: tuple
    span: Span


def _start(child) -> int:
    return child.start_pos if isinstance(child, Token) else child.span.start


def _end(child) -> int:
    return child.end_pos if isinstance(child, Token) else child.span.end


def _span(children: list) -> Span:
    return Span(_current_source.get(), _start(children[0]), _end(children[-1]))


def _token_span(token: Token) -> Span:
    return Span(_current_source.get(), token.start_pos, token.end_pos)


def _nodes(children: list) -> tuple:
    """The children that are not punctuation or keyword tokens."""
    return tuple(child for child in children if not isinstance(child, Token))


def _names(children: list) -> list[Token]:
    return [child for child in children if isinstance(child, Token) and child.type == "NAME"]


class AstBuilder:
    """Lark inline-transformer callbacks, one per rule of flow.lark."""

    # --- values ------------------------------------------------------------------------------

    def number(self, children):
        (token,) = children
        return ast.Number(number_value(token.value), raw=token.value, span=_token_span(token))

    def string(self, children):
        (token,) = children
        return ast.String(string_value(token.value), span=_token_span(token))

    def true(self, children):
        return ast.Bool(True, span=_span(children))

    def false(self, children):
        return ast.Bool(False, span=_span(children))

    def name_ref(self, children):
        (token,) = children
        return ast.NameRef(token.value, span=_token_span(token))

    def list(self, children):
        return ast.ListValue(_nodes(children), span=_span(children))

    def mapping(self, children):
        return ast.MappingValue(_nodes(children), span=_span(children))

    def entry(self, children):
        key, _colon, value = children
        text = string_value(key.value) if key.type == "STRING" else key.value
        return ast.Entry(text, value, span=_span(children), key_span=_token_span(key))

    # --- types -------------------------------------------------------------------------------

    def type_name(self, children):
        (token,) = children
        return ast.TypeName(token.value, span=_token_span(token))

    def struct(self, children):
        return ast.StructType(_nodes(children), span=_span(children))

    def field(self, children):
        name, _colon, code, *shape = children
        text = string_value(name.value) if name.type == "STRING" else name.value
        return ast.FieldDecl(
            text,
            code.value,
            shape[0].items if shape else (),
            span=_span(children),
            name_span=_token_span(name),
            code_span=_token_span(code),
        )

    def shape(self, children):
        return _Part(_nodes(children), _span(children))

    def length(self, children):
        return _Part(_nodes(children), _span(children))

    # --- statements --------------------------------------------------------------------------

    def pipeline(self, children):
        _keyword, name = children
        return ast.PipelineDecl(name.value, span=_span(children), name_span=_token_span(name))

    def const(self, children):
        _keyword, name, _equals, value = children
        return ast.ConstDecl(name.value, value, span=_span(children), name_span=_token_span(name))

    def type_decl(self, children):
        _keyword, name, _equals, struct = children
        return ast.TypeDecl(name.value, struct, span=_span(children), name_span=_token_span(name))

    def buffer(self, children):
        _keyword, name, _colon, type_expr, *rest = children
        length = None
        if rest and isinstance(rest[0], _Part):
            (length,) = rest.pop(0).items
        return ast.BufferDecl(
            name.value,
            type_expr,
            length,
            tuple(rest),
            span=_span(children),
            name_span=_token_span(name),
        )

    def option(self, children):
        key, _equals, value = children
        return ast.Option(key.value, value, span=_span(children), key_span=_token_span(key))

    def arg(self, children):
        key, _equals, value = children
        return ast.Arg(key.value, value, span=_span(children), key_span=_token_span(key))

    def arguments(self, children):
        return _Part(_nodes(children), _span(children))

    def buffer_ref(self, children):
        (token,) = children
        return ast.BufferRef(token.value, span=_token_span(token))

    def inputs(self, children):
        return _Part(("inputs", _nodes(children)), _span(children))

    def outputs(self, children):
        return _Part(("outputs", _nodes(children)), _span(children))

    def observes(self, children):
        return _Part(("observes", _nodes(children)), _span(children))

    def worker_kind(self, children):
        (token,) = children
        return token

    def worker(self, children):
        kind, name, _equals, callable_ref, arguments, *rest = children
        wiring = {"inputs": (), "outputs": (), "observes": ()}
        options = []
        for item in rest:
            if isinstance(item, ast.Option):
                options.append(item)
            else:
                role, refs = item.items
                wiring[role] = refs
        return ast.Worker(
            kind.value,
            name.value,
            callable_ref,
            arguments.items,
            wiring["inputs"],
            wiring["outputs"],
            wiring["observes"],
            tuple(options),
            span=_span(children),
            name_span=_token_span(name),
        )

    def dotted_name(self, children):
        text = ".".join(token.value for token in _names(children))
        return _Part((text,), _span(children))

    def callable_colon(self, children):
        target, _colon, function = children
        return ast.CallableRef("colon", target.items[0], function.items[0], span=_span(children))

    def callable_dotted(self, children):
        (dotted,) = children
        target, dot, function = dotted.items[0].rpartition(".")
        if not dot:
            return ast.CallableRef("bare", None, function, span=dotted.span)
        return ast.CallableRef("dotted", target, function, span=dotted.span)

    def callable_file(self, children):
        path, _colon, function = children
        return ast.CallableRef(
            "file", string_value(path.value), function.items[0], span=_span(children)
        )

    # --- start rules -------------------------------------------------------------------------

    def module(self, children):
        source = _current_source.get()
        return ast.Module(_nodes(children), span=Span(source, 0, len(source.text)))

    def value_only(self, children):
        (value,) = _nodes(children)
        return value

    def type_only(self, children):
        (type_expr,) = _nodes(children)
        return type_expr
