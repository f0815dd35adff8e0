"""`--params FILE.toml`: a parameters file in the manner of KM3Pipe's `pipeline.toml`.

Top-level keys set consts (as `--set` does); a table named after a worker sets that worker's
arguments. `tomllib` reads the values but gives no positions, so `read_params` finds each key's
line and column itself by scanning the text (keys, `[table]` headers, and where each value
ends, skipping strings, arrays and inline tables), so that every diagnostic about the file
points into it. Which key is a const and which table a worker is decided by the checker.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field

from flowc.diagnostics import FlowError, error, read_utf8_source
from flowc.source import SourceFile, Span


@dataclass(frozen=True)
class ParamEntry:
    """One top-level key of the file, or one key of a top-level table.

    `span` covers `key = value` (for a `[table]`, its header line), `key_span` the key (for a
    dotted key, its last part), `value_span` the value (for a table, its header's name).
    """

    key: str
    value: object
    span: Span
    key_span: Span
    value_span: Span
    is_table: bool = False
    entries: tuple[ParamEntry, ...] = ()


@dataclass(frozen=True)
class ParamsFile:
    source: SourceFile
    entries: tuple[ParamEntry, ...] = field(default=())


def read_params(path) -> ParamsFile:
    """The entries of a TOML parameters file; FlowError (E001) for bad TOML, OSError when the
    file cannot be read."""
    source = read_utf8_source(path, what="the parameters file", hint="TOML files are UTF-8")
    return parse_params(source)


def parse_params(source: SourceFile) -> ParamsFile:
    """The entries of TOML text, each with its spans in `source`."""
    try:
        document = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as exc:
        raise FlowError([_syntax_error(source, exc)]) from None
    places = _Scanner(source.text).places()
    fallback = source.span(0, 0)
    entries = []
    for key, value in document.items():
        place = places.get((key,))
        if place is None:  # the key only appears inside another's dotted key or inline table
            span = key_span = value_span = fallback
        else:
            span, key_span, value_span = (source.span(*r) for r in place.ranges())
        table = isinstance(value, dict) and place is not None and place.is_table
        inner = ()
        if isinstance(value, dict):
            inner = tuple(
                _entry(source, places.get((key, inner_key)), inner_key, inner_value, span)
                for inner_key, inner_value in value.items()
            )
        entries.append(
            ParamEntry(key, value, span, key_span, value_span, is_table=table, entries=inner)
        )
    return ParamsFile(source, tuple(entries))


def _entry(source: SourceFile, place, key: str, value: object, around: Span) -> ParamEntry:
    if place is None:
        return ParamEntry(key, value, around, around, around)
    span, key_span, value_span = (source.span(*r) for r in place.ranges())
    return ParamEntry(key, value, span, key_span, value_span, is_table=place.is_table)


_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_AT_END = re.compile(r"\s*\(at end of document\)\s*$")


def _syntax_error(source: SourceFile, exc: tomllib.TOMLDecodeError):
    """E001 at the line and column tomllib names in its message."""
    message = str(exc)
    match = _POSITION.search(message)
    if match is not None:
        line, column = int(match.group(1)), int(match.group(2))
        starts = [0] + [i + 1 for i, c in enumerate(source.text) if c == "\n"]
        start = min(starts[min(line, len(starts)) - 1] + column - 1, len(source.text))
        message = message[: match.start()]
    else:
        start = len(source.text)
        message = _AT_END.sub("", message)
    end = start if source.text[start : start + 1] in ("", "\n") else start + 1
    return error(
        "E001",
        f"TOML syntax error in the parameters file: {message[:1].lower()}{message[1:]}",
        source.span(start, end),
        help="a parameters file is TOML: `NAME = value` lines set consts, and a `[worker]` "
        "table sets that worker's arguments",
    )


# --- where keys are written ------------------------------------------------------------------


@dataclass
class _Place:
    """Offsets of a key in the text: the whole `key = value` (or header), the key, the value."""

    start: int
    key_start: int
    key_end: int
    value_start: int
    value_end: int
    end: int
    is_table: bool = False

    def ranges(self):
        return (
            (self.start, self.end),
            (self.key_start, self.key_end),
            (self.value_start, self.value_end),
        )


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_BLANKS = " \t"


class _Scanner:
    """Finds where keys and table headers are written in TOML text that tomllib accepted.

    Only what flowc points at is located: top-level keys, table headers and the keys directly
    in a table; a value is skipped over (strings, arrays, inline tables) to find its end.
    """

    def __init__(self, text: str):
        self.text = text
        self.at = 0

    def places(self) -> dict[tuple[str, ...], _Place]:
        found: dict[tuple[str, ...], _Place] = {}
        table: tuple[str, ...] = ()
        text = self.text
        while self.at < len(text):
            self.skip_blanks("\r\n" + _BLANKS)
            if self.at >= len(text):
                break
            char = text[self.at]
            if char == "#":
                self.skip_comment()
                continue
            start = self.at
            if char == "[":
                double = text.startswith("[[", self.at)
                self.at += 2 if double else 1
                parts = self.key_path()
                self.at += 2 if double else 1
                table = tuple(p for p, _, _ in parts)
                first = parts[0]
                for size in range(1, len(parts) + 1):  # `[w.sub]` also locates table `w`
                    key = parts[size - 1]
                    place = _Place(start, key[1], key[2], first[1], key[2], self.at, True)
                    found.setdefault(table[:size], place)
                self.skip_comment()
                continue
            parts = self.key_path()
            self.skip_blanks(_BLANKS)
            self.at += 1  # `=`
            self.skip_blanks(_BLANKS)
            value_start = self.at
            self.skip_value()
            path = table + tuple(p for p, _, _ in parts)
            last = parts[-1]
            end = self.at
            found.setdefault(path, _Place(start, last[1], last[2], value_start, end, end))
            for size in range(1, len(parts)):  # `w.threshold = 1` also locates table `w`
                part = parts[size - 1]
                place = _Place(start, part[1], part[2], value_start, end, end)
                found.setdefault(table + tuple(p for p, _, _ in parts[:size]), place)
            self.skip_comment()
        return found

    def skip_blanks(self, blanks: str) -> None:
        while self.at < len(self.text) and self.text[self.at] in blanks:
            self.at += 1

    def skip_comment(self) -> None:
        """To the end of the line (a comment, or what is left of a header line)."""
        end = self.text.find("\n", self.at)
        self.at = len(self.text) if end < 0 else end + 1

    def key_path(self) -> list[tuple[str, int, int]]:
        """A dotted key: (text, start, end) of each part; stops before `=` or `]`."""
        parts = []
        while True:
            self.skip_blanks(_BLANKS)
            start = self.at
            char = self.text[self.at]
            if char in "\"'":
                end = self.string_end(self.at)
                raw = self.text[start:end]
                key = tomllib.loads(f"k = {raw}")["k"]
                self.at = end
            else:
                match = _BARE_KEY.match(self.text, self.at)
                key = match.group()
                self.at = match.end()
            parts.append((key, start, self.at))
            self.skip_blanks(_BLANKS)
            if self.at < len(self.text) and self.text[self.at] == ".":
                self.at += 1
                continue
            return parts

    def string_end(self, at: int) -> int:
        """The offset after the string starting at `at` (basic, literal or multi-line)."""
        text = self.text
        quote = text[at]
        if text.startswith(quote * 3, at):
            end = text.find(quote * 3, at + 3)
            while quote == '"' and _escaped(text, end):
                end = text.find(quote * 3, end + 1)
            end += 3
            while end < len(text) and text[end] == quote:  # up to two quotes end the body
                end += 1
            return end
        end = at + 1
        while text[end] != quote:
            end += 2 if quote == '"' and text[end] == "\\" else 1
        return end + 1

    def skip_value(self) -> None:
        """Past one value: a string, an array or inline table (nested), or a plain word."""
        text = self.text
        depth = 0
        while self.at < len(text):
            char = text[self.at]
            if char in "\"'":
                self.at = self.string_end(self.at)
            elif char in "[{":
                depth += 1
                self.at += 1
            elif char in "]}":
                depth -= 1
                self.at += 1
            elif char == "#" and depth:
                self.skip_comment()
            elif char in "#\r\n" and not depth:
                break
            else:
                self.at += 1
        while self.at > 0 and text[self.at - 1] in _BLANKS:
            self.at -= 1


def _escaped(text: str, at: int) -> bool:
    """Whether the character at `at` follows an odd number of backslashes."""
    count = 0
    while at - count - 1 >= 0 and text[at - count - 1] == "\\":
        count += 1
    return count % 2 == 1
