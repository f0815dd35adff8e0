"""The HTML report: one self-contained file that parses as HTML, whose SVG parses as XML,
with the graph, the summary, the plots, the plan hash, the source and the overrides; written
for failed runs too."""

from __future__ import annotations

import html
import re
import shutil
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser

import observe_workers
import pytest
from observe_helpers import flowc_run

import flowc
from flowc.render.report import render_report

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}

FLOW = """
pipeline reported
const N = 120
const LABEL = "a <b> & c"
type XY = {x: f8, y: f8}
buffer raw : XY slots=8
buffer out : XY slots=8
importer  src  = "workers.py":count(n=N) -> raw
processor mid  = "workers.py":slow(delay=0.004) raw -> out
exporter  keep = "workers.py":take() out
"""

FAILING = """
pipeline broken
type XY = {x: f8, y: f8}
buffer raw : XY slots=8
buffer out : XY slots=8
importer  src  = "workers.py":count(n=100) -> raw
processor bad  = "workers.py":fail_at(at=30.0) raw -> out
exporter  keep = "workers.py":take() out
"""


class StrictChecker(HTMLParser):
    """Every element closed in order (void elements aside); the SVG parts collected."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:]} at {self.getpos()}")
        else:
            self.open.pop()


def check_html(text: str) -> StrictChecker:
    checker = StrictChecker()
    checker.feed(text)
    checker.close()
    assert checker.problems == []
    assert checker.open == []
    assert text.startswith("<!DOCTYPE html>")
    return checker


def svg_parts(text: str) -> list[ElementTree.Element]:
    parts = re.findall(r"<svg\b.*?</svg>", text, flags=re.S)
    return [ElementTree.fromstring(part) for part in parts]


def assert_self_contained(checker: StrictChecker) -> None:
    for tag, attrs in checker.tags:
        assert tag not in ("script", "link", "iframe", "img"), tag
        for name in ("src", "href"):
            assert not str(attrs.get(name) or "").startswith(("http:", "https:", "//")), attrs


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot to lay it out")
def test_the_reports_graph_carries_the_measured_events_and_names_the_bottleneck(flow_folder):
    (flow_folder / "reported.flow").write_text(FLOW)
    completed = flowc_run(
        flow_folder, "reported.flow", "--quiet", "--set", "N=100", "--report", "report.html"
    )
    assert completed.exit == 0, completed.stderr
    graph_text = " ".join(svg_parts((flow_folder / "report.html").read_text())[0].itertext())
    assert "100 ev" in graph_text and "bottleneck" in graph_text


def test_the_report_of_a_completed_run(flow_folder):
    (flow_folder / "reported.flow").write_text(FLOW)
    completed = flowc_run(
        flow_folder, "reported.flow", "--quiet", "--set", "N=100", "--report", "report.html"
    )
    assert completed.exit == 0, completed.stderr
    text = (flow_folder / "report.html").read_text()
    checker = check_html(text)
    assert_self_contained(checker)
    svgs = svg_parts(text)
    assert len(svgs) == 4  # the graph, the rates, the fill levels, the busy shares
    plan = flowc.compile_file(flow_folder / "reported.flow", overrides={"N": 100})
    assert plan.hash in text
    assert '<span class="status completed">completed</span>' in text
    # the source, escaped, and the override
    assert 'const LABEL = "a <b> & c"' not in text
    assert FLOW.strip() in html.unescape(text)
    assert '<td class="name">N</td><td class="text"><code>100</code></td>' in text
    graph_text = " ".join(svgs[0].itertext())
    for name in ("src", "mid", "keep", "raw", "out"):
        assert name in graph_text
    assert "<code>mid</code>" in text
    assert "No time series" not in text
    # the plots: one line per worker and per buffer
    namespace = "{http://www.w3.org/2000/svg}"
    assert len(svgs[1].findall(f"{namespace}polyline")) == 3
    assert len(svgs[2].findall(f"{namespace}polyline")) == 2
    assert len(svgs[3].findall(f"{namespace}polyline")) == 3


def test_with_call_times_off_the_report_says_busy_shares_were_not_measured(flow_folder):
    (flow_folder / "reported.flow").write_text(FLOW)
    completed = flowc_run(
        flow_folder,
        "reported.flow",
        "--set",
        "N=100",
        "--report",
        "report.html",
        FLOWC_CALL_TIMES="off",
    )
    assert completed.exit == 0, completed.stderr
    assert "not measured (call times were off" in " ".join(completed.stderr.split())
    text = (flow_folder / "report.html").read_text()
    check_html(text)
    assert len(svg_parts(text)) == 3  # the graph, the rates, the fill levels
    assert "Not measured: call times were off" in text


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot")
def test_the_graph_is_drawn_by_graphviz_when_dot_is_present(flow_folder):
    (flow_folder / "reported.flow").write_text(FLOW)
    completed = flowc_run(
        flow_folder, "reported.flow", "--quiet", "--set", "N=20", "--report", "r.html"
    )
    assert completed.exit == 0, completed.stderr
    text = (flow_folder / "r.html").read_text()
    graph = svg_parts(text)[0]
    assert graph.find("{http://www.w3.org/2000/svg}g").get("id") == "graph0"  # Graphviz's
    assert "simple drawing" not in text


def test_the_report_of_a_failed_run_shows_the_failure(flow_folder):
    (flow_folder / "broken.flow").write_text(FAILING)
    completed = flowc_run(flow_folder, "broken.flow", "--quiet", "--report", "failed.html")
    assert completed.exit == 1
    assert "ValueError: bad event 30.0" in completed.stderr
    text = (flow_folder / "failed.html").read_text()
    check_html(text)
    svg_parts(text)
    assert '<span class="status failed">failed</span>' in text
    assert "worker <code>bad</code> (process 0)</strong>: ValueError: bad event 30.0" in text
    assert "Traceback (most recent call last)" in text and "fail_at" in text


def test_without_dot_the_report_says_so_and_draws_a_simple_graph(flow_folder):
    functions = {name: getattr(observe_workers, name) for name in ("count", "slow", "take")}
    plan = flowc.compile_source(FLOW.replace('"workers.py":', ""), functions=functions)
    stats = {
        "pipeline": "reported",
        "elapsed": 1.0,
        "exit": 0,
        "stopped": "completed",
        "buffers": {},
        "workers": {},
        "bottleneck": None,
    }
    text = render_report(plan, stats, {}, dot_program=str(flow_folder / "no-such-dot"))
    check_html(text)
    (graph,) = svg_parts(text)
    assert "could not be run" in text and "install graphviz" in text
    assert {"src", "mid", "keep", "raw", "out"} <= set(graph.itertext())
    assert "No time series was recorded" in text
    assert "The .flow source was not available" in text


def test_a_run_that_could_not_start_still_gets_a_report():
    source = """
pipeline unstarted
type XY = {x: f8, y: f8}
buffer raw : XY slots=4
importer src  = count(n=5) -> raw
exporter keep = take() raw
"""

    def take(data):  # a local function cannot be sent to a spawned process
        return None

    plan = flowc.compile_source(source, functions={"count": observe_workers.count, "take": take})
    result = plan.run(start_method="spawn", raise_on_failure=False)
    assert result.exit == 1 and result.timeline == {}
    text = render_report(plan, result.stats, result.timeline, source_text=source)
    check_html(text)
    assert '<span class="status failed">failed</span>' in text
    assert "worker <code>keep</code>" in text and "cannot be sent to a spawn process" in text
    assert "No time series was recorded" in text
