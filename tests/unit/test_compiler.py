"""The compiler API (read, check, compile) and the lowering to the Plan."""

import json
import textwrap

import pytest

import flowc
from flowc.compiler import (
    CheckResult,
    check_file,
    check_source,
    compile_file,
    compile_source,
    read_source,
)
from flowc.plan import Origin, Plan
from flowc.source import SourceFile


def gen(n=3):
    yield from range(n)


def sink(data, *, path="x", bins=[1, 2]):  # noqa: B006  (a list default marks a list parameter)
    return None


FUNCTIONS = {"gen": gen, "sink": sink}

FLOW = textwrap.dedent(
    """\
    pipeline demo
    const N = 5
    const OUT = "out/x.npy"
    type Pulse = {height: f8, shape: f4[4]}
    buffer raw : Pulse[8] slots=N overflow=drop
    buffer copy : Pulse[8] slots=2
    importer src = gen(n=N) -> raw
    exporter save = sink(path=OUT, bins=[N, 2, [3]]) raw -> copy processes=2 on_error=skip
    observer look = sink() observes copy
    """
)


def test_compile_source_lowers_every_element_in_declaration_order():
    plan = compile_source(FLOW, functions=FUNCTIONS)
    assert plan.name == "demo"
    assert [b.name for b in plan.buffers] == ["raw", "copy"]
    assert [w.name for w in plan.workers] == ["src", "save", "look"]
    raw = plan.buffer("raw")
    assert (raw.length, raw.slots, raw.overflow, raw.type_name) == (8, 5, "drop", "Pulse")
    assert raw.dtype.names == ("height", "shape") and raw.dtype["shape"].shape == (4,)
    save = plan.worker("save")
    assert save.args == {"path": "out/x.npy", "bins": [5, 2, [3]]}
    assert (save.inputs, save.outputs, save.processes, save.on_error) == (
        ("raw",),
        ("copy",),
        2,
        "skip",
    )
    assert plan.worker("look").observes == ("copy",)
    assert plan.worker("src").callable.to_json() == {
        "kind": "function",
        "target": "",
        "attr": "gen",
    }
    assert plan.consts == {"N": 5, "OUT": "out/x.npy"}
    assert plan.functions == FUNCTIONS
    assert plan.source_path is None


def test_each_element_remembers_where_it_was_declared():
    plan = compile_source(FLOW, name="demo.flow", functions=FUNCTIONS)
    assert plan.buffer("copy").origin == Origin("demo.flow", 6, 1)
    assert plan.worker("look").origin == Origin("demo.flow", 9, 1)


def test_the_plan_round_trips_through_json():
    plan = compile_source(FLOW, functions=FUNCTIONS)
    again = Plan.from_json(plan.to_json(), functions=FUNCTIONS)
    assert again == plan
    assert json.loads(plan.to_json())["workers"][1]["args"]["bins"] == [5, 2, [3]]


def test_the_plan_is_named_by_the_pipeline_else_the_file_stem_else_pipeline(tmp_path):
    body = FLOW.replace("pipeline demo\n", "")
    assert compile_source(body, functions=FUNCTIONS).name == "pipeline"
    assert compile_source(body, name="runs/night.flow", functions=FUNCTIONS).name == "night"
    path = tmp_path / "day.flow"
    path.write_text("buffer b : f8 slots=2\nimporter g = stdlib.sources.pulses(n=1) -> b\n")
    plan = compile_file(path)
    assert plan.name == "day"
    assert plan.source_path == str(path)


def test_overrides_reach_the_plan():
    plan = compile_source(FLOW, functions=FUNCTIONS, overrides={"N": 7})
    assert plan.consts["N"] == 7 and plan.overrides == {"N": 7}
    assert plan.buffer("raw").slots == 7
    assert plan.worker("src").args == {"n": 7}


def test_compile_raises_flow_error_with_errors_only():
    text = FLOW + "buffer spare : f4 slots=1\nbuffer bad : Nope slots=1\n"
    with pytest.raises(flowc.FlowError) as caught:
        compile_source(text, functions=FUNCTIONS)
    assert [d.code for d in caught.value.diagnostics] == ["E103"]
    result = check_source(SourceFile("<string>", text), functions=FUNCTIONS)
    assert sorted(d.code for d in result.diagnostics) == ["E103", "W301", "W302", "W302"]


def test_a_syntax_error_gives_a_result_with_e001_and_no_plan():
    result = check_source(SourceFile("<string>", "buffer = = =\n"))
    assert isinstance(result, CheckResult)
    assert not result.ok and result.plan is None
    assert [d.code for d in result.diagnostics] == ["E001"]


def test_file_callables_are_relative_to_the_flow_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "work.py").write_text(
        "def gen(n=1):\n    yield n\n\ndef sink(data):\n    pass\n"
    )
    flow = tmp_path / "sub" / "p.flow"
    flow.write_text(
        'buffer b : f8 slots=2\nimporter g = "work.py":gen() -> b\nexporter s = "work.py":sink() b\n'
    )
    plan = compile_file(flow)
    assert plan.worker("g").callable.target == str(tmp_path / "sub" / "work.py")
    assert check_file(flow).ok


def test_read_source_drops_a_bom_and_keeps_the_text(tmp_path):
    path = tmp_path / "bom.flow"
    path.write_bytes('\ufeffconst X = "é"\n'.encode())
    source = read_source(path)
    assert source.text == 'const X = "é"\n'
    assert source.name == str(path)


def test_bytes_that_are_not_utf8_are_e001_at_the_first_bad_byte(tmp_path):
    path = tmp_path / "latin1.flow"
    path.write_bytes(b'const A = 1\nconst B = "caf\xe9"\n')
    with pytest.raises(flowc.FlowError) as caught:
        read_source(path)
    (d,) = caught.value.diagnostics
    assert d.code == "E001"
    assert (d.span.line, d.span.column) == (2, 15)
    assert "UTF-8" in d.message
    result = check_file(path)
    assert [x.code for x in result.diagnostics] == ["E001"] and result.plan is None


def test_a_missing_file_raises_oserror():
    with pytest.raises(OSError):
        check_file("/no/such/dir/x.flow")


def test_set_texts_come_from_the_command_line():
    result = check_source(
        SourceFile("<string>", FLOW), functions=FUNCTIONS, set_texts=["OUT=elsewhere.npy"]
    )
    assert result.plan.worker("save").args["path"] == "elsewhere.npy"


def test_max_shm_is_passed_to_the_shared_memory_check():
    result = check_source(SourceFile("<string>", FLOW), functions=FUNCTIONS, max_shm=100)
    assert [d.code for d in result.diagnostics if d.is_error] == ["E304"]
