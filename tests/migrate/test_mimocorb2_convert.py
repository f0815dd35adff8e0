"""The mimoCoRB2 converter: setups in mimoCoRB2's documented format become .flow text that
checks clean, and what flow cannot express is an M diagnostic at its place in the YAML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flowc.compiler import check_source
from flowc.migrate import convert_mimocorb2
from flowc.migrate.mimocorb2 import IMPORT_CODES
from flowc.source import SourceFile

SETUPS = Path(__file__).resolve().parent / "setups"


def codes_at(conversion) -> list[tuple[str, int]]:
    return [(d.code, d.span.line) for d in conversion.diagnostics]


def check(text: str, name: str = "generated.flow"):
    return check_source(SourceFile(name, text))


def line_of(text: str, fragment: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} is not in the text")


def test_muon_setup_converts_to_a_flow_that_checks_clean():
    conversion = convert_mimocorb2(SETUPS / "muon" / "spin_setup.yaml")
    text = conversion.flow_text
    # the worker named `filter` (a flow keyword) is renamed, and only that is reported
    assert codes_at(conversion) == [("M003", 32)]
    assert conversion.ok
    # shared anchors become named types; a non-identifier field name is quoted
    assert "type osc_template = {chA: f4, chB: f4}" in text
    assert 'type param_template = {decay_time: i4, "1st_chA_h": f4, "2nd_chA_h": f4}' in text
    assert "buffer InputBuffer : osc_template[256] slots=16" in text
    assert "buffer PulseParameters : param_template slots=32" in text
    result = check(text)
    assert result.diagnostics == []
    plan = result.plan
    kinds = {w.name: w.kind for w in plan.workers}
    assert kinds == {
        "input": "importer",
        "filter_": "processor",
        "save_pulses": "exporter",
        "save_parameters": "exporter",
        "watch": "observer",
    }
    workers = {w.name: w for w in plan.workers}
    assert workers["filter_"].processes == 2
    # config: base_config file, then the worker's list of a file and a mapping, later wins
    args = dict(workers["filter_"].args)
    assert args["threshold"] == 0.1 and args["label"] == "muon"
    assert args["min_height"] == 0.3
    assert args["window"] == [10, 200]
    assert dict(workers["input"].args)["n_events"] == 200


def test_library_workers_map_to_stdlib_and_unmapped_ones_are_reported():
    conversion = convert_mimocorb2(SETUPS / "library" / "setup.yaml")
    text = conversion.flow_text
    assert codes_at(conversion) == [
        ("M202", 20),  # a raw importer: kind from its buffers
        ("M202", 25),
        ("M204", 29),  # exporters.histogram -> a monitor per channel
        ("M204", 32),  # its update_interval has no counterpart
        ("M204", 36),  # data.export -> stdlib.sinks.npy
        ("M203", 39),  # observers.oscilloscope: no equivalent, an observer, so a warning
    ]
    assert conversion.ok
    assert "exporter histogram = stdlib.sinks.null() peaks" in text
    assert re.search(
        r'observer histogram_height = stdlib\.monitors\.histogram\(field="height", bins=20, '
        r"range=\[0\.0, 2\.0\], path=HISTOGRAM_HEIGHT_PATH\) observes peaks",
        text,
    )
    assert "exporter save = stdlib.sinks.npy(path=SAVE_PATH, metadata=true) copies" in text
    assert "# observer scope = <mimoCoRB2 observers.oscilloscope> observes waveforms" in text
    assert 'buffer peaks : {height: f8, "peak time": i8} slots=16' in text
    assert check(text).diagnostics == []


def test_what_flow_cannot_express_is_reported_where_it_is_written():
    conversion = convert_mimocorb2(SETUPS / "odd" / "setup.yaml")
    assert not conversion.ok
    assert codes_at(conversion) == [
        ("M102", 5),  # an S10 string field
        ("M101", 6),  # slot_count: 0
        ("M301", 12),  # calibration: null
        ("M302", 12),  # 2nd_gain is no identifier
        ("M301", 12),  # table: a mapping
        ("M002", 13),  # `sink:` is not a worker key
        ("M201", 15),  # missing.py
        ("M201", 20),  # no function `nowhere`
        ("M203", 23),  # misc.copy has no equivalent (on the data path: an error)
        ("M303", 30),  # configs/absent.yaml
        ("M401", 31),  # number_of_processes: 0
    ]
    by_code = {d.code: d for d in conversion.diagnostics}
    assert by_code["M102"].span.text == "S10"
    assert by_code["M303"].span.text == "configs/absent.yaml"
    assert "calibration" in conversion.flow_text  # the left-out key is noted in the text
    # what was expressible is still there, and parses
    assert "buffer raw : {x: f8} slots=4" in conversion.flow_text
    assert "importer source = flowc.compat.mimocorb2.ImporterWorker(" in conversion.flow_text


def test_a_config_file_problem_points_into_that_file(tmp_path):
    (tmp_path / "w.py").write_text(
        "from mimocorb2 import Importer\n\ndef run(io):\n    Importer(io)(lambda: iter([None]))\n"
    )
    (tmp_path / "extra.yaml").write_text("gain: 2\noffset: null\n")
    (tmp_path / "setup.yaml").write_text(
        "Buffers:\n  b: {slot_count: 2, data_length: 1, data_dtype: {x: f8}}\n"
        "Workers:\n  w: {file: w.py, function: run, sinks: [b], config: extra.yaml}\n"
    )
    conversion = convert_mimocorb2(tmp_path / "setup.yaml")
    (problem,) = conversion.diagnostics
    assert problem.code == "M301"
    assert problem.span.filename.endswith("extra.yaml")
    assert (problem.span.line, problem.span.text) == (2, "null")
    assert "gain=2" in conversion.flow_text


@pytest.mark.parametrize(
    "text,line",
    [
        ("Buffers: {a: 1\nWorkers: {}\n", 2),
        ("- just\n- a list\n", 1),
        ("Buffers: {}\n", 1),
    ],
)
def test_a_file_that_is_no_setup_is_one_M001(tmp_path, text, line):
    path = tmp_path / "setup.yaml"
    path.write_text(text)
    conversion = convert_mimocorb2(path)
    assert codes_at(conversion) == [("M001", line)]
    assert conversion.flow_text == ""


def test_unread_buffer_is_found_by_flowc_check_in_the_generated_file():
    conversion = convert_mimocorb2(SETUPS / "broken" / "unread_buffer.yaml")
    assert conversion.diagnostics == []
    text = conversion.flow_text
    (problem,) = check(text).diagnostics
    assert problem.code == "W301"
    assert problem.span.line == line_of(text, "buffer kept ")
    assert problem.span.text == "kept"


def test_filter_dtype_mismatch_is_found_by_flowc_check_in_the_generated_file():
    conversion = convert_mimocorb2(SETUPS / "broken" / "filter_mismatch.yaml")
    assert conversion.diagnostics == []
    text = conversion.flow_text
    (problem,) = check(text).diagnostics
    assert problem.code == "E201"
    assert problem.span.line == line_of(text, "filter positive =")
    assert problem.span.text == "kept"


def test_the_generated_text_is_canonically_formatted():
    from flowc.syntax import format_source

    for setup in ("muon/spin_setup.yaml", "library/setup.yaml", "broken/filter_mismatch.yaml"):
        text = convert_mimocorb2(SETUPS / setup).flow_text
        assert format_source(SourceFile("x.flow", text)) == text


def test_every_import_code_is_documented_with_a_title_and_explanation():
    assert sorted(IMPORT_CODES) == sorted(set(IMPORT_CODES))
    for code, info in IMPORT_CODES.items():
        assert re.fullmatch(r"M\d{3}", code)
        assert info.severity in ("error", "warning")
        assert info.title and len(info.explanation) > 40


def test_merge_keys_share_settings_and_explicit_keys_override_them():
    conversion = convert_mimocorb2(SETUPS / "broken" / "merge_keys.yaml")
    assert conversion.diagnostics == []
    text = conversion.flow_text
    assert "buffer raw : raw_event slots=4" in text
    assert "buffer kept : raw_event slots=8" in text
    result = check(text)
    assert result.diagnostics == []
    assert {w.name: dict(w.args)["n"] for w in result.plan.workers} == {
        "source": 5,
        "positive": 5,
        "drain": 5,
    }


def test_a_target_directory_that_is_no_path_is_M004_and_target_is_used(tmp_path):
    (tmp_path / "setup.yaml").write_text(
        "Buffers: {}\nWorkers: {}\ntarget_directory: [runs, today]\n"
    )
    conversion = convert_mimocorb2(tmp_path / "setup.yaml")
    assert codes_at(conversion) == [("M004", 3)]
    assert f'const RUN_DIR = "{tmp_path / "target"}"' in conversion.flow_text


def test_every_import_code_is_produced_by_some_setup(tmp_path):
    (tmp_path / "not_yaml.yaml").write_text("Buffers: [\n")
    (tmp_path / "target.yaml").write_text("Buffers: {}\nWorkers: {}\ntarget_directory: 3\n")
    setups = [*SETUPS.rglob("*.yaml"), tmp_path / "not_yaml.yaml", tmp_path / "target.yaml"]
    produced = {
        d.code
        for setup in setups
        if setup.parent.name != "configs"
        for d in convert_mimocorb2(setup).diagnostics
    }
    assert produced == set(IMPORT_CODES)
