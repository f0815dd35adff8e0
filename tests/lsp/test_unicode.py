"""Positions are UTF-16 code units, as LSP requires: a text with non-ASCII comments, emoji
(two code units each) and quoted field names keeps every range on the right characters."""

from __future__ import annotations

import pytest
from conftest import EXAMPLES, open_document, range_text
from lsprotocol import types

pytestmark = pytest.mark.asyncio(loop_scope="module")

TEXT = """\
# Ω-Messung — 日本語 🎉🎉 a comment with emoji
const N = 10  # 😀 after a const
type Hit = {"énergie 🔥": f8, "1st_chA_h": f4}
buffer raw  : Hit slots=8   # ✓ 😀
buffer kept : Hit slots=8
importer src = stdlib.sources.pulses(n=N) -> raw  # 🎉
filter cut = stdlib.filters.select(field="énergie 🔥", min=0.1) raw -> kept
exporter save = stdlib.sinks.npy(path="out/😀日本.npy") kept
"""


async def test_diagnostic_after_an_emoji_covers_the_name(client):
    line = TEXT.splitlines()[6]
    assert len(line.encode("utf-16-le")) // 2 == len(line) + 1  # 🔥 is two code units
    document = open_document(
        client, EXAMPLES / "unicode.flow", TEXT.replace(") raw ->", ") raww ->")
    )
    published = await document.diagnostics()
    typo = next(d for d in published if d.code == "E102")
    assert range_text(document.text, typo.range) == "raww"
    line = document.text.splitlines()[6]
    assert typo.range.start.character == len(line[: line.index("raww")].encode("utf-16-le")) // 2
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=document.id,
            range=typo.range,
            context=types.CodeActionContext(diagnostics=[typo]),
        )
    )
    (fix,) = actions
    (edit,) = fix.edit.changes[document.uri]
    assert range_text(document.text, edit.range) == "raww" and edit.new_text == "raw"


async def test_hover_definition_and_rename_after_emoji(client):
    document = open_document(client, EXAMPLES / "unicode2.flow", TEXT)
    assert list(await document.diagnostics()) == []
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=document.id, position=document.position('npy") kept', 6))
    )
    assert "buffer kept : Hit" in hover.contents.value
    assert '| `"énergie 🔥"` | `f8` | 8 |' in hover.contents.value
    assert range_text(document.text, hover.range) == "kept"
    found = await client.text_document_definition_async(
        types.DefinitionParams(text_document=document.id, position=document.position(") raw ->", 3))
    )
    assert found.range.start == document.position("buffer raw", 7)
    renamed = await client.text_document_rename_async(
        types.RenameParams(
            text_document=document.id,
            position=document.position(") raw ->", 3),
            new_name="samples",
        )
    )
    edits = renamed.changes[document.uri]
    assert len(edits) == 3
    assert {range_text(document.text, e.range) for e in edits} == {"raw"}


async def test_semantic_tokens_after_emoji(client):
    document = open_document(client, EXAMPLES / "unicode3.flow", TEXT)
    tokens = await client.text_document_semantic_tokens_full_async(
        types.SemanticTokensParams(text_document=document.id)
    )
    decoded = decode(tokens.data)
    lines = document.text.splitlines()
    words = {utf16_slice(lines[line], start, length): kind for line, start, length, kind in decoded}
    assert words['"énergie 🔥"'] == "string"
    assert words["kept"] == "variable"
    assert words["# ✓ 😀"] == "comment"


async def test_completion_after_emoji_replaces_the_typed_word(client):
    text = TEXT + 'exporter more = stdlib.sinks.npy(path="😀") ke'
    document = open_document(client, EXAMPLES / "unicode4.flow", text)
    line = len(text.splitlines()) - 1
    end = len(text.splitlines()[-1].encode("utf-16-le")) // 2
    found = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=document.id, position=types.Position(line=line, character=end)
        )
    )
    kept = next(i for i in found.items if i.label == "kept")
    assert kept.text_edit.range.start == types.Position(line=line, character=end - 2)
    assert kept.text_edit.range.end == types.Position(line=line, character=end)


def decode(data: list[int]):
    from flowc.lsp.semantic import TOKEN_TYPES

    line = start = 0
    for i in range(0, len(data), 5):
        delta_line, delta_start, length, kind, _ = data[i : i + 5]
        line += delta_line
        start = start + delta_start if delta_line == 0 else delta_start
        yield line, start, length, TOKEN_TYPES[kind]


def utf16_slice(line: str, start: int, length: int) -> str:
    units = line.encode("utf-16-le")
    return units[start * 2 : (start + length) * 2].decode("utf-16-le")
