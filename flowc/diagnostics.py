"""Diagnostics: what the compiler tells a user, with codes, spans, notes and help.

Every problem flowc finds in a `.flow` file becomes a `Diagnostic`. They are frozen and
picklable, so they travel between processes; `FlowError` carries a list of them. This module
also renders them: as text with the source line and a caret under the span (rustc style), and
as the JSON document of SPEC section 5.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from flowc.source import Span


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"

    def __str__(self) -> str:
        return self.value


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


class FlowError(Exception):
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
        text = d.span.file.line_text(line).expandtabs(4)
        out.append(f"{paint('blue', str(line).rjust(width) + ' |')} {text}")
        for span, message, mark, style in same_file:
            if span.line != line:
                continue
            start_col, length = _caret_range(span, line)
            marks = " " * (start_col - 1) + mark * length
            suffix = f" {message}" if message else ""
            out.append(f"{pad} {paint('blue', '|')} {paint(style, marks + suffix)}")
    for span, message, _, _ in spans:
        if span.file is not d.span.file:
            out.append(f"{pad} {paint('blue', '=')} {message} at {span.filename}:{span.line}:{span.column}")
    for note in d.notes:
        where = f" (at {note.span.filename}:{note.span.line}:{note.span.column})" if note.span else ""
        out.append(f"{pad} {paint('blue', '=')} {paint('note', 'note')}: {note.message}{where}")
    if d.help:
        out.append(f"{pad} {paint('blue', '=')} {paint('help', 'help')}: {d.help}")
    return "\n".join(out) + "\n"


def _caret_range(span: Span, line: int) -> tuple[int, int]:
    """Display column (tabs expanded) and width of the part of `span` on `line`."""
    raw = span.file.line_text(line)
    start = span.column - 1
    end = span.end_column - 1 if span.end_line == line else len(raw)
    if end <= start:
        end = start + 1
    start_disp = len(raw[:start].expandtabs(4))
    end_disp = len(raw[:end].expandtabs(4))
    return start_disp + 1, max(1, end_disp - start_disp)


def to_json(diagnostics: Iterable[Diagnostic]) -> str:
    """The `--format json` document of SPEC section 5."""
    diagnostics = list(diagnostics)
    doc = {"ok": not has_errors(diagnostics), "diagnostics": [d.to_dict() for d in diagnostics]}
    return json.dumps(doc, indent=2)
