"""Diagnostics: what the compiler tells a user, with codes, spans, notes and help.

Every problem flowc finds in a `.flow` file becomes a `Diagnostic`. They are frozen and
picklable, so they travel between processes; `FlowError` carries a list of them. This module
also renders them: as text with the source line and a caret under the span (rustc style), and
as the JSON document of SPEC section 5.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from flowc.errors import FlowcError
from flowc.source import SourceFile, Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Label:
    """A secondary span drawn under the source with a short message (`----- declared here`)."""

    span: Span
    message: str = ""


@dataclass(frozen=True)
class Note:
    """A note pointing at a related place (`note: `kept` is declared here`)."""

    message: str
    span: Span | None = None


@dataclass(frozen=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    span: Span
    labels: tuple[Label, ...] = ()
    notes: tuple[Note, ...] = ()
    help: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple:
        return (*self.span.sort_key(), self.code)

    def to_dict(self) -> dict:
        s = self.span
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "file": s.filename,
            "line": s.line,
            "column": s.column,
            "end_line": s.end_line,
            "end_column": s.end_column,
            "notes": [_note_dict(n) for n in self.notes],
            "help": self.help,
        }

    def render(self, *, color: bool = False) -> str:
        return render_text([self], color=color)


def error(code: str, message: str, span: Span, **kw) -> Diagnostic:
    return Diagnostic(code, Severity.ERROR, message, span, **_tuples(kw))


def warning(code: str, message: str, span: Span, **kw) -> Diagnostic:
    return Diagnostic(code, Severity.WARNING, message, span, **_tuples(kw))


UTF8_BOM = "\ufeff"


def read_utf8_source(path, *, what: str, hint: str) -> SourceFile:
    """The text of a file (a leading byte-order mark dropped); FlowError E001 at the first
    byte that is not UTF-8, saying "`what` is not UTF-8 text" with `hint` as its help."""
    name = os.fspath(path)
    with open(name, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        readable = data.decode("utf-8", errors="replace")
        source = SourceFile(name, readable.removeprefix(UTF8_BOM))
        offset = len(data[: exc.start].decode("utf-8").removeprefix(UTF8_BOM))
        message = (
            f"{what} is not UTF-8 text: byte 0x{data[exc.start]:02x} cannot start a character here"
        )
        raise FlowError(
            [error("E001", message, source.span(offset, offset + 1), help=hint)]
        ) from None
    return SourceFile(name, text.removeprefix(UTF8_BOM))


def _tuples(kw: dict) -> dict:
    for key in ("labels", "notes"):
        if key in kw:
            kw[key] = tuple(kw[key])
    return kw


def _note_dict(note: Note) -> dict:
    if note.span is None:
        return {"message": note.message, "file": None, "line": None, "column": None}
    return {
        "message": note.message,
        "file": note.span.filename,
        "line": note.span.line,
        "column": note.span.column,
    }


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=Diagnostic.sort_key)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


class FlowError(FlowcError):
    """A flow file (or its overrides) has errors. `.diagnostics` holds every one found."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__(self._summary())

    def _summary(self) -> str:
        errors = [d for d in self.diagnostics if d.is_error]
        if not errors:
            return "flow has no errors"
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return (
            f"{first.span.filename}:{first.span.line}:{first.span.column}: "
            f"error[{first.code}]: {first.message}{more}"
        )

    def __reduce__(self):
        return (FlowError, (self.diagnostics,))

    def render(self, *, color: bool = False) -> str:
        return render_text(self.diagnostics, color=color)


# ---------------------------------------------------------------------------------------------
# rendering

_COLORS = {
    "error": "\x1b[1;31m",
    "warning": "\x1b[1;33m",
    "note": "\x1b[1;36m",
    "help": "\x1b[1;32m",
    "bold": "\x1b[1m",
    "blue": "\x1b[1;34m",
    "reset": "\x1b[0m",
}


class _Paint:
    def __init__(self, color: bool):
        self.color = color

    def __call__(self, style: str, text: str) -> str:
        if not self.color or not text:
            return text
        return f"{_COLORS[style]}{text}{_COLORS['reset']}"


def render_text(diagnostics: Iterable[Diagnostic], *, color: bool = False) -> str:
    """Render diagnostics as rustc-style text blocks followed by a one-line summary."""
    paint = _Paint(color)
    diagnostics = list(diagnostics)
    blocks = [_render_one(d, paint) for d in diagnostics]
    n_err = sum(d.is_error for d in diagnostics)
    n_warn = len(diagnostics) - n_err
    if n_err or n_warn:
        parts = []
        if n_err:
            parts.append(f"{n_err} error{'s' if n_err != 1 else ''}")
        if n_warn:
            parts.append(f"{n_warn} warning{'s' if n_warn != 1 else ''}")
        style = "error" if n_err else "warning"
        blocks.append(paint(style, "found " + " and ".join(parts)) + "\n")
    return "\n".join(blocks)


def _render_one(d: Diagnostic, paint: _Paint) -> str:
    sev = d.severity.value
    out = [f"{paint(sev, f'{sev}[{d.code}]')}{paint('bold', ': ' + d.message)}"]
    spans = [(d.span, "", "^", sev)] + [(lab.span, lab.message, "-", "blue") for lab in d.labels]
    same_file = [s for s in spans if s[0].file is d.span.file]
    lines = sorted({s[0].line for s in same_file})
    width = len(str(max(lines)))
    pad = " " * width
    out.append(f"{pad}{paint('blue', '-->')} {d.span.filename}:{d.span.line}:{d.span.column}")
    out.append(f"{pad} {paint('blue', '|')}")
    prev = None
    for line in lines:
        if prev is not None and line > prev + 1:
            out.append(paint("blue", "..."))
        prev = line
        raw = d.span.file.line_text(line)
        on_line = [s for s in same_file if s[0].line == line]
        window = _window(raw, [_columns(s[0], line, raw) for s in on_line])
        out.append(f"{paint('blue', str(line).rjust(width) + ' |')} {window.text}")
        for span, message, mark, style in on_line:
            start, length = window.caret(*_columns(span, line, raw))
            marks = " " * start + mark * length
            suffix = f" {message}" if message else ""
            out.append(f"{pad} {paint('blue', '|')} {paint(style, marks + suffix)}")
    for span, message, _, _ in spans:
        if span.file is not d.span.file:
            out.append(
                f"{pad} {paint('blue', '=')} {message} at {span.filename}:{span.line}:{span.column}"
            )
    for note in d.notes:
        where = (
            f" (at {note.span.filename}:{note.span.line}:{note.span.column})" if note.span else ""
        )
        out.append(f"{pad} {paint('blue', '=')} {paint('note', 'note')}: {note.message}{where}")
    if d.help:
        out.append(f"{pad} {paint('blue', '=')} {paint('help', 'help')}: {d.help}")
    return "\n".join(out) + "\n"


def _columns(span: Span, line: int, raw: str) -> tuple[int, int]:
    """The 0-based character range of `span` on `line` (at least one character wide)."""
    start = span.column - 1
    end = span.end_column - 1 if span.end_line == line else len(raw)
    return start, max(end, start + 1)


_MAX_SHOWN = 100  # characters of a source line shown around the spans


def _shown(text: str) -> str:
    """Source text as it is safe to print: tabs as four spaces, control characters as U+FFFD."""
    return "".join(
        "    " if c == "\t" else "\ufffd" if (ord(c) < 32 or 0x7F <= ord(c) < 0xA0) else c
        for c in text
    )


@dataclass(frozen=True)
class _Window:
    """The part of a long source line that is shown, and where its carets go."""

    raw: str
    start: int
    end: int
    text: str
    prefix: int

    def caret(self, start: int, end: int) -> tuple[int, int]:
        start, end = max(start, self.start), min(end, self.end)
        offset = self.prefix + len(_shown(self.raw[self.start : start]))
        return offset, max(1, len(_shown(self.raw[start:end])))


def _window(raw: str, ranges: list[tuple[int, int]]) -> _Window:
    if len(raw) <= _MAX_SHOWN:
        return _Window(raw, 0, len(raw), _shown(raw), 0)
    first = min(r[0] for r in ranges)
    start = max(0, first - 30)
    end = min(len(raw), start + _MAX_SHOWN)
    head = "…" if start > 0 else ""
    tail = "…" if end < len(raw) else ""
    return _Window(raw, start, end, head + _shown(raw[start:end]) + tail, len(head))


def to_json(diagnostics: Iterable[Diagnostic]) -> str:
    """The `--format json` document of SPEC section 5."""
    diagnostics = list(diagnostics)
    doc = {"ok": not has_errors(diagnostics), "diagnostics": [d.to_dict() for d in diagnostics]}
    return json.dumps(doc, indent=2)
