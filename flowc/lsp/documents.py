"""The open documents: their text as the client edits it, and their latest analysis.

The server keeps the text itself (rather than in pygls' workspace), applying each change with
LSP's own rules for lines and code units (see `positions`).
"""

from __future__ import annotations

from lsprotocol import types
from pygls.uris import to_fs_path

from flowc.lsp.analysis import Analysis
from flowc.lsp.lexer import statement_end, statement_start
from flowc.lsp.positions import LineIndex, apply_change
from flowc.sema.model import Model


class Document:
    def __init__(self, uri: str, text: str, version: int | None, encoding: str):
        self.uri = uri
        path = to_fs_path(uri) if uri.startswith("file:") else None
        self.path = path
        self.encoding = encoding
        self.version = version
        self.text = text
        self.index = LineIndex(text, encoding)
        self.analysis: Analysis | None = None
        self.last_model: Model | None = None  # of the latest version that parsed

    def change(self, version: int | None, changes) -> None:
        for change in changes:
            self.text = apply_change(self.text, self.index, change)
            self.index = LineIndex(self.text, self.encoding)
        self.version = version

    def current(self) -> Analysis:
        """The analysis of the text as it is now (computed when the text changed since)."""
        if self.analysis is None or self.analysis.text is not self.text:
            self.analysis = Analysis(self.text, self.path, self.version)
        return self.analysis

    def model(self, offset: int) -> Model | None:
        """The current model; while the text does not parse, the last one that did, or (for a
        document that never parsed) the model of the text without the statement at
        `offset`, the one being typed."""
        model = self.current().model
        if model is not None:
            self.last_model = model
            return model
        if self.last_model is None:
            start = statement_start(self.text, offset)
            end = statement_end(self.text, start)
            rest = Analysis(self.text[:start] + self.text[end:], self.path, None)
            self.last_model = rest.model
        return self.last_model

    def offset(self, position: types.Position) -> int:
        return self.index.offset(position)

    def range(self, start: int, end: int) -> types.Range:
        return self.index.range(start, end)
