"""Name resolution and values: E101-E108, consts, options and overrides, on flow text."""

import textwrap

import pytest

import flowc
from flowc.compiler import check_source
from flowc.source import SourceFile


def gen(n: int = 3):
    yield from range(n)


def passthrough(data):
    return data


FUNCTIONS = {"gen": gen, "passthrough": passthrough}


def check(text, **options):
    options.setdefault("functions", FUNCTIONS)
    return check_source(SourceFile("t.flow", textwrap.dedent(text)), **options)


def codes(text, **options):
    return [d.code for d in check(text, **options).diagnostics]


def only(text, code, **options):
    """The one diagnostic of `code` the text produces (and that there are no other errors)."""
    result = check(text, **options)
    found = [d for d in result.diagnostics if d.code == code]
    others = [d.code for d in result.diagnostics if d.is_error and d.code != code]
    assert len(found) == 1, [d.render() for d in result.diagnostics]
    assert not others, others
    return found[0]


PIPE = """
buffer raw : f4[16] slots=4
importer src = gen() -> raw
exporter out = passthrough() raw
"""


def test_a_clean_pipeline_has_no_diagnostics():
    result = check(PIPE)
    assert result.ok and result.diagnostics == []
    assert result.plan is not None


@pytest.mark.parametrize(
    "text",
    [
        "const raw = 1\n" + PIPE,
        PIPE + "type raw = {a: f4}\n",
        PIPE + "exporter raw = passthrough() raw\n",
        PIPE + "buffer src : f4 slots=1\n",
    ],
)
def test_a_name_declared_twice_is_e101_at_the_second_with_a_note_at_the_first(text):
    d = only(text, "E101")
    first, second = [
        i for i, line in enumerate(text.splitlines(), 1) if _declares(line, d.span.text)
    ]
    assert d.span.line == second
    assert d.notes[0].span.line == first


def _declares(line, name):
    words = line.replace("=", " ").replace(":", " ").split()
    return len(words) > 1 and words[1] == name


def test_the_pipeline_name_is_outside_the_namespace():
    assert codes("pipeline raw\n" + PIPE) == []


def test_a_second_pipeline_line_is_e101():
    d = only("pipeline a\npipeline b\n" + PIPE, "E101")
    assert d.span.text == "b"


def test_an_undeclared_buffer_is_e102_with_a_close_match():
    d = only(PIPE + "exporter more = passthrough() rwa\n", "E102")
    assert d.span.text == "rwa"
    assert "`raw`" in d.help


def test_a_worker_name_where_a_buffer_is_expected_is_e102_saying_what_it_is():
    d = only(PIPE + "exporter more = passthrough() src\n", "E102")
    assert "importer" in d.notes[0].message
    assert d.notes[0].span.line == 3


def test_an_undeclared_type_is_e103_at_the_type_name():
    d = only("type Pulse = {a: f8}\nbuffer b : Plse slots=1\n", "E103")
    assert d.span.text == "Plse"
    assert "Pulse" in d.help


def test_a_dtype_code_and_an_inline_struct_are_buffer_types():
    result = check(
        """
        buffer a : float32[8] slots=2
        buffer b : {x: f8, "1st": i2[3]} slots=2
        importer src = gen() -> a
        importer src2 = gen() -> b
        exporter o1 = passthrough() a
        exporter o2 = passthrough() b
        """
    )
    assert result.ok, result.diagnostics
    a, b = result.plan.buffers
    assert a.element.code == "f4" and a.length == 8
    assert [f.name for f in b.element.fields] == ["x", "1st"]
    assert b.element.fields[1].shape == (3,)


def test_an_undeclared_const_is_e104():
    d = only("buffer b : f4[LEN] slots=1\n", "E104")
    assert d.span.text == "LEN"


def test_a_const_may_refer_to_an_earlier_const_only():
    assert "E104" not in codes("const A = 4\nconst B = A\nbuffer b : f4[B] slots=A\n")
    d = only("const B = A\nconst A = 4\n", "E104")
    assert "before it is declared" in d.message
    assert d.notes[0].span.line == 2


def test_a_buffer_name_where_a_value_is_expected_is_e104_saying_what_it_is():
    d = only(PIPE + "buffer b : f4[raw] slots=1\n", "E104")
    assert "buffer" in d.notes[0].message


@pytest.mark.parametrize(
    "option,help_word",
    [("procs=2", "processes"), ("slot=2", "slots"), ("threshold=1", "parentheses")],
)
def test_an_unknown_worker_option_is_e105_with_help(option, help_word):
    d = only(PIPE.replace("passthrough() raw", f"passthrough() raw {option}"), "E105")
    assert d.span.text == option.split("=")[0]
    assert help_word in d.help


def test_an_unknown_buffer_option_is_e105():
    d = only(PIPE.replace("slots=4", "slots=4 overfow=drop"), "E105")
    assert "overflow" in d.help


def test_an_option_given_twice_is_e105_at_the_second():
    d = only(PIPE.replace("slots=4", "slots=4 slots=5"), "E105")
    assert d.span.column == len("buffer raw : f4[16] slots=4 ") + 1


@pytest.mark.parametrize(
    "text,fragment",
    [
        (PIPE.replace("slots=4", "slots=0"), "0"),
        (PIPE.replace("slots=4", "slots=-1"), "-1"),
        (PIPE.replace("slots=4", "slots=2.5"), "2.5"),
        (PIPE.replace("slots=4", 'slots="4"'), '"4"'),
        (PIPE.replace("slots=4", "slots=true"), "true"),
        (PIPE.replace("f4[16]", "f4[0]"), "0"),
        (PIPE.replace("slots=4", "slots=4 overflow=spill"), "spill"),
        (PIPE.replace("passthrough() raw", "passthrough() raw processes=0"), "0"),
        (PIPE.replace("passthrough() raw", "passthrough() raw on_error=ignore"), "ignore"),
        (PIPE.replace("-> raw", "-> raw processes=2"), "2"),
    ],
)
def test_bad_option_and_literal_values_are_e106_at_the_value(text, fragment):
    d = only(text, "E106")
    assert d.span.text == fragment


def test_a_buffer_without_slots_is_e106_at_its_name_saying_add_slots():
    d = only(PIPE.replace(" slots=4", ""), "E106")
    assert d.span.text == "raw"
    assert "slots=N" in d.help


def test_option_values_may_be_names_strings_or_consts():
    text = 'const MODE = "drop"\nconst P = 2\n' + PIPE.replace("slots=4", "slots=4 overflow=MODE")
    text = text.replace("passthrough() raw", 'passthrough() raw on_error="skip" processes=P')
    plan = check(text).plan
    assert plan.buffers[0].overflow == "drop"
    assert (plan.workers[1].on_error, plan.workers[1].processes) == ("skip", 2)


@pytest.mark.parametrize(
    "field,span_text,help_word",
    [("a: f5", "f5", "f4"), ("a: f4, a: i2", "a", "rename"), ("a: Other", "Other", "nest")],
)
def test_bad_fields_are_e107(field, span_text, help_word):
    d = only(f"type Other = {{x: f4}}\ntype T = {{{field}}}\n", "E107")
    assert d.span.text == span_text
    assert d.span.line == 2
    assert help_word in d.help


def test_sub_array_dimensions_must_be_positive_ints_and_may_be_consts():
    assert codes("const K = 4\ntype T = {a: f4[K, 2]}\n") == []
    d = only("type T = {a: f4[0]}\n", "E106")
    assert d.span.text == "0"


def test_a_type_too_large_for_numpy_is_an_error_not_a_crash():
    result = check("type T = {a: f4[100000000000, 100000000000]}\n")
    assert [d.code for d in result.diagnostics] == ["E106"]


def test_a_bare_callable_not_given_is_e108_with_help():
    d = only(PIPE.replace("gen()", "gne()"), "E108")
    assert d.span.text == "gne"
    assert "`gen`" in d.help


def test_a_missing_module_or_attribute_is_e108_with_the_reason():
    d = only(PIPE.replace("gen()", "no_such_pkg.mod:gen()"), "E108")
    assert "no_such_pkg" in d.message
    d = only(PIPE.replace("gen()", "stdlib.sources.pulse(n=1)"), "E108")
    assert "pulses" in d.help


def test_a_name_nothing_like_a_stdlib_worker_lists_what_its_module_has():
    d = only(PIPE.replace("gen()", "stdlib.sources.counter(n=1)"), "E108")
    assert d.help.startswith("it has `csv`, `hdf5`, `npy`, `pulses`")
    assert "`flowc stdlib` lists the standard workers" in d.help
    assert "did you mean `stdlib.sources`" not in d.help


def test_a_module_whose_import_raises_is_e108_not_a_crash(tmp_path):
    (tmp_path / "broken.py").write_text("raise RuntimeError('no hardware')\n")
    d = only(PIPE.replace("gen()", '"broken.py":gen()'), "E108", base_dir=str(tmp_path))
    assert "RuntimeError" in d.message and "no hardware" in d.message


def test_a_file_callable_is_found_relative_to_base_dir(tmp_path):
    (tmp_path / "mine.py").write_text("def gen(n=1):\n    yield from range(n)\n")
    result = check(PIPE.replace("gen()", '"mine.py":gen(n=2)'), base_dir=str(tmp_path))
    assert result.ok, [d.render() for d in result.diagnostics]
    target = result.plan.workers[0].callable
    assert (target.kind, target.target) == ("file", str(tmp_path / "mine.py"))


def test_every_problem_is_reported_in_one_pass_sorted_by_position():
    text = """
    buffer a : Nope slots=0
    importer src = missing() -> b
    exporter out = passthrough() a procs=1
    """
    result = check(text)
    assert [d.code for d in result.diagnostics] == ["E103", "E106", "E108", "E102", "E302", "E105"]
    positions = [(d.span.line, d.span.column) for d in result.diagnostics]
    assert positions == sorted(positions)


def test_an_unresolved_type_does_not_cascade():
    text = PIPE.replace("f4[16]", "Nope[16]")
    assert codes(text) == ["E103"]


# --- overrides ---------------------------------------------------------------------------------

CONSTS = (
    'const N = 10\nconst RATE = 2.5\nconst OUT = "out/x.npy"\nconst ON = true\nconst L = [1, 2]\n'
)


@pytest.mark.parametrize(
    "set_text,name,value",
    [
        ("N=500", "N", 500),
        ("RATE=3", "RATE", 3.0),
        ("RATE=1e3", "RATE", 1000.0),
        ("OUT=out/y.npy", "OUT", "out/y.npy"),
        ('OUT="out/y.npy"', "OUT", "out/y.npy"),
        ("OUT=", "OUT", ""),
        ("ON=false", "ON", False),
        ("L=[3, 4, 5]", "L", [3, 4, 5]),
        ("N=-2", "N", -2),
    ],
)
def test_set_replaces_a_const_by_the_rules_of_spec_section_5(set_text, name, value):
    result = check(CONSTS, set_texts=[set_text])
    assert result.ok, [d.render() for d in result.diagnostics]
    assert result.plan.consts[name] == value
    assert type(result.plan.consts[name]) is type(value)
    assert result.plan.overrides == {name: value}


@pytest.mark.parametrize("set_text", ["N=2.5", "N=true", "N=abc", "N=", "ON=1", "RATE=true", "L=3"])
def test_a_set_value_of_the_wrong_type_is_e106_on_the_command_line(set_text):
    d = only(CONSTS, "E106", set_texts=[set_text])
    assert d.span.filename == "<command line>"
    assert d.span.file.text == set_text
    assert d.span.start == set_text.index("=") + 1


def test_set_of_an_undeclared_const_is_e104_at_the_name():
    d = only(CONSTS, "E104", set_texts=["M=3"])
    assert (d.span.filename, d.span.text) == ("<command line>", "M")
    assert "`N`" in d.help


def test_an_overridden_const_flows_into_later_consts_and_uses():
    result = check("const N = 2\nconst M = N\nbuffer b : f4[M] slots=N\n", set_texts=["N=7"])
    assert result.plan.consts == {"N": 7, "M": 7}
    assert (result.plan.buffers[0].length, result.plan.buffers[0].slots) == (7, 7)


@pytest.mark.parametrize(
    "overrides,code",
    [
        ({"N": 5}, None),
        ({"RATE": 1}, None),
        ({"N": "5"}, "E106"),
        ({"N": True}, "E106"),
        ({"X": 1}, "E104"),
    ],
)
def test_api_overrides_follow_the_same_rules(overrides, code):
    result = check(CONSTS, overrides=overrides)
    assert [d.code for d in result.diagnostics] == ([code] if code else [])


def test_compile_source_raises_flow_error_with_every_error():
    with pytest.raises(flowc.FlowError) as caught:
        flowc.compile_source("buffer a : Nope slots=0\n")
    assert [d.code for d in caught.value.diagnostics] == ["E103", "E106"]


def test_set_of_a_const_declared_after_a_clashing_name_reports_only_the_clash():
    result = check("buffer N : f4 slots=1\nconst N = 1\n", set_texts=["N=2"])
    assert [d.code for d in result.diagnostics if d.is_error] == ["E101"]


def test_set_texts_are_applied_after_api_overrides():
    result = check(CONSTS, overrides={"N": 1}, set_texts=["N=2"])
    assert result.plan.consts["N"] == 2


def test_callables_named_like_keywords_resolve_and_run(tmp_path, monkeypatch):
    (tmp_path / "funcs.py").write_text(
        "def importer(n=3):\n    yield from range(n)\n\n"
        "def filter(data):\n    return bool(data[0] % 2)\n"
    )
    (tmp_path / "cuts").mkdir()
    (tmp_path / "cuts" / "__init__.py").write_text("")
    (tmp_path / "cuts" / "exporter.py").write_text(
        "def observer(data, *, path):\n"
        "    with open(path, 'a') as f:\n"
        "        f.write(f'{int(data[0])}\\n')\n"
    )
    out = tmp_path / "kept.txt"
    text = textwrap.dedent(
        f"""\
        buffer raw : i8 slots=4
        buffer odd : i8 slots=4
        importer src = "funcs.py":importer(n=6) -> raw
        filter f = "funcs.py":filter() raw -> odd
        exporter save = cuts.exporter:observer(path="{out}") odd
        """
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    result = check(text, base_dir=str(tmp_path))
    assert result.diagnostics == []
    result.plan.run(timeout=60)
    assert out.read_text().split() == ["1", "3", "5"]
