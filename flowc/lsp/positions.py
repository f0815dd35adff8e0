"""Positions as LSP counts them: lines and code units (UTF-16 by default) <-> character offsets.

flowc's spans are offsets into the text in characters (code points). An LSP client counts a
position's `character` in the code units of the negotiated encoding (UTF-16 unless the client
offers another), and breaks lines at `\\n`, `\\r\\n` and `\\r` only — not at the other line
separators `str.splitlines` knows (form feed, U+2028...), which may stand in comments.
"""

from __future__ import annotations

import bisect
import re

from lsprotocol import types

_LINE_BREAK = re.compile(r"\r\n|\n|\r")


def _units_utf16(text: str) -> int:
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def _units_utf8(text: str) -> int:
    return len(text.encode("utf-8", errors="surrogatepass"))


def _units_utf32(text: str) -> int:
    return len(text)


_COUNTERS = {
    types.PositionEncodingKind.Utf16: _units_utf16,
    types.PositionEncodingKind.Utf8: _units_utf8,
    types.PositionEncodingKind.Utf32: _units_utf32,
}


class LineIndex:
    """Converts between character offsets of one text and LSP positions in `encoding`."""

    def __init__(self, text: str, encoding: str = types.PositionEncodingKind.Utf16):
        self.text = text
        self.units = _COUNTERS.get(encoding, _units_utf16)
        self.ascii = text.isascii()
        starts = [0]
        ends = []
        for match in _LINE_BREAK.finditer(text):
            ends.append(match.start())
            starts.append(match.end())
        ends.append(len(text))
        self.starts = starts
        self.ends = ends  # where each line's content ends (before its line break)

    @property
    def line_count(self) -> int:
        return len(self.starts)

    def line_of(self, offset: int) -> int:
        """The 0-based line holding a character offset."""
        return bisect.bisect_right(self.starts, offset) - 1

    def position(self, offset: int) -> types.Position:
        """The LSP position of a character offset (clamped to the text)."""
        offset = max(0, min(offset, len(self.text)))
        line = self.line_of(offset)
        start = self.starts[line]
        offset = min(offset, self.ends[line])  # not inside a `\r\n`
        column = offset - start if self.ascii else self.units(self.text[start:offset])
        return types.Position(line=line, character=column)

    def range(self, start: int, end: int) -> types.Range:
        return types.Range(start=self.position(start), end=self.position(end))

    def offset(self, position: types.Position) -> int:
        """The character offset of an LSP position; a column past the line's end clamps to it."""
        if position.line < 0:
            return 0
        if position.line >= len(self.starts):
            return len(self.text)
        start, end = self.starts[position.line], self.ends[position.line]
        wanted = max(0, position.character)
        if self.ascii:
            return min(start + wanted, end)
        counted = 0
        for i in range(start, end):
            if counted >= wanted:
                return i
            counted += self.units(self.text[i])
        return end


def apply_change(text: str, index: LineIndex, change) -> str:
    """The text after one `didChange` content change (a range edit, or the whole text)."""
    if isinstance(change, types.TextDocumentContentChangePartial):
        start = index.offset(change.range.start)
        end = index.offset(change.range.end)
        return text[:start] + change.text + text[max(start, end) :]
    return change.text
