"""Plans compiled from flow text run as written: `Plan.run` forwards its options."""

from __future__ import annotations

import numpy as np
import pytest
from runtime_plans import collected

import flowc

pytestmark = pytest.mark.runtime

CHAIN = """\
pipeline compiled
const N = 60
type XY = {x: f8, y: f8}
buffer a : XY slots=8
buffer b : XY slots=8 overflow=block
importer  src  = workers.count(n=N) -> a
processor mid  = workers.double_y() a -> b processes=2
exporter  save = workers.Collect(path=OUT) b
"""


def test_a_compiled_plan_runs_with_overrides(tmp_path):
    text = CHAIN.replace("const N = 60", f'const N = 60\nconst OUT = "{tmp_path / "out"}"')
    plan = flowc.compile_source(text, overrides={"N": 25})
    result = plan.run(start_method="forkserver")
    assert result.stats["pipeline"] == "compiled"
    got = collected(tmp_path / "out")
    assert sorted(got["x"].tolist()) == list(range(25))
    assert sorted(got["y"].tolist()) == [4.0 * i for i in range(25)]


def ramp(example):
    for i in range(12):
        yield np.full_like(example, i)


def test_functions_given_to_the_compiler_run_under_spawn(tmp_path):
    out = tmp_path / "out"
    text = (
        "buffer w : {x: f4, y: f4}[8] slots=2\n"
        "importer src = ramp() -> w\n"
        f'exporter save = workers.Collect(path="{out}") w\n'
    )
    plan = flowc.compile_source(text, functions={"ramp": ramp})
    result = plan.run(start_method="spawn", timeout=60)
    assert result.exit == 0
    assert collected(out)["x"].tolist() == [float(i) for i in range(12)]
