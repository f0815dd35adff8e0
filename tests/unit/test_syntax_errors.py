"""Syntax errors: one E001 that says what was found and what was expected, at the right place."""

from __future__ import annotations

import time

import pytest

from flowc.diagnostics import FlowError
from flowc.source import SourceFile
from flowc.syntax import parse, parse_type, parse_value
from flowc.syntax.errors import SYNTAX_ERRORS, error_key, example_error
from flowc.syntax.grammar import MAX_NESTING

TABLE = [
    pytest.param(row, example, id=f"{index}-{example!r}")
    for index, row in enumerate(SYNTAX_ERRORS)
    for example in row.examples
]


def e001(text: str, parse_fn=parse):
    """The one diagnostic of a text that must fail, after checking its general shape."""
    with pytest.raises(FlowError) as info:
        parse_fn(SourceFile("bad.flow", text))
    diagnostics = info.value.diagnostics
    assert len(diagnostics) == 1
    d = diagnostics[0]
    assert d.code == "E001" and d.is_error
    assert 0 <= d.span.start <= d.span.end <= len(text)
    assert d.render()
    return d


@pytest.mark.parametrize(("row", "example"), TABLE)
def test_every_table_example_gets_its_message(row, example):
    d = e001(example)
    assert d.message.startswith(row.message + ", found ")
    assert d.help == row.help


def test_no_two_rows_claim_the_same_parser_state():
    owner = {}
    for row in SYNTAX_ERRORS:
        for example in row.examples:
            exc = example_error(example)
            assert exc is not None, f"{example!r} does not fail in the parser"
            key = error_key(exc)
            assert owner.setdefault(key, row) is row, (
                f"{example!r} fails like an example of {owner[key].message!r}"
            )


def test_error_points_at_the_unexpected_token_and_names_it():
    d = e001("buffer raw : Sample slots=2\nimporter gen = f() -> -> raw")
    assert d.message == "expected a buffer name after `->`, found `->`"
    assert (d.span.line, d.span.column, d.span.text) == (2, 23, "->")


def test_error_at_end_of_input_points_at_the_end_of_the_text():
    text = "pipeline p\n\nprocessor p = f() a ->   "
    d = e001(text)
    assert d.message == "expected a buffer name after `->`, found the end of the input"
    assert d.span.start == d.span.end == len(text)


def test_error_at_end_of_a_line_points_after_its_last_token():
    d = e001("const N =\nconst M = 2")
    assert d.message.endswith("found the end of the line")
    assert (d.span.line, d.span.column) == (1, 10)


def test_positional_argument():
    d = e001("filter cut = stdlib.filters.select(3) pulses -> kept")
    assert "worker arguments are passed by keyword" in d.message
    assert d.span.text == "3"
    assert "name=value" in d.help


def test_keyword_as_a_name():
    d = e001("buffer filter : f4 slots=2")
    assert d.message == "`filter` is a keyword and cannot be used as a name"
    assert d.span.text == "filter"
    assert d.help


def test_unclosed_bracket_at_end_of_input_notes_where_it_opened():
    text = "pipeline p\nconst N = 1\nimporter i = f(n=1,\n  rate=2\n"
    d = e001(text)
    assert d.message.startswith("unclosed `(` opened at line 3")
    assert d.span.start == len(text)
    (note,) = d.notes
    assert (note.span.line, note.span.column, note.span.text) == (3, 15, "(")


def test_unclosed_bracket_before_the_next_statement():
    d = e001("type T = {a: f4,\n  b: f8\nbuffer b : T slots=2\n")
    assert d.message.startswith("unclosed `{` opened at line 1")
    assert (d.span.line, d.span.text) == (3, "buffer")
    assert d.notes[0].span.text == "{"


def test_unclosed_bracket_with_a_value_context_before_the_next_statement():
    d = e001("const L = [1, 2,\nimporter i = f() -> x\n")
    assert d.message.startswith("unclosed `[` opened at line 1")
    assert d.span.line == 2


def test_mismatched_and_unmatched_closing_brackets():
    d = e001("const L = [1, 2)")
    assert d.message == "`)` does not close `[` opened at line 1"
    assert d.span.text == ")"
    assert d.notes[0].span.text == "["
    d = e001("const L = 1]")
    assert d.message == "`]` has no matching opening bracket"


def test_unterminated_string():
    d = e001('exporter e = f(path="out/x.npy) kept\nconst A = 1')
    assert d.message.startswith("unterminated string")
    assert d.span.text == '"out/x.npy) kept'


def test_unknown_escape_points_at_the_escape():
    d = e001(r'const P = "C:\data"')
    assert d.message == r"unknown escape `\d` in a string"
    assert d.span.text == r"\d"


def test_unexpected_characters_are_named():
    assert e001("const A = 1 @").message == "unexpected character `@`"
    assert e001("const A = \x00").message == "unexpected character U+0000"
    assert e001("pipeline p\x0b").message == "unexpected character U+000B"
    d = e001("const A = 😀")
    assert d.message == "unexpected character `😀`"
    assert d.span.text == "😀"


def test_deeply_nested_brackets_are_one_clear_error():
    d = e001("const L = " + "[" * 10_000 + "]" * 10_000)
    assert d.message == f"brackets are nested more than {MAX_NESTING} deep"
    assert d.span.start == len("const L = ") + MAX_NESTING
    value = "[" * MAX_NESTING + "]" * MAX_NESTING
    assert parse(SourceFile("ok.flow", "const L = " + value)).statements


def test_unclosed_deep_nesting_and_type_nesting():
    e001("(" * 10_000)
    e001("type T = {a: f4[" + "[" * 5000)


def test_binary_garbage():
    garbage = bytes(range(256)).decode("latin-1") * 4
    e001(garbage)


def test_parse_value_and_parse_type_errors():
    assert e001("1 2", parse_value).message == "expected the end of the text, found number `2`"
    assert e001("", parse_value).span.start == 0
    d = e001("{height f8}", parse_type)
    assert d.message == "expected `:`, found name `f8`"
    e001("filter", parse_type)
    assert e001("[f4]", parse_type).message == "expected `{` or a name, found `[`"


def test_a_10_mb_file_is_handled_quickly():
    line = 'processor w = "peaks.py":find(threshold=0.2, field="height") a -> b processes=2\n'
    text = line * (10_000_000 // len(line) + 1)
    started = time.perf_counter()
    with pytest.raises(FlowError) as info:
        parse(SourceFile("huge.flow", text))
    assert time.perf_counter() - started < 5
    (d,) = info.value.diagnostics
    assert d.code == "E001"
    assert "too large" in d.message
