"""The whole-graph checks, one by one: E201-E204, E301-E304, W301-W303."""

import textwrap
from typing import Any

import pytest

import flowc
from flowc.compiler import check_source
from flowc.sema.checks import ARITY, human_bytes
from flowc.source import SourceFile


def gen(n: int = 3, rate: float = 1.0, label: str = "x", on: bool = True, chans: list = ()):
    yield from range(n)


def step(data, *, threshold, scale=1, meta=None):
    return data


def anything(data, **options):
    return data


@flowc.signature(needs={"height": "f8", "time": None}, produces="{height: f8, time: f8}")
def finder(data):
    return data


@flowc.signature(produces=["{a: f4}", "f8"])
def splitter(data):
    return [data, data]


@flowc.signature(field_args=("field",), needs={"field": None})
def histogram(data, *, field):
    return None


@flowc.signature(kind="filter", field_args=("field",))
def select(data, *, field, min=None):
    return True


@flowc.signature(produces="{broken")
def badly_declared(data):
    return data


class Counter:
    def __init__(self, every: int):
        self.every = every

    def process(self, data, meta):
        return data


FUNCTIONS = {
    f.__name__: f
    for f in (gen, step, anything, finder, splitter, histogram, select, badly_declared, Counter)
}

HEADER = """\
type Pulse = {height: f8, time: f8}
type Wave = {height: f4, time: f8}
buffer raw : f4[16] slots=4
buffer pulses : Pulse slots=8
importer src = gen() -> raw
"""


def check(text, **options):
    options.setdefault("functions", FUNCTIONS)
    return check_source(SourceFile("t.flow", HEADER + textwrap.dedent(text)), **options)


def errors(text, **options):
    return [d for d in check(text, **options).diagnostics if d.is_error]


def one(text, code, **options):
    found = errors(text, **options)
    assert [d.code for d in found] == [code], [d.render() for d in found]
    return found[0]


def warnings_of(text, **options):
    return [d for d in check(text, **options).diagnostics if not d.is_error]


BASE = """\
processor find = finder() raw -> pulses
exporter save = anything() pulses
"""


def test_the_base_pipeline_is_clean_apart_from_the_signature():
    found = errors(BASE)
    assert [d.code for d in found] == ["E202"]  # raw is a plain f4 array: finder needs fields


# --- E301 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "importer i = gen() raw -> pulses",
        "importer i = gen()",
        "processor p = step(threshold=1) -> pulses",
        "processor p = step(threshold=1) raw",
        'filter f = select(field="height") pulses, raw -> pulses',
        'filter f = select(field="height") pulses',
        "exporter e = anything()",
        "observer o = anything() raw",
        "observer o = anything()",
        "exporter e = anything() raw observes pulses",
    ],
)
def test_wrong_buffer_counts_for_the_kind_are_e301_at_the_statement(statement):
    found = [d for d in errors(statement + "\n") if d.code == "E301"]
    assert len(found) == 1
    assert found[0].span.text == statement
    assert found[0].span.line == HEADER.count("\n") + 1


def test_the_arity_table_is_the_one_of_the_spec():
    allowed = {kind: tuple((c.low, c.high) for c in counts) for kind, counts in ARITY.items()}
    assert allowed == {
        "importer": ((0, 0), (1, 1), (0, 0)),
        "processor": ((1, None), (1, None), (0, 0)),
        "filter": ((1, 1), (1, None), (0, 0)),
        "exporter": ((1, 1), (0, None), (0, 0)),
        "observer": ((0, 0), (0, 0), (1, None)),
    }


# --- E204 ------------------------------------------------------------------------------------


def test_an_argument_unknown_to_the_code_is_e204_at_the_key_with_a_suggestion():
    d = one("exporter e = step(threshold=1, treshold=2) raw\n", "E204")
    assert d.span.text == "treshold"
    assert "threshold" in d.help


def test_a_missing_required_argument_is_e204_at_the_callable():
    d = one("exporter e = step() raw\n", "E204")
    assert d.span.text == "step"
    assert "threshold" in d.message


def test_kwargs_accept_any_argument():
    assert errors('exporter e = anything(whatever=1, other="x") raw\n') == []


@pytest.mark.parametrize(
    "args,ok",
    [
        ('n=3, rate=2, label="y", on=false, chans=[1, 2]', True),
        ("rate=2.5", True),
        ('n="3"', False),
        ("n=2.5", False),
        ("n=true", False),
        ('rate="fast"', False),
        ("label=3", False),
        ("on=1", False),
        ("chans=3", False),
    ],
)
def test_a_value_of_an_obviously_wrong_type_is_e204(args, ok):
    text = HEADER.replace("gen()", f"gen({args})")
    result = check_source(
        SourceFile("t.flow", text + "exporter e = anything() raw\n"), functions=FUNCTIONS
    )
    codes = [d.code for d in result.diagnostics if d.is_error]
    assert codes == ([] if ok else ["E204"])


def test_an_int_default_accepts_a_float_but_not_a_string():
    assert errors("exporter e = step(threshold=1, scale=0.5) raw\n") == []
    assert [d.code for d in errors('exporter e = step(threshold=1, scale="big") raw\n')] == ["E204"]


def km3_module(data, *, foo: int | str = 23, cut: "Optional[float]" = None, raw: Any = 1, cfg={}):  # noqa: B006, F821
    return data


def text_annotated(data, *, names: "list[str] | None" = None, table: "Mapping[str, int]" = None):  # noqa: F821
    return data


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ('foo="dummybar"', None),  # the annotation decides, not the default 23
        ("foo=7", None),
        ("foo=[1]", "takes an int or a string, not a list"),
        ("cut=2", None),  # an int is fine for a float
        ('cut="x"', "takes a float, not a string"),
        ('raw="anything", cfg={a: [1]}', None),  # Any takes anything
        ("cfg=[1]", "takes a mapping, not a list"),
    ],
)
def test_annotations_decide_an_arguments_type(args, problem):
    text = f"exporter e = km3_module({args}) raw\n"
    functions = {**FUNCTIONS, "km3_module": km3_module}
    found = errors(text, functions=functions)
    if problem is None:
        assert found == []
    else:
        (d,) = found
        assert d.code == "E204" and problem in d.message
        assert d.help.endswith("(as its annotation says)") or "default" in d.help


def test_annotations_written_as_text_are_read_without_evaluating_them():
    functions = {**FUNCTIONS, "text_annotated": text_annotated}
    assert (
        errors('exporter e = text_annotated(names=["a"], table={a: 1}) raw\n', functions=functions)
        == []
    )
    d = one('exporter e = text_annotated(names="a") raw\n', "E204", functions=functions)
    assert "takes a list, not a string" in d.message
    d = one("exporter e = text_annotated(table=[1]) raw\n", "E204", functions=functions)
    assert "takes a mapping, not a list" in d.message


def test_reserved_parameters_cannot_be_given():
    d = one("exporter e = step(threshold=1, meta=2) raw\n", "E204")
    assert d.span.text == "meta=2"


def test_an_argument_given_twice_is_e204():
    d = one("exporter e = step(threshold=1, threshold=2) raw\n", "E204")
    assert d.span.text == "threshold=2"


def test_a_class_is_checked_by_its_init():
    assert errors("exporter e = Counter(every=2) raw\n") == []
    d = one("exporter e = Counter() raw\n", "E204")
    assert "every" in d.message


# --- E202, E203 ------------------------------------------------------------------------------


def test_needs_is_held_against_every_input_at_its_reference():
    d = one("processor find = finder() raw -> pulses\nexporter save = anything() pulses\n", "E202")
    assert d.span.text == "raw"
    assert "height" in d.message and "plain" in d.message


def test_needs_with_a_wrong_dtype_is_e202():
    text = "buffer waves : Wave slots=2\nexporter c = anything() raw -> waves\n"
    text += "processor find = finder() waves -> pulses\nexporter save = anything() pulses\n"
    found = [d for d in errors(text) if d.code == "E202"]
    assert len(found) == 1 and found[0].span.text == "waves"
    assert "f4" in found[0].message


def test_produces_is_held_against_each_output():
    text = "buffer waves : Wave slots=2\nprocessor p = finder() pulses -> waves\n"
    text += "importer more = gen() -> pulses\nexporter save = anything() waves\n"
    d = one(text, "E202")
    assert d.span.text == "waves" and d.span.line == HEADER.count("\n") + 2
    assert "height" in d.message
    assert d.notes[0].span.line == HEADER.count("\n") + 1


def test_produces_as_a_list_needs_one_output_each():
    text = "buffer a : {a: f4} slots=2\nbuffer b : f8 slots=2\n"
    text += "processor s = splitter() raw -> a, b\nexporter x = anything() a\nexporter y = anything() b\n"
    assert errors(text) == []
    d = one(text.replace("-> a, b", "-> a").replace("exporter y = anything() b\n", ""), "E202")
    assert d.span.text == "splitter"
    assert "2 outputs" in d.message


def test_an_unusable_produces_is_e202_at_the_callable():
    d = one(
        "processor p = badly_declared() raw -> pulses\nexporter s = anything() pulses\n", "E202"
    )
    assert d.span.text == "badly_declared"


def test_a_signature_kind_other_than_the_worker_kind_is_e202_at_the_callable():
    d = one(
        'processor p = select(field="height") pulses -> pulses2\nbuffer pulses2 : Pulse slots=2\n'
        "importer more = gen() -> pulses\nexporter s = anything() pulses2\n",
        "E202",
    )
    assert d.span.text == "select"
    assert "filter" in d.message and "processor" in d.message


def test_a_field_argument_must_name_a_field_of_the_input():
    text = "importer more = gen() -> pulses\nbuffer kept : Pulse slots=2\nexporter s = anything() kept\n"
    assert errors(text + 'filter f = select(field="height") pulses -> kept\n') == []
    d = one(text + 'filter f = select(field="hieght") pulses -> kept\n', "E203")
    assert d.span.text == 'field="hieght"'
    assert "height" in d.help


def test_a_field_argument_on_a_plain_array_is_e203():
    d = one(
        'observer o = histogram(field="height") observes raw\nexporter s = anything() raw\n', "E203"
    )
    assert "plain" in d.message


def test_a_field_of_the_wrong_kind_is_e203_when_needs_constrains_it():
    text = "type Flags = {ok: b1}\nbuffer flags : Flags slots=2\nimporter more = gen() -> flags\n"
    text += "exporter s = anything() flags\n"
    d = one(text + 'observer o = histogram(field="ok") observes flags\n', "E203")
    assert "numeric" in d.message


# --- E201 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "declaration,fragment",
    [
        ("buffer kept : Wave slots=2", "height"),
        ("buffer kept : {height: f8} slots=2", "time"),
        ("buffer kept : Pulse[4] slots=2", "length"),
        ("buffer kept : f8 slots=2", "struct"),
    ],
)
def test_a_filter_or_exporter_output_must_have_its_input_type_and_length(declaration, fragment):
    for worker in (
        'filter f = select(field="height") pulses -> kept',
        "exporter f = anything() pulses -> kept",
    ):
        text = f"importer more = gen() -> pulses\n{declaration}\n{worker}\nexporter s = anything() kept\n"
        d = one(text, "E201")
        assert d.span.text == "kept" and d.span.line == HEADER.count("\n") + 3
        assert fragment in d.message
        assert d.notes[0].span.line == HEADER.count("\n") + 2
        assert "use a processor" in d.help


def test_the_same_fields_under_another_type_name_are_the_same_type():
    text = "type Copy = {height: f8, time: f8}\nbuffer kept : Copy slots=2\n"
    text += 'importer more = gen() -> pulses\nfilter f = select(field="time") pulses -> kept\n'
    text += "exporter s = anything() kept\n"
    assert errors(text) == []


# --- E302, E303, E304 ------------------------------------------------------------------------


def test_a_buffer_nothing_writes_is_e302_at_each_reader():
    text = "exporter a = anything() pulses\nobserver o = anything() observes pulses\n"
    found = errors(text)
    assert [d.code for d in found] == ["E302", "E302"]
    assert [d.span.text for d in found] == ["pulses", "pulses"]


def test_a_cycle_is_one_e303_naming_it_in_order_at_its_first_edge():
    text = "buffer a : f4[16] slots=2\nprocessor p = anything() raw, b -> a\n"
    text += (
        "processor q = anything() a -> b\nbuffer b : f4[16] slots=2\nexporter e = anything() b\n"
    )
    found = errors(text)
    assert [d.code for d in found] == ["E303"]
    d = found[0]
    assert d.message.endswith("`b` -> `p` -> `a` -> `q` -> `b`")
    assert d.span.text == "b" and d.span.line == HEADER.count("\n") + 2


def test_a_worker_reading_its_own_output_is_a_cycle():
    d = one(
        "processor p = anything() raw, pulses -> pulses\nexporter e = anything() pulses\n", "E303"
    )
    assert "`p`" in d.message and "`pulses`" in d.message


def test_two_cycles_are_two_diagnostics():
    text = "processor p = anything() raw, a -> a\nprocessor q = anything() raw, b -> b\n"
    text += "buffer a : f4[16] slots=2\nbuffer b : f4[16] slots=2\n"
    assert [d.code for d in errors(text)] == ["E303", "E303"]


def test_more_shared_memory_than_max_shm_is_e304_at_the_largest_buffer():
    text = "buffer big : f8[100000] slots=10\nexporter e = anything() raw -> big\nexporter f = anything() big\n"
    found = [d for d in errors(text, max_shm=1_000_000) if d.code == "E304"]
    assert len(found) == 1
    assert found[0].span.text == "big"
    assert "MiB" in found[0].message and "--max-shm" in found[0].message


def test_within_max_shm_there_is_no_e304():
    assert errors("exporter e = anything() raw\n", max_shm=10_000_000) == []


def test_more_than_dev_shm_has_free_is_e304():
    text = "buffer big : f8[1000000000] slots=100000\nexporter e = anything() raw -> big\n"
    assert "E304" in [d.code for d in errors(text)]


@pytest.mark.parametrize(
    "n,text",
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1023 bytes"),
        (1536, "1.5 KiB"),
        (3 * 2**30, "3.0 GiB"),
    ],
)
def test_human_bytes(n, text):
    assert human_bytes(n) == text


# --- warnings --------------------------------------------------------------------------------


def test_a_buffer_written_but_only_observed_is_w301():
    found = warnings_of("observer o = anything() observes raw\n")
    assert [d.code for d in found] == ["W301", "W302"]
    assert found[0].span.text == "raw" and "observed" in found[0].message


def test_a_buffer_written_and_never_read_is_w301():
    found = warnings_of("")
    assert [(d.code, d.span.text) for d in found] == [("W301", "raw"), ("W302", "pulses")]


def test_fewer_slots_than_reading_processes_is_w303():
    found = warnings_of(
        "processor p = anything() raw -> pulses processes=6\nexporter e = anything() pulses\n"
    )
    assert [(d.code, d.span.text) for d in found] == [("W303", "raw")]
    assert "slots=6" in found[0].help


def test_warnings_alone_still_give_a_plan():
    result = check("")
    assert result.ok and result.plan is not None


# --- unusual code ----------------------------------------------------------------------------


def odd_annotation(data, *, shape: [int] = (1,)):  # noqa: B006
    return data


class CallableObject:
    def __call__(self, data, *, factor=2):
        return data


@flowc.signature(produces="Pulse")
def named_product(data):
    return data


@pytest.mark.parametrize(
    "code,args,expected",
    [
        (odd_annotation, "shape=[2]", []),
        (print, "", []),
        (CallableObject(), "factor=3", []),
        (CallableObject(), 'factor="x"', ["E204"]),
        (42, "", ["E108"]),
    ],
)
def test_unusual_code_is_checked_without_crashing(code, args, expected):
    functions = dict(FUNCTIONS, odd=code)
    found = errors(f"exporter e = odd({args}) raw\n", functions=functions)
    assert [d.code for d in found] == expected


def test_produces_may_name_a_declared_type():
    functions = dict(FUNCTIONS, named_product=named_product)
    text = "processor p = named_product() raw -> pulses\nexporter s = anything() pulses\n"
    assert errors(text, functions=functions) == []
    text = "buffer w : Wave slots=2\nprocessor p = named_product() raw -> w\nexporter s = anything() w\n"
    assert [d.code for d in errors(text, functions=functions)] == ["E202"]


def test_an_unresolved_callable_silences_the_checks_of_its_code():
    found = errors(
        "processor p = nowhere(threshold=1, bogus=2) raw -> pulses\nexporter s = anything() pulses\n"
    )
    assert [d.code for d in found] == ["E108"]


def test_an_observer_never_closes_a_cycle():
    text = "exporter e = anything() raw\nobserver o = anything() observes raw\n"
    assert errors(text) == []


def test_a_worker_with_the_wrong_buffer_count_closes_no_cycle():
    found = errors("importer i = gen() pulses -> pulses\nexporter e = anything() pulses\n")
    assert [d.code for d in found] == ["E301"]
