"""The file workers on their own: readers fill events by field name, sinks write what readers
read back, HDF5 files carry every event and their provenance, replay keeps the recorded pace."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from flowc.stdlib import sinks, sources

import flowc
from flowc.types import META_DTYPE

PULSE = np.dtype([("height", "f8"), ("time", "f8"), ("channel", "i2"), ("shape", "f4", (4,))])


def meta_of(counter: int, timestamp: float = 0.0):
    record = np.zeros(1, META_DTYPE)
    record["counter"] = counter
    record["timestamp"] = timestamp
    return record[0]


def pulses_of(count: int) -> np.ndarray:
    rows = np.zeros(count, PULSE)
    rows["height"] = np.arange(count) / 10
    rows["time"] = np.arange(count) * 2.0
    rows["channel"] = np.arange(count) % 3
    rows["shape"] = np.arange(count)[:, None] + np.arange(4)
    return rows


# --- readers ---------------------------------------------------------------------------------------


def test_npy_reader_fills_fields_by_name_and_casts(tmp_path):
    np.save(tmp_path / "p.npy", pulses_of(5))
    example = np.zeros(1, [("time", "f4"), ("height", "f4")])
    events = list(sources.npy(str(tmp_path / "p.npy"), example=example))
    assert len(events) == 5 and all(e.dtype == example.dtype for e in events)
    assert [float(e["height"][0]) for e in events] == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])
    assert float(events[4]["time"][0]) == 8.0


def test_npy_reader_takes_rows_of_length_and_refuses_other_shapes(tmp_path):
    np.save(tmp_path / "w.npy", np.arange(12, dtype="f8").reshape(3, 4))
    events = list(sources.npy(str(tmp_path / "w.npy"), example=np.zeros(4, "f4")))
    assert [e.tolist() for e in events] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    with pytest.raises(ValueError, match=r"rows of shape \(4,\).*6 element"):
        next(sources.npy(str(tmp_path / "w.npy"), example=np.zeros(6, "f4")))


@pytest.mark.parametrize(
    ("example", "message"),
    [
        (np.zeros(1, [("energy", "f8")]), "no field 'energy'"),
        (np.zeros(1, "f8"), "plain float64 array"),
    ],
)
def test_npy_reader_says_why_a_file_does_not_fit(tmp_path, example, message):
    np.save(tmp_path / "p.npy", pulses_of(2))
    with pytest.raises(ValueError, match=message):
        next(sources.npy(str(tmp_path / "p.npy"), example=example))
    with pytest.raises(FileNotFoundError, match="no file"):
        next(sources.npy(str(tmp_path / "missing.npy"), example=example))


def test_readers_keep_their_rate(tmp_path):
    np.save(tmp_path / "p.npy", pulses_of(41))
    start = time.perf_counter()
    assert len(list(sources.npy(str(tmp_path / "p.npy"), rate=400))) == 41
    assert 0.09 <= time.perf_counter() - start < 0.3


def test_csv_round_trip_through_the_sink_and_the_reader(tmp_path):
    dtype = np.dtype([("height", "f8"), ("channel", "i2"), ("ok", "b1"), ("iq", "c8")])
    sink = sinks.csv(path=str(tmp_path / "t.csv"))
    written = []
    for index in range(6):
        event = np.zeros(2, dtype)
        event["height"] = [index / 3, -index / 7]
        event["channel"] = index
        event["ok"] = [True, False]
        event["iq"] = complex(index, -1)
        written.append(event)
        sink.process(event)
    sink.finish()
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0] == "height,channel,ok,iq" and len(lines) == 13
    back = list(sources.csv(str(tmp_path / "t.csv"), example=np.zeros(2, dtype)))
    assert len(back) == 6
    assert all(np.array_equal(a, b) for a, b in zip(written, back, strict=True))


def test_csv_sink_writes_metadata_and_flattens_sub_arrays(tmp_path):
    sink = sinks.csv(path=str(tmp_path / "m.csv"), metadata=True)
    sink.process(pulses_of(2)[1:], meta_of(7, 12.5))
    sink.finish()
    header, row = (tmp_path / "m.csv").read_text().splitlines()
    assert (
        header
        == "counter,timestamp,deadtime,height,time,channel,shape[0],shape[1],shape[2],shape[3]"
    )
    assert row == "7,12.5,0.0,0.1,2.0,1,1.0,2.0,3.0,4.0"
    (back,) = sources.csv(str(tmp_path / "m.csv"), example=np.zeros(1, PULSE))
    assert np.array_equal(back, pulses_of(2)[1:]), "sub-array columns read back"


def test_csv_reader_points_at_a_bad_value_and_a_missing_column(tmp_path):
    (tmp_path / "bad.csv").write_text("height,channel\n0.5,1\n0.7,x\n")
    example = np.zeros(1, [("height", "f8"), ("channel", "i2")])
    with pytest.raises(ValueError, match="line 3, column 'channel'"):
        list(sources.csv(str(tmp_path / "bad.csv"), example=example))
    with pytest.raises(ValueError, match="no column 'energy'"):
        next(sources.csv(str(tmp_path / "bad.csv"), example=np.zeros(1, [("energy", "f8")])))


# --- HDF5 ----------------------------------------------------------------------------------------


def write_hdf5(path, rows: np.ndarray, **options) -> None:
    sink = sinks.hdf5(path=str(path), **options)
    for index, row in enumerate(rows):
        sink.process(row.reshape(1) if row.ndim == 0 else row, meta_of(index, 100.0 + index))
    sink.finish()


def test_hdf5_sink_keeps_every_event_and_its_metadata(tmp_path):
    rows = pulses_of(5000)
    write_hdf5(tmp_path / "deep" / "p.h5", rows, chunk=500, compression="gzip", level=6)
    with h5py.File(tmp_path / "deep" / "p.h5") as handle:
        events = handle["events"]
        assert events.dtype == PULSE and events.shape == (5000,)
        assert events.chunks == (500,) and events.compression == "gzip"
        assert events.compression_opts == 6
        assert np.array_equal(events[...], rows)
        assert list(handle["meta"]["counter"]) == list(range(5000))
        assert handle["meta"]["timestamp"][4999] == 5099.0
        assert "finished" not in handle, "only a SWMR file carries the finished flag"


def test_hdf5_sink_of_waveforms_is_events_by_length(tmp_path):
    waves = np.random.default_rng(0).normal(size=(7, 256)).astype("f4")
    write_hdf5(tmp_path / "w.h5", waves, compression="lzf", metadata=False)
    with h5py.File(tmp_path / "w.h5") as handle:
        assert handle["events"].shape == (7, 256) and "meta" not in handle
        assert np.array_equal(handle["events"][...], waves)
    back = list(sources.hdf5(str(tmp_path / "w.h5"), example=np.zeros(256, "f4")))
    assert np.array_equal(np.stack(back), waves)


def test_hdf5_sink_flushes_rows_on_time_even_while_no_events_come(tmp_path):
    sink = sinks.hdf5(path=str(tmp_path / "live.h5"), swmr=True, flush_every=0.05)
    sink.process(pulses_of(1), meta_of(0))
    deadline = time.monotonic() + 5
    rows = 0
    while rows < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
        with h5py.File(tmp_path / "live.h5", "r", swmr=True) as reader:
            rows = reader["events"].shape[0]
            assert reader["finished"][()] == 0
    assert rows == 1, "the row was flushed without another event"
    sink.process(pulses_of(1), meta_of(1))
    sink.finish()
    with h5py.File(tmp_path / "live.h5", "r") as reader:
        assert reader["events"].shape == (2,) and reader["finished"][()] == 1


def test_hdf5_sink_records_the_plan_from_a_plan_file(tmp_path, monkeypatch):
    monkeypatch.delenv("FLOWC_PLAN", raising=False)
    flow = tmp_path / "tiny.flow"
    flow.write_text(
        "pipeline tiny\nconst N = 3\nbuffer b : f8[4] slots=4\n"
        "importer g = stdlib.sources.pulses(n=N) -> b\n"
        'exporter s = stdlib.sinks.hdf5(path="x.h5") b\n'
    )
    plan = flowc.compile_file(flow, overrides={"N": 2})
    (tmp_path / "plan.json").write_text(plan.to_json())
    write_hdf5(tmp_path / "p.h5", pulses_of(3), plan_path=str(tmp_path / "plan.json"))
    with h5py.File(tmp_path / "p.h5") as handle:
        attributes = dict(handle.attrs)
    assert attributes["flowc_plan_hash"] == plan.hash
    assert json.loads(attributes["flowc_plan"]) == json.loads(plan.to_json())
    assert attributes["flowc_source"] == flow.read_text()
    assert json.loads(attributes["flowc_overrides"]) == {"N": 2}
    assert attributes["flowc_pipeline"] == "tiny"


def test_hdf5_sink_prefers_the_plan_in_the_environment(tmp_path, monkeypatch):
    plan = {"name": "from_env", "overrides": {"K": 1}, "buffers": [], "workers": []}
    monkeypatch.setenv("FLOWC_PLAN", json.dumps(plan))
    (tmp_path / "other.json").write_text(json.dumps({"name": "from_file"}))
    write_hdf5(tmp_path / "p.h5", pulses_of(1), plan_path=str(tmp_path / "other.json"))
    with h5py.File(tmp_path / "p.h5") as handle:
        assert handle.attrs["flowc_pipeline"] == "from_env"
        assert handle.attrs["flowc_plan_hash"] == sinks.plan_hash(plan)
        assert "flowc_source" not in handle.attrs


def test_hdf5_sink_of_no_events_and_bad_arguments(tmp_path):
    sinks.hdf5(path=str(tmp_path / "e.h5")).finish()
    with h5py.File(tmp_path / "e.h5") as handle:
        assert handle["events"].shape == (0,) and handle["meta"].shape == (0,)
    with pytest.raises(ValueError, match="compression"):
        sinks.hdf5(path=str(tmp_path / "x.h5"), compression="zstd")
    with pytest.raises(ValueError, match="level"):
        sinks.hdf5(path=str(tmp_path / "x.h5"), level=11)
    with pytest.raises(FileNotFoundError, match="no .flow file"):
        sinks.hdf5(path=str(tmp_path / "x.h5"), flow_path=str(tmp_path / "none.flow"))


def test_hdf5_sink_refuses_a_second_writer_without_harming_the_first(tmp_path):
    first = sinks.hdf5(path=str(tmp_path / "one.h5"))
    first.process(pulses_of(1), meta_of(0))
    first.flush()
    second = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from flowc.stdlib import sinks; sinks.hdf5(path={str(tmp_path / 'one.h5')!r})",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert second.returncode != 0 and "processes=1" in second.stderr
    first.process(pulses_of(2)[1:], meta_of(1))
    first.finish()
    with h5py.File(tmp_path / "one.h5") as handle:
        assert np.array_equal(handle["events"][...], pulses_of(2))


def test_hdf5_reader_names_the_datasets_it_has(tmp_path):
    write_hdf5(tmp_path / "p.h5", pulses_of(2))
    with pytest.raises(KeyError, match="no dataset 'pulses'.*events"):
        next(sources.hdf5(str(tmp_path / "p.h5"), "pulses", example=np.zeros(1, PULSE)))


# --- replay -------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".npy", ".h5"])
def test_replay_keeps_the_recorded_timing(tmp_path, suffix):
    rows = pulses_of(5)
    stamps = [1000.0, 1000.05, 1000.1, 1000.1, 1000.2]
    path = tmp_path / f"rec{suffix}"
    sink = (
        sinks.npy(path=str(path), metadata=True) if suffix == ".npy" else sinks.hdf5(path=str(path))
    )
    for index, row in enumerate(rows):
        sink.process(row.reshape(1), meta_of(index, stamps[index]))
    sink.finish()
    example = np.zeros(1, PULSE)
    arrivals, events = [], []
    start = time.perf_counter()
    for event in sources.replay(str(path), example=example, speed=2.0):
        arrivals.append(time.perf_counter() - start)
        events.append(event)
    assert np.array_equal(np.concatenate(events), rows)
    assert arrivals == pytest.approx([0, 0.025, 0.05, 0.05, 0.1], abs=0.03)
    start = time.perf_counter()
    assert len(list(sources.replay(str(path), example=example, speed=0))) == 5
    assert time.perf_counter() - start < 0.05


def test_replay_needs_the_recorded_metadata(tmp_path):
    np.save(tmp_path / "bare.npy", pulses_of(2))
    with pytest.raises(FileNotFoundError, match="metadata=true"):
        next(sources.replay(str(tmp_path / "bare.npy")))
    with pytest.raises(ValueError, match="speed"):
        next(sources.replay(str(tmp_path / "bare.npy"), speed=-1))
