"""Properties of the front end: printing round-trips, fmt is idempotent, any text is handled."""

from __future__ import annotations

import strategies as fs
from hypothesis import example, given
from hypothesis import strategies as st

from flowc.diagnostics import FlowError
from flowc.sema.values import literal, show
from flowc.source import SourceFile
from flowc.syntax import ast, format_module, format_source, parse, parse_type, parse_value
from flowc.syntax.printer import format_type, format_value


@given(fs.modules())
def test_printed_module_parses_back_to_the_same_tree(module):
    text = format_module(module)
    assert parse(SourceFile("printed.flow", text)) == module


@given(fs.modules())
def test_formatting_is_idempotent(module):
    once = format_module(module)
    assert format_source(SourceFile("once.flow", once)) == once


@given(fs.values())
def test_printed_value_parses_back(value):
    assert parse_value(SourceFile("<command line>", format_value(value))) == value


@given(fs.type_exprs())
def test_printed_type_parses_back(type_expr):
    assert parse_type(SourceFile("<signature>", format_type(type_expr))) == type_expr


@given(fs.modules(max_statements=5), st.data())
def test_formatting_keeps_every_comment_in_order(module, data):
    lines = format_module(module).split("\n")[:-1]
    comments = []
    for index in sorted(
        data.draw(st.lists(st.integers(0, len(lines)), max_size=4), label="positions"),
        reverse=True,
    ):
        comment = data.draw(fs.comment_texts(), label="comment")
        lines.insert(index, comment)
        comments.insert(0, comment)
    text = "\n".join(lines) + "\n"
    formatted = format_source(SourceFile("commented.flow", text))
    found = [line for line in formatted.split("\n") if line.startswith("#")]
    assert found == comments
    assert format_source(SourceFile("again.flow", formatted)) == formatted


@given(fs.modules())
def test_spans_of_parsed_names_cover_the_names(module):
    text = format_module(module)
    parsed = parse(SourceFile("spans.flow", text))
    for statement in parsed.statements:
        assert statement.name_span.text == statement.name
        alone = parse(SourceFile("statement.flow", statement.span.text))
        assert alone.statements == (statement,)
        if isinstance(statement, ast.Worker):
            for ref in (*statement.inputs, *statement.outputs, *statement.observes):
                assert ref.span.text == ref.name
            for item in (*statement.args, *statement.options):
                assert item.key_span.text == item.key
                assert item.span.text.startswith(item.key + "=")


def _assert_parses_or_reports_inside(text: str) -> None:
    source = SourceFile("fuzz.flow", text)
    try:
        parse(source)
    except FlowError as exc:
        assert len(exc.diagnostics) == 1
        diagnostic = exc.diagnostics[0]
        assert diagnostic.code == "E001"
        spans = [
            diagnostic.span,
            *(note.span for note in diagnostic.notes if note.span),
            *(label.span for label in diagnostic.labels),
        ]
        for span in spans:
            assert 0 <= span.start <= span.end <= len(text)
        diagnostic.render()


_TOKENS = st.sampled_from(
    [
        "pipeline", "const", "type", "buffer", "importer", "processor", "filter", "exporter",
        "observer", "observes", "true", "false", "x", "f4", "N", "slots=", "=", ":", ",", ".",
        "->", "(", ")", "[", "]", "{", "}", "1", "-2.5", "1e-6", '"s"', '"a\\q"', '"open',
        "#c", "\n", "\r\n", "\t", " ", "007", "\\", "@", "\x00", "\u00e9", "\U0001f600",
    ]
)  # fmt: skip


@given(st.text())
@example("")
@example("# only a comment\n# and another")
@example("\x00\x01\x02")
@example("buffer b : f4 slots=2 # \U0001f600")
@example("const L = " + "[" * 10_000)
def test_any_text_parses_or_gives_one_e001_inside_it(text):
    _assert_parses_or_reports_inside(text)


@given(st.binary())
def test_binary_garbage_gives_e001_not_a_crash(data):
    _assert_parses_or_reports_inside(data.decode("latin-1"))


@given(st.lists(_TOKENS, max_size=30))
def test_token_soup_parses_or_gives_one_e001(tokens):
    _assert_parses_or_reports_inside(" ".join(tokens))


_PLAIN_DATA = st.recursive(
    st.one_of(
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
        st.booleans(),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(), inner)),
    max_leaves=8,
)


@given(_PLAIN_DATA)
@example({"a\nb": ["x\ty", 'q"', "\\"], "type": {}})
def test_values_shown_in_messages_read_back_as_the_same_value(value):
    """What `--set` and the messages show of a value (`show`) is flow text for that value."""
    node = parse_value(SourceFile("<value>", show(value)))
    assert literal(node) == value
