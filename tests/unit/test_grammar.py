"""The grammar on every construct of SPEC section 2, with the spans the checker relies on."""

from __future__ import annotations

import gc
import logging

import pytest
from lark import Lark

from flowc.diagnostics import FlowError
from flowc.source import SourceFile
from flowc.syntax import ast, grammar, parse, parse_type, parse_value

# SPEC section 2, verbatim
PULSES_FLOW = """\
# examples/pulses.flow
pipeline pulses                                   # optional; names the run and its report

const N = 20000                                   # overridable: flowc run pulses.flow --set N=500

type Sample = {ch0: f4, ch1: f4}                  # numpy structured dtype
type Pulse  = {height: f8, time: f8, channel: i2, shape: f4[16]}   # a field may be a sub-array

buffer raw    : Sample[4096] slots=128            # 128 slots, each 4096 Samples
buffer pulses : Pulse slots=64                    # length 1 when no [n] is given
buffer kept   : Pulse slots=64 overflow=drop      # overflow=block (default) or drop

importer  sim    = stdlib.sources.pulses(n=N, rate=5000)            -> raw
processor finder = "peaks.py":find_pulses(threshold=0.2)     raw   -> pulses   processes=2
filter    cut    = stdlib.filters.select(field="height", min=0.3) pulses -> kept
exporter  save   = stdlib.sinks.npy(path="out/kept.npy")       kept
observer  scope  = stdlib.monitors.histogram(field="height", bins=50) observes pulses
"""


def parse_text(text: str) -> ast.Module:
    return parse(SourceFile("t.flow", text))


def one(text: str):
    (statement,) = parse_text(text).statements
    return statement


def n(value, raw=None):
    return ast.Number(value, raw=raw)


def test_the_spec_example_parses_to_the_expected_tree():
    module = parse_text(PULSES_FLOW)
    B = ast.BufferRef
    assert module.statements == (
        ast.PipelineDecl("pulses"),
        ast.ConstDecl("N", n(20000)),
        ast.TypeDecl(
            "Sample", ast.StructType((ast.FieldDecl("ch0", "f4"), ast.FieldDecl("ch1", "f4")))
        ),
        ast.TypeDecl(
            "Pulse",
            ast.StructType(
                (
                    ast.FieldDecl("height", "f8"),
                    ast.FieldDecl("time", "f8"),
                    ast.FieldDecl("channel", "i2"),
                    ast.FieldDecl("shape", "f4", (n(16),)),
                )
            ),
        ),
        ast.BufferDecl("raw", ast.TypeName("Sample"), n(4096), (ast.Option("slots", n(128)),)),
        ast.BufferDecl("pulses", ast.TypeName("Pulse"), None, (ast.Option("slots", n(64)),)),
        ast.BufferDecl(
            "kept",
            ast.TypeName("Pulse"),
            None,
            (ast.Option("slots", n(64)), ast.Option("overflow", ast.NameRef("drop"))),
        ),
        ast.Worker(
            "importer",
            "sim",
            ast.CallableRef("dotted", "stdlib.sources", "pulses"),
            (ast.Arg("n", ast.NameRef("N")), ast.Arg("rate", n(5000))),
            outputs=(B("raw"),),
        ),
        ast.Worker(
            "processor",
            "finder",
            ast.CallableRef("file", "peaks.py", "find_pulses"),
            (ast.Arg("threshold", n(0.2)),),
            inputs=(B("raw"),),
            outputs=(B("pulses"),),
            options=(ast.Option("processes", n(2)),),
        ),
        ast.Worker(
            "filter",
            "cut",
            ast.CallableRef("dotted", "stdlib.filters", "select"),
            (ast.Arg("field", ast.String("height")), ast.Arg("min", n(0.3))),
            inputs=(B("pulses"),),
            outputs=(B("kept"),),
        ),
        ast.Worker(
            "exporter",
            "save",
            ast.CallableRef("dotted", "stdlib.sinks", "npy"),
            (ast.Arg("path", ast.String("out/kept.npy")),),
            inputs=(B("kept"),),
        ),
        ast.Worker(
            "observer",
            "scope",
            ast.CallableRef("dotted", "stdlib.monitors", "histogram"),
            (ast.Arg("field", ast.String("height")), ast.Arg("bins", n(50))),
            observes=(B("pulses"),),
        ),
    )
    assert len(module.comments) == 8
    assert module.comments[0].text == "# examples/pulses.flow"


def test_the_spec_example_spans():
    module = parse_text(PULSES_FLOW)
    by_name = {s.name: s for s in module.statements}
    finder = by_name["finder"]
    assert finder.span.text == (
        'processor finder = "peaks.py":find_pulses(threshold=0.2)     raw   -> pulses   processes=2'
    )
    assert finder.name_span.text == "finder"
    assert finder.callable.span.text == '"peaks.py":find_pulses'
    assert finder.args[0].span.text == "threshold=0.2"
    assert finder.args[0].key_span.text == "threshold"
    assert finder.args[0].value.span.text == "0.2"
    assert finder.inputs[0].span.text == "raw"
    assert finder.outputs[0].span.text == "pulses"
    assert finder.options[0].span.text == "processes=2"
    assert finder.options[0].key_span.text == "processes"
    assert by_name["sim"].callable.span.text == "stdlib.sources.pulses"
    pulse = by_name["Pulse"]
    shape = pulse.struct.fields[3]
    assert shape.span.text == "shape: f4[16]"
    assert shape.name_span.text == "shape"
    assert shape.code_span.text == "f4"
    assert pulse.struct.span.text.startswith("{height") and pulse.struct.span.text.endswith("]}")
    raw = by_name["raw"]
    assert raw.span.text == "buffer raw    : Sample[4096] slots=128"
    assert raw.type.span.text == "Sample"
    assert raw.length.span.text == "4096"
    assert by_name["N"].span.text == "const N = 20000"
    assert by_name["pulses"].span.line == 10


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("0", 0),
        ("-1", -1),
        ("+2", 2),
        ("1_000", 1000),
        ("0x1F", 31),
        ("-0o17", -15),
        ("0b101", 5),
        ("0.3", 0.3),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e-6", 1e-6),
        ("-2.5E+3", -2500.0),
        ("00", 0),
    ],
)
def test_numbers_in_python_syntax_keep_their_spelling(raw, value):
    number = parse_value(SourceFile("v", raw))
    assert number == ast.Number(value)
    assert type(number.value) is type(value)
    assert number.raw == raw


@pytest.mark.parametrize("raw", ["007", "1.2.3", "1e", "0x", "1__0", "0xG", "1f"])
def test_malformed_numbers_are_one_e001(raw):
    with pytest.raises(FlowError) as info:
        parse_value(SourceFile("v", raw))
    (d,) = info.value.diagnostics
    assert d.code == "E001"
    assert f"`{raw}` is not a valid number" in d.message
    assert d.span.text == raw


def test_string_escapes():
    value = parse_value(SourceFile("v", r'"a\"b\\c\nd\te"'))
    assert value == ast.String('a"b\\c\nd\te')


def test_strings_hold_any_other_character_but_a_line_break():
    text = '"é 😀 # not a comment \r \x00"'
    assert parse_value(SourceFile("v", text)) == ast.String("é 😀 # not a comment \r \x00")
    with pytest.raises(FlowError):
        parse_value(SourceFile("v", '"two\nlines"'))


def test_bools_lists_and_names():
    assert parse_value(SourceFile("v", "true")) == ast.Bool(True)
    assert parse_value(SourceFile("v", "false")) == ast.Bool(False)
    assert parse_value(SourceFile("v", "N")) == ast.NameRef("N")
    nested = parse_value(SourceFile("v", '[1, [a, "b"], [], [true,],]'))
    assert nested == ast.ListValue(
        (
            n(1),
            ast.ListValue((ast.NameRef("a"), ast.String("b"))),
            ast.ListValue(()),
            ast.ListValue((ast.Bool(True),)),
        )
    )
    assert nested.span.text == '[1, [a, "b"], [], [true,],]'
    assert nested.items[1].span.text == '[a, "b"]'


def test_parse_type_for_signatures():
    struct = parse_type(SourceFile("sig", "{height: f8, time: f8}"))
    assert struct == ast.StructType((ast.FieldDecl("height", "f8"), ast.FieldDecl("time", "f8")))
    assert parse_type(SourceFile("sig", "f4")) == ast.TypeName("f4")
    assert parse_type(SourceFile("sig", " Pulse \n")) == ast.TypeName("Pulse")


def test_parse_value_and_type_reject_more_than_one_item():
    with pytest.raises(FlowError):
        parse_value(SourceFile("v", "1 2"))
    with pytest.raises(FlowError):
        parse_type(SourceFile("t", "f4 f8"))
    with pytest.raises(FlowError):
        parse_value(SourceFile("v", ""))


def test_quoted_field_names_dtype_spellings_and_shapes():
    decl = one('type T = {"1st_chA_h": f4, wave: float32[4,4], "a \\"q\\"": i8[N], }')
    a, wave, quoted = decl.struct.fields
    assert a == ast.FieldDecl("1st_chA_h", "f4")
    assert a.name_span.text == '"1st_chA_h"'
    assert wave == ast.FieldDecl("wave", "float32", (n(4), n(4)))
    assert wave.code_span.text == "float32"
    assert quoted == ast.FieldDecl('a "q"', "i8", (ast.NameRef("N"),))


def test_buffers_with_every_type_form():
    assert one("buffer wave : f4[1024] slots=32") == ast.BufferDecl(
        "wave", ast.TypeName("f4"), n(1024), (ast.Option("slots", n(32)),)
    )
    inline = one("buffer b : {x: f8, y: f8}[N] overflow=block slots=4")
    assert inline.type == ast.StructType((ast.FieldDecl("x", "f8"), ast.FieldDecl("y", "f8")))
    assert inline.length == ast.NameRef("N")
    assert [o.key for o in inline.options] == ["overflow", "slots"]
    assert one("buffer plain : Pulse") == ast.BufferDecl("plain", ast.TypeName("Pulse"), None)


@pytest.mark.parametrize(
    ("text", "form", "target", "function"),
    [
        ("pkg.mod:fn", "colon", "pkg.mod", "fn"),
        ("pkg.mod:Cls.method", "colon", "pkg.mod", "Cls.method"),
        ("mod:fn", "colon", "mod", "fn"),
        ("pkg.mod.fn", "dotted", "pkg.mod", "fn"),
        ("stdlib.sources.pulses", "dotted", "stdlib.sources", "pulses"),
        ("stdlib.filters.filter", "dotted", "stdlib.filters", "filter"),
        ('"peaks.py":find_pulses', "file", "peaks.py", "find_pulses"),
        ('"dir/my peaks.py":Finder.run', "file", "dir/my peaks.py", "Finder.run"),
        ("gen", "bare", None, "gen"),
    ],
)
def test_callable_forms(text, form, target, function):
    worker = one(f"importer i = {text}() -> out")
    assert worker.callable == ast.CallableRef(form, target, function)
    assert worker.callable.span.text == text


def test_worker_wiring_lists_observes_and_options_in_any_order():
    worker = one("processor p = f() a, b -> c, d on_error=skip processes=3")
    assert [r.name for r in worker.inputs] == ["a", "b"]
    assert [r.name for r in worker.outputs] == ["c", "d"]
    assert [(o.key, o.value) for o in worker.options] == [
        ("on_error", ast.NameRef("skip")),
        ("processes", n(3)),
    ]
    observer = one("observer o = f(k=1) observes a, b processes=1")
    assert [r.name for r in observer.observes] == ["a", "b"]
    assert observer.inputs == () and observer.outputs == ()
    exporter = one("exporter e = f() kept -> copy observes other")
    assert [r.name for r in exporter.observes] == ["other"]


def test_a_statement_continues_over_lines_inside_brackets_with_trailing_commas():
    text = """\
processor p = f(
    a=1,        # first
    b=[
        2,
        3,
    ],
) in -> out
type T = {
    x: f4,
    y: f8[
        2,
    ],
}
"""
    worker, decl = parse_text(text).statements
    assert worker.args == (ast.Arg("a", n(1)), ast.Arg("b", ast.ListValue((n(2), n(3)))))
    assert worker.span.text.endswith(") in -> out")
    assert worker.span.line == 1 and worker.span.end_line == 7
    assert decl.struct.fields[1] == ast.FieldDecl("y", "f8", (n(2),))
    assert parse_text(text).comments[0].text == "# first"


def test_argument_keys_may_be_keywords_but_names_may_not():
    worker = one('exporter e = f(type="x", filter=true) in')
    assert [a.key for a in worker.args] == ["type", "filter"]


@pytest.mark.parametrize(
    "text",
    [
        "buffer filter : f4 slots=2",
        "const type = 3",
        "type buffer = {a: f4}",
        "processor observes = f() a -> b",
        "processor p = f() a -> importer",
        "buffer b : observer",
        "pipeline true",
        "type T = {filter: f4}",
    ],
)
def test_keywords_cannot_be_names(text):
    with pytest.raises(FlowError) as info:
        parse_text(text)
    (d,) = info.value.diagnostics
    assert d.code == "E001"
    assert "is a keyword and cannot be used as a name" in d.message
    assert d.span.text in d.message


@pytest.mark.parametrize(
    ("text", "form", "target", "function"),
    [
        ('processor p = "funcs.py":importer(x=1) a -> b', "file", "funcs.py", "importer"),
        ("filter f = cuts:filter() a -> b", "colon", "cuts", "filter"),
        ("importer i = mylib.importer:make() -> a", "colon", "mylib.importer", "make"),
        (
            "importer i = filter.observes:true.false() -> a",
            "colon",
            "filter.observes",
            "true.false",
        ),
        ("exporter e = pkg.exporter.buffer() a", "dotted", "pkg.exporter", "buffer"),
        ("processor p = filter(\n  x=1,\n) a -> b", "bare", None, "filter"),
    ],
)
def test_callable_parts_are_python_names_so_keywords_are_fine_there(text, form, target, function):
    worker = one(text)
    assert (worker.callable.form, worker.callable.target, worker.callable.function) == (
        form,
        target,
        function,
    )


def test_keywords_in_a_callable_leave_the_statements_around_it_intact():
    module = parse_text(
        "filter f = cuts:filter() a -> b on_error=skip\nimporter i = importer() -> a\nconst N = 3\n"
    )
    assert [type(s).__name__ for s in module.statements] == ["Worker", "Worker", "ConstDecl"]
    assert module.statements[0].options[0].key == "on_error"
    for text in (
        "filter f = cuts:filter(x=filter) a -> b",
        "filter f = cuts:filter() a -> filter",
        "filter f = cuts:filter() a -> b on_error=filter",
    ):
        with pytest.raises(FlowError) as info:
            parse_text(text)
        assert info.value.diagnostics[0].span.text == "filter"
        assert info.value.diagnostics[0].span.start == text.rindex("filter")


def test_a_keyword_field_name_is_fine_when_quoted():
    decl = one('type T = {"filter": f4}')
    assert decl.struct.fields[0].name == "filter"
    with pytest.raises(FlowError) as info:
        parse_text("type T = {filter: f4}")
    assert '"filter": ...' in info.value.diagnostics[0].help


def test_empty_text_only_comments_and_blank_lines():
    assert parse_text("") == ast.Module(())
    assert parse_text("\n\n  \n") == ast.Module(())
    only = parse_text("# one\n\n   # two")
    assert only.statements == ()
    assert [c.text for c in only.comments] == ["# one", "# two"]


def test_whitespace_variants():
    module = parse_text("\ufeffpipeline p\r\n\tconst  A=1  \n\f")
    assert module.statements == (ast.PipelineDecl("p"), ast.ConstDecl("A", n(1)))


def test_one_statement_per_line():
    with pytest.raises(FlowError):
        parse_text("pipeline p const A = 1")


def test_grammar_has_no_lalr_conflicts(caplog):
    text = grammar.grammar_text()
    with caplog.at_level(logging.DEBUG, logger="lark"):
        Lark(
            text,
            parser="lalr",
            start=list(grammar.START_RULES),
            postlex=grammar.FlowPostLexer(),
            debug=True,
        )
    assert not [r for r in caplog.records if "conflict" in r.getMessage().lower()]


def test_the_parser_is_built_once():
    assert grammar.flow_parser() is grammar.flow_parser()


def test_parsing_leaves_the_cycle_collector_as_it_found_it():
    assert gc.isenabled()
    parse_text("pipeline p")
    with pytest.raises(FlowError):
        parse_text("pipeline 3")
    assert gc.isenabled()
    gc.disable()
    try:
        parse_text("pipeline p")
        assert not gc.isenabled()
    finally:
        gc.enable()
