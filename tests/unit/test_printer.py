"""The canonical printer behind `flowc fmt`: layout, comments, blank lines, idempotence."""

from __future__ import annotations

from flowc.source import SourceFile
from flowc.syntax import ast, format_module, format_source, parse
from flowc.syntax.printer import MAX_LINE, format_value, quote


def fmt(text: str) -> str:
    return format_source(SourceFile("t.flow", text))


def test_spec_example_layout():
    text = (
        "pipeline   pulses\n"
        "const N=20000\n"
        "type Pulse  = {height:f8,time :f8, shape: f4[ 4,4 ],}\n"
        "buffer raw    : Pulse[4096]   slots=128 overflow = drop\n"
        'processor finder = "peaks.py":find_pulses( threshold = 0.2 , ) raw,b   ->   pulses '
        "processes=2\n"
        "observer  scope  = stdlib.monitors.histogram(bins=50) observes pulses,raw\n"
    )
    assert fmt(text) == (
        "pipeline pulses\n"
        "const N = 20000\n"
        "type Pulse = {height: f8, time: f8, shape: f4[4, 4]}\n"
        "buffer raw : Pulse[4096] slots=128 overflow=drop\n"
        'processor finder = "peaks.py":find_pulses(threshold=0.2) raw, b -> pulses processes=2\n'
        "observer scope = stdlib.monitors.histogram(bins=50) observes pulses, raw\n"
    )


def test_values_keep_their_spelling():
    assert fmt("const A = [0x1F, 1_000, +2, -0.5, 1E-6, .5]\n") == (
        "const A = [0x1F, 1_000, +2, -0.5, 1E-6, .5]\n"
    )


def test_values_built_without_spelling():
    assert format_value(ast.Number(3)) == "3"
    assert format_value(ast.Number(-1e-06)) == "-1e-06"
    assert format_value(ast.ListValue((ast.Bool(True), ast.NameRef("N"), ast.String("x")))) == (
        '[true, N, "x"]'
    )
    assert quote('a"b\\c\nd\te') == r'"a\"b\\c\nd\te"'


def test_field_names_are_quoted_only_when_needed():
    text = 'type T = {"plain": f4, "1st_chA_h": i2, "type": u1, "with space": f8}\n'
    assert fmt(text) == 'type T = {plain: f4, "1st_chA_h": i2, "type": u1, "with space": f8}\n'


def test_callable_forms_print_as_written():
    text = (
        "importer a = pkg.mod:Cls.run() -> x\n"
        "importer b = pkg.mod.fn() -> x\n"
        'importer c = "dir/p.py":fn() -> x\n'
        "importer d = gen() -> x\n"
    )
    assert fmt(text) == text


def test_callables_named_like_keywords_print_as_written():
    text = (
        'importer a = "funcs.py":importer() -> x\n'
        "filter b = cuts:filter() x -> y\n"
        "importer c = mylib.importer:make() -> x\n"
        "processor d = filter() x -> y\n"
    )
    assert fmt(text) == text


def test_mappings_print_with_plain_keys_bare_and_other_keys_quoted():
    text = 'const M = {a:1,"b":[2,{c : true}], "with space":"x",  "type":{}}\n'
    assert fmt(text) == 'const M = {a: 1, b: [2, {c: true}], "with space": "x", "type": {}}\n'
    entry = ast.Entry("1st", ast.MappingValue(()))
    assert format_value(ast.MappingValue((entry,))) == '{"1st": {}}'


def test_string_dtype_codes_print_as_written():
    text = "type H = {name: S16, labels: U8[2, 3]}\nbuffer names : U4[8] slots=2\n"
    assert fmt(text) == text


def test_comments_own_line_trailing_and_inside_statements():
    text = (
        "# header\n"
        "\n"
        "pipeline p   # names the run   \n"
        "# about N\n"
        "const N = 1\n"
        "processor w = f(\n"
        "    a=1,   # first argument\n"
        "    b=2,\n"
        ") x -> y  # done\n"
        "# the end\n"
    )
    assert fmt(text) == (
        "# header\n"
        "\n"
        "pipeline p  # names the run\n"
        "# about N\n"
        "const N = 1\n"
        "# first argument\n"
        "processor w = f(a=1, b=2) x -> y  # done\n"
        "# the end\n"
    )


def test_blank_lines_collapse_to_one_and_vanish_at_the_ends():
    text = "\n\n\npipeline p\n\n\n\nconst A = 1\nconst B = 2\n\n# note\n\n\n"
    assert fmt(text) == "pipeline p\n\nconst A = 1\nconst B = 2\n\n# note\n"


def test_long_types_list_one_field_per_line():
    fields = ", ".join(f"field_number_{i}: f8" for i in range(8))
    text = f"type Wide = {{{fields}}}  # wide\n"
    out = fmt(text)
    assert out.splitlines()[0] == "type Wide = {"
    assert out.splitlines()[1] == "    field_number_0: f8,"
    assert out.endswith("    field_number_7: f8,\n}  # wide\n")
    assert fmt(out) == out
    short = "type T = {a: f4}\n"
    assert fmt(short) == short


def test_long_worker_statements_stay_on_one_line():
    args = ", ".join(f"argument_{i}={i}" for i in range(12))
    text = f"processor p = f({args}) a -> b\n"
    out = fmt(text)
    assert out.count("\n") == 1
    assert len(out) > MAX_LINE


def test_crlf_input_gives_lf_output():
    assert fmt("pipeline p\r\n\r\nconst A = 1  # c\r\n") == "pipeline p\n\nconst A = 1  # c\n"


def test_empty_and_comment_only_texts():
    assert fmt("") == ""
    assert fmt("\n\n") == ""
    assert fmt("#a\n\n\n  #b   \n") == "#a\n\n#b\n"


def test_hand_built_module_without_spans():
    module = ast.Module(
        (
            ast.BufferDecl(
                "b", ast.TypeName("f4"), ast.Number(16), (ast.Option("slots", ast.Number(2)),)
            ),
            ast.Worker(
                "exporter", "e", ast.CallableRef("bare", None, "sink"), inputs=(ast.BufferRef("b"),)
            ),
        ),
        comments=(ast.Comment("# generated"),),
    )
    text = format_module(module)
    assert text == "# generated\nbuffer b : f4[16] slots=2\nexporter e = sink() b\n"
    assert parse(SourceFile("g.flow", text)) == module


def test_formatting_is_idempotent_on_a_messy_file():
    text = (
        "  # lead\n"
        "type T = {  # opening\n"
        '  "x y": f4[N,\n'
        "   2],\n"
        "}\n\n\n"
        "buffer b : T[4] slots=2 # two\n"
        "importer i = f(l=[1,\n"
        "  [2, 3],  # inner\n"
        "]) -> b\n"
    )
    once = fmt(text)
    assert fmt(once) == once
    assert parse(SourceFile("a", once)) == parse(SourceFile("b", text))
    assert [line for line in once.splitlines() if "#" in line] == [
        "# lead",
        "# opening",
        "buffer b : T[4] slots=2  # two",
        "# inner",
    ]
