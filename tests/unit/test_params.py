"""`--params FILE.toml` (KM3Pipe's pipeline.toml): consts and worker arguments from a TOML file,
with every mistake reported at its line and column in that file."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowc.compiler import check_file, compile_file
from flowc.diagnostics import FlowError
from flowc.params import parse_params, read_params
from flowc.source import SourceFile

WORKERS = """\
def gen(n: int = 3, rate: float = 1.0, label: int | str = 23):
    for i in range(n):
        yield (float(i) * rate,)

def sink(data, *, path, bins={}):
    with open(path, "a") as f:
        f.write(repr((float(data[0]["x"]), bins)) + "\\n")
"""

FLOW = """\
const N = 4
const BINS = {x: [0, 1, 10]}
buffer raw : {x: f8} slots=4
importer src = "workers.py":gen(n=N, rate=2) -> raw
exporter save = "workers.py":sink(path="out.txt", bins=BINS) raw
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder with a flow, its worker code, and `write(toml)` for a parameters file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "workers.py").write_text(WORKERS)
    (tmp_path / "p.flow").write_text(FLOW)

    def write(text: str, name: str = "params.toml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


def diagnostics(path, **options):
    result = check_file("p.flow", params=path, **options)
    return [
        (d.code, d.span.filename, d.span.line, d.span.column, d.span.text)
        for d in result.diagnostics
    ]


# --- where keys are ------------------------------------------------------------------------


def test_entries_know_where_their_keys_and_values_are():
    text = (
        "# header comment\n"
        "N = 500   # events\n"
        'BINS = {height = [0, 1, 50], "k" = "x # y"}\n'
        '"quoted key" = 3\n'
        "LIST = [\n  1, # one\n  2,\n]\n"
        'TEXT = """\na = b\n"""\n'
        "w.threshold = 0.3\r\n"
        "\n[sim]\nrate = 2000\n'n' = 10\n"
        "[ finder . sub ]\nx = 1\n"
    )
    params = parse_params(SourceFile("p.toml", text))
    found = {e.key: e for e in params.entries}
    assert list(found) == ["N", "BINS", "quoted key", "LIST", "TEXT", "w", "sim", "finder"]
    n = found["N"]
    assert (n.key_span.line, n.key_span.column, n.value_span.text) == (2, 1, "500")
    assert found["BINS"].value_span.text == '{height = [0, 1, 50], "k" = "x # y"}'
    assert found["quoted key"].key_span.text == '"quoted key"'
    assert found["LIST"].value_span.text == "[\n  1, # one\n  2,\n]"
    assert found["TEXT"].value == "a = b\n" and found["TEXT"].value_span.text.endswith('"""')
    (threshold,) = found["w"].entries
    assert (threshold.key_span.text, threshold.value_span.text) == ("threshold", "0.3")
    sim = found["sim"]
    assert sim.is_table and sim.span.text == "[sim]" and sim.key_span.text == "sim"
    assert [(e.key, e.key_span.text, e.key_span.line) for e in sim.entries] == [
        ("rate", "rate", 15),
        ("n", "'n'", 16),
    ]
    assert found["finder"].key_span.text == "finder"
    assert found["finder"].entries[0].key_span.text == "sub"


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ('a."b.c".d = 1\nz = 2\n', "z", "2"),
        ("p = 'C:\\path\\'\nz = 2\n", "z", "2"),
        ("m = '''\nz = 'y'\n'''\nz = 1\n", "z", "1"),
        ('s = """a\\"""b"""\nz = 1\n', "z", "1"),
        ('s = """ends with quotes"""""\nz = 1\n', "z", "1"),
        ('arr = [{a = 1}, {b = [2, {c = "]"}]}]\nz = 0\n', "z", "0"),
        ('a = [\n  # a comment with ] and "\n  1,\n]\nz = 2\n', "z", "2"),
        ("x=1#c\nz=2", "z", "2"),
        ('"ünï" = 1\nz = 3\r\n', "z", "3"),
        ("dt = 1979-05-27T07:32:00Z\nz = {}\n", "z", "{}"),
    ],
)
def test_keys_are_found_after_tricky_values(text, key, value):
    (entry,) = [e for e in parse_params(SourceFile("p.toml", text)).entries if e.key == key]
    assert (entry.key_span.text, entry.value_span.text) == (key, value)


def test_every_part_of_a_dotted_key_is_found():
    (entry,) = parse_params(SourceFile("p.toml", 'a."b.c".d = 1\n')).entries
    (inner,) = entry.entries
    assert (entry.key_span.text, inner.key, inner.key_span.text) == ("a", "b.c", '"b.c"')


@given(st.text(alphabet="ab=.[]{}\"'#,\n 1", max_size=40))
def test_any_text_gives_entries_or_an_e001(text):
    try:
        params = parse_params(SourceFile("p.toml", text))
    except FlowError as exc:
        (d,) = exc.diagnostics
        assert d.code == "E001" and 0 <= d.span.start <= d.span.end <= len(text)
        return
    for entry in params.entries:
        assert 0 <= entry.key_span.start <= entry.key_span.end <= len(text)


def test_a_bom_is_dropped(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes("\ufeffN = 1\n".encode())
    (entry,) = read_params(path).entries
    assert (entry.key, entry.key_span.line, entry.key_span.column) == ("N", 1, 1)


def test_a_toml_syntax_error_is_e001_at_its_position_in_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("N = 3\nM = [1, 2\n[src]\n")
    with pytest.raises(FlowError) as info:
        read_params(path)
    (d,) = info.value.diagnostics
    assert d.code == "E001" and d.span.filename == str(path)
    assert d.message.startswith("TOML syntax error in the parameters file: ")
    assert "(at line" not in d.message
    assert d.span.line == 3


def test_a_repeated_key_is_a_toml_error():
    with pytest.raises(FlowError) as info:
        parse_params(SourceFile("p.toml", "N = 1\nN = 2\n"))
    assert (info.value.diagnostics[0].code, info.value.diagnostics[0].span.line) == ("E001", 2)


# --- what the file sets --------------------------------------------------------------------


def test_top_level_keys_set_consts_and_tables_set_worker_arguments(project):
    path = project(
        """\
        N = 2
        BINS = {x = [0, 2, 4]}

        [save]
        path = "from-params.txt"
        """
    )
    plan = compile_file("p.flow", params=path)
    assert plan.consts["N"] == 2
    assert plan.overrides == {"N": 2, "BINS": {"x": [0, 2, 4]}}
    assert plan.worker("src").args == {"n": 2, "rate": 2}
    assert plan.worker("save").args == {"path": "from-params.txt", "bins": {"x": [0, 2, 4]}}


def test_a_table_may_add_arguments_and_supply_required_ones(project, tmp_path):
    (tmp_path / "p.flow").write_text(FLOW.replace('path="out.txt", ', ""))
    path = project('[save]\npath = "x.txt"\n[src]\nlabel = "dummybar"\n')
    plan = compile_file("p.flow", params=path)
    assert plan.worker("save").args["path"] == "x.txt"
    assert plan.worker("src").args == {"n": 4, "rate": 2, "label": "dummybar"}


def test_set_and_api_overrides_win_over_the_file(project):
    path = project("N = 2\n")
    result = check_file("p.flow", params=path, set_texts=["N=7"])
    assert result.plan.consts["N"] == 7
    assert compile_file("p.flow", params=path, overrides={"N": 9}).consts["N"] == 9


def test_mistakes_are_diagnostics_at_their_place_in_the_toml_file(project):
    path = project(
        """\
        N = "four"
        THRESHOLD = 0.2
        BINS = [1]

        [src]
        rate = "fast"
        nn = 2

        [finder]
        threshold = 0.3

        [raw]
        x = 1

        [save]
        path = 1979-05-27
        """
    )
    found = diagnostics(path)
    name = str(path)
    assert found == [
        ("E106", name, 1, 5, '"four"'),
        ("E104", name, 2, 1, "THRESHOLD"),
        ("E106", name, 3, 8, "[1]"),
        ("E106", name, 6, 8, '"fast"'),
        ("E204", name, 7, 1, "nn"),
        ("E204", name, 9, 2, "finder"),
        ("E204", name, 12, 2, "raw"),
        ("E106", name, 16, 8, "1979-05-27"),
    ]


def test_the_messages_say_what_is_wrong(project):
    path = project('save = 3\n[src]\nrate = "fast"\n[sorce]\nn = 1\n')
    result = check_file("p.flow", params=path)
    messages = {d.span.text: d for d in result.diagnostics}
    rate = messages['"fast"']
    assert rate.code == "E106" and "takes a float, not a string" in rate.message
    table = messages["sorce"]
    assert "has no worker of that name" in table.message and "did you mean `[src]`?" in table.help
    save = messages["save = 3"]
    assert save.code == "E106" and "`save` is a worker" in save.message


def test_a_const_that_is_a_mapping_takes_a_toml_table(project):
    path = project("[BINS]\ny = [1, 2, 3]\n")
    plan = compile_file("p.flow", params=path)
    assert plan.consts["BINS"] == {"y": [1, 2, 3]}


def test_params_reach_the_workers_in_a_run(project, tmp_path):
    path = project('N = 2\n[save]\npath = "run.txt"\nbins = {x = [1, 2], "a b" = {c = true}}\n')
    compile_file("p.flow", params=path).run(timeout=60)
    lines = (tmp_path / "run.txt").read_text().splitlines()
    assert lines == [repr((x, {"x": [1, 2], "a b": {"c": True}})) for x in (0.0, 2.0)]


# --- the command line --------------------------------------------------------------------------


def flowc(*args):
    return subprocess.run(
        [sys.executable, "-m", "flowc", *args], capture_output=True, text=True, timeout=120
    )


def test_check_run_and_plan_take_params(project, tmp_path):
    path = project('N = 3\n[save]\npath = "cli.txt"\n')
    checked = flowc("check", "p.flow", "--params", str(path))
    assert checked.returncode == 0, checked.stderr
    plan = flowc("plan", "p.flow", "--params", str(path), "--set", "N=1")
    assert plan.returncode == 0, plan.stderr
    document = json.loads(plan.stdout)
    assert document["overrides"]["N"] == 1
    assert document["workers"][1]["args"]["path"] == "cli.txt"
    ran = flowc("run", "p.flow", "--params", str(path), "--quiet")
    assert ran.returncode == 0, ran.stderr
    assert len((tmp_path / "cli.txt").read_text().splitlines()) == 3


def test_cli_reports_params_mistakes_in_json_with_the_toml_file(project):
    path = project("N = true\n")
    checked = flowc("check", "p.flow", "--params", str(path), "--format", "json")
    assert checked.returncode == 1
    (d,) = json.loads(checked.stdout)["diagnostics"]
    assert (d["code"], d["file"], d["line"], d["column"]) == ("E106", str(path), 1, 5)


def test_a_missing_params_file_is_a_usage_error(project):
    checked = flowc("check", "p.flow", "--params", "nope.toml")
    assert checked.returncode == 2
    assert "--params nope.toml: no such file" in checked.stderr
