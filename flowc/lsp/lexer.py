"""A forgiving tokenizer of flow text for the editor: it never fails, so completion and
semantic colouring work on a line that is still being typed (an unclosed string or bracket, a
stray character), where the real parser stops at the first syntax error.

It also finds where the statement around a position starts: statements end at a newline,
except inside (...), [...] and {...}.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flowc.types import DTYPE_CODES

WORKER_KINDS = ("importer", "processor", "filter", "exporter", "observer")
STATEMENT_KEYWORDS = ("pipeline", "const", "type", "buffer", *WORKER_KINDS)

_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\[^\n])*(?:"|(?=\n)|\Z))
  | (?P<key>[A-Za-z_][A-Za-z0-9_]*(?=[ \t\f\r]*=(?!=)))
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[+-]?\.?[0-9](?:[eE][+-]|[0-9A-Za-z_.])*)
  | (?P<arrow>->)
  | (?P<newline>\n)
  | (?P<punct>[()\[\]{},=:.])
  | (?P<space>[ \t\f\r\ufeff]+)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_OPENERS = "([{"
_CLOSERS = ")]}"
_STATEMENT_LINE = re.compile(
    r"^[ \t\f\ufeff]*(?:" + "|".join(STATEMENT_KEYWORDS) + r")\b", re.MULTILINE
)

# a line declaring a name: group 1 the keyword, group 2 the name; the match runs to the line's end
DECLARATION_LINE = re.compile(
    r"^[ \t\f\ufeff]*(const|type|buffer|importer|processor|filter|exporter|observer)[ \t]+"
    r"([A-Za-z_][A-Za-z0-9_]*)[^\n]*",
    re.MULTILINE,
)


def declared_names(text: str) -> dict[str, str]:
    """Every name declared in the text (a line starting with a keyword) -> what it declares:
    `const`, `type`, `buffer` or `worker`. Works on text that does not parse."""
    found: dict[str, str] = {}
    for match in DECLARATION_LINE.finditer(text):
        kind = match.group(1)
        found.setdefault(match.group(2), "worker" if kind in WORKER_KINDS else kind)
    return found


_STRING_DTYPE = re.compile(r"[SU][1-9][0-9]*")


def is_dtype(word: str) -> bool:
    """A dtype code as a type: `f4`, `float32`, or a fixed-length string `S16` / `U8`."""
    return word in DTYPE_CODES or _STRING_DTYPE.fullmatch(word) is not None


@dataclass(frozen=True)
class Token:
    kind: str  # comment string key name number arrow newline punct other
    text: str
    start: int
    end: int
    depth: int  # brackets open before it


def tokens(text: str, start: int = 0, end: int | None = None) -> list[Token]:
    """The tokens of text[start:end] (spaces dropped), with their bracket depth."""
    end = len(text) if end is None else end
    found = []
    depth = 0
    for match in _TOKEN.finditer(text, start, end):
        kind = match.lastgroup
        if kind == "space":
            continue
        value = match.group()
        if kind == "punct" and value in _CLOSERS:
            depth = max(0, depth - 1)
        found.append(Token(kind, value, match.start(), match.end(), depth))
        if kind == "punct" and value in _OPENERS:
            depth += 1
    return found


def statement_start(text: str, offset: int) -> int:
    """Where the statement holding `offset` starts: the nearest line above that begins with
    a statement keyword, unless a bracket opened there is closed before the cursor's line."""
    line_start = text.rfind("\n", 0, offset) + 1
    anchor = None
    for match in _STATEMENT_LINE.finditer(text, 0, line_start):
        anchor = match.start()
    if anchor is None:
        return line_start
    depth = 0
    for token in tokens(text, anchor, line_start):
        if token.kind == "punct" and token.text in _OPENERS:
            depth += 1
        elif token.kind == "punct" and token.text in _CLOSERS:
            depth = max(0, depth - 1)
    if depth == 0:
        return line_start
    # inside brackets opened above: back to the statement line that opened them
    last = anchor
    for token in tokens(text, anchor, line_start):
        if token.kind == "newline" and token.depth == 0:
            last = token.end
    return last


def statement_end(text: str, start: int) -> int:
    """Where the statement starting at `start` ends (its closing newline, or the end)."""
    for token in tokens(text, start):
        if token.kind == "newline" and token.depth == 0:
            return token.start
    return len(text)
