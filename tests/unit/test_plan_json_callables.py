"""The plan's JSON keeps callables given through `functions=` by module and qualified name, so
`Plan.from_json(plan.to_json()).run()` works without `functions=`; lambdas and local functions
cannot be recorded, and from_json says so, naming the worker."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

import flowc
from flowc.callables import ResolveError, reference_of
from flowc.plan import Plan

FLOW = """\
buffer raw : f8 slots=4
buffer doubled : f8 slots=4
importer src = count(n=4) -> raw
processor twice = dbl() raw -> doubled
exporter save = keep(path=PATH) doubled
"""

MODULE = """\
def count(n=3):
    for i in range(n):
        yield (float(i),)


def dbl(data):
    return data * 2


class Keeper:
    def __init__(self, path):
        self.path = path

    def process(self, data):
        with open(self.path, "a") as f:
            f.write(f"{float(data[0])}\\n")
"""


@pytest.fixture
def helpers(tmp_path, monkeypatch):
    """An importable module `plan_helpers` holding the workers, and the flow text."""
    (tmp_path / "plan_helpers.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    import plan_helpers

    out = tmp_path / "out.txt"
    text = FLOW.replace("PATH", json.dumps(str(out)))
    yield plan_helpers, text, out
    sys.modules.pop("plan_helpers", None)


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_module_level_functions_and_classes_are_recorded_and_run_again(helpers, start_method):
    module, text, out = helpers
    functions = {"count": module.count, "dbl": module.dbl, "keep": module.Keeper}
    plan = flowc.compile_source(text, functions=functions)
    document = json.loads(plan.to_json())
    references = [w["callable"].get("reference") for w in document["workers"]]
    assert references == [
        {"module": "plan_helpers", "qualname": "count"},
        {"module": "plan_helpers", "qualname": "dbl"},
        {"module": "plan_helpers", "qualname": "Keeper"},
    ]
    again = Plan.from_json(plan.to_json())
    assert again == plan and again.hash == plan.hash
    assert again.functions["dbl"] is module.dbl
    again.run(timeout=60, start_method=start_method)
    assert out.read_text().split() == ["0.0", "2.0", "4.0", "6.0"]


def test_a_lambda_needs_functions_again_and_the_error_names_the_worker(helpers):
    module, text, _ = helpers
    plan = flowc.compile_source(
        text, functions={"count": module.count, "dbl": lambda data: data, "keep": module.Keeper}
    )
    saved = plan.to_json()
    assert json.loads(saved)["workers"][1]["callable"]["reference"] == {"reason": "it is a lambda"}
    with pytest.raises(ResolveError) as info:
        Plan.from_json(saved)
    message = str(info.value)
    assert "worker `twice` calls `dbl`" in message and "it is a lambda" in message
    assert "functions={'dbl': ...}" in message
    again = Plan.from_json(saved, functions={"dbl": module.dbl})
    assert again.functions["dbl"] is module.dbl and again.functions["count"] is module.count


def test_a_local_function_is_named_with_the_function_it_is_defined_in(helpers):
    module, text, _ = helpers

    def local_dbl(data):
        return data

    functions = {"count": module.count, "dbl": local_dbl, "keep": module.Keeper}
    saved = flowc.compile_source(text, functions=functions).to_json()
    with pytest.raises(ResolveError) as info:
        Plan.from_json(saved)
    assert "defined inside the function `test_a_local_function" in str(info.value)


def test_a_reference_that_no_longer_imports_says_where_it_pointed(helpers):
    module, text, _ = helpers
    functions = {"count": module.count, "dbl": module.dbl, "keep": module.Keeper}
    saved = flowc.compile_source(text, functions=functions).to_json()
    broken = saved.replace('"qualname": "dbl"', '"qualname": "gone"')
    with pytest.raises(ResolveError) as info:
        Plan.from_json(broken)
    assert "worker `twice` calls `dbl`, recorded as `plan_helpers:gone`" in str(info.value)


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        (print, None),
        (json.dumps, None),
        (lambda: 0, "it is a lambda"),
        (textwrap.TextWrapper(), "has no importable name"),
    ],
)
def test_reference_of(obj, reason):
    found = reference_of(obj)
    if reason is None:
        assert set(found) == {"module", "qualname"}
    else:
        assert reason in found["reason"]
