"""Every feature answers on any text at any position, without raising: texts are the
examples with characters deleted, inserted or replaced (lines half typed, brackets and strings
left open, names misspelt), positions anywhere in them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types

from flowc.lsp import completion, edits, hover, navigation, semantic
from flowc.lsp.analysis import Analysis
from flowc.lsp.documents import Document
from flowc.lsp.positions import LineIndex

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TEXTS = [p.read_text() for p in sorted(EXAMPLES.glob("*.flow"))]
PIECES = list('(){}[],:="#->\n \t.') + ["stdlib.", "buffer", "field=", "😀", "é", "\r\n"]


@st.composite
def edited_texts(draw):
    text = draw(st.sampled_from(TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 12)))
        text = text[:start] + draw(st.sampled_from(["", *PIECES])) + text[end:]
    return text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=edited_texts(), where=st.floats(0, 1))
def test_every_feature_answers_on_an_edited_example(text, where):
    offset = int(where * len(text))
    path = str(EXAMPLES / "edited.flow")
    analysis = Analysis(text, path, 1)
    index = LineIndex(text)
    assert index.offset(index.position(offset)) == offset or text[offset - 1 : offset] == "\r"
    for diagnostic in analysis.diagnostics:
        assert 0 <= diagnostic.span.start <= diagnostic.span.end <= len(text)
    hover.hover(analysis, offset)
    navigation.definition(analysis, offset)
    navigation.references(analysis, offset, True)
    navigation.document_symbols(analysis, index.range)
    document = Document((EXAMPLES / "edited.flow").as_uri(), text, 1, "utf-16")
    items = completion.complete(
        text, offset, completion.Context(document.model(offset), str(EXAMPLES))
    )
    for item in completion.to_lsp(items, index.position):
        assert item.text_edit.range.start.line == index.position(offset).line
    data = semantic.encode(text, index)
    assert len(data) % 5 == 0 and all(n >= 0 for n in data)
    edits.formatted_edits(analysis)


def test_a_rename_to_a_keyword_is_refused_not_raised():
    text = TEXTS[0]
    analysis = Analysis(text, str(EXAMPLES / "x.flow"), 1)
    declared = next(o for o in analysis.occurrences if o.declaration)
    try:
        navigation.rename(analysis, declared.start, "buffer")
    except navigation.RenameRefused as refused:
        assert "not a name" in str(refused)
    else:
        raise AssertionError("renaming to a keyword must be refused")
    assert types.Position(line=0, character=0) == LineIndex("").position(0)


def test_the_graph_without_graphviz_is_dot_text_with_a_message(monkeypatch):
    monkeypatch.setattr(edits.shutil, "which", lambda name: None)
    analysis = Analysis(TEXTS[0], str(EXAMPLES / "x.flow"), 1)
    found = asyncio.run(edits.graph(analysis))
    assert found["svg"] is None
    assert found["dot"].startswith("digraph")
    assert "install Graphviz" in found["message"]


def test_every_option_of_the_language_has_a_hover_text():
    from flowc.sema.resolve import BUFFER_OPTIONS, WORKER_OPTIONS

    assert set(hover.OPTIONS) == {*BUFFER_OPTIONS, *WORKER_OPTIONS}


def test_notifications_leave_nothing_behind_in_the_protocol():
    """pygls 2.1 keeps the future of each notification handled by a generator; the server's
    handlers are plain functions, so edits do not pile up (the memory of a long session)."""
    from flowc.lsp.server import server

    protocol = server.protocol
    uri = "file:///nowhere/leak.flow"

    def send(method, params, msg_id=None):
        message = {"jsonrpc": "2.0", "method": method, "params": params}
        if msg_id is not None:
            message["id"] = msg_id
        protocol.handle_message(
            json.loads(json.dumps(message), object_hook=protocol.structure_message)
        )

    def edit(version):
        change = {"text": f"buffer b{version} : f4 slots=2\n"}
        send(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
        )

    async def session():
        send("initialize", {"processId": None, "rootUri": None, "capabilities": {}}, msg_id=1)
        send("initialized", {})
        item = {"uri": uri, "languageId": "flow", "version": 1, "text": "buffer b : f4 slots=2\n"}
        send("textDocument/didOpen", {"textDocument": item})
        for version in range(2, 6):
            edit(version)
        await asyncio.sleep(0.05)
        before = len(protocol._request_futures)
        for version in range(6, 60):
            edit(version)
        await asyncio.sleep(0.05)
        return before, len(protocol._request_futures)

    before, after = asyncio.run(session())
    assert after == before
    assert server.documents[uri].text == "buffer b59 : f4 slots=2\n"
