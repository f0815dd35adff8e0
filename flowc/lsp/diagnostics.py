"""flowc's diagnostics as LSP diagnostics, and the quick fixes their help lines suggest.

A diagnostic keeps its code, message and span; its notes and labels that point somewhere
become related information (a note without a place is added to the message, as is the help
line, since LSP has no field for either). A help line that asks "did you mean `X`?" becomes a
fix: the word of the span closest to `X` is replaced by `X`.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass

from lsprotocol import types

from flowc.diagnostics import Diagnostic
from flowc.lsp.positions import LineIndex
from flowc.source import Span

SOURCE = "flowc"
_SUGGESTION = re.compile(r"did you mean `([^`]+)`\?")
# candidate words of a span: dotted names (`stdlib.filter.select`) and quoted strings
_WORD = re.compile(r'"((?:[^"\\\n]|\\.)*)"|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*')
_CUTOFF = 0.6  # as close as flowc's own `did_you_mean` requires


@dataclass(frozen=True)
class Fix:
    """Replace [start, end) of the text with `text`."""

    title: str
    start: int
    end: int
    text: str


def to_lsp(diagnostic: Diagnostic, index: LineIndex, uri: str) -> types.Diagnostic:
    message = diagnostic.message
    related = []
    for label in diagnostic.labels:
        if label.message:
            related.append(_related(label.span, label.message, diagnostic, index, uri))
    for note in diagnostic.notes:
        if note.span is not None:
            related.append(_related(note.span, note.message, diagnostic, index, uri))
        else:
            message += f"\nnote: {note.message}"
    if diagnostic.help:
        message += f"\nhelp: {diagnostic.help}"
    span = diagnostic.span
    return types.Diagnostic(
        range=index.range(span.start, span.end),
        message=message,
        severity=types.DiagnosticSeverity.Error
        if diagnostic.is_error
        else types.DiagnosticSeverity.Warning,
        code=diagnostic.code,
        source=SOURCE,
        related_information=[r for r in related if r is not None] or None,
    )


def _related(span: Span, message: str, diagnostic: Diagnostic, index: LineIndex, uri: str):
    if span.file is diagnostic.span.file:
        location = types.Location(uri=uri, range=index.range(span.start, span.end))
    elif os.path.isfile(span.filename):
        other = LineIndex(span.file.text)
        location = types.Location(
            uri=_file_uri(span.filename), range=other.range(span.start, span.end)
        )
    else:
        return None
    return types.DiagnosticRelatedInformation(location=location, message=message)


def _file_uri(path: str) -> str:
    from pygls.uris import from_fs_path

    return from_fs_path(os.path.abspath(path))


def suggested_fix(diagnostic: Diagnostic) -> Fix | None:
    """The edit a "did you mean `X`?" help line asks for, or None.

    The span's words are its names, its dotted names and their dotted prefixes
    (`stdlib.filter` in `stdlib.filter.select`), and the insides of its strings; the one most
    like `X` is replaced, when it is close enough to be the typo `X` corrects.
    """
    match = _SUGGESTION.search(diagnostic.help or "")
    if match is None:
        return None
    wanted = match.group(1)
    span = diagnostic.span
    best: tuple[float, int, int, str] | None = None
    for start, end, word in _words(span.text):
        if word == wanted:
            continue
        score = difflib.SequenceMatcher(None, word, wanted).ratio()
        if score >= _CUTOFF and (best is None or score > best[0]):
            best = (score, start, end, word)
    if best is None:
        return None
    _, start, end, word = best
    return Fix(f"Replace `{word}` with `{wanted}`", span.start + start, span.start + end, wanted)


def _words(text: str):
    for match in _WORD.finditer(text):
        if match.group(1) is not None:
            yield match.start(1), match.end(1), match.group(1)
            continue
        word = match.group(0)
        start = match.start()
        position = start
        for part in word.split("."):
            yield position, position + len(part), part
            position += len(part)
            yield start, position, word[: position - start]
            position += 1
