"""The Graphviz renderer: what the DOT shows, its escaping, determinism, and that `dot` accepts it."""

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowc.callables import CallableTarget
from flowc.plan import BufferPlan, Plan, WorkerPlan
from flowc.render.dot import dot_lines, dot_string, render_dot
from flowc.types import ElementType, FieldType
from flowc.units import format_bytes

SAMPLE = ElementType.struct([FieldType("ch0", "f4"), FieldType("ch1", "f4")])
PULSE = ElementType.struct(
    [FieldType("height", "f8"), FieldType("time", "f8"), FieldType("shape", "f4", (16,))]
)


def stdlib(module: str, name: str) -> CallableTarget:
    return CallableTarget("module", f"flowc.stdlib.{module}", name)


def pulses_plan(name: str = "pulses") -> Plan:
    """The SPEC's example pipeline, built without the compiler."""
    return Plan(
        name=name,
        buffers=(
            BufferPlan("raw", SAMPLE, 4096, 128, type_name="Sample"),
            BufferPlan("pulses", PULSE, 1, 64, type_name="Pulse"),
            BufferPlan("kept", PULSE, 1, 64, "drop", type_name="Pulse"),
        ),
        workers=(
            WorkerPlan("sim", "importer", stdlib("sources", "pulses"), {"n": 5}, outputs=("raw",)),
            WorkerPlan(
                "finder",
                "processor",
                CallableTarget("file", "/home/me/flows/peaks.py", "find_pulses"),
                {"threshold": 0.2},
                inputs=("raw",),
                outputs=("pulses",),
                processes=2,
            ),
            WorkerPlan(
                "cut",
                "filter",
                stdlib("filters", "select"),
                {"field": "height"},
                inputs=("pulses",),
                outputs=("kept",),
            ),
            WorkerPlan("save", "exporter", stdlib("sinks", "npy"), inputs=("kept",)),
            WorkerPlan("scope", "observer", stdlib("monitors", "histogram"), observes=("pulses",)),
        ),
    )


def node_attributes(dot: str, name: str) -> str:
    match = re.search(rf'^\s*"{re.escape(name)}" \[(.*)\];$', dot, re.MULTILINE)
    assert match, f"no node {name!r} in\n{dot}"
    return match.group(1)


def edge_attributes(dot: str, tail: str, head: str) -> str:
    match = re.search(
        rf'^\s*"{re.escape(tail)}" -> "{re.escape(head)}" \[(.*)\];$', dot, re.MULTILINE
    )
    assert match, f"no edge {tail} -> {head} in\n{dot}"
    return match.group(1)


def test_graph_is_named_after_the_pipeline_and_drawn_down_the_page():
    dot = render_dot(pulses_plan())
    assert dot.startswith('digraph "pulses" {')
    assert "rankdir=TB" in dot
    # each buffer level with the worker that writes it
    assert '{ rank=same; "finder"; "pulses"; }' in dot
    assert dot.rstrip().endswith("}")


def test_buffers_are_records_of_the_type_as_written_its_fields_slots_and_size():
    dot = render_dot(pulses_plan())
    raw = node_attributes(dot, "raw")
    # 4096 Samples of 8 bytes plus the 24-byte metadata record, times 128 slots
    assert (
        r'label="raw\nSample[4096] x 128 slots\n  ch0 f4\l  ch1 f4\l32.0 KiB/slot, 4.0 MiB\n"'
        in raw
    )
    pulses = node_attributes(dot, "pulses")
    assert r"\nPulse x 64 slots\n" in pulses and "Pulse[1]" not in pulses.split("tooltip")[0]
    assert r"  shape f4[16]\l" in pulses
    assert "overflow=drop" in node_attributes(dot, "kept")
    assert "overflow" not in node_attributes(dot, "pulses")


def test_workers_are_styled_per_kind():
    dot = render_dot(pulses_plan())
    looks = {
        name: re.search(r'fillcolor="([^"]+)"', node_attributes(dot, name)).group(1)
        for name in ("sim", "finder", "cut", "save", "scope", "raw")
    }
    assert len(set(looks.values())) == 6, looks
    # boxes whatever the kind: a long label never blows a filter's trapezium up
    assert set(re.findall(r"shape=(\w+)", dot)) == {"box"}
    assert "dashed" in node_attributes(dot, "scope")


def test_worker_label_shows_callable_and_processes():
    dot = render_dot(pulses_plan())
    finder = node_attributes(dot, "finder")
    assert r"processor: \"peaks.py\":find_pulses" in finder
    assert "processes=2" in finder
    assert "/home/me/flows" not in finder.split("tooltip=")[0]
    assert "processes=" not in node_attributes(dot, "sim")
    assert "stdlib.sources.pulses" in node_attributes(dot, "sim")


def test_workers_show_the_arguments_written_in_the_file():
    dot = render_dot(pulses_plan())
    assert r"\nthreshold=0.2\n" in node_attributes(dot, "finder")
    assert r"\nfield=\"height\"\n" in node_attributes(dot, "cut")


def test_edges_repeat_nothing_and_observers_are_dashed():
    dot = render_dot(pulses_plan())
    for tail, head in (("sim", "raw"), ("raw", "finder"), ("finder", "pulses")):
        attrs = edge_attributes(dot, tail, head)
        assert 'label=""' in attrs and "style=solid" in attrs
    observe = edge_attributes(dot, "pulses", "scope")
    assert "style=dashed" in observe and 'label=""' in observe


def test_plain_array_buffers_show_their_dtype():
    plan = Plan(
        "waves",
        (BufferPlan("wave", ElementType.plain("float32"), 1024, 32),),
        (WorkerPlan("gen", "importer", stdlib("sources", "noise"), outputs=("wave",)),),
    )
    assert r"f4[1024] x 32 slots\n4.0 KiB/slot, 128.8 KiB" in render_dot(plan)


def test_output_is_deterministic_and_survives_the_json_round_trip():
    plan = pulses_plan()
    first = render_dot(plan)
    assert render_dot(pulses_plan()) == first
    assert render_dot(Plan.from_json(plan.to_json())) == first
    assert plan.to_dot() == first


def test_every_label_is_escaped():
    plan = Plan(
        'say "hi" \\ bye',
        (BufferPlan("b", PULSE, 1, 4, type_name='odd"type\\n'),),
        (
            WorkerPlan("node", "importer", stdlib("sources", "pulses"), outputs=("b",)),
            WorkerPlan("graph", "exporter", CallableTarget("function", "", "sink"), inputs=("b",)),
        ),
    )
    dot = render_dot(plan)
    assert dot.startswith(r'digraph "say \"hi\" \\ bye" {')
    assert r"odd\"type\\n x 4 slots" in dot
    # a name that is a DOT keyword is quoted, so it is an ordinary node
    assert '"node" [' in dot and '"graph" [' in dot


@pytest.mark.parametrize(
    "size,shown",
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (12_900_000, "12.3 MiB"),
        (3 * 1024**3, "3.0 GiB"),
        (5 * 1024**6, "5120.0 PiB"),
    ],
)
def test_format_bytes(size, shown):
    assert format_bytes(size) == shown


def unescape_dot(quoted: str) -> str:
    """Read a DOT double-quoted string back the way Graphviz reads a label."""
    assert quoted.startswith('"') and quoted.endswith('"')
    body = quoted[1:-1]
    out = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == '"':
            raise AssertionError(f"unescaped quote in {quoted!r}")
        if char == "\n":
            raise AssertionError(f"raw line break in {quoted!r}")
        if char == "\\":
            following = body[i + 1]
            out.append({"n": "\n", "l": "\n", "\\": "\\", '"': '"'}[following])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


@given(st.text())
def test_dot_string_reads_back_as_the_same_text(text):
    expected = text.replace("\r\n", "\n").replace("\r", "\n")
    assert unescape_dot(dot_string(text)) == expected


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\r\n")), min_size=1))
def test_dot_lines_keeps_each_line(lines):
    assert unescape_dot(dot_lines(lines)).split("\n") == lines


needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")


SVG = {"svg": "http://www.w3.org/2000/svg"}


def svg_of(dot: str) -> ET.Element:
    completed = subprocess.run(
        ["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=False, timeout=60
    )
    assert completed.returncode == 0, completed.stderr.decode()
    assert completed.stderr == b"", completed.stderr.decode()
    return ET.fromstring(completed.stdout)


@needs_dot
@pytest.mark.parametrize("plan_name", ["pulses", 'quote " and \\ backslash <&>'])
def test_dot_accepts_the_output_and_the_svg_is_xml(plan_name):
    svg = svg_of(render_dot(pulses_plan(plan_name)))
    titles = {t.text for t in svg.iterfind(".//svg:g/svg:title", SVG)}
    assert {"raw", "pulses", "kept", "sim", "finder", "cut", "save", "scope"} <= titles
    assert {"sim->raw", "raw->finder", "pulses->scope"} <= titles
    texts = [t.text for t in svg.iterfind(".//svg:text", SVG)]
    assert f"{plan_name} (4.0 MiB shared memory)" in texts


@needs_dot
def test_dot_accepts_names_that_are_dot_keywords():
    plan = Plan(
        "strict",
        (BufferPlan("edge", PULSE, 1, 4),),
        (
            WorkerPlan("node", "importer", stdlib("sources", "pulses"), outputs=("edge",)),
            WorkerPlan("graph", "exporter", stdlib("sinks", "npy"), inputs=("edge",)),
        ),
    )
    titles = {t.text for t in svg_of(render_dot(plan)).iterfind(".//svg:g/svg:title", SVG)}
    assert {"node", "edge", "graph", "node->edge", "edge->graph"} <= titles


def test_a_long_inline_struct_type_lists_its_first_fields():
    fields = [FieldType(f"channel_{i}", "f4") for i in range(12)]
    plan = Plan(
        "wide",
        (BufferPlan("b", ElementType.struct(fields), 8, 4),),
        (WorkerPlan("gen", "importer", stdlib("sources", "pulses"), outputs=("b",)),),
    )
    label = re.search(r'"b" \[.*label=("(?:[^"\\]|\\.)*")', render_dot(plan)).group(1)
    lines = unescape_dot(label).split("\n")
    assert lines[:3] == ["b", "{...}[8] x 4 slots", "  channel_0 f4"]
    assert "  ... 4 more" in lines and "  channel_8 f4" not in lines
