"""The worker option `node=`: checked, lowered into the plan, kept by its JSON; plans written
before it still load."""

from __future__ import annotations

import json

import pytest

import flowc
from flowc.plan import Plan

FLOW = """\
buffer raw : f4[16] slots=4
importer sim  = stdlib.sources.pulses(n=4) -> raw {placement}
exporter save = stdlib.sinks.null() raw
"""


def test_node_is_lowered_into_the_plan_and_kept_by_its_json():
    plan = flowc.compile_source(FLOW.format(placement='node="daq-pc"'))
    assert plan.worker("sim").node == "daq-pc" and plan.worker("save").node is None
    again = Plan.from_json(plan.to_json())
    assert again.worker("sim").node == "daq-pc"
    assert again.hash == plan.hash


def test_plans_without_placement_have_the_json_they_had():
    plan = flowc.compile_source(FLOW.format(placement=""))
    document = json.loads(plan.to_json())
    assert all("node" not in w for w in document["workers"])
    assert Plan.from_json(plan.to_json()).worker("sim").node is None


@pytest.mark.parametrize("value", ["3", '""', '" daq-pc"', "true", '["a"]'])
def test_a_bad_node_is_e106_at_the_value(value):
    text = FLOW.format(placement=f"node={value}")
    with pytest.raises(flowc.FlowError) as caught:
        flowc.compile_source(text)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "E106" and "`node` must be the name" in diagnostic.message
    start = text.index(f"node={value}") + len("node=")
    assert (diagnostic.span.start, diagnostic.span.end) == (start, start + len(value))


def test_node_given_twice_is_e105():
    with pytest.raises(flowc.FlowError) as caught:
        flowc.compile_source(FLOW.format(placement='node="a" node="b"'))
    assert [d.code for d in caught.value.diagnostics] == ["E105"]
