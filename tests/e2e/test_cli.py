"""The `flowc` command in a subprocess: exit codes, stdout versus stderr, and every command."""

from __future__ import annotations

import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SMALL_FLOW = """
pipeline small

const N = 5
const OUT = "out.txt"

buffer raw   : f8[4] slots=8
buffer twice : f8[4] slots=8

importer  source = "workers.py":count(n=N) -> raw
processor dbl    = "workers.py":double() raw -> twice
exporter  save   = "workers.py":save_lines(path=OUT) twice
"""

# `dbl` reads a buffer nobody declared: one E102 at line 8, columns 47 to 52
BROKEN_FLOW = """
pipeline broken

buffer raw   : f8[4] slots=8
buffer twice : f8[4] slots=8

importer  source = "workers.py":count(n=5) -> raw
exporter  save   = "workers.py":save_lines(path="out.txt") twice
processor dbl    = "workers.py":double() raw, wrong -> twice
"""

FAILING_FLOW = """
buffer raw   : f8[4] slots=8
buffer twice : f8[4] slots=8

importer  source = "workers.py":count(n=5) -> raw
processor boom   = "workers.py":explode() raw -> twice
exporter  save   = "workers.py":save_lines(path="out.txt") twice
"""

SPEC_DIAGNOSTIC_KEYS = {
    "code",
    "severity",
    "message",
    "file",
    "line",
    "column",
    "end_line",
    "end_column",
    "notes",
    "help",
}


def assert_no_traceback(result):
    assert "Traceback" not in result.stderr, result
    assert "internal error" not in result.stderr, result


# --- check -----------------------------------------------------------------------------------


def test_check_ok_prints_a_summary_line_on_stderr_only(flowc):
    flowc.write("small.flow", SMALL_FLOW)
    result = flowc("check", "small.flow")
    assert result.exit == 0, result
    assert result.stdout == ""
    assert result.stderr == "small.flow: ok (3 workers, 2 buffers, 896 B shared memory)\n"


def test_check_reports_errors_on_stderr_with_a_caret_and_exits_1(flowc):
    flowc.write("broken.flow", BROKEN_FLOW)
    result = flowc("check", "broken.flow")
    assert result.exit == 1, result
    assert result.stdout == ""
    assert "error[E102]" in result.stderr
    assert "--> broken.flow:8:47" in result.stderr
    assert "^^^^^" in result.stderr
    assert "\x1b[" not in result.stderr  # stderr is a pipe: no colour
    assert_no_traceback(result)


def test_check_with_only_warnings_exits_0(flowc):
    flowc.write("warn.flow", SMALL_FLOW + "buffer spare : f8 slots=2\n")
    result = flowc("check", "warn.flow")
    assert result.exit == 0, result
    assert "warning[W302]" in result.stderr
    assert "warn.flow: ok (3 workers, 3 buffers" in result.stderr
    assert result.stdout == ""


def test_check_json_is_the_spec_document_on_stdout(flowc):
    flowc.write("broken.flow", BROKEN_FLOW)
    result = flowc("check", "broken.flow", "--format", "json")
    assert result.exit == 1, result
    document = json.loads(result.stdout)
    assert document["ok"] is False
    [diagnostic] = document["diagnostics"]
    assert set(diagnostic) == SPEC_DIAGNOSTIC_KEYS
    assert diagnostic["code"] == "E102"
    assert diagnostic["severity"] == "error"
    assert diagnostic["file"] == "broken.flow"
    assert (diagnostic["line"], diagnostic["column"]) == (8, 47)
    assert (diagnostic["end_line"], diagnostic["end_column"]) == (8, 52)
    assert "wrong" in diagnostic["message"]
    assert "error[" not in result.stderr


def test_check_json_when_ok(flowc):
    flowc.write("small.flow", SMALL_FLOW)
    result = flowc("check", "small.flow", "--format", "json")
    assert result.exit == 0, result
    assert json.loads(result.stdout) == {"ok": True, "diagnostics": []}


def test_set_of_an_undeclared_const_is_reported_on_the_command_line(flowc):
    flowc.write("small.flow", SMALL_FLOW)
    result = flowc("check", "small.flow", "--set", "NOPE=3", "--format", "json")
    assert result.exit == 1, result
    [diagnostic] = json.loads(result.stdout)["diagnostics"]
    assert diagnostic["code"] == "E104"
    assert diagnostic["file"] == "<command line>"
    assert diagnostic["line"] == 1 and diagnostic["column"] == 1


def test_set_of_the_wrong_type_is_e106_in_text_too(flowc):
    flowc.write("small.flow", SMALL_FLOW)
    result = flowc("check", "small.flow", "--set", "N=many")
    assert result.exit == 1, result
    assert "error[E106]" in result.stderr
    assert "<command line>" in result.stderr
    assert_no_traceback(result)


def test_set_without_equals_is_a_usage_error(flowc):
    flowc.write("small.flow", SMALL_FLOW)
    result = flowc("check", "small.flow", "--set", "N")
    assert result.exit == 2, result
    assert result.stderr.startswith("flowc: error: ")
    assert result.stderr.count("\n") == 1


def test_max_shm_too_small_is_e304(flowc):
    flowc.write("small.flow", SMALL_FLOW)
    assert flowc("check", "small.flow", "--max-shm", "1KiB").exit == 0
    result = flowc("check", "small.flow", "--max-shm", "512")
    assert result.exit == 1, result
    assert "error[E304]" in result.stderr


def test_prints_of_worker_code_at_import_never_reach_stdout(flowc):
    flowc.write(
        "chatty.py",
        """
        import os
        import sys

        print("chatty: hello from print")
        os.write(1, b"chatty: hello from file descriptor 1\\n")
        sys.stdout.flush()


        def count(n=3):
            yield from ([float(i)] * 4 for i in range(n))
        """,
    )
    flowc.write(
        "chatty.flow",
        SMALL_FLOW.replace('"workers.py":count', '"chatty.py":count'),
    )
    checked = flowc("check", "chatty.flow", "--format", "json")
    assert json.loads(checked.stdout) == {"ok": True, "diagnostics": []}, checked
    assert "chatty: hello from print" in checked.stderr
    assert "chatty: hello from file descriptor 1" in checked.stderr
    planned = flowc("plan", "chatty.flow")
    assert json.loads(planned.stdout)["name"] == "small", planned
    drawn = flowc("graph", "chatty.flow")
    assert drawn.stdout.startswith("digraph"), drawn


# --- unreadable and odd files ----------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "run", "graph", "plan", "fmt"])
def test_missing_file_exits_2(flowc, command):
    result = flowc(command, "missing.flow")
    assert result.exit == 2, result
    assert result.stdout == ""
    assert result.stderr == "flowc: error: missing.flow: no such file\n"


def test_empty_file_checks_without_a_traceback(flowc):
    flowc.write("empty.flow", "")
    result = flowc("check", "empty.flow")
    assert result.exit == 0, result
    assert result.stderr == "empty.flow: ok (0 workers, 0 buffers, 0 B shared memory)\n"


def test_binary_garbage_is_a_diagnostic(flowc):
    (flowc.folder / "garbage.flow").write_bytes(bytes(range(256)) * 4)
    result = flowc("check", "garbage.flow", "--format", "json")
    assert result.exit == 1, result
    diagnostics = json.loads(result.stdout)["diagnostics"]
    assert [d["code"] for d in diagnostics] == ["E001"]
    assert_no_traceback(result)


def test_non_utf8_file_is_one_diagnostic_at_the_bad_byte(flowc):
    (flowc.folder / "latin1.flow").write_bytes("pipeline caf\xe9\n".encode("latin-1"))
    result = flowc("check", "latin1.flow")
    assert result.exit == 1, result
    assert result.stderr.count("error[E001]") == 1
    assert "latin1.flow:1:13" in result.stderr
    assert_no_traceback(result)
    as_json = flowc("check", "latin1.flow", "--format", "json")
    [diagnostic] = json.loads(as_json.stdout)["diagnostics"]
    assert (diagnostic["line"], diagnostic["column"]) == (1, 13)


def test_non_utf8_file_in_fmt_and_graph(flowc):
    (flowc.folder / "latin1.flow").write_bytes(b"pipeline caf\xe9\n")
    for command in ("fmt", "graph", "plan"):
        result = flowc(command, "latin1.flow")
        assert result.exit == 1, result
        assert result.stdout == ""
        assert "error[E001]" in result.stderr
        assert_no_traceback(result)


# --- plan and graph --------------------------------------------------------------------------


def test_plan_prints_the_plan_json_with_overrides(flowc):
    flowc.write("small.flow", SMALL_FLOW)
    result = flowc("plan", "small.flow", "--set", "N=7", "--set", 'OUT="x.txt"')
    assert result.exit == 0, result
    plan = json.loads(result.stdout)
    assert plan["name"] == "small"
    assert [b["name"] for b in plan["buffers"]] == ["raw", "twice"]
    assert [w["name"] for w in plan["workers"]] == ["source", "dbl", "save"]
    assert plan["workers"][0]["args"] == {"n": 7}
    assert plan["workers"][2]["args"] == {"path": "x.txt"}


def test_plan_with_errors_prints_nothing_on_stdout(flowc):
    flowc.write("broken.flow", BROKEN_FLOW)
    result = flowc("plan", "broken.flow")
    assert result.exit == 1, result
    assert result.stdout == ""
    assert "error[E102]" in result.stderr


def test_graph_prints_dot_on_stdout(flowc):
    flowc.write("small.flow", SMALL_FLOW)
    result = flowc("graph", "small.flow")
    assert result.exit == 0, result
    assert result.stdout.startswith('digraph "small" {')
    assert '"raw" -> "dbl"' in result.stdout
    assert result.stderr == ""


def test_graph_writes_a_dot_file(flowc):
    flowc.write("small.flow", SMALL_FLOW)
    result = flowc("graph", "small.flow", "-o", "small.dot")
    assert result.exit == 0, result
    assert result.stdout == ""
    assert (flowc.folder / "small.dot").read_text().startswith('digraph "small" {')


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_graph_renders_images_with_graphviz(flowc, suffix):
    flowc.write("small.flow", SMALL_FLOW)
    result = flowc("graph", "small.flow", "-o", f"small{suffix}")
    assert result.exit == 0, result
    assert result.stdout == ""
    data = (flowc.folder / f"small{suffix}").read_bytes()
    if suffix == ".svg":
        svg = ET.fromstring(data)
        titles = {t.text for t in svg.iterfind(".//{http://www.w3.org/2000/svg}title")}
        assert {"raw", "twice", "source", "dbl", "save"} <= titles
    else:
        assert data.startswith(b"\x89PNG\r\n\x1a\n")


def test_graph_without_graphviz_says_how_to_install_it(flowc, tmp_path_factory):
    flowc.write("small.flow", SMALL_FLOW)
    empty_path = tmp_path_factory.mktemp("no-graphviz")
    result = flowc(
        "graph", "small.flow", "-o", "small.svg", env=flowc.environment(PATH=str(empty_path))
    )
    assert result.exit == 1, result
    assert result.stderr.count("\n") == 1, result
    assert result.stderr.startswith("flowc: error: ")
    for hint in ("apt-get install graphviz", "brew install graphviz", "conda install graphviz"):
        assert hint in result.stderr
    assert not (flowc.folder / "small.svg").exists()
    # DOT itself never needs Graphviz
    dot = flowc("graph", "small.flow", env=flowc.environment(PATH=str(empty_path)))
    assert dot.exit == 0 and dot.stdout.startswith("digraph")


def test_graph_takes_set_overrides(flowc):
    flowc.write(
        "sized.flow",
        """
        const L = 4
        buffer raw : f8[L] slots=8
        importer source = "workers.py":count(n=5) -> raw
        exporter save = "workers.py":save_lines(path="out.txt") raw
        """,
    )
    assert "f8[4] x 8 slots" in flowc("graph", "sized.flow").stdout
    result = flowc("graph", "sized.flow", "--set", "L=16")
    assert result.exit == 0, result
    assert "f8[16] x 8 slots" in result.stdout


def test_graph_reports_a_failing_dot_in_one_line(flowc, tmp_path_factory):
    flowc.write("small.flow", SMALL_FLOW)
    bin_folder = tmp_path_factory.mktemp("broken-graphviz")
    fake_dot = bin_folder / "dot"
    fake_dot.write_text("#!/bin/sh\necho 'Error: the fake dot cannot draw' >&2\nexit 3\n")
    fake_dot.chmod(0o755)
    result = flowc(
        "graph", "small.flow", "-o", "small.svg", env=flowc.environment(PATH=str(bin_folder))
    )
    assert result.exit == 1, result
    assert result.stderr == (
        "flowc: error: Graphviz `dot` could not write small.svg: Error: the fake dot cannot draw\n"
    )


# --- fmt -------------------------------------------------------------------------------------


def test_fmt_prints_canonical_text_and_check_agrees(flowc):
    flowc.write("messy.flow", "pipeline   messy\nbuffer  b :   f8[4]    slots=2\n")
    formatted = flowc("fmt", "messy.flow")
    assert formatted.exit == 0, formatted
    assert formatted.stdout != (flowc.folder / "messy.flow").read_text()
    assert "pipeline messy" in formatted.stdout

    check = flowc("fmt", "messy.flow", "--check")
    assert check.exit == 1, check
    assert check.stdout == ""
    assert check.stderr == "would reformat messy.flow\n"

    flowc.write("clean.flow", formatted.stdout)
    clean = flowc("fmt", "clean.flow", "--check")
    assert (clean.exit, clean.stdout, clean.stderr) == (0, "", "")
    again = flowc("fmt", "clean.flow")
    assert again.stdout == formatted.stdout


def test_fmt_of_a_syntax_error_is_a_diagnostic(flowc):
    flowc.write("bad.flow", "buffer b : f8 slots=\n")
    result = flowc("fmt", "bad.flow")
    assert result.exit == 1, result
    assert result.stdout == ""
    assert "error[E001]" in result.stderr
    assert_no_traceback(result)


# --- explain and stdlib ----------------------------------------------------------------------


@pytest.mark.parametrize("code", ["E201", "e201"])
def test_explain_prints_the_explanation(flowc, code):
    result = flowc("explain", code)
    assert result.exit == 0, result
    assert "E201" in result.stdout
    assert result.stderr == ""


def test_explain_unknown_code_exits_2(flowc):
    result = flowc("explain", "E999")
    assert result.exit == 2, result
    assert result.stderr.startswith("flowc: error: unknown diagnostic code 'E999'")


def test_stdlib_lists_the_workers(flowc):
    result = flowc("stdlib")
    assert result.exit == 0, result
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert "sources.pulses" in names
    assert "filters.select" in names
    line = next(x for x in result.stdout.splitlines() if x.startswith("filters.select "))
    assert "filter" in line.split()[1]


def test_stdlib_describes_one_worker(flowc):
    result = flowc("stdlib", "filters.select")
    assert result.exit == 0, result
    assert result.stdout.startswith("stdlib.filters.select  (filter)")
    assert "field" in result.stdout
    assert "field_args: field" in result.stdout
    same = flowc("stdlib", "stdlib.filters.select")
    assert same.stdout == result.stdout


def test_stdlib_json(flowc):
    listing = json.loads(flowc("stdlib", "--format", "json").stdout)
    by_name = {entry["name"]: entry for entry in listing}
    select = by_name["filters.select"]
    assert select["kind"] == "filter"
    assert "field" in select["signature"]["field_args"]
    assert {p["name"] for p in select["parameters"]} >= {"field"}
    one = json.loads(flowc("stdlib", "filters.select", "--format", "json").stdout)
    assert one == select


def test_stdlib_unknown_worker_exits_2(flowc):
    result = flowc("stdlib", "filters.selcet")
    assert result.exit == 2, result
    assert "did you mean filters.select?" in result.stderr


# --- run -------------------------------------------------------------------------------------


@pytest.mark.runtime
def test_run_completes_and_writes_stats(flowc):
    flowc.write("small.flow", SMALL_FLOW)
    result = flowc("run", "small.flow", "--quiet", "--stats", "stats.json", "--set", "N=6")
    assert result.exit == 0, result
    assert result.stdout == ""
    lines = (flowc.folder / "out.txt").read_text().split()
    assert sorted(float(x) for x in lines) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    stats = json.loads((flowc.folder / "stats.json").read_text())
    assert stats["pipeline"] == "small"
    assert stats["stopped"] == "completed"
    assert stats["exit"] == 0
    assert stats["workers"]["save"]["events_in"] == 6
    assert stats["buffers"]["raw"]["written"] == 6


@pytest.mark.runtime
def test_run_writes_an_html_report(flowc):
    flowc.write("small.flow", SMALL_FLOW)
    result = flowc("run", "small.flow", "--quiet", "--report", "report.html")
    assert result.exit == 0, result
    report = (flowc.folder / "report.html").read_text()
    assert report.lstrip().lower().startswith("<!doctype html")
    assert "small" in report
    assert len((flowc.folder / "out.txt").read_text().split()) == 5


@pytest.mark.runtime
def test_run_with_a_failing_worker_exits_1_and_names_it(flowc):
    flowc.write("failing.flow", FAILING_FLOW)
    result = flowc("run", "failing.flow", "--quiet")
    assert result.exit == 1, result
    assert "boom" in result.stderr
    assert "explode was asked to fail" in result.stderr
    assert "internal error" not in result.stderr


@pytest.mark.runtime
def test_run_timeout_drains_and_exits_0(flowc):
    flowc.write("small.flow", SMALL_FLOW)
    result = flowc(
        "run",
        "small.flow",
        "--set",
        "N=1000000000",
        "--timeout",
        "1",
        "--quiet",
        "--stats",
        "s.json",
    )
    assert result.exit == 0, result
    stats = json.loads((flowc.folder / "s.json").read_text())
    assert stats["stopped"] == "timeout"
    # drained: every event the importer wrote reached the exporter
    written = stats["buffers"]["raw"]["written"]
    assert written > 0
    assert len((flowc.folder / "out.txt").read_text().split()) == written


@pytest.mark.runtime
def test_run_interrupted_by_ctrl_c_exits_130_and_cleans_up(flowc):
    flowc.write("small.flow", SMALL_FLOW)
    process = subprocess.Popen(
        [sys.executable, "-m", "flowc", "run", "small.flow", "--set", "N=1000000000"]
        + ["--quiet", "--stats", "s.json"],
        cwd=flowc.folder,
        env=flowc.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not (flowc.folder / "out.txt").exists():
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run never started writing"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr.decode()
    assert stdout == b""
    assert b"Traceback" not in stderr
    assert json.loads((flowc.folder / "s.json").read_text())["stopped"] == "interrupted"
    assert list(Path("/dev/shm").glob(f"flowc_{process.pid}_*")) == []


def test_run_with_errors_does_not_start(flowc):
    flowc.write("broken.flow", BROKEN_FLOW)
    result = flowc("run", "broken.flow")
    assert result.exit == 1, result
    assert "error[E102]" in result.stderr
    assert not (flowc.folder / "out.txt").exists()


def test_run_stats_into_a_missing_folder_makes_it(flowc):
    flowc.write("small.flow", SMALL_FLOW)
    result = flowc("run", "small.flow", "--stats", "new/folder/stats.json")
    assert result.exit == 0, result
    assert (flowc.folder / "new/folder/stats.json").exists()
    (flowc.folder / "out.txt").unlink(missing_ok=True)
    flowc.write("a_file", "")
    result = flowc("run", "small.flow", "--stats", "a_file/stats.json")
    assert result.exit == 2, result
    assert not (flowc.folder / "out.txt").exists()


# --- internal errors and the console script --------------------------------------------------

INTERNAL_ERROR_SCRIPT = """
import sys
from flowc import cli

def broken_check(path, **options):
    raise RuntimeError("simulated bug in the checker")

cli.compiler.check_file = broken_check
sys.exit(cli.main(sys.argv[1:]))
"""


def test_internal_error_exits_70_with_traceback(flowc):
    flowc.write("small.flow", SMALL_FLOW)
    result = flowc.command([sys.executable, "-c", INTERNAL_ERROR_SCRIPT], "check", "small.flow")
    assert result.exit == 70, result
    assert result.stdout == ""
    assert result.stderr.startswith("flowc: internal error: RuntimeError: simulated bug")
    assert "Traceback (most recent call last):" in result.stderr
    assert "Please report it" in result.stderr


def test_console_script(flowc):
    script = Path(sys.executable).with_name("flowc")
    if not script.exists():
        found = shutil.which("flowc")
        if found is None:
            pytest.skip("the flowc console script is not installed")
        script = Path(found)
    from flowc import __version__

    result = flowc.command([str(script)], "--version")
    assert (result.exit, result.stdout) == (0, f"flowc {__version__}\n")
    flowc.write("small.flow", SMALL_FLOW)
    assert flowc.command([str(script)], "check", "small.flow").exit == 0


def stderr_on_a_terminal(flowc, *args: str, **env: str) -> str:
    """Run flowc with stderr on a pseudo-terminal; returns what it printed there."""
    controller, terminal = pty.openpty()
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "flowc", *args],
            cwd=flowc.folder,
            env=flowc.environment(**env),
            stdout=subprocess.DEVNULL,
            stderr=terminal,
            timeout=120,
            check=False,
        )
        os.close(terminal)
        terminal = -1
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # Linux reports EIO once the terminal side is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(controller)
        if terminal != -1:
            os.close(terminal)
    assert completed.returncode == 1
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_on_a_terminal_unless_no_color(flowc):
    flowc.write("broken.flow", BROKEN_FLOW)
    coloured = stderr_on_a_terminal(flowc, "check", "broken.flow")
    assert "\x1b[1;31merror[E102]" in coloured
    plain = stderr_on_a_terminal(flowc, "check", "broken.flow", NO_COLOR="1")
    assert "error[E102]" in plain
    assert "\x1b[" not in plain
