"""Mapping literals (`{key: value}`) and fixed-length string dtypes (`S<n>`, `U<n>`), from the
text through the checker and the plan to a worker in a real run."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

import flowc
from flowc.compiler import check_source, compile_file, compile_source
from flowc.diagnostics import FlowError
from flowc.plan import Plan
from flowc.source import SourceFile
from flowc.syntax import ast, format_source, parse, parse_value
from flowc.types import ElementType, canonical_code, code_problem


def parse_text(text: str) -> ast.Module:
    return parse(SourceFile("test.flow", text))


def check(text: str, **options):
    return check_source(SourceFile("test.flow", textwrap.dedent(text)), **options)


def codes(result) -> list[str]:
    return [d.code for d in result.diagnostics]


def gen(n=1, cfg=None):
    yield from ()


def sink(data, *, bins={}, name="x"):  # noqa: B006  (a dict default marks a mapping parameter)
    return None


@flowc.signature(field_args=("field",), needs={"field": None})
def numeric(data, *, field):
    return None


FUNCTIONS = {"gen": gen, "sink": sink}

# --- mappings: syntax -------------------------------------------------------------------------


def test_a_mapping_parses_with_name_and_string_keys_in_order():
    (const,) = parse_text('const B = {height: [0, 1, 50], "other key": {deep: true}}').statements
    value = const.value
    assert isinstance(value, ast.MappingValue)
    assert [e.key for e in value.entries] == ["height", "other key"]
    assert value.entries[0].key_span.text == "height"
    assert value.entries[1].key_span.text == '"other key"'
    assert value.entries[1].value == ast.MappingValue((ast.Entry("deep", ast.Bool(True)),))


def test_a_mapping_may_span_lines_end_with_a_comma_and_be_empty():
    module = parse_text("const B = {\n    a: 1,\n\n    b: [2,\n 3],\n}\nconst E = {}\n")
    first, empty = module.statements
    assert [e.key for e in first.value.entries] == ["a", "b"]
    assert empty.value == ast.MappingValue(())


def test_mappings_stand_in_arguments_options_and_lists():
    (worker,) = parse_text("exporter e = sink(bins=[{a: 1}, {b: N}]) x\n").statements
    (arg,) = worker.args
    assert arg.value == ast.ListValue(
        (
            ast.MappingValue((ast.Entry("a", ast.Number(1)),)),
            ast.MappingValue((ast.Entry("b", ast.NameRef("N")),)),
        )
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("const M = {3: 1}", "expected a key (a name or a quoted string) or `}` in a mapping"),
        ("const M = {a 1}", "expected `:` after the mapping's key"),
        ("const M = {a: }", "expected a value after the key's `:`"),
        ("const M = {a: 1 b: 2}", "expected `,` or `}` after a value in a mapping"),
        ("const M = {a: 1", "unclosed `{`"),
    ],
)
def test_mapping_syntax_errors_say_what_was_expected(text, message):
    with pytest.raises(FlowError) as info:
        parse_text(text)
    (d,) = info.value.diagnostics
    assert d.code == "E001"
    assert message in d.message


def test_a_keyword_key_must_be_quoted():
    with pytest.raises(FlowError) as info:
        parse_text("const M = {type: 1}")
    assert '"type": ...' in info.value.diagnostics[0].help
    (const,) = parse_text('const M = {"type": 1}').statements
    assert const.value.entries[0].key == "type"


def test_fmt_prints_mappings_canonically_and_keeps_comments():
    text = 'const B = {height:[0,1,50] , "odd key":{ x : 1 },}  # bins\nconst E={ }\n'
    formatted = format_source(SourceFile("x.flow", text))
    assert formatted == (
        'const B = {height: [0, 1, 50], "odd key": {x: 1}}  # bins\nconst E = {}\n'
    )
    assert format_source(SourceFile("again.flow", formatted)) == formatted


def test_fmt_lists_a_long_const_mapping_one_entry_per_line():
    keys = [f"field_number_{i}" for i in range(6)]
    text = "const B = {" + ", ".join(f"{k}: [0, 1, 50]" for k in keys) + "}  # all\n"
    formatted = format_source(SourceFile("x.flow", text))
    lines = formatted.splitlines()
    assert lines[0] == "const B = {"
    assert lines[1:-1] == [f"    {k}: [0, 1, 50]," for k in keys]
    assert lines[-1] == "}  # all"
    assert format_source(SourceFile("again.flow", formatted)) == formatted
    assert parse_text(formatted) == parse_text(text)


# --- mappings: values -------------------------------------------------------------------------


def test_mappings_reach_the_plan_as_dicts_with_consts_resolved():
    plan = compile_source(
        textwrap.dedent(
            """\
            const N = 50
            const BINS = {height: [0, 1, N], "1st ch": {lo: -1.5, on: true}}
            buffer raw : f8 slots=2
            importer src = gen(cfg={bins: BINS, names: ["a", "b"]}) -> raw
            exporter save = sink(bins=BINS) raw
            """
        ),
        functions=FUNCTIONS,
    )
    bins = {"height": [0, 1, 50], "1st ch": {"lo": -1.5, "on": True}}
    assert plan.consts["BINS"] == bins
    assert plan.worker("src").args == {"cfg": {"bins": bins, "names": ["a", "b"]}}
    assert plan.worker("save").args == {"bins": bins}
    # no two plan elements share one dict
    assert plan.worker("save").args["bins"] is not plan.consts["BINS"]


def test_the_plan_json_round_trips_mappings():
    plan = compile_source(
        'const B = {a: {b: [1, 2.5, "x"]}, "c d": {}}\nbuffer raw : f8 slots=2\n'
        "importer src = gen(cfg=B) -> raw\nexporter save = sink(bins=B) raw\n",
        functions=FUNCTIONS,
    )
    again = Plan.from_json(plan.to_json(), functions=FUNCTIONS)
    assert again == plan
    assert again.worker("src").args["cfg"] == {"a": {"b": [1, 2.5, "x"]}, "c d": {}}
    assert json.loads(plan.to_json())["consts"]["B"] == {"a": {"b": [1, 2.5, "x"]}, "c d": {}}


def test_a_repeated_key_is_e106_at_the_second_key_with_a_note_at_the_first():
    result = check(
        """\
        buffer raw : f8 slots=2
        importer src = gen(cfg={a: 1, "b": 2, "a": 3}) -> raw
        exporter save = sink() raw
        """,
        functions=FUNCTIONS,
    )
    (d,) = result.diagnostics
    assert d.code == "E106"
    assert d.message == "key `a` is given twice in this mapping"
    assert d.span.text == '"a"' and (d.span.line, d.span.column) == (2, 39)
    assert d.notes[0].span.text == "a" and d.notes[0].span.column == 25


def test_a_repeated_key_in_a_nested_mapping_of_a_const_is_found():
    result = check("const B = [{x: {y: 1, y: 2}}]\n")
    assert codes(result) == ["E106"]
    assert result.diagnostics[0].span.column == 23


def test_set_replaces_a_mapping_const():
    text = "const B = {a: 1}\nbuffer raw : f8 slots=2\nimporter src = gen(cfg=B) -> raw\nexporter save = sink() raw\n"
    result = check(text, functions=FUNCTIONS, set_texts=['B={height: [0, 2, 10], "k y": {}}'])
    assert result.ok, result.diagnostics
    assert result.plan.worker("src").args["cfg"] == {"height": [0, 2, 10], "k y": {}}
    assert result.plan.overrides == {"B": {"height": [0, 2, 10], "k y": {}}}


@pytest.mark.parametrize(
    ("value", "message", "column"),
    [
        ("[1, 2]", "const `B` is a mapping, but the new value [1, 2] is a list", 3),
        ("{a: 1, a: 2}", "key `a` is given twice in this mapping", 10),
        ("{a: N}", "`{a: N}` is not a literal value for const `B`", 3),
        ("{a: 1", "`{a: 1` is not a value for const `B`", 3),
    ],
)
def test_set_of_a_mapping_const_reports_bad_values_on_the_command_line(value, message, column):
    result = check("const B = {a: 1}\n", set_texts=[f"B={value}"])
    (d,) = result.diagnostics
    assert (d.code, d.span.filename, d.span.column) == ("E106", "<command line>", column)
    assert d.message.startswith(message)


def test_api_overrides_take_dicts_for_a_mapping_const():
    text = "const B = {a: 1}\nbuffer raw : f8 slots=2\nimporter src = gen(cfg=B) -> raw\nexporter save = sink() raw\n"
    plan = compile_source(text, functions=FUNCTIONS, overrides={"B": {"x": (1, 2)}})
    assert plan.worker("src").args["cfg"] == {"x": [1, 2]}
    with pytest.raises(FlowError) as info:
        compile_source(text, functions=FUNCTIONS, overrides={"B": {1: 2}})
    assert info.value.diagnostics[0].code == "E106"


def test_a_mapping_argument_is_held_against_a_dict_default():
    result = check(
        """\
        buffer raw : f8 slots=2
        importer src = gen() -> raw
        exporter save = sink(bins=[1, 2], name={a: 1}) raw
        """,
        functions=FUNCTIONS,
    )
    assert [(d.code, d.span.text) for d in result.diagnostics] == [
        ("E204", "bins=[1, 2]"),
        ("E204", "name={a: 1}"),
    ]
    assert "takes a mapping, not a list" in result.diagnostics[0].message
    assert "takes a string, not a mapping" in result.diagnostics[1].message


def test_parse_value_reads_a_mapping():
    assert parse_value(SourceFile("<v>", "{a: [1]}")) == ast.MappingValue(
        (ast.Entry("a", ast.ListValue((ast.Number(1),))),)
    )


# --- fixed-length strings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "numpy"), [("S16", "S16"), ("U8", "<U8"), ("S1", "S1"), ("U100", "<U100")]
)
def test_string_codes_are_canonical_and_map_to_numpy(code, numpy):
    assert canonical_code(code) == code
    assert ElementType.plain(code).numpy == np.dtype(numpy)
    assert code_problem(code) is None


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("S0", "it holds no bytes"),
        ("U0", "it holds no unicode characters"),
        ("S", "it needs its length, as in `S16` (16 bytes)"),
        ("U", "it needs its length, as in `U16`"),
        ("S016", "without leading zeros, `S16`"),
        ("s16", "upper-case, `S16`"),
    ],
)
def test_malformed_string_codes_say_what_is_wrong(code, problem):
    assert canonical_code(code) is None
    assert problem in code_problem(code)


def test_u_and_s_stay_distinct_from_the_unsigned_codes():
    assert canonical_code("u8") == "u8" and ElementType.plain("u8").numpy == np.uint64
    assert canonical_code("U8") == "U8" and ElementType.plain("U8").numpy.kind == "U"
    assert code_problem("u8") is None and code_problem("Sample") is None


def test_string_fields_and_plain_string_buffers_with_sub_array_shapes_reach_the_plan():
    plan = compile_source(
        textwrap.dedent(
            """            type Header = {name: S16, titles: U8[2, 3], id: i4}
            buffer headers : Header slots=2
            buffer names : U4[8] slots=2
            importer a = gen() -> headers
            importer b = gen() -> names
            exporter x = sink() headers
            exporter y = sink() names
            """
        ),
        functions=FUNCTIONS,
    )
    header = plan.buffer("headers")
    assert header.dtype == np.dtype([("name", "S16"), ("titles", "<U8", (2, 3)), ("id", "<i4")])
    assert header.element.to_flow() == "{name: S16, titles: U8[2, 3], id: i4}"
    names = plan.buffer("names")
    assert (names.dtype, names.length) == (np.dtype("<U4"), 8)
    assert names.data_bytes == 8 * 16
    again = Plan.from_json(plan.to_json(), functions=FUNCTIONS)
    assert again == plan and again.buffer("headers").dtype == header.dtype


def test_a_bad_string_code_is_e107_in_a_field_and_in_a_plain_buffer():
    result = check("type T = {a: S0, b: U8}\nbuffer x : U slots=2\nbuffer y : T slots=2\n")
    errors = [d for d in result.diagnostics if d.is_error]
    assert [(d.code, d.span.text) for d in errors] == [("E107", "S0"), ("E107", "U")]


def test_a_numeric_requirement_is_not_met_by_a_string_field():
    result = check(
        """        type Event = {name: S8, height: f8}
        buffer events : Event slots=2
        importer src = gen() -> events
        observer h = numeric(field="name") observes events
        exporter x = sink() events
        """,
        functions={**FUNCTIONS, "numeric": numeric},
    )
    (d,) = [d for d in result.diagnostics if d.is_error]
    assert d.code == "E203" and "S8, not numeric" in d.message


def test_fmt_keeps_string_codes_as_written():
    text = "type T = {name: S16, label: U8[4]}\nbuffer b : S4[2] slots=1\n"
    assert format_source(SourceFile("x.flow", text)) == text


# --- a real run ----------------------------------------------------------------------------

WORKERS = """\
import json

def source(cfg, n=3):
    assert type(cfg) is dict and type(cfg["bins"]) is dict, cfg
    lo, hi, count = cfg["bins"]["height"]
    for i in range(n):
        yield (lo + (hi - lo) * i / count, "ev%d" % i, b"raw%d" % i)

def save(data, *, path, bins, meta):
    with open(path, "a") as f:
        row = data[0]
        f.write(json.dumps({"bins": bins, "height": float(row["height"]),
                            "name": str(row["name"]), "tag": row["tag"].decode(),
                            "counter": int(meta["counter"])}) + "\\n")
"""


def test_mappings_and_strings_reach_a_worker_in_a_real_run(tmp_path):
    (tmp_path / "workers.py").write_text(WORKERS)
    out = tmp_path / "out.jsonl"
    (tmp_path / "run.flow").write_text(
        textwrap.dedent(
            f"""\
            const BINS = {{height: [0.0, 1.0, 4]}}
            type Event = {{height: f8, name: U8, tag: S4}}
            buffer events : Event slots=4
            importer src = "workers.py":source(cfg={{bins: BINS, "label": "x"}}) -> events
            exporter save = "workers.py":save(path="{out}", bins={{"1st": BINS, n: [1, 2]}}) events
            """
        )
    )
    plan = compile_file(tmp_path / "run.flow")
    result = plan.run(timeout=60)
    assert result.ok
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["counter"] for r in rows] == [0, 1, 2]
    assert [r["height"] for r in rows] == [0.0, 0.25, 0.5]
    assert [r["name"] for r in rows] == ["ev0", "ev1", "ev2"]
    assert [r["tag"] for r in rows] == ["raw0", "raw1", "raw2"]
    assert rows[0]["bins"] == {"1st": {"height": [0.0, 1.0, 4]}, "n": [1, 2]}
