"""Semantic tokens: each word of the text classified as the language sees it (a buffer, a
type, a const, a worker, its callable, an argument, an option, a field, a dtype code), from
the forgiving lexer, so colouring holds while a line is half typed."""

from __future__ import annotations

from flowc.lsp.lexer import WORKER_KINDS, Token, declared_names, is_dtype, tokens
from flowc.lsp.positions import LineIndex
from flowc.types import KEYWORDS

TOKEN_TYPES = (
    "keyword",
    "comment",
    "string",
    "number",
    "operator",
    "namespace",
    "type",
    "variable",
    "function",
    "parameter",
    "property",
)
TOKEN_MODIFIERS = ("declaration", "readonly", "defaultLibrary")
_TYPE = {name: i for i, name in enumerate(TOKEN_TYPES)}
_MOD = {name: 1 << i for i, name in enumerate(TOKEN_MODIFIERS)}
_BY_KIND = {"comment": "comment", "string": "string", "number": "number", "arrow": "operator"}
_AS_DECLARED = {
    "buffer": ("variable", 0),
    "type": ("type", 0),
    "const": ("variable", _MOD["readonly"]),
    "worker": ("function", 0),
}


def classify(text: str) -> list[tuple[Token, str, int]]:
    """(token, token type, modifier bits) for each token that gets a colour, in text order."""
    names = declared_names(text)
    found = []
    statement: list[Token] = []
    for token in tokens(text):
        if token.kind == "newline" and token.depth == 0:
            found.extend(_statement(statement, names))
            statement = []
        elif token.kind != "newline":
            statement.append(token)
    found.extend(_statement(statement, names))
    return found


def _statement(statement: list[Token], names: dict[str, str]):
    if not statement:
        return
    head = statement[0].text
    equals = next((t for t in statement[1:] if t.text == "=" and t.depth == 0), None)
    paren = None
    if head in WORKER_KINDS and equals is not None:
        paren = next(
            (t for t in statement if t.text == "(" and t.depth == 0 and t.start > equals.start),
            None,
        )
    after_colon = False  # a type position: after `:` (buffer) or a field's `:`
    for i, token in enumerate(statement):
        if token.kind in _BY_KIND:
            yield token, _BY_KIND[token.kind], 0
            continue
        if token.kind == "punct":
            after_colon = token.text == ":"
            continue
        if token.kind not in ("name", "key"):
            continue
        was_after_colon, after_colon = after_colon, False
        word = token.text
        if i == 0 and word in KEYWORDS or word in ("observes", "true", "false"):
            yield token, "keyword", 0
        elif i == 1:
            kind = {"pipeline": ("namespace", 0)}.get(head) or _AS_DECLARED.get(
                "worker" if head in WORKER_KINDS else head
            )
            if kind is not None:
                yield token, kind[0], kind[1] | _MOD["declaration"]
        elif paren is not None and equals.start < token.start < paren.start:
            last = statement[statement.index(paren) - 1] is token
            yield token, "function" if last else "namespace", 0
        elif token.kind == "key":
            yield token, "parameter" if token.depth >= 1 and paren is not None else "property", 0
        elif was_after_colon and is_dtype(word) and word not in names:
            yield token, "type", _MOD["defaultLibrary"]
        elif head in ("type", "buffer") and token.depth >= 1 and _before_colon(statement, i):
            yield token, "property", _MOD["declaration"]
        elif word in names:
            kind, bits = _AS_DECLARED.get(names[word], ("variable", 0))
            yield token, kind, bits


def _before_colon(statement: list[Token], i: int) -> bool:
    return i + 1 < len(statement) and statement[i + 1].text == ":"


def encode(text: str, index: LineIndex) -> list[int]:
    """The LSP encoding: five integers per token, positions relative to the previous one."""
    data: list[int] = []
    previous_line = previous_start = 0
    for token, kind, bits in classify(text):
        start = index.position(token.start)
        end = index.position(token.end)
        if end.line != start.line:
            continue  # tokens never span lines; an unclosed string stops at its line's end
        delta_line = start.line - previous_line
        delta_start = start.character - (previous_start if delta_line == 0 else 0)
        data += [delta_line, delta_start, end.character - start.character, _TYPE[kind], bits]
        previous_line, previous_start = start.line, start.character
    return data
