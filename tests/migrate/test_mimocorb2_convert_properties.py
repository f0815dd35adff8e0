"""Whatever YAML it is given, the converter returns a Conversion (never another exception), its
diagnostics have M codes with spans inside a real file, and any text it writes parses."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowc.migrate import convert_mimocorb2
from flowc.migrate.mimocorb2 import IMPORT_CODES
from flowc.source import SourceFile
from flowc.syntax import parse

WORKERS_PY = """\
from mimocorb2 import Importer, Processor


def source(io):
    Importer(io)(lambda: iter([None]))


def step(io):
    Processor(io)(lambda data: [data])
"""

names = st.sampled_from(
    [
        "raw",
        "kept",
        "filter",
        "type",
        "1st",
        "a b",
        "x",
        "",
        "mimo_x",
        "Buffers",
        "\u00e9t\u00e9",
        "c\rr",
    ]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["f4", "float64", "int32", "S10", "<f8", ">i2", "bool", "(2,)f4", "x\ry"]),
    names,
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=8,
)
buffer = st.fixed_dictionaries(
    {},
    optional={
        "slot_count": st.one_of(st.integers(-1, 64), values),
        "data_length": st.one_of(st.integers(0, 64), values),
        "data_dtype": st.one_of(st.dictionaries(names, scalars, max_size=4), values),
        "extra": values,
    },
)
worker = st.fixed_dictionaries(
    {},
    optional={
        "file": st.sampled_from(["workers.py", "missing.py", "", "sub/../workers.py"]) | values,
        "function": st.sampled_from(
            ["source", "step", "nowhere", "exporters.histogram", "data.export", "misc.copy"]
        )
        | values,
        "sources": st.lists(names, max_size=2) | values,
        "sinks": st.lists(names, max_size=2) | values,
        "observes": st.lists(names, max_size=2) | values,
        "number_of_processes": st.integers(-1, 3) | values,
        "config": st.one_of(
            values,
            st.sampled_from(["absent.yaml", "workers.py"]),
            st.fixed_dictionaries({"bins": st.dictionaries(names, values, max_size=2)}),
        ),
    },
)
setups = st.one_of(
    values,
    st.fixed_dictionaries(
        {
            "Buffers": st.dictionaries(names, buffer, max_size=3) | values,
            "Workers": st.dictionaries(names, worker, max_size=3) | values,
        },
        optional={"base_config": values, "target_directory": values, "other": values},
    ),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(setup=setups)
def test_any_setup_converts_or_is_reported(tmp_path: Path, setup):
    (tmp_path / "workers.py").write_text(WORKERS_PY)
    path = tmp_path / "setup.yaml"
    path.write_text(yaml.safe_dump(setup, allow_unicode=True))
    conversion = convert_mimocorb2(path)
    for diagnostic in conversion.diagnostics:
        assert diagnostic.code in IMPORT_CODES
        text = diagnostic.span.file.text
        assert 0 <= diagnostic.span.start <= diagnostic.span.end <= len(text) + 1
    if conversion.flow_text:
        parse(SourceFile("generated.flow", conversion.flow_text))
    else:
        assert not conversion.ok
