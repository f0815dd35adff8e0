"""The HTML report in a real browser (Debian's chromium, headless, through Playwright): the graph
fits the page width, the workers table does not overflow, times are in µs, the observer's
histogram is shown with how much it saw, and the failure box hides flowc's own frames."""

from __future__ import annotations

import json
import os
import struct

import observe_workers
import pytest

import flowc
from flowc.render.report import write_report

CHROMIUM = "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"{CHROMIUM} not found (apt-get install chromium; Playwright's own download is not used)",
        allow_module_level=True,
    )
WIDTH = 1280

FLOW = """
pipeline chain
type Sample = {ch0: f4, ch1: f4}
type Peak = {channel: i2, time: f8, height: f8, integral: f8, baseline: f8}
buffer raw : Sample[256] slots=32
buffer peaks : Peak slots=64
buffer tall : Peak slots=64
importer sim = stdlib.sources.pulses(n=400, rate=400, seed=1) -> raw
processor find = stdlib.processors.find_pulses(threshold=0.2) raw -> peaks
filter cut = stdlib.filters.select(field="height", min=0.4) peaks -> tall
exporter save = stdlib.sinks.null() tall
observer hist = stdlib.monitors.histogram(field="height", bins=12, range=[0, 3], png=PNG, path=JSON) observes peaks
"""


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def png_size(path) -> tuple[int, int]:
    with open(path, "rb") as file:
        head = file.read(24)
    return struct.unpack(">II", head[16:24])


def test_the_report_reads_in_a_browser(tmp_path, browser):
    source = FLOW.replace("PNG", json.dumps(str(tmp_path / "hist.png"))).replace(
        "JSON", json.dumps(str(tmp_path / "hist.json"))
    )
    plan = flowc.compile_source(source)
    result = plan.run(timeout=120)
    assert result.ok
    report = tmp_path / "report.html"
    write_report(report, plan, result.stats, result.timeline, source_text=source)
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    page.goto(report.as_uri())
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert png_size(shot)[0] == WIDTH, "something is wider than the page"
    graph = page.locator("div.graph svg").bounding_box()
    body = page.locator("body").bounding_box()
    assert (
        graph["x"] >= body["x"] - 1 and graph["x"] + graph["width"] <= body["x"] + body["width"] + 1
    )
    heading = page.locator("h2#graph").bounding_box()
    caption = page.locator("h2#graph + p.note").bounding_box()
    assert graph["y"] - (caption["y"] + caption["height"]) < 40, "blank space above the graph"
    assert heading["y"] < graph["y"]
    table = page.locator("table.workers").bounding_box()
    assert table["x"] + table["width"] <= body["x"] + body["width"] + 1
    # each row of the workers table on one line: no unit wrapped away from its number
    heights = page.eval_on_selector_all(
        "table.workers tbody td:not(.name)",
        "cells => cells.map(c => c.getBoundingClientRect().height)",
    )
    assert max(heights) < 2 * min(heights)
    text = page.inner_text("body")
    assert "µs" in text and not any(
        word.endswith("us") and word[:-2].replace(".", "").isdigit() for word in text.split()
    )
    figure = page.locator("div.outputs figure").first
    seen = result.stats["workers"]["hist"]["seen"]
    of = seen + result.stats["workers"]["hist"]["skipped"]
    assert f"saw {seen:,} of {of:,} events" in figure.inner_text()
    loaded = page.eval_on_selector("div.outputs img", "img => img.complete && img.naturalWidth")
    assert loaded > 0
    assert page.locator("div.outputs svg rect").count() >= 12
    assert "busy 100%" not in page.locator("div.graph").inner_text()


def test_the_failure_box_hides_flowcs_frames(tmp_path, browser):
    source = """
type XY = {x: f8, y: f8}
buffer raw : XY slots=8
buffer out : XY slots=8
importer src = count(n=10) -> raw
processor bad = fail_at(at=3) raw -> out
exporter keep = take() out
"""
    functions = {name: getattr(observe_workers, name) for name in ("count", "fail_at", "take")}
    plan = flowc.compile_source(source, functions=functions)
    result = plan.run(timeout=60, raise_on_failure=False)
    assert not result.ok
    report = tmp_path / "report.html"
    write_report(report, plan, result.stats, result.timeline)
    page = browser.new_page(viewport={"width": WIDTH, "height": 900})
    page.goto(report.as_uri())
    box = page.inner_text("div.failure")
    assert "ValueError: bad event 3" in box and "in fail_at" in box
    assert "flowc/callables.py" not in box and "flowc/runtime" not in box
