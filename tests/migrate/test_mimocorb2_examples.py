"""Setups in the shape of mimoCoRB2's own examples (simple, muon, redpitaya, mimo_files), their
worker files written in each of mimoCoRB2's three API styles, imported with `flowc import
mimocorb2`, checked and run without mimocorb2 installed; the files they write are compared
with what mimoCoRB2's code computes, written out here from its documented behaviour."""

from __future__ import annotations

import csv
import pickle
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import flowc
from flowc.migrate import convert_mimocorb2

EXAMPLES = Path(__file__).resolve().parent / "setups" / "examples"
STYLES = ("feb2025", "mid2025", "v004")

pytestmark = pytest.mark.runtime


def prepared(example: str, style: str, tmp_path: Path, *, also: tuple[str, ...] = ()) -> Path:
    """The example (and the examples it uses, `also`) copied to tmp_path, each with its worker
    file in `style` as functions.py."""
    for name in (example, *also):
        folder = tmp_path / name
        shutil.copytree(EXAMPLES / name, folder)
        shutil.copy(folder / "workers" / f"{style}.py", folder / "functions.py")
    return tmp_path / example


def imported_and_run(setup: Path, *, warnings=(), overrides=None) -> flowc.RunResult:
    """Convert, write beside the setup, check clean and run; the import's diagnostics must be
    the `warnings` (a list of codes, or a set of the codes allowed)."""
    conversion = convert_mimocorb2(setup)
    codes = [d.code for d in conversion.diagnostics]
    messages = [d.message for d in conversion.diagnostics]
    assert conversion.ok, messages
    if isinstance(warnings, set):
        assert set(codes) <= warnings, messages
    else:
        assert sorted(codes) == sorted(warnings), messages
    flow = setup.with_suffix(".flow")
    flow.write_text(conversion.flow_text)
    plan = flowc.compile_file(str(flow), overrides=overrides or {})
    result = plan.run(quiet=True, timeout=120)
    assert result.ok and result.stats["stopped"] == "completed", result.failure
    return result


def mimo_records(path: Path) -> tuple[dict, list[tuple[np.ndarray, np.ndarray]]]:
    """A .mimo file read as mimoCoRB2's mimoFile reads it: the pickled header, then each
    event's data bytes followed by its metadata bytes."""
    with path.open("rb") as handle:
        info = pickle.load(handle)
        data_bytes = info["data_dtype"].itemsize * info["data_length"]
        meta_bytes = info["metadata_dtype"].itemsize * info["metadata_length"]
        records = []
        while True:
            data, meta = handle.read(data_bytes), handle.read(meta_bytes)
            if not data or not meta:
                return info, records
            records.append(
                (
                    np.frombuffer(data, dtype=info["data_dtype"]),
                    np.frombuffer(meta, dtype=info["metadata_dtype"]),
                )
            )


def histogram_counts(values, low, high, n) -> np.ndarray:
    """mimoCoRB2's exporters.histogram: edges numpy.linspace(low, high, n), so n - 1 bins."""
    return np.histogram(np.asarray(values), bins=np.linspace(low, high, n))[0]


def exported_csv(path: Path) -> tuple[list[str], list[list[float]]]:
    with path.open() as handle:
        rows = list(csv.reader(handle))
    return rows[0], [[float(x) for x in row] for row in rows[1:]]


def load_module(folder: Path, name: str):
    sys.path.insert(0, str(folder))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(name, None)


# --- simple ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_simple(style, tmp_path):
    folder = prepared("simple", style, tmp_path)
    # the worker named `filter` is renamed; an exporter reading with `with` uses no template
    raw = ["M202"] if style != "mid2025" else []
    imported_and_run(folder / "setup.yaml", warnings=["M003", *raw])
    trace = load_module(folder, "waves").trace
    passed = [
        i for i in range(300) if np.max(trace(i).astype("f4")) > np.float32(0.95)
    ]  # mimoCoRB2's filter keeps a trace whose maximum passes min_height
    expected = sorted(np.max(trace(i).astype("f4")) for i in passed)
    target = folder / "target"
    assert 0 < len(passed) < 300
    assert sorted(np.load(target / "heights.npy").tolist()) == [float(h) for h in expected]
    assert sorted(np.load(target / "counters.npy").tolist()) == passed


# --- muon: csv and histogram exporters, a .mimo file, oscilloscopes -------------------------------

PARAMS = ("decay_time", "1st_chA_h", "1st_chB_h", "2nd_chA_h", "2nd_chB_h")


def muon_reference(waves, n_events: int) -> dict[str, dict[int, tuple]]:
    """The decays the lifetime filter finds, by direction: counter -> parameters (as float32)."""
    found: dict[str, dict[int, tuple]] = {"Up": {}, "Down": {}}
    for i in range(n_events):
        second = waves.second_pulse(i)
        if second is None:
            continue
        first_h = np.float32(0.3 + 0.01 * (i % 50))
        second_h = np.float32(0.2 + 0.005 * (i % 40))
        zero = np.float32(0)
        if i % 2 == 0:
            found["Up"][i] = ((second - 5) * 100, first_h, zero, second_h, zero)
        else:
            found["Down"][i] = ((second - 5) * 100, zero, first_h, zero, second_h)
    return found


@pytest.mark.parametrize("style", STYLES)
def test_muon(style, tmp_path):
    folder = prepared("muon", style, tmp_path)
    # M003 (`filter`), M204 (pictures instead of windows, csv's deadtime column, config keys
    # such as plot_type with no counterpart); M202 for the filter that reads and writes itself
    imported_and_run(folder / "spin_setup.yaml", warnings={"M003", "M202", "M204"})
    # the histogram windows become a histogram monitor per field, with the exporter's bins
    assert (
        'observer showHistUp_decay_time = stdlib.monitors.histogram(field="decay_time", '
        "bins=60, range=[0.0, 6000.0], png=SHOWHISTUP_DECAY_TIME_PATH) observes "
        "PulseParametersUp" in (folder / "spin_setup.flow").read_text()
    )
    waves = load_module(folder, "muon_waves")
    reference = muon_reference(waves, 400)
    target = folder / "target"
    configs = {"Up": folder / "configs" / "hist_config_up.yaml"}
    configs["Down"] = folder / "configs" / "hist_config_down.yaml"
    for direction, decays in reference.items():
        bins = yaml.safe_load(configs[direction].read_text())["bins"]
        # exporters.histogram: info.csv and one .npy of counts per field
        histograms = target / f"Histograms_PulseParameters{direction}"
        with (histograms / "info.csv").open() as handle:
            header, *rows = list(csv.reader(handle))
        assert header == ["Channel", "Min", "Max", "NBins"]
        assert [(row[0], *map(float, row[1:])) for row in rows] == [
            (field, *map(float, spec)) for field, spec in bins.items()
        ]
        for field, (low, high, n) in bins.items():
            column = PARAMS.index(field)
            expected = histogram_counts([d[column] for d in decays.values()], low, high, n)
            counts = np.load(histograms / f"{field}.npy")
            assert counts.dtype == np.int64 and len(counts) == n - 1
            assert counts.tolist() == expected.tolist(), field
        # exporters.csv: metadata columns, then the fields, one row per event
        header, rows = exported_csv(target / f"PulseParameters{direction}_Export.csv")
        assert header == ["counter", "timestamp", "deadtime", *PARAMS]
        got = {int(row[0]): tuple(np.float32(x) for x in row[3:]) for row in rows}
        assert sorted(got) == sorted(decays)
        assert all(got[i] == tuple(np.float32(x) for x in decays[i]) for i in decays)
    # data.export: the accepted traces in a .mimo file named after the buffer
    info, records = mimo_records(target / "AcceptedPulses.mimo")
    assert info["data_dtype"] == np.dtype([("chA", "f4"), ("chB", "f4")])
    assert (info["data_length"], info["metadata_length"]) == (64, 1)
    accepted = sorted([*reference["Up"], *reference["Down"]])
    assert sorted(int(meta["counter"][0]) for _, meta in records) == accepted
    for data, meta in records:
        chA, chB = waves.channels(int(meta["counter"][0]))
        assert data["chA"].tolist() == chA.astype("f4").tolist()
        assert data["chB"].tolist() == chB.astype("f4").tolist()


# --- redpitaya, without the board: pulse-height analysis, a histogram and a csv of it -------------


@pytest.mark.parametrize("style", STYLES)
def test_redpitaya(style, tmp_path):
    pytest.importorskip("scipy", reason="analyzers.pha's replacement runs scipy's find_peaks")
    folder = prepared("redpitaya", style, tmp_path)
    raw = ["M202"] if style == "v004" else []  # a source writing itself uses no template
    # M003: the csv exporter is named like its buffer; M204: the oscilloscope and the
    # histogram window draw PNGs (the oscilloscope's ylim goes), the csv's deadtime is in seconds
    warnings = ["M003", "M204", "M204", "M204", "M204", *raw]
    imported_and_run(folder / "setup.yaml", warnings=warnings)
    pulses = load_module(folder, "rp_waves").pulses
    # analyzers.pha: find_peaks(IN1, height=500), the first peak of a waveform, or none
    expected = {}
    for i in range(300):
        high = [height for _, height in pulses(i) if height >= 500]
        if high:
            expected[i] = high[0]
    assert 0 < len(expected) < 300 and any(pulses(i)[0][1] == 600 for i in expected)
    target = folder / "target"
    header, rows = exported_csv(target / "pulse_parameters_export.csv")
    assert header == ["counter", "timestamp", "deadtime", "peak_heights"]
    assert {int(row[0]): int(row[3]) for row in rows} == expected
    counts = np.load(target / "Histograms_pulse_parameters" / "peak_heights.npy")
    assert counts.tolist() == histogram_counts(list(expected.values()), 0, 4095, 4096).tolist()
    assert counts.sum() == len(expected)


# --- mimo_files: a .mimo file written by one setup, played back by another ------------------------


@pytest.mark.parametrize("style", STYLES)
def test_mimo_files_written_then_read(style, tmp_path, monkeypatch):
    folder = prepared("mimo_files", style, tmp_path, also=("muon",))  # its source is muon's
    monkeypatch.chdir(folder)  # the read setup names the file relative to where it runs
    imported_and_run(folder / "write_setup.yaml", warnings=["M204"])  # the oscilloscope's PNG
    channels = load_module(tmp_path / "muon", "muon_waves").channels
    info, records = mimo_records(folder / "target" / "waveform_buffer.mimo")
    assert info["header"] == "This is a mimoCoRB file" and info["version"] == 1
    assert info["metadata_dtype"].names == ("counter", "timestamp", "deadtime")
    assert [int(meta["counter"][0]) for _, meta in records] == list(range(400))
    for i, (data, _) in enumerate(records):
        chA, chB = channels(i)
        assert data["chA"].tolist() == chA.astype("f4").tolist()
        assert data["chB"].tolist() == chB.astype("f4").tolist()

    # the poisson timing and the csv's deadtime column are M204
    imported_and_run(folder / "read_setup.yaml", warnings=["M204", "M204"])
    waves = [channels(i) for i in range(400)]
    a_max = [np.max(a.astype("f4")) for a, _ in waves]
    b_max = [np.max(b.astype("f4")) for _, b in waves]
    a_at = [int(np.argmax(a.astype("f4"))) for a, _ in waves]
    header, rows = exported_csv(folder / "target" / "maxima.csv")
    assert header == ["counter", "timestamp", "deadtime", "chA_max", "chB_max", "chA_at"]
    got = {int(row[0]): (np.float32(row[3]), np.float32(row[4]), int(row[5])) for row in rows}
    assert got == {i: (a_max[i], b_max[i], a_at[i]) for i in range(400)}
    histograms = folder / "target" / "Histograms_Maxima"
    assert (
        np.load(histograms / "chA_max.npy").tolist() == histogram_counts(a_max, 0, 2, 41).tolist()
    )
    assert np.load(histograms / "chA_at.npy").tolist() == histogram_counts(a_at, 0, 64, 65).tolist()
