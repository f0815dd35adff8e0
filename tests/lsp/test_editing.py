"""Formatting (the text of `flowc fmt`), semantic tokens, quick fixes and the graph command,
over a real client."""

from __future__ import annotations

import shutil

import pytest
from conftest import EXAMPLES, PULSES, PULSES_TEXT, open_document, range_text
from lsprotocol import types
from test_navigation import apply_edits
from test_unicode import decode

from flowc.source import SourceFile
from flowc.syntax import format_source

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.flow")), ids=lambda p: p.name)
async def test_formatting_gives_the_text_of_flowc_fmt(client, path):
    messy = "".join(mess(line) for line in path.read_text().splitlines(keepends=True))
    document = open_document(client, EXAMPLES / f"messy-{path.name}", messy)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=document.id,
            options=types.FormattingOptions(tab_size=4, insert_spaces=True),
        )
    )
    fmt = format_source(SourceFile(str(path), messy))  # what `flowc fmt` prints for it
    assert fmt != messy and edits
    assert apply_edits(messy, edits) == fmt


def mess(line: str) -> str:
    """The line with spaces changed in its code (before any comment), which fmt undoes."""
    code, hash_, comment = line.partition("#")
    if '"' in code:
        return line
    return code.replace(" = ", "   =   ").replace(", ", ",").replace(" -> ", "->") + hash_ + comment


async def test_formatting_a_text_that_does_not_parse_changes_nothing(client):
    document = open_document(client, EXAMPLES / "unformattable.flow", "buffer x : \n")
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=document.id,
            options=types.FormattingOptions(tab_size=4, insert_spaces=True),
        )
    )
    assert not edits


async def test_semantic_tokens_classify_the_words_of_an_example(client):
    document = open_document(client, PULSES)
    legend = client.initialize_result.capabilities.semantic_tokens_provider.legend
    assert "variable" in legend.token_types and "declaration" in legend.token_modifiers
    tokens = await client.text_document_semantic_tokens_full_async(
        types.SemanticTokensParams(text_document=document.id)
    )
    lines = document.text.splitlines()
    found = {}
    for line, start, length, kind in decode(tokens.data):
        found.setdefault((line, lines[line][start : start + length]), kind)
    worker_line = next(i for i, text in enumerate(lines) if text.startswith("filter"))
    assert found[(worker_line, "filter")] == "keyword"
    assert found[(worker_line, "cut")] == "function"
    assert found[(worker_line, "stdlib")] == "namespace"
    assert found[(worker_line, "select")] == "function"
    assert found[(worker_line, "field")] == "parameter"
    assert found[(worker_line, '"height"')] == "string"
    assert found[(worker_line, "0.3")] == "number"
    assert found[(worker_line, "pulses")] == "variable"
    assert found[(worker_line, "->")] == "operator"
    type_line = next(i for i, text in enumerate(lines) if text.startswith("type Pulse"))
    assert found[(type_line, "Pulse")] == "type"
    assert found[(type_line, "height")] == "property"
    assert found[(type_line, "f8")] == "type"


async def test_semantic_tokens_of_a_half_typed_line(client):
    text = PULSES_TEXT + 'filter half = stdlib.filters.select(field="hei'
    document = open_document(client, EXAMPLES / "half-tokens.flow", text)
    tokens = await client.text_document_semantic_tokens_full_async(
        types.SemanticTokensParams(text_document=document.id)
    )
    last = len(text.splitlines()) - 1
    kinds = [kind for line, _, _, kind in decode(tokens.data) if line == last]
    assert kinds == [
        "keyword",
        "function",
        "namespace",
        "namespace",
        "function",
        "parameter",
        "string",
    ]


@pytest.mark.parametrize(
    "old,new,wrong,right",
    [
        ("-> pulses   processes", "-> pulsse   processes", "pulsse", "pulses"),
        ("processes=2", "procs=2", "procs", "processes"),
        ('field="height", min', 'field="heigth", min', "heigth", "height"),
        ("stdlib.filters.select", "stdlib.filter.select", "stdlib.filter", "stdlib.filters"),
        ("overflow=drop", "overflow=dorp", "dorp", "drop"),
        ("buffer kept   : Pulse", "buffer kept   : Pulze", "Pulze", "Pulse"),
        ("n=N,", "n=NN,", "NN", "N"),
    ],
)
async def test_a_quick_fix_applies_the_suggestion(client, old, new, wrong, right, tmp_path):
    text = PULSES_TEXT.replace(old, new, 1)
    document = open_document(client, EXAMPLES / f"fix-{wrong}.flow", text)
    published = await document.diagnostics()
    target = next(d for d in published if f"did you mean `{right}`" in d.message)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=document.id,
            range=target.range,
            context=types.CodeActionContext(diagnostics=[target]),
        )
    )
    (action,) = actions
    assert action.kind == types.CodeActionKind.QuickFix
    assert action.title == f"Replace `{wrong}` with `{right}`"
    assert action.diagnostics[0].code == target.code
    (edit,) = action.edit.changes[document.uri]
    assert range_text(text, edit.range) == wrong
    fixed = apply_edits(text, [edit])
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=document.uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=fixed)],
        )
    )
    document.text, document.version = fixed, 2
    assert list(await document.diagnostics()) == []


async def test_no_quick_fix_without_a_suggestion(client):
    text = PULSES_TEXT + "buffer spare : Pulse slots=4\n"
    document = open_document(client, EXAMPLES / "nofix.flow", text)
    (unused,) = await document.diagnostics()
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=document.id,
            range=unused.range,
            context=types.CodeActionContext(diagnostics=[unused]),
        )
    )
    assert not actions


async def graph(client, document):
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="flowc.graph", arguments=[document.uri])
    )


async def test_the_graph_command_returns_svg(client):
    document = open_document(client, PULSES)
    found = await graph(client, document)
    assert "digraph" in found["dot"] and "finder" in found["dot"]
    if shutil.which("dot") is None:
        assert found["svg"] is None and "Graphviz" in found["message"]
    else:
        assert found["svg"].lstrip().startswith("<?xml") and "<svg" in found["svg"]
        assert "finder" in found["svg"] and found["message"] is None


async def test_the_graph_of_a_flow_with_errors_says_so(client):
    text = PULSES_TEXT.replace("-> kept", "-> kep")
    document = open_document(client, EXAMPLES / "graph-errors.flow", text)
    found = await graph(client, document)
    assert found["svg"] is None and found["dot"] is None
    assert "error" in found["message"]
