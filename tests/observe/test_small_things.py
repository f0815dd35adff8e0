"""Small things a user notices: output folders made on demand, one-line reprs, the shipped
examples in canonical form."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import observe_workers
from observe_helpers import environment

import flowc

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FLOW = """
pipeline tiny
type XY = {x: f8, y: f8}
buffer raw : XY slots=8
importer src  = count(n=20) -> raw
exporter keep = take() raw
"""


def test_stats_and_report_go_into_folders_made_on_demand(flow_folder):
    (flow_folder / "tiny.flow").write_text(
        FLOW.replace("count(", "workers:count(").replace("take(", "workers:take(")
    )
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowc",
            "run",
            "tiny.flow",
            "--quiet",
            "--stats",
            "out/p1/stats.json",
            "--report",
            "out/p2/deep/report.html",
        ],
        cwd=flow_folder,
        env=environment(PYTHONPATH=str(flow_folder)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads((flow_folder / "out/p1/stats.json").read_text())["exit"] == 0
    assert (flow_folder / "out/p2/deep/report.html").read_text().startswith("<!DOCTYPE html>")


def test_plan_and_result_show_themselves_in_one_line():
    plan = flowc.compile_source(
        FLOW, functions={"count": observe_workers.count, "take": observe_workers.take}
    )
    shown = repr(plan)
    assert "\n" not in shown and len(shown) < 200, shown
    assert shown.startswith("<flowc.Plan tiny:") and "2 workers" in shown and "1 buffer" in shown
    result = plan.run(timeout=60)
    for text in (repr(result), str(result)):
        assert "\n" not in text and len(text) < 200, text
        assert "completed" in text and "exit 0" in text


def test_the_shipped_examples_are_in_canonical_form():
    files = sorted(str(p) for p in EXAMPLES.glob("*.flow"))
    completed = subprocess.run(
        [sys.executable, "-m", "flowc", "fmt", "--check", *files],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (completed.returncode, completed.stdout, completed.stderr) == (0, "", "")


def test_fmt_keeps_column_alignment_and_only_that():
    from flowc.source import SourceFile
    from flowc.syntax import format_source

    def fmt(text: str) -> str:
        return format_source(SourceFile("t.flow", text))

    aligned = (
        "buffer raw    : f4[8] slots=4   # the input\n"
        "buffer pulses : f4 slots=8      # one each\n"
        "\n"
        "importer  sim  = gen() -> raw\n"
        "exporter  save = keep() raw\n"
    )
    assert fmt(aligned) == aligned and fmt(fmt(aligned)) == aligned
    messy = "pipeline   messy\nbuffer  b :   f8[4]    slots=2\n"
    assert fmt(messy) == "pipeline messy\nbuffer b : f8[4] slots=2\n"
    alone = "importer  sim  = gen() -> raw\n\nexporter  save = keep() raw\n"
    assert fmt(alone) == "importer sim = gen() -> raw\n\nexporter save = keep() raw\n"
