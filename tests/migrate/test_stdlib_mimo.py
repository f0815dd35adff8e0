"""stdlib.mimo, the workers that stand in for mimoCoRB2's library: .mimo files as mimoCoRB2
writes and reads them, the histogram exporter's files and edges, and pulse-height analysis."""

from __future__ import annotations

import csv
import pickle
import time

import numpy as np
import pytest
from flowc.stdlib import mimo

from flowc.types import META_DTYPE

WAVE = np.dtype([("chA", "f4"), ("chB", "i2")])


def events(count: int, length: int = 4) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for i in range(count):
        data = np.zeros(length, WAVE)
        data["chA"] = np.arange(length) * 0.5 + i
        data["chB"] = -i
        meta = np.zeros((), META_DTYPE)
        meta["counter"], meta["timestamp"], meta["deadtime"] = i, 100.0 + 0.01 * i, 0.0
        out.append((data, meta))
    return out


def mimocorb2_file(path, records, length=4) -> None:
    """A .mimo file as mimoCoRB2's mimoFile writes it: pickled info, then data and metadata."""
    info = {
        "version": 1,
        "header": "This is a mimoCoRB file",
        "data_dtype": WAVE,
        "data_length": length,
        "metadata_dtype": META_DTYPE,
        "metadata_length": 1,
    }
    with open(path, "wb") as handle:
        pickle.dump(info, handle)
        for data, meta in records:
            handle.write(data.tobytes())
            handle.write(np.asarray(meta).reshape(1).tobytes())


def test_export_writes_what_mimocorb2_reads_events_and_batches_alike(tmp_path):
    path = tmp_path / "run" / "waves.mimo"
    writer = mimo.export(path=str(path))
    records = events(5)
    for data, meta in records[:2]:
        writer.process(data, meta)
    batch = np.stack([d for d, _ in records[2:]])
    writer.process(batch, np.array([m for _, m in records[2:]]))
    writer.finish()
    with path.open("rb") as handle:  # mimoCoRB2's reading: header, then fixed-size records
        info = pickle.load(handle)
        body = handle.read()
    assert info["data_dtype"] == WAVE and info["data_length"] == 4
    size = WAVE.itemsize * 4 + META_DTYPE.itemsize
    assert len(body) == 5 * size
    for i, (data, meta) in enumerate(records):
        chunk = body[i * size : (i + 1) * size]
        assert chunk[: WAVE.itemsize * 4] == data.tobytes()
        assert chunk[WAVE.itemsize * 4 :] == np.asarray(meta).tobytes()


def test_read_mimo_reads_mimocorb2s_files_and_refuses_code_in_a_header(tmp_path):
    path = tmp_path / "from_mimocorb2.mimo"
    records = events(3)
    mimocorb2_file(path, records)
    info, data, meta = mimo.read_mimo(path)
    assert data.shape == (3, 4) and data.dtype == WAVE
    assert meta["counter"].tolist() == [0, 1, 2]
    assert data["chA"][2].tolist() == records[2][0]["chA"].tolist()
    # a header that would run code when unpickled is refused, not run
    evil = tmp_path / "evil.mimo"
    evil.write_bytes(pickle.dumps({"header": "x", "run": print}) + b"")
    with pytest.raises(ValueError, match="may hold only numpy dtypes, not builtins.print"):
        mimo.read_mimo(evil)
    with pytest.raises(ValueError, match="is not a .mimo file"):
        (tmp_path / "text.mimo").write_text("hello")
        mimo.read_mimo(tmp_path / "text.mimo")


def test_clocked_sends_every_event_at_the_rate_and_replay_at_the_timestamps(tmp_path):
    path = tmp_path / "w.mimo"
    mimocorb2_file(path, events(20))
    example = np.zeros(4, WAVE)
    started = time.perf_counter()
    sent = list(mimo.clocked(str(path), rate=100, example=example))
    elapsed = time.perf_counter() - started
    assert [float(e["chA"][0]) for e in sent] == [float(i) for i in range(20)]
    assert 0.19 <= elapsed < 1.5  # 20 events at 100/s, each waiting before it goes
    started = time.perf_counter()
    replayed = list(mimo.replay(str(path), speed=1.0, example=example))
    assert len(replayed) == 20 and 0.18 <= time.perf_counter() - started < 1.5
    poisson = list(mimo.clocked(str(path), rate=1000, distribution="poisson", seed=1))
    assert len(poisson) == 20
    with pytest.raises(ValueError, match="no field 'energy'"):
        next(mimo.clocked(str(path), rate=10, example=np.zeros(4, [("energy", "f8")])))
    with pytest.raises(ValueError, match='must be "uniform" or "poisson"'):
        next(mimo.clocked(str(path), rate=10, distribution="gauss"))


def test_histogram_uses_linspace_edges_and_writes_info_csv(tmp_path):
    directory = tmp_path / "Histograms_params"
    exporter = mimo.histogram(bins={"h": [0, 10, 11], "t": [0.0, 1.0, 3]}, directory=str(directory))
    values = [0.0, 9.99, 10.0, 10.01, -0.5, 4.5, 5.0]
    for value in values:
        exporter.process(np.array([(value, value / 10)], [("h", "f8"), ("t", "f4")]))
    exporter.finish()
    with (directory / "info.csv").open() as handle:
        assert list(csv.reader(handle)) == [
            ["Channel", "Min", "Max", "NBins"],
            ["h", "0", "10", "11"],
            ["t", "0.0", "1.0", "3"],
        ]
    h = np.load(directory / "h.npy")
    # 11 edges: 10 bins of width 1, the last closed on the right; -0.5 and 10.01 not counted
    assert h.tolist() == [1, 0, 0, 0, 1, 1, 0, 0, 0, 2]
    assert np.load(directory / "t.npy").tolist() == [2, 3]
    with pytest.raises(ValueError, match=r"bins\['h'\] = \[0, 10, 1\] must be \[min, max, n\]"):
        mimo.histogram(bins={"h": [0, 10, 1]}, directory=str(directory))
    with pytest.raises(ValueError, match="the buffer has no field 'h'"):
        mimo.histogram(bins={"h": [0, 1, 3]}, directory=str(directory)).process(
            np.zeros(1, [("x", "f8")])
        )


def test_pha_gives_the_first_peak_as_mimocorb2_does_or_every_peak():
    pytest.importorskip("scipy")
    wave = np.zeros(40, [("IN1", "i2"), ("IN2", "i2")])
    wave["IN1"][[5, 20, 30]] = [700, 300, 900]
    first = list(
        mimo.pha(fields={"peak_heights": "i2", "position": "i4"}, height=500).process(wave)
    )
    assert [(int(e["peak_heights"][0]), int(e["position"][0])) for e in first] == [(700, 5)]
    assert first[0].dtype == np.dtype([("peak_heights", "i2"), ("position", "i4")])
    every = mimo.pha(fields=["position"], channel="IN1", height=500, peaks="all")
    assert [int(e["position"][0]) for e in every.process(wave)] == [5, 30]
    assert list(mimo.pha(fields=["position"], height=1000).process(wave)) == []
    with pytest.raises(ValueError, match="'peak_heights' is only reported with height= given"):
        mimo.pha(fields=["peak_heights"])
    with pytest.raises(ValueError, match="'area' is not a peak property"):
        mimo.pha(fields=["area"], height=1)
