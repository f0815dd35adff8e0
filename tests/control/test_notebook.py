"""What flowc shows in Jupyter: a plan its graph (SVG through dot, tables without), a result
its summary tables, a running handle its live figures. The HTML must parse and the SVG be XML."""

from __future__ import annotations

import html.parser
import shutil
import time
import xml.etree.ElementTree as ET

import pytest
from control_helpers import endless_plan, finite_plan

from flowc.render.notebook import plan_html, plan_svg

VOID = {"br", "hr", "img", "input", "meta", "link", "col", "area", "base", "wbr", "source"}


class Structure(html.parser.HTMLParser):
    """Parses HTML, checks that every element is closed in order, keeps the text and cells."""

    def __init__(self):
        super().__init__()
        self.open: list[str] = []
        self.text: list[str] = []
        self.cells: list[str] = []
        self.tags: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag not in VOID:
            self.open.append(tag)
        self._in_cell = tag in ("td", "th")
        if self._in_cell:
            self.cells.append("")

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, (self.open, tag)
        self.open.pop()
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_cell:
            self.cells[-1] += data


def parse(fragment: str) -> Structure:
    parser = Structure()
    parser.feed(fragment)
    parser.close()
    assert parser.open == [], f"unclosed elements: {parser.open}"
    return parser


def svg_of(fragment: str) -> ET.Element:
    start, end = fragment.index("<svg"), fragment.rindex("</svg>") + len("</svg>")
    return ET.fromstring(fragment[start:end])


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_a_plan_shows_its_graph_as_svg(tmp_path):
    plan = endless_plan(tmp_path)
    fragment = plan._repr_html_()
    parsed = parse(fragment)
    root = svg_of(fragment)
    assert root.tag.endswith("svg")
    drawn = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for name in ("src", "mid", "save", "a", "b"):
        assert name in drawn.split(), (name, drawn)
    assert "endless" in "".join(parsed.text)
    assert ET.fromstring(plan_svg(plan)).tag.endswith("svg")


def test_a_plan_shows_tables_without_graphviz(tmp_path):
    plan = endless_plan(tmp_path)
    fragment = plan_html(plan, dot_program=str(tmp_path / "no-dot-here"))
    parsed = parse(fragment)
    assert "svg" not in parsed.tags and "table" in parsed.tags
    assert {"src", "mid", "save", "a", "b", "importer", "processor", "exporter"} <= set(
        parsed.cells
    )


def test_a_result_shows_its_summary_tables(tmp_path):
    result = finite_plan(tmp_path, n=120).run(timeout=30)
    parsed = parse(result._repr_html_())
    text = "".join(parsed.text)
    assert "completed" in text and "exit 0" in text
    assert {"src", "mid", "save", "a", "b"} <= set(parsed.cells)
    assert "120" in parsed.cells


def test_a_failed_result_shows_the_failure_escaped(tmp_path):
    plan = finite_plan(tmp_path, n=50, fail_at=7)
    with plan.start() as handle:
        result = handle.wait(30)
    fragment = result._repr_html_()
    parsed = parse(fragment)
    text = "".join(parsed.text)
    assert "worker `mid`" in text and "bad event 7" in text
    assert "pre" in parsed.tags  # the traceback


def test_a_running_handle_shows_its_live_figures(tmp_path):
    with endless_plan(tmp_path).start() as handle:
        deadline = time.monotonic() + 10
        while handle.snapshot() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        handle.pause()
        time.sleep(0.3)
        parsed = parse(handle._repr_html_())
        text = "".join(parsed.text)
        assert "paused" in text
        assert {"src", "mid", "save", "a", "b"} <= set(parsed.cells)
        assert any(cell.endswith("/s") for cell in parsed.cells)  # rates
        assert "running" in repr(handle) or "paused" in repr(handle)
        handle.stop()
        result = handle.wait(20)
    parsed = parse(handle._repr_html_())
    assert "interrupted" in "".join(parsed.text) and result.exit == 130
