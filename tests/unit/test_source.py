"""Spans and positions: tabs, CRLF line endings, the end of the file, and what the parser records."""

from __future__ import annotations

import pickle

from flowc.source import SourceFile, Span
from flowc.syntax import ast, parse


def test_positions_are_one_based_and_count_characters():
    source = SourceFile("t.flow", "ab\ncdé\nf")
    assert source.position(0) == (1, 1)
    assert source.position(3) == (2, 1)
    assert source.position(5) == (2, 3)  # é is one character
    assert source.position(7) == (3, 1)
    assert source.line_count == 3


def test_a_tab_counts_as_one_column():
    source = SourceFile("t.flow", "\tbuffer x")
    assert source.position(1) == (1, 2)
    assert Span(source, 1, 7).text == "buffer"


def test_crlf_line_endings_do_not_shift_columns_or_leak_into_line_text():
    source = SourceFile("t.flow", "const A = 1\r\nconst B = 2\r\n")
    assert source.position(13) == (2, 1)
    assert source.line_text(1) == "const A = 1"
    assert source.line_text(2) == "const B = 2"


def test_offsets_at_and_past_the_end_clamp_to_the_end():
    source = SourceFile("t.flow", "const A = 1\n")
    assert source.position(len(source.text)) == (2, 1)
    assert source.position(10_000) == (2, 1)
    assert source.position(-5) == (1, 1)
    assert source.line_text(99) == ""


def test_end_of_a_file_without_final_newline():
    source = SourceFile("t.flow", "pipeline p")
    assert source.position(10) == (1, 11)
    span = Span(source, 9, 10)
    assert (span.line, span.column, span.end_line, span.end_column) == (1, 10, 1, 11)


def test_span_joins_and_pickles():
    source = SourceFile("t.flow", "abcdef")
    joined = Span(source, 1, 2).to(Span(source, 4, 6))
    assert (joined.start, joined.end, joined.text) == (1, 6, "bcdef")
    copy = pickle.loads(pickle.dumps(joined))
    assert copy == joined and copy.text == "bcdef"


def test_parsed_spans_with_tabs_and_crlf():
    text = "const\tN = 5\r\n\tbuffer raw :\tf4[N]\tslots=2\r\n"
    module = parse(SourceFile("t.flow", text))
    const, buffer = module.statements
    assert const.span.text == "const\tN = 5"
    assert const.name_span.text == "N"
    assert buffer.span.text == "buffer raw :\tf4[N]\tslots=2"
    assert (buffer.span.line, buffer.span.column) == (2, 2)
    assert (buffer.name_span.line, buffer.name_span.column) == (2, 9)
    assert buffer.options[0].span.text == "slots=2"


def test_spans_at_the_end_of_a_file_without_newline():
    text = "observer o = f() observes b"
    (worker,) = parse(SourceFile("t.flow", text)).statements
    assert worker.span.end == len(text)
    assert worker.observes[0].span.text == "b"
    assert worker.observes[0].span.end_column == len(text) + 1


def test_comment_spans_exclude_the_carriage_return():
    text = "pipeline p  # the run\r\n# own line\r\n"
    module = parse(SourceFile("t.flow", text))
    assert [c.text for c in module.comments] == ["# the run", "# own line"]
    assert [c.span.text for c in module.comments] == ["# the run", "# own line"]
    assert module.comments[1].span.line == 2


def test_module_span_covers_the_whole_text():
    text = "\n\npipeline p\n\n"
    module = parse(SourceFile("t.flow", text))
    assert (module.span.start, module.span.end) == (0, len(text))
    assert isinstance(module.statements[0], ast.PipelineDecl)
    assert module.statements[0].span.line == 3
