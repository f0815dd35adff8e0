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


def test_library_workers_map_to_the_stdlib_workers_writing_the_same_files():
    conversion = convert_mimocorb2(SETUPS / "library" / "setup.yaml")
    text = conversion.flow_text
    assert codes_at(conversion) == [
        ("M202", 20),  # a raw importer: kind from its buffers
        ("M202", 25),
        ("M204", 39),  # observers.oscilloscope draws into a PNG, not a window
    ]
    assert conversion.ok
    target = SETUPS / "library" / "target"
    # mimoCoRB2's histogram exporter: a mapping of bins, its folder named after the buffer
    assert (
        "exporter histogram = stdlib.mimo.histogram(bins={height: [0.0, 2.0, 20]}, "
        "directory=HISTOGRAM_PATH, update_interval=2) peaks" in text
    )
    assert f'const HISTOGRAM_PATH = "{target / "Histograms_peaks"}"' in text
    # data.export: a .mimo file named after the buffer
    assert "exporter save = stdlib.mimo.export(path=SAVE_PATH) copies" in text
    assert f'const SAVE_PATH = "{target / "copies.mimo"}"' in text
    assert "observer scope = stdlib.monitors.oscilloscope(png=SCOPE_PATH" in text
    assert 'buffer peaks : {height: f8, "peak time": i8} slots=16' in text
    assert check(text).diagnostics == []


LIBRARY_SETUP = """\
Buffers:
  waves: {slot_count: 4, data_length: 16, data_dtype: {IN1: int16, IN2: int16}}
  peaks: {slot_count: 4, data_length: 1, data_dtype: {peak_heights: float64}}
  params: {slot_count: 4, data_length: 1, data_dtype: {h: float32, t: float64}}
Workers:
  drain: {function: exporters.drain, sources: [params]}
  csv: {function: exporters.csv, sources: [params], config: {filename: out}}
  hist: {function: exporters.histogram, sources: [params], config: hist.yaml}
  export: {function: data.export, sources: [waves]}
  clock: {function: data.clocked_importer, sinks: [waves], config: {filename: w.mimo, rate: 100}}
  replay: {function: data.simulate_importer, sinks: [waves], config: {filename: w.mimo}}
  pha: {function: analyzers.pha, sources: [waves], sinks: [peaks], config: {channel: IN1, height: 500}}
  copy: {function: misc.copy, sources: [peaks], sinks: [params]}
  osc: {function: observers.oscilloscope, observes: [waves], config: {t_scaling: [0.008, 0, us], ylim: [-1, 1]}}
  vcsv: {function: visualizers.csv, observes: [params], config: hist.yaml}
  vhist: {function: visualizers.histogram, observes: [params]}
  pico: {function: importers.picoscope.source, sinks: [waves]}
  rp: {function: importers.redpitaya.waveform, sinks: [waves], config: {ip: rp.local}}
  old: {function: visualizers.visualize_histogram, observes: [params]}
"""


def test_every_library_worker_of_mimocorb2_is_mapped_or_reported_with_its_reason(tmp_path):
    from flowc.migrate.mimocorb2_library import LIBRARY

    (tmp_path / "hist.yaml").write_text("bins:\n  h: [0, 10, 11]\n  t: [0, 1, 3]\n")
    (tmp_path / "setup.yaml").write_text(LIBRARY_SETUP)
    named = set(re.findall(r"function: ([\w.]+)", LIBRARY_SETUP))
    assert set(LIBRARY) == named - {"visualizers.visualize_histogram"}  # 0.0.4 has no such one
    conversion = convert_mimocorb2(tmp_path / "setup.yaml")
    text = conversion.flow_text
    reported = {(d.code, d.span.text, d.severity) for d in conversion.diagnostics}
    assert ("M203", "importers.picoscope.source", "error") in reported
    assert ("M203", "importers.redpitaya.waveform", "error") in reported
    assert ("M203", "visualizers.histogram", "warning") in reported
    assert ("M203", "visualizers.visualize_histogram", "error") in reported
    assert ("M204", "ylim", "warning") in reported  # no counterpart
    assert ("M204", "exporters.csv", "warning") in reported  # the deadtime column's seconds
    assert "exporter drain = stdlib.sinks.null() params" in text
    assert f'const CSV_PATH = "{tmp_path / "target" / "out.csv"}"' in text
    assert "exporter csv = stdlib.sinks.csv(path=CSV_PATH, metadata=true) params" in text
    assert "stdlib.mimo.histogram(bins={h: [0, 10, 11], t: [0, 1, 3]}, directory=HIST_PATH)" in text
    assert 'importer clock = stdlib.mimo.clocked(path="w.mimo", rate=100, ' in text
    assert 'importer replay = stdlib.mimo.replay(path="w.mimo") -> waves' in text
    assert (
        'processor pha = stdlib.mimo.pha(fields={peak_heights: "f8"}, channel="IN1", height=500) '
        "waves -> peaks" in text
    )
    assert "filter copy = stdlib.filters.prescale(n=1) peaks -> params" in text
    assert 'sample_time=0.008, unit="us"' in text
    assert re.search(
        r'observer vcsv_h = stdlib\.monitors\.histogram\(field="h", bins=10, '
        r"range=\[0\.0, 10\.0\], png=VCSV_H_PATH\) observes params",
        text,
    )
    assert "# importer rp = <mimoCoRB2 importers.redpitaya.waveform> -> waves" in text
    assert [d.code for d in conversion.diagnostics if d.is_error] == ["M203"] * 3


def test_an_unreadable_config_file_is_named_as_the_cause_not_the_worker(tmp_path):
    (tmp_path / "hist.yaml").write_text("bins: {h: [0, 10, 11]\n")  # not valid YAML
    (tmp_path / "setup.yaml").write_text(
        "Buffers:\n  p: {slot_count: 2, data_length: 1, data_dtype: {h: f8}}\n"
        "Workers:\n"
        "  hist: {function: exporters.histogram, sources: [p], config: hist.yaml}\n"
        "  clock: {function: data.clocked_importer, sinks: [p], config: gone.yaml}\n"
    )
    conversion = convert_mimocorb2(tmp_path / "setup.yaml")
    by_code: dict[str, list] = {}
    for d in conversion.diagnostics:
        by_code.setdefault(d.code, []).append(d)
    assert [d.span.text for d in by_code["M303"]] == ["hist.yaml", "gone.yaml"]
    assert "is not valid YAML" in by_code["M303"][0].message
    assert "cannot be read" in by_code["M303"][1].message
    assert len(by_code["M205"]) == 2
    assert all("see M303" in d.message for d in by_code["M205"])
    assert "M203" not in by_code  # the worker is known; its config is what failed


def test_early_2025_options_set_the_run_folder_and_the_shared_config(tmp_path):
    (tmp_path / "w.py").write_text(
        "from mimocorb2.worker_templates import Importer\n\n"
        "def run(*mimo_args):\n    Importer(mimo_args)(lambda: iter([None]))\n"
    )
    (tmp_path / "setup.yaml").write_text(
        "Buffers:\n  b: {slot_count: 2, data_length: 1, data_dtype: {x: f8}, overwrite: true}\n"
        "Workers:\n  w: {file: w.py, function: run, sinks: [b]}\n"
        "  d: {function: exporters.drain, sources: [b]}\n"
        "Options:\n  output_directory: runs\n  debug_workers: true\n"
        "  overarching_config: {gain: 2}\n  colour: red\n"
    )
    conversion = convert_mimocorb2(tmp_path / "setup.yaml")
    assert [(d.code, d.span.text) for d in conversion.diagnostics] == [
        ("M002", "overwrite"),  # gone from mimoCoRB2 since Feb 2025
        ("M002", "colour"),
    ]
    assert f'const RUN_DIR = "{tmp_path / "runs"}"' in conversion.flow_text
    assert "gain=2" in conversion.flow_text
    assert "mimo_debug=true" in conversion.flow_text  # config['debug'] of the worker


def test_what_flow_cannot_express_is_reported_where_it_is_written():
    conversion = convert_mimocorb2(SETUPS / "odd" / "setup.yaml")
    assert not conversion.ok
    assert codes_at(conversion) == [
        ("M102", 5),  # a datetime field
        ("M101", 6),  # slot_count: 0
        ("M301", 12),  # calibration: null
        ("M302", 12),  # 2nd_gain is no identifier
        ("M301", 12),  # table: a mapping holding an infinite float
        ("M002", 13),  # `sink:` is not a worker key
        ("M201", 15),  # missing.py
        ("M201", 20),  # no function `nowhere`
        ("M203", 23),  # a Red Pitaya importer: flowc has no driver
        ("M303", 30),  # configs/absent.yaml
        ("M401", 31),  # number_of_processes: 0
        ("M205", 33),  # no bins, because its config file could not be read
        ("M303", 35),
    ]
    by_code = {d.code: d for d in conversion.diagnostics}
    assert by_code["M102"].span.text == '"datetime64[s]"'
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


def test_fixed_length_string_fields_are_kept(tmp_path):
    (tmp_path / "setup.yaml").write_text(
        "Buffers:\n"
        "  tagged: {slot_count: 2, data_length: 1, data_dtype: {x: f8, name: S10, label: <U5}}\n"
        "Workers:\n  drain: {function: exporters.drain, sources: [tagged]}\n"
        "  copy: {function: data.clocked_importer, sinks: [tagged], "
        "config: {filename: t.mimo, rate: 10}}\n"
    )
    conversion = convert_mimocorb2(tmp_path / "setup.yaml")
    assert conversion.diagnostics == []
    assert "buffer tagged : {x: f8, name: S10, label: U5} slots=2" in conversion.flow_text
    assert check(conversion.flow_text).diagnostics == []


def test_exporters_mimocorb2_limits_to_one_element_are_taken_with_a_warning(tmp_path):
    (tmp_path / "setup.yaml").write_text(
        "Buffers:\n  w: {slot_count: 2, data_length: 8, data_dtype: {h: f8}}\n"
        "Workers:\n"
        "  hist: {function: exporters.histogram, sources: [w], config: {bins: {h: [0, 1, 3]}}}\n"
    )
    conversion = convert_mimocorb2(tmp_path / "setup.yaml")
    (warned,) = conversion.diagnostics
    assert warned.code == "M204" and "refuses a source of data_length 8" in warned.message
    assert "counts every element" in warned.message
