"""The Lark parser of the .flow language, built once, and the postlexer that feeds it.

The postlexer makes the grammar line-based: it drops newlines inside brackets, collects
comments for `flowc fmt`, checks bracket pairs, nesting depth, keywords used as names, number
spellings and string escapes, and ends the text with a newline. Its per-parse state lives in
a `ScanState` set by the caller through `scanning()`.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache

from lark import Lark, Token

from flowc.diagnostics import FlowError, Label, Note, error
from flowc.source import SourceFile, Span
from flowc.syntax.ast import WORKER_KINDS
from flowc.syntax.build import AstBuilder, building, number_value, string_value
from flowc.types import KEYWORDS

START_RULES = ("module", "value_only", "type_only")
MAX_NESTING = 100  # deeper brackets are an E001, so nothing downstream recurses too deep
# larger texts are an E001 up front: parsing takes about a second and 150 MB per million
# characters (a 10,000-worker pipeline is about one million)
MAX_SOURCE_CHARS = 4_000_000

OPENERS = {"LPAR": "(", "LSQB": "[", "LBRACE": "{"}
CLOSERS = {"RPAR": "(", "RSQB": "[", "RBRACE": "{"}
CLOSING_OF = {"(": ")", "[": "]", "{": "}"}
# the keywords that begin a statement
STATEMENT_KEYWORDS = KEYWORDS - {"observes", "true", "false"}


@dataclass
class ScanState:
    """What the postlexer learns while one text is parsed."""

    source: SourceFile
    comments: list[Token] = field(default_factory=list)
    open_brackets: list[Token] = field(default_factory=list)


_current_scan: ContextVar[ScanState] = ContextVar("flowc_scan_state")


@contextmanager
def scanning(source: SourceFile) -> Iterator[ScanState]:
    """Make a fresh ScanState the postlexer's state, and `source` the file of the nodes
    built, while the block parses `source`."""
    state = ScanState(source)
    reset = _current_scan.set(state)
    try:
        with building(source):
            yield state
    finally:
        _current_scan.reset(reset)


def syntax_error(
    source: SourceFile,
    start: int,
    end: int,
    message: str,
    *,
    help: str | None = None,
    opened: Token | None = None,
) -> FlowError:
    """A FlowError holding one E001 at [start, end); `opened` is a bracket it concerns, shown
    under the source and in a note."""
    labels, notes = (), ()
    if opened is not None:
        line = source.position(opened.start_pos)[0]
        span = Span(source, opened.start_pos, opened.end_pos)
        labels = (Label(span, "opened here"),)
        notes = (Note(f"`{opened.value}` opened here, at line {line}", span),)
    diagnostic = error(
        "E001", message, Span(source, start, end), help=help, labels=labels, notes=notes
    )
    return FlowError([diagnostic])


class FlowPostLexer:
    """Turns Lark's token stream into the line-based stream the grammar expects."""

    always_accept = ("_NL", "COMMENT")

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        state = _current_scan.get()
        source = state.source
        brackets = state.open_brackets
        comments = state.comments
        previous_type = "_NL"
        # where the statement is: its tokens outside brackets so far, whether it is a worker,
        # and whether the token is part of its CALLABLE (after `KIND NAME =`, before `(`),
        # whose module and function parts are Python names, so keywords are fine there
        outside = 0
        is_worker = in_callable = False
        for token in stream:
            kind = token.type
            if kind == "COMMENT":
                comments.append(token)
                continue
            if not brackets:
                outside += 1
                if outside == 1:
                    is_worker = token.value in WORKER_KINDS and kind != "NAME"
                in_callable = is_worker and outside > 3 and (in_callable or outside == 4)
            if kind == "_NL":
                outside = 0
                if brackets or previous_type == "_NL":
                    continue
            elif kind == "NAME":
                if token.value in KEYWORDS and not in_callable:
                    if (
                        brackets
                        and token.value in STATEMENT_KEYWORDS
                        and starts_line(source.text, token.start_pos)
                    ):
                        raise unclosed_error(source, brackets[-1], token)
                    raise _keyword_error(source, token, brackets)
            elif kind in OPENERS:
                in_callable = False
                if len(brackets) >= MAX_NESTING:
                    raise syntax_error(
                        source,
                        token.start_pos,
                        token.end_pos,
                        f"brackets are nested more than {MAX_NESTING} deep",
                        help="flatten the value; no flow construct needs this much nesting",
                    )
                brackets.append(token)
            elif kind in CLOSERS:
                _check_closing(source, token, brackets)
                brackets.pop()
            elif kind == "NUMBER":
                if number_value(token.value) is None:
                    raise syntax_error(
                        source,
                        token.start_pos,
                        token.end_pos,
                        f"`{token.value}` is not a valid number",
                        help="write numbers as in Python: `3`, `-1`, `0.25`, `1e-6`, `0x1F`",
                    )
            elif kind == "STRING":
                decoded = string_value(token.value)
                if isinstance(decoded, int):
                    at = token.start_pos + 1 + decoded
                    raise syntax_error(
                        source,
                        at - 1,
                        at + 1,
                        f"unknown escape `{token.value[decoded : decoded + 2]}` in a string",
                        help='the escapes are \\" \\\\ \\n and \\t; write a backslash as \\\\',
                    )
            previous_type = kind
            yield token
        if brackets:
            raise unclosed_error(source, brackets[-1], None)
        if previous_type != "_NL":
            end = len(source.text)
            line, column = source.position(end)
            yield Token("_NL", "", end, line, column, line, column, end)


def starts_line(text: str, pos: int) -> bool:
    """True when only blanks stand between the start of the line and `pos`."""
    line_start = text.rfind("\n", 0, pos) + 1
    return not text[line_start:pos].strip(" \t\f\r\ufeff")


def unclosed_error(source: SourceFile, bracket: Token, found_token: Token | None) -> FlowError:
    """E001 for `bracket` still open at `found_token` (a statement keyword) or, if None, at
    the end of the text."""
    line = source.position(bracket.start_pos)[0]
    if found_token is None:
        found, start, end = "the end of the input", len(source.text), len(source.text)
    else:
        found, start, end = "the next statement", found_token.start_pos, found_token.end_pos
    return syntax_error(
        source,
        start,
        end,
        f"unclosed `{bracket.value}` opened at line {line}: found {found} before its "
        f"`{CLOSING_OF[bracket.value]}`",
        help=f"close it with `{CLOSING_OF[bracket.value]}`",
        opened=bracket,
    )


def _check_closing(source: SourceFile, token: Token, brackets: list[Token]) -> None:
    if not brackets:
        raise syntax_error(
            source,
            token.start_pos,
            token.end_pos,
            f"`{token.value}` has no matching opening bracket",
            help="remove it, or add the opening bracket it closes",
        )
    opener = brackets[-1]
    if CLOSERS[token.type] != opener.value:
        line = source.position(opener.start_pos)[0]
        raise syntax_error(
            source,
            token.start_pos,
            token.end_pos,
            f"`{token.value}` does not close `{opener.value}` opened at line {line}",
            help=f"close `{opener.value}` with `{CLOSING_OF[opener.value]}` first",
            opened=opener,
        )


def _keyword_error(source: SourceFile, token: Token, brackets: list[Token]) -> FlowError:
    if brackets and brackets[-1].value == "{":
        help = (
            f'to name a field or a mapping\'s key `{token.value}`, quote it: `"{token.value}": ...`'
        )
    else:
        help = f"choose another name, e.g. `{token.value}_`"
    return syntax_error(
        source,
        token.start_pos,
        token.end_pos,
        f"`{token.value}` is a keyword and cannot be used as a name",
        help=help,
    )


def grammar_text() -> str:
    return (importlib.resources.files("flowc.grammar") / "flow.lark").read_text("utf-8")


@cache
def flow_parser() -> Lark:
    """The Lark LALR parser of flow.lark (built once per process); it returns ast nodes.

    The AST is built inline (`transformer=`), keeping every token so that spans can be taken
    from them; that is more than twice as fast as building Lark's tree with positions and
    transforming it. `strict=True` (with the `interegular` package) makes Lark refuse
    grammar conflicts and colliding terminals instead of resolving them silently.
    """
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        start=list(START_RULES),
        postlex=FlowPostLexer(),
        transformer=AstBuilder(),
        keep_all_tokens=True,
        maybe_placeholders=False,
        strict=True,
    )
