"""Source text and spans: where every diagnostic and plan element comes from.

Spans are character offsets into a `SourceFile`; lines and columns (1-based, counting
characters) are computed only when something is shown to a user.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True)
class SourceFile:
    """A named piece of flow text (a file, `<string>`, or `<command line>`)."""

    name: str
    text: str = field(repr=False)

    @cached_property
    def _line_starts(self) -> list[int]:
        starts = [0]
        text = self.text
        i = 0
        while True:
            j = text.find("\n", i)
            if j < 0:
                return starts
            starts.append(j + 1)
            i = j + 1

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset; offsets past the end clamp to it."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its line ending."""
        starts = self._line_starts
        if not 1 <= line <= len(starts):
            return ""
        start = starts[line - 1]
        end = starts[line] if line < len(starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def span(self, start: int, end: int) -> Span:
        return Span(self, start, end)

    def __reduce__(self):
        return (SourceFile, (self.name, self.text))


@dataclass(frozen=True)
class Span:
    """A half-open range of character offsets [start, end) in a source file."""

    file: SourceFile = field(compare=False, repr=False)
    start: int
    end: int

    @property
    def filename(self) -> str:
        return self.file.name

    @property
    def line(self) -> int:
        return self.file.position(self.start)[0]

    @property
    def column(self) -> int:
        return self.file.position(self.start)[1]

    @property
    def end_line(self) -> int:
        return self.file.position(self.end)[0]

    @property
    def end_column(self) -> int:
        return self.file.position(self.end)[1]

    @property
    def text(self) -> str:
        return self.file.text[self.start : self.end]

    def to(self, other: Span) -> Span:
        """The span from the start of this one to the end of `other`."""
        return Span(self.file, min(self.start, other.start), max(self.end, other.end))

    def sort_key(self) -> tuple[str, int, int]:
        return (self.file.name, self.start, self.end)
