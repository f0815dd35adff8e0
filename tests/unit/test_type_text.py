"""flowc.types.parse_type_text: the one reader of type text (produces=, mimoCoRB2 buffer specs)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

import flowc
from flowc.compiler import check_source
from flowc.source import SourceFile
from flowc.types import ElementType, FieldType, TypeTextError, difference, parse_type_text


@pytest.mark.parametrize(
    "text,element,length",
    [
        ("f4", ElementType.plain("f4"), None),
        ("float32", ElementType.plain("f4"), None),
        ("f4[1024]", ElementType.plain("f4"), 1024),
        ("S16", ElementType.plain("S16"), None),
        (
            "{height: f8, time: f8, shape: f4[16]}",
            ElementType.struct(
                [
                    FieldType("height", "f8"),
                    FieldType("time", "f8"),
                    FieldType("shape", "f4", (16,)),
                ]
            ),
            None,
        ),
        (
            '{"1st_chA_h": f8, name: S16, "odd \\"name\\"\\n": U4[2, 3]}[3]',
            ElementType.struct(
                [
                    FieldType("1st_chA_h", "f8"),
                    FieldType("name", "S16"),
                    FieldType('odd "name"\n', "U4", (2, 3)),
                ]
            ),
            3,
        ),
        # trailing commas and line breaks, as in a flow file
        (
            "{\n  a: int16[2, 0x3,],\n  b: bool,\n}\n",
            ElementType.struct([FieldType("a", "i2", (2, 3)), FieldType("b", "b1")]),
            None,
        ),
    ],
)
def test_good_texts_give_their_element_type_and_length(text, element, length):
    assert parse_type_text(text) == (element, length)


def test_names_are_looked_up_in_the_given_types():
    pulse = ElementType.struct([FieldType("height", "f8")])
    assert parse_type_text("Pulse[4]", {"Pulse": pulse}) == (pulse, 4)
    with pytest.raises(TypeTextError, match="type `Broken` has errors"):
        parse_type_text("Broken", {"Broken": None})


@pytest.mark.parametrize(
    "text,column,reason",
    [
        ("", 1, "the text ends where a dtype code, a type name or `{` was expected"),
        ("{height: f8", 12, "the text ends where `,` or `}` was expected"),
        ("{height f8}", 9, "`:` was expected, not `f8`"),
        ("{a: f9}", 5, "unknown dtype code `f9` for field `a`"),
        ("{a: S0}", 5, "bad string code `S0` for field `a`: it holds no bytes"),
        ("{a: s16}", 5, "string codes are upper-case"),
        ("{a: Pulse}", 5, "field `a` has type `Pulse`, but a field holds a dtype code, not a type"),
        ("{a: f4, b: i2, a: f8}", 16, "field `a` is declared twice"),
        ('{"": f4}', 2, "a field name cannot be empty"),
        ("{}", 2, "a struct needs at least one field"),
        ("{a: f4, type: f8}", 9, '`type` is a word of flow: quote it, `"type": ...`'),
        ("{1: f4}", 2, "a field name was expected, not `1`"),
        ("{a: f4[0]}", 8, "a sub-array dimension must be a positive integer, not `0`"),
        ("{a: f4[N]}", 8, "a sub-array dimension was expected, not `N`"),
        ("{a: f4[2 3]}", 10, "`,` or `]` was expected, not `3`"),
        ("f4[2, 3]", 4, "a length is one number"),
        ("f4[1024] extra", 10, "the type ends before `extra`"),
        ("f9", 1, "`f9` is no declared type or dtype code"),
        ("U", 1, "bad string code `U`: it needs its length"),
        ('{"a: f4}', 2, "an unclosed string"),
        ('{"a\\q": f4}', 2, "a bad escape in a quoted field name"),
        ("{a: f4; b: f8}", 7, "unexpected character `;`"),
        ("{a: f4[2147483647, 2147483647]}", 1, "numpy cannot hold this type"),
    ],
)
def test_bad_texts_say_what_and_where(text, column, reason):
    with pytest.raises(TypeTextError) as caught:
        parse_type_text(text, {"Pulse": None})
    assert caught.value.position + 1 == column
    assert reason in caught.value.reason
    assert isinstance(caught.value, ValueError)
    assert f"column {column}" in str(caught.value)


@pytest.mark.parametrize(
    "text",
    [
        "{height: f8, time: f8, shape: f4[16]}",
        '{"1st_chA_h": f8, name: S16, label: U8[2, 2], "type": i1}',
        "{a: int16[2, 3,], b: bool,}",
    ],
)
def test_type_text_means_what_the_same_type_means_in_a_flow_file(text):
    plan = flowc.compile_source(f"type T = {text}\nbuffer b : T slots=2\n")
    assert parse_type_text(text) == (plan.buffers[0].element, None)


_CODES = st.sampled_from(["i1", "u8", "f2", "f8", "c16", "b1", "S1", "S16", "U8"])
_FIELDS = st.lists(
    st.builds(
        FieldType,
        st.text(min_size=1, max_size=12),
        _CODES,
        st.lists(st.integers(1, 6), max_size=3).map(tuple),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda f: f.name,
)


@given(st.one_of(_FIELDS.map(ElementType.struct), _CODES.map(ElementType.plain)))
def test_any_element_type_written_as_flow_text_reads_back(element):
    assert parse_type_text(element.to_flow()) == (element, None)
    assert parse_type_text(f"{element.to_flow()}[7]") == (element, 7)


def test_to_flow_text_reads_back():
    element = ElementType.struct(
        [FieldType("if", "f4"), FieldType('q"\\\t', "S3", (2,)), FieldType("x_1", "c16")]
    )
    assert parse_type_text(element.to_flow()) == (element, None)


@flowc.signature(produces="{height: f8, time f8}")
def misdeclared(data):
    return data


@flowc.signature(produces="Pulse")
def named(data):
    return data


@flowc.signature(produces="Pulse[4]")
def with_length(data):
    return data


def produces_errors(function):
    text = (
        "type Pulse = {height: f8}\nbuffer raw : f4[4] slots=2\nbuffer out : Pulse slots=2\n"
        "importer src = gen() -> raw\nprocessor p = code() raw -> out\nexporter e = sink() out\n"
    )
    functions = {"gen": lambda: iter(()), "code": function, "sink": lambda data: None}
    result = check_source(SourceFile("t.flow", text), functions=functions)
    return [d for d in result.diagnostics if d.is_error]


def test_a_bad_produces_text_is_e202_naming_the_problem_and_its_column():
    (d,) = produces_errors(misdeclared)
    assert d.code == "E202" and d.span.text == "code"
    assert "`:` was expected, not `f8`, at column 19" in d.message


def test_produces_may_name_a_declared_type_but_not_give_a_length():
    assert produces_errors(named) == []
    (d,) = produces_errors(with_length)
    assert d.code == "E202" and "`[4]` is a buffer's length" in d.message


def test_a_difference_names_both_sides_even_for_a_quoted_field_name():
    a, _ = parse_type_text('{"t: 1": f4[2]}')
    b, _ = parse_type_text('{"t: 1": f8}')
    assert difference(a, b) == "field `t: 1` is f4[2] on one side and f8 on the other"
