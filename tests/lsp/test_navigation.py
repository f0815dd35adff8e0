"""Hover, go to definition, find references, rename and the outline, over a real client."""

from __future__ import annotations

import pytest
from conftest import EXAMPLES, PULSES, PULSES_TEXT, offset_of, open_document, range_text
from lsprotocol import types
from pygls.exceptions import JsonRpcException

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def hover_text(client, document, needle, shift=0, nth=0) -> str:
    found = await client.text_document_hover_async(
        types.HoverParams(text_document=document.id, position=document.position(needle, shift, nth))
    )
    return found.contents.value if found else ""


async def test_hover_on_a_buffer_shows_its_type_fields_length_slots_and_bytes(client):
    document = open_document(client, PULSES)
    text = await hover_text(client, document, "buffer raw", 8)
    assert "buffer raw : Sample[4096]" in text
    assert "| `ch0` | `f4` | 4 |" in text and "| `ch1` | `f4` | 4 |" in text
    assert "LENGTH: 4096" in text and "slots: 128" in text
    # 4096 x 8 bytes of data + 24 bytes of metadata per slot, 128 slots
    assert "per slot: 32,792 bytes (32,768 of data + 24 of metadata)" in text
    assert "in total: 4,197,376 bytes (4.0 MiB)" in text
    # a reference in a worker statement shows the same
    assert await hover_text(client, document, "raw   -> pulses", 1) == text


async def test_hover_on_a_type_a_const_and_a_dtype(client):
    document = open_document(client, PULSES)
    pulse = await hover_text(client, document, "type Pulse", 6)
    assert "type Pulse = {height: f8, time: f8, channel: i2, shape: f4[16]}" in pulse
    assert "| `shape` | `f4[16]` | 64 |" in pulse and "82 per element" in pulse
    const = await hover_text(client, document, "n=N", 2)
    assert "const N = 20000" in const and "--set N=" in const
    assert "bytes" in await hover_text(client, document, "ch1: f4", 5)


async def test_hover_on_a_stdlib_worker_and_on_user_code(client):
    document = open_document(client, PULSES)
    select = await hover_text(client, document, "cut    =", 1)
    assert "**filter**, code `stdlib.filters.select`" in select
    assert "def select(data, *, field" in select
    assert "field_args: `field`" in select
    assert "Keep the events whose `field` lies in [min, max]" in select
    finder = await hover_text(client, document, '"peaks.py":find_pulses', 12)
    assert "def find_pulses(" in finder and "threshold" in finder
    argument = await hover_text(client, document, "threshold=0.2", 2)
    assert argument.startswith("argument `threshold`")


async def test_hover_on_an_option_says_what_it_means(client):
    document = open_document(client, PULSES)
    assert "share its input events" in await hover_text(client, document, "processes=2", 2)
    assert "discarded and counted as dropped" in await hover_text(client, document, "overflow", 2)


async def test_hover_on_nothing_is_empty(client):
    document = open_document(client, PULSES)
    assert await hover_text(client, document, "# pulses.flow", 3) == ""


async def definition(client, document, needle, shift=0, nth=0):
    return await client.text_document_definition_async(
        types.DefinitionParams(
            text_document=document.id, position=document.position(needle, shift, nth)
        )
    )


async def test_definition_of_a_buffer_type_and_const(client):
    document = open_document(client, PULSES)
    buffer = await definition(client, document, "pulses -> kept", 2)
    assert buffer.uri == document.uri
    assert buffer.range.start == document.position("buffer pulses", 7)
    assert range_text(document.text, buffer.range) == "pulses"
    pulse_type = await definition(client, document, ": Pulse slots=64 overflow", 3)
    assert pulse_type.range.start == document.position("type Pulse", 5)
    const = await definition(client, document, "n=N", 2)
    assert const.range.start == document.position("const N", 6)


async def test_definition_of_a_callable_opens_the_python_function(client):
    document = open_document(client, PULSES)
    found = await definition(client, document, '"peaks.py":find_pulses', 14)
    assert found.uri == (EXAMPLES / "peaks.py").as_uri()
    source = (EXAMPLES / "peaks.py").read_text().splitlines()
    assert source[found.range.start.line].startswith("def find_pulses(")
    stdlib = await definition(client, document, "stdlib.filters.select", 16)
    assert stdlib.uri.endswith("/filters.py")


async def test_references_of_a_buffer(client):
    document = open_document(client, PULSES)
    found = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=document.id,
            position=document.position("buffer pulses", 8),
            context=types.ReferenceContext(include_declaration=True),
        )
    )
    lines = sorted(r.range.start.line for r in found)
    # declared on line 14; written by finder, read by cut, observed by scope
    assert lines == [13, 17, 18, 20]
    assert {range_text(document.text, r.range) for r in found} == {"pulses"}
    without = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=document.id,
            position=document.position("buffer pulses", 8),
            context=types.ReferenceContext(include_declaration=False),
        )
    )
    assert len(without) == 3


async def test_rename_a_buffer_everywhere_and_the_result_checks(client):
    document = open_document(client, EXAMPLES / "renamed.flow", PULSES_TEXT)
    await document.diagnostics()
    prepared = await client.text_document_prepare_rename_async(
        types.PrepareRenameParams(
            text_document=document.id, position=document.position("buffer kept", 8)
        )
    )
    assert prepared.placeholder == "kept"
    edit = await client.text_document_rename_async(
        types.RenameParams(
            text_document=document.id,
            position=document.position("buffer kept", 8),
            new_name="selected",
        )
    )
    edits = edit.changes[document.uri]
    assert len(edits) == 3  # declaration, the filter's output, the exporter's input
    assert {range_text(document.text, change.range) for change in edits} == {"kept"}
    text = apply_edits(document.text, edits)
    assert "buffer selected" in text and "-> selected" in text and '"out/kept.npy"' in text
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=document.uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    document.text, document.version = text, 2
    assert list(await document.diagnostics()) == []


async def test_rename_refuses_a_keyword_and_a_name_in_use(client):
    document = open_document(client, PULSES)
    for bad in ("buffer", "raw", "2x"):
        with pytest.raises(JsonRpcException):
            await client.text_document_rename_async(
                types.RenameParams(
                    text_document=document.id,
                    position=document.position("buffer kept", 8),
                    new_name=bad,
                )
            )


async def test_document_symbols_list_types_buffers_and_workers(client):
    document = open_document(client, PULSES)
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=document.id)
    )
    by_name = {s.name: s for s in symbols}
    assert by_name["Pulse"].kind == types.SymbolKind.Struct
    assert [c.name for c in by_name["Pulse"].children] == ["height", "time", "channel", "shape"]
    assert by_name["raw"].kind == types.SymbolKind.Variable
    assert by_name["finder"].kind == types.SymbolKind.Function
    assert by_name["finder"].detail == 'processor "peaks.py":find_pulses'
    assert by_name["N"].kind == types.SymbolKind.Constant
    assert range_text(document.text, by_name["cut"].selection_range) == "cut"


async def test_document_symbols_of_a_file_that_does_not_parse(client):
    text = PULSES_TEXT + "buffer half : \n"
    document = open_document(client, EXAMPLES / "broken-outline.flow", text)
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=document.id)
    )
    names = [s.name for s in symbols]
    assert names[-1] == "half" and "finder" in names


def apply_edits(text: str, edits) -> str:
    spans = sorted(
        ((offset_of(text, e.range.start), offset_of(text, e.range.end), e.new_text) for e in edits),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text
