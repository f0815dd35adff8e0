"""LSP positions: lines break at LF, CR LF and CR only; columns count UTF-16 code units unless
the client chose UTF-8 or UTF-32; an incremental change lands on the right characters."""

from lsprotocol import types

from flowc.lsp.positions import LineIndex, apply_change


def test_line_index_counts_utf16_utf8_and_utf32():
    text = "a😀b\r\nΩc\rd\u2028e\n"
    utf16 = LineIndex(text)
    assert utf16.line_count == 4  # \r\n, \r and \n break lines; U+2028 does not
    b = text.index("b")
    assert utf16.position(b) == types.Position(line=0, character=3)
    assert utf16.offset(types.Position(line=0, character=3)) == b
    assert utf16.position(text.index("c")) == types.Position(line=1, character=1)
    assert utf16.position(text.index("e")) == types.Position(line=2, character=2)
    assert LineIndex(text, types.PositionEncodingKind.Utf8).position(b).character == 5
    assert LineIndex(text, types.PositionEncodingKind.Utf32).position(b).character == 2
    # a column past the end of a line stays on that line
    assert utf16.offset(types.Position(line=0, character=99)) == text.index("\r")
    assert utf16.offset(types.Position(line=9, character=0)) == len(text)


def test_an_incremental_change_after_an_emoji():
    text = 'x = "😀" kept\nnext\n'
    index = LineIndex(text)
    start = index.position(text.index("kept"))
    change = types.TextDocumentContentChangePartial(
        range=types.Range(start=start, end=types.Position(line=0, character=start.character + 4)),
        text="selected",
    )
    assert apply_change(text, index, change) == 'x = "😀" selected\nnext\n'
    whole = types.TextDocumentContentChangeWholeDocument(text="new")
    assert apply_change(text, index, whole) == "new"
