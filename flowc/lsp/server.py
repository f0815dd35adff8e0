"""`flowc lsp`: the language server on stdio, wiring the features to pygls.

Diagnostics are published when a document opens and after each change, debounced: the first
change of a burst starts a short wait, after which the text as it is then is checked (so a
publish follows any change within the wait plus one check). Requests (hover, completion...)
always see the latest text.
"""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
from importlib import metadata

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.uris import from_fs_path

from flowc.lsp import code, completion, diagnostics, edits, hover, navigation, semantic
from flowc.lsp.documents import Document
from flowc.lsp.positions import LineIndex

DEBOUNCE = 0.015  # seconds between a change and the check of the text as it is then
GRAPH_COMMAND = "flowc.graph"


class FlowProtocol(LanguageServerProtocol):
    """Leaves the documents' text to the server (pygls' own copy splits lines differently).

    The handlers are plain functions, not generators like pygls' own: pygls 2.1 keeps the
    future of every notification whose handler is a generator, one per keystroke."""

    def _to_server(self, method: str, params) -> None:
        handler = self.fm.features.get(method)
        if handler is not None:
            handler(params)

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):
        self._to_server(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        self._to_server(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):
        self._to_server(types.TEXT_DOCUMENT_DID_CLOSE, params)


class FlowServer(LanguageServer):
    """The open documents, and the debounced publishing of their diagnostics."""

    def __init__(self):
        try:
            version = metadata.version("flowc")
        except metadata.PackageNotFoundError:
            version = "0"
        super().__init__(
            "flowc",
            version,
            protocol_cls=FlowProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.documents: dict[str, Document] = {}
        self.pending: dict[str, asyncio.Task] = {}

    @property
    def encoding(self) -> str:
        try:
            return self.workspace.position_encoding or types.PositionEncodingKind.Utf16
        except RuntimeError:  # before initialize
            return types.PositionEncodingKind.Utf16

    def document(self, uri: str) -> Document | None:
        return self.documents.get(uri)

    def publish(self, document: Document) -> None:
        try:
            analysis = document.current()
        except Exception:  # a bug of flowc's: say so in the editor's log, keep serving
            message = f"flowc: internal error checking {document.uri}:\n{traceback.format_exc()}"
            print(message, file=sys.stderr)
            self.window_log_message(
                types.LogMessageParams(type=types.MessageType.Error, message=message)
            )
            return
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=document.uri,
                version=analysis.version,
                diagnostics=[
                    diagnostics.to_lsp(d, document.index, document.uri)
                    for d in analysis.diagnostics
                ],
            )
        )

    def publish_soon(self, document: Document) -> None:
        task = self.pending.get(document.uri)
        if task is not None and not task.done():
            return  # the waiting check will see this change too
        self.pending[document.uri] = asyncio.get_running_loop().create_task(
            self._publish_after_wait(document)
        )

    async def _publish_after_wait(self, document: Document) -> None:
        await asyncio.sleep(DEBOUNCE)
        self.pending.pop(document.uri, None)
        if self.documents.get(document.uri) is document:
            self.publish(document)


server = FlowServer()


def on_document(method: str, options=None):
    """Register a request handler `handler(ls, document, params)` for an open document; a
    request about a document that is not open gets None."""

    def register(handler):
        def respond(ls: FlowServer, params):
            document = ls.document(params.text_document.uri)
            return None if document is None else handler(ls, document, params)

        respond.__name__ = handler.__name__
        server.feature(method, options)(respond)
        return handler

    return register


# --- documents -------------------------------------------------------------------------------


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: FlowServer, params: types.DidOpenTextDocumentParams):
    item = params.text_document
    document = Document(item.uri, item.text, item.version, ls.encoding)
    ls.documents[item.uri] = document
    ls.publish(document)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: FlowServer, params: types.DidChangeTextDocumentParams):
    document = ls.document(params.text_document.uri)
    if document is None:
        return
    document.change(params.text_document.version, params.content_changes)
    ls.publish_soon(document)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: FlowServer, params: types.DidCloseTextDocumentParams):
    uri = params.text_document.uri
    ls.documents.pop(uri, None)
    task = ls.pending.pop(uri, None)
    if task is not None:
        task.cancel()
    ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


# --- features --------------------------------------------------------------------------------


@on_document(types.TEXT_DOCUMENT_HOVER)
def on_hover(ls: FlowServer, document: Document, params: types.HoverParams):
    found = hover.hover(document.current(), document.offset(params.position))
    if found is None:
        return None
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=found.markdown),
        range=document.range(found.start, found.end),
    )


@on_document(types.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: FlowServer, document: Document, params: types.DefinitionParams):
    found = navigation.definition(document.current(), document.offset(params.position))
    if found is None:
        return None
    if found[0] is None:
        return types.Location(uri=document.uri, range=document.range(found[1], found[2]))
    path, line, line_text = found
    name = code.DEFINITION.match(line_text)
    columns = LineIndex(line_text, ls.encoding).range(*name.span(1)) if name else None
    start = columns.start.character if columns else 0
    end = columns.end.character if columns else 0
    return types.Location(
        uri=from_fs_path(path),
        range=types.Range(
            start=types.Position(line=line, character=start),
            end=types.Position(line=line, character=end),
        ),
    )


@on_document(types.TEXT_DOCUMENT_REFERENCES)
def on_references(ls: FlowServer, document: Document, params: types.ReferenceParams):
    found = navigation.references(
        document.current(),
        document.offset(params.position),
        params.context.include_declaration,
    )
    return [types.Location(uri=document.uri, range=document.range(o.start, o.end)) for o in found]


@on_document(types.TEXT_DOCUMENT_PREPARE_RENAME)
def on_prepare_rename(ls: FlowServer, document: Document, params: types.PrepareRenameParams):
    found = navigation.declared_occurrence(document.current(), document.offset(params.position))
    if found is None:
        return None
    return types.PrepareRenamePlaceholder(
        range=document.range(found.start, found.end), placeholder=found.name
    )


@on_document(types.TEXT_DOCUMENT_RENAME)
def on_rename(ls: FlowServer, document: Document, params: types.RenameParams):
    try:
        found = navigation.rename(
            document.current(), document.offset(params.position), params.new_name
        )
    except navigation.RenameRefused as exc:
        raise ValueError(str(exc)) from None
    changes = [
        types.TextEdit(range=document.range(o.start, o.end), new_text=params.new_name)
        for o in found
    ]
    return types.WorkspaceEdit(changes={document.uri: changes})


@on_document(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=[".", ":", "(", ",", ">", "=", '"', " "]),
)
def on_completion(ls: FlowServer, document: Document, params: types.CompletionParams):
    offset = document.offset(params.position)
    context = completion.Context(document.model(offset), document.current().base_dir)
    items = completion.complete(document.text, offset, context)
    return types.CompletionList(
        is_incomplete=False, items=completion.to_lsp(items, document.index.position)
    )


@on_document(types.TEXT_DOCUMENT_FORMATTING)
def on_formatting(ls: FlowServer, document: Document, params: types.DocumentFormattingParams):
    found = edits.formatted_edits(document.current())
    if found is None:
        ls.window_log_message(
            types.LogMessageParams(
                type=types.MessageType.Info,
                message="flowc: not formatted: the file has a syntax error",
            )
        )
        return None
    return [
        types.TextEdit(range=document.range(start, end), new_text=text)
        for start, end, text in found
    ]


@on_document(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def on_document_symbol(ls: FlowServer, document: Document, params: types.DocumentSymbolParams):
    return navigation.document_symbols(document.current(), document.range)


@on_document(
    types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
    types.SemanticTokensLegend(
        token_types=list(semantic.TOKEN_TYPES), token_modifiers=list(semantic.TOKEN_MODIFIERS)
    ),
)
def on_semantic_tokens(ls: FlowServer, document: Document, params: types.SemanticTokensParams):
    return types.SemanticTokens(data=semantic.encode(document.text, document.index))


@on_document(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
)
def on_code_action(ls: FlowServer, document: Document, params: types.CodeActionParams):
    first = document.offset(params.range.start)
    last = document.offset(params.range.end)
    actions = []
    for diagnostic in document.current().diagnostics:
        span = diagnostic.span
        if span.start > last or span.end < first:
            continue
        fix = diagnostics.suggested_fix(diagnostic)
        if fix is None:
            continue
        edit = types.TextEdit(range=document.range(fix.start, fix.end), new_text=fix.text)
        actions.append(
            types.CodeAction(
                title=fix.title,
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diagnostics.to_lsp(diagnostic, document.index, document.uri)],
                is_preferred=True,
                edit=types.WorkspaceEdit(changes={document.uri: [edit]}),
            )
        )
    return actions


@server.command(GRAPH_COMMAND)
async def graph_command(ls: FlowServer, uri: str):
    """The graph of an open document: {"svg", "dot", "message"}."""
    document = ls.document(uri)
    if document is None:
        return {"svg": None, "dot": None, "message": f"{uri} is not open"}
    return await edits.graph(document.current())


# --- start -----------------------------------------------------------------------------------


def serve() -> None:
    """Serve on stdin/stdout until the client exits.

    The protocol gets its own copy of stdout; file descriptor 1 and `sys.stdout` then point at
    stderr, so that whatever the user's worker code prints when the checker imports it cannot
    corrupt the stream.
    """
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    server.start_io(stdin=sys.stdin.buffer, stdout=protocol_out)
