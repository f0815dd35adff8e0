"""The standard workers take batches (`batch=N`): each gives, batch by batch, what it gives
event by event; the sources yield batches, the sinks write them in one call, and
`stdlib.sinks.histogram` counts every event."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from flowc.stdlib import filters, processors, sinks, sources

import flowc
from flowc.types import META_DTYPE

WAVE = np.dtype([("a", "f4", (64,)), ("b", "f4", (64,))])


def events(n: int = 40) -> np.ndarray:
    rows = np.zeros((n, 3), dtype=[("height", "f8"), ("time", "f8")])
    rows["height"] = np.linspace(0.0, 1.0, n)[:, None] + np.array([0.0, 0.01, 0.02])
    rows["time"] = np.arange(n)[:, None]
    return rows


def test_select_decides_a_batch_as_it_decides_each_event():
    rows = events()
    one = [filters.select(row, field="height", min=0.3, max=0.7) for row in rows]
    batch = filters.select(rows, field="height", min=0.3, max=0.7)
    assert batch.dtype == np.bool_ and batch.tolist() == one


@pytest.mark.parametrize("sizes", [[5, 1, 12, 22], [40]])
def test_prescale_counts_on_across_batches(sizes):
    by_event = filters.prescale(n=3)
    by_batch = filters.prescale(n=3)
    one = [by_event.process(row) for row in events()]
    rows, got, at = events(), [], 0
    for size in sizes:
        got += by_batch.process(rows[at : at + size]).tolist()
        at += size
    assert got == one and sum(got) == 14


def test_sample_draws_one_number_per_event_of_a_batch():
    kept = filters.sample(fraction=0.25, seed=1).process(events(4000)).mean()
    assert 0.2 < kept < 0.3


def waves(n: int) -> np.ndarray:
    simulated = sources.pulses(n=n, example=np.zeros(1, WAVE), seed=3, mean_pulses=2.0)
    return np.stack(list(simulated))


def test_find_pulses_in_a_batch_finds_each_events_pulses_with_its_origin():
    batch = waves(30)
    each = [
        np.concatenate(
            list(processors.find_pulses(w, threshold=0.1)) or [np.zeros(0, processors.PULSE)]
        )
        for w in batch
    ]
    [[(rows, origin)]] = list(processors.find_pulses(batch, threshold=0.1))
    assert len(rows) == sum(len(p) for p in each) > 30
    assert origin.tolist() == [i for i, p in enumerate(each) for _ in p]
    assert rows.tobytes() == np.concatenate(each).tobytes()


def test_project_projects_a_batch():
    step = processors.project(fields=["time", "height"], names=["t", "h"], types=["f4", "f4"])
    batch = step.process(events(6))
    assert batch.shape == (6, 3) and batch.dtype.names == ("t", "h")
    assert (batch["h"] == events(6)["height"].astype("f4")).all()


@pytest.mark.parametrize("batch", [1, 7, 64])
@pytest.mark.parametrize("rate", [0.0, 4000.0])
def test_the_simulators_yield_batches_of_the_same_events(batch, rate):
    example = np.zeros(1, WAVE)
    for source in (sources.pulses, sources.waveforms):
        one = list(source(n=50, example=example, seed=9, rate=rate))
        batches = list(source(n=50, example=example, seed=9, rate=rate, batch=batch))
        assert all(1 <= len(b) <= batch and b.shape[1:] == (1,) for b in batches)
        assert np.concatenate(batches).tobytes() == np.stack(one).tobytes()


def written_by_sinks(tmp_path: Path, rows: np.ndarray, meta: np.ndarray, sizes) -> dict:
    """Write `rows` in batches of `sizes` through the npy, csv and hdf5 sinks."""
    made = {
        "npy": sinks.npy(path=str(tmp_path / "e.npy"), metadata=True),
        "csv": sinks.csv(path=str(tmp_path / "e.csv")),
        "hdf5": sinks.hdf5(path=str(tmp_path / "e.h5"), compression="none"),
    }
    at = 0
    for size in sizes:
        for sink in made.values():
            sink.process(rows[at : at + size], meta[at : at + size])
        at += size
    for sink in made.values():
        sink.finish()
    return made


@pytest.mark.parametrize("batch", [1, 5, 64])
def test_sinks_write_batches_that_the_readers_read_back_in_batches(tmp_path, batch):
    rows = events(23)
    meta = np.zeros(23, META_DTYPE)
    meta["counter"] = np.arange(23)
    meta["timestamp"] = 1000.0 + np.arange(23) * 0.001
    written_by_sinks(tmp_path, rows, meta, [4, 1, 18])
    assert (np.load(tmp_path / "e_meta.npy")["counter"] == np.arange(23)).all()
    example = np.zeros(3, rows.dtype)
    for read in (
        sources.npy(str(tmp_path / "e.npy"), example=example, batch=batch),
        sources.csv(str(tmp_path / "e.csv"), example=example, batch=batch),
        sources.hdf5(str(tmp_path / "e.h5"), example=example, batch=batch),
        sources.replay(str(tmp_path / "e.npy"), example=example, batch=batch, speed=10.0),
        sources.replay(str(tmp_path / "e.h5"), example=example, batch=batch, speed=0.0),
    ):
        got = list(read)
        assert all(1 <= len(b) <= batch for b in got)
        assert np.concatenate(got).tobytes() == rows.tobytes()


def test_a_paced_reader_hands_over_what_is_due_without_waiting_for_a_full_batch(tmp_path):
    np.save(tmp_path / "e.npy", events(20)[:, 0])
    read = sources.npy(
        str(tmp_path / "e.npy"), example=np.zeros(1, events(1).dtype), batch=64, rate=200.0
    )
    sizes = [len(b) for b in read]
    assert sum(sizes) == 20 and max(sizes) < 20  # 100 ms of events, not one batch at the end


def test_the_histogram_sink_counts_every_event_of_a_pipeline(tmp_path):
    text = (
        "buffer raw : {height: f8, time: f8} slots=32\n"
        "importer sim = stdlib.sources.pulses(n=3000, seed=1) -> raw batch=64\n"
        f'exporter h = stdlib.sinks.histogram(field="height", bins=20, path="{tmp_path / "h.npz"}", '
        f'png="{tmp_path / "h.png"}") raw batch=16\n'
    )
    result = flowc.compile_source(text).run(timeout=60)
    assert result.stats["workers"]["h"]["events_in"] == 3000
    saved = np.load(tmp_path / "h.npz")
    assert int(saved["events"]) == 3000 and int(saved["entries"]) == 3000
    document = json.loads((tmp_path / "h.json").read_text())
    assert (
        document["events"] == 3000
        and sum(document["counts"]) + document["underflow"] + document["overflow"] == 3000
    )
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
    assert result.stats["workers"]["h"]["calls"] < 3000


def test_the_histogram_sink_says_how_many_events_it_counted(capsys, tmp_path):
    sink = sinks.histogram(path=str(tmp_path / "h.npz"), field="height", bins=4)
    sink.process(events(10))
    sink.process(events(1)[0])
    sink.finish()
    assert capsys.readouterr().err.startswith("histogram of height: 11 events counted, 33 values")


def test_a_batched_stdlib_pipeline_delivers_what_the_per_event_one_does(tmp_path):
    def run(batch: str, out: str) -> np.ndarray:
        text = (
            "type Wave = {a: f4[64], b: f4[64]}\n"
            "type Pulse = {channel: i2, time: f8, height: f8, integral: f8, baseline: f8}\n"
            "buffer raw : Wave slots=64\nbuffer found : Pulse slots=64\n"
            "buffer kept : Pulse slots=64\n"
            f"importer sim = stdlib.sources.pulses(n=400, seed=5, mean_pulses=2.0) -> raw {batch}\n"
            f"processor find = stdlib.processors.find_pulses(threshold=0.1) raw -> found {batch}\n"
            f'filter cut = stdlib.filters.select(field="height", min=0.2) found -> kept {batch}\n'
            f'exporter save = stdlib.sinks.npy(path="{tmp_path / out}", metadata=true) kept {batch}\n'
        )
        flowc.compile_source(text).run(timeout=120)
        return np.load(tmp_path / out), np.load(tmp_path / out.replace(".npy", "_meta.npy"))

    one, one_meta = run("", "one.npy")
    many, many_meta = run("batch=32", "many.npy")
    assert len(one) > 400 and one.tobytes() == many.tobytes()
    assert (one_meta["counter"] == many_meta["counter"]).all()
