"""`flowc graph` draws every shipped example to read on a page: neither a strip nor a tower,
no edge repeating its buffer's label, the types as the files write them, and the left chain of
`eventbuild` on the left."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import flowc
from flowc.render.dot import render_dot

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.flow"))
SVG = {"svg": "http://www.w3.org/2000/svg"}
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")


def drawn(dot: str) -> ET.Element:
    completed = subprocess.run(
        ["dot", "-Tsvg"], input=dot.encode(), capture_output=True, check=True, timeout=60
    )
    return ET.fromstring(completed.stdout)


def points(length: str) -> float:
    return float(length.removesuffix("pt"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_edges_repeat_no_label_and_buffers_show_the_type_as_written(path):
    plan = flowc.compile_file(path)
    dot = render_dot(plan)
    edge_labels = re.findall(r'^\s*"[^"]+" -> "[^"]+" \[.*label="([^"]*)"', dot, re.M)
    assert edge_labels and set(edge_labels) == {""}
    for buffer in plan.buffers:
        if buffer.type_name and buffer.length == 1:
            assert f"{buffer.type_name}[1]" not in dot.split("tooltip")[0]
            assert f"\\n{buffer.type_name} x {buffer.slots} slots\\n" in dot


@needs_dot
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_reads_on_a_page(path):
    svg = drawn(render_dot(flowc.compile_file(path)))
    width, height = points(svg.get("width")), points(svg.get("height"))
    assert 1 / 3 <= width / height <= 4, f"{width:.0f} x {height:.0f} pt"
    assert width <= 1300, f"{width:.0f} pt wide"


@needs_dot
def test_eventbuild_draws_left_on_the_left():
    svg = drawn(render_dot(flowc.compile_file(next(p for p in EXAMPLES if p.stem == "eventbuild"))))
    # each node's centre: its first line of text is centred
    x = {
        group.find("svg:title", SVG).text: float(group.find(".//svg:text", SVG).get("x"))
        for group in svg.iterfind(".//svg:g[@class='node']", SVG)
    }
    for left, right in (("left_adc", "right_adc"), ("left_cut", "right_cut"), ("left", "right")):
        assert x[left] < x[right], (left, right)
