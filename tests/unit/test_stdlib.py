"""The standard workers on their own, called as flowc calls them: outputs, errors, files."""

import dataclasses
import json
import time

import numpy as np
import pytest
from flowc.stdlib import catalog, filters, monitors, sinks, sources

from flowc.callables import call_shape, signature_of
from flowc.types import META_DTYPE

SAMPLE = np.dtype([("ch0", "f4"), ("ch1", "f4")])
PULSE = np.dtype([("height", "f8"), ("time", "f8"), ("channel", "i2"), ("shape", "f4", (16,))])


def event_of(dtype, length=1, **values):
    """A read-only event of `length` elements, as a worker receives it."""
    event = np.zeros(length, dtype)
    for name, value in values.items():
        event[name] = value
    event.flags.writeable = False
    return event


# --- sources.pulses ------------------------------------------------------------------------------


def test_pulses_yields_n_new_events_shaped_like_the_example():
    example = np.zeros(512, SAMPLE)
    events = list(sources.pulses(n=5, example=example, seed=1))
    assert len(events) == 5
    assert all(e.dtype == SAMPLE and e.shape == (512,) for e in events)
    assert len({id(e) for e in events}) == 5
    assert not np.array_equal(events[0], events[1])
    assert np.array_equal(example, np.zeros(512, SAMPLE)), "the example array must stay untouched"


def test_pulses_fills_every_numeric_field_and_leaves_booleans_false():
    dtype = np.dtype(
        [("a", "f4"), ("flag", "b1"), ("adc", "u2"), ("iq", "c8"), ("sub", "f8", (3,))]
    )
    (event,) = sources.pulses(n=1, example=np.zeros(256, dtype), seed=2)
    for name in ("a", "sub"):
        assert np.abs(event[name]).max() > 0.0
    assert np.abs(event["iq"].imag).max() > 0.0
    assert not event["flag"].any()
    adc_baseline = np.median(event["adc"][:20])
    assert abs(adc_baseline - 0.1 * 65535) < 0.01 * 65535


def test_pulses_fills_a_plain_array_and_defaults_to_f4_1024():
    (event,) = sources.pulses(n=1, example=np.zeros(300, "f8"), seed=3, mean_pulses=3)
    assert event.shape == (300,) and event.dtype == np.float64
    assert event.max() > 0.05
    (default,) = sources.pulses(n=1)
    assert default.shape == (1024,) and default.dtype == np.float32


def test_pulses_have_decaying_tails_above_the_noise():
    events = list(sources.pulses(n=50, example=np.zeros(1000, "f4"), seed=4, noise=0.01))
    peaks = np.array([e.max() for e in events])
    assert (peaks > 0.1).sum() > 25, "most waveforms carry a pulse well above 0.01 noise"
    quiet = list(sources.pulses(n=20, example=np.zeros(1000, "f4"), seed=4, mean_pulses=0))
    assert abs(np.std(np.concatenate(quiet)) - 0.01) < 0.002
    assert max(abs(np.mean(e[:100])) for e in events) < 0.01, "the first 10% is baseline"


def test_pulses_gives_a_scalar_field_of_length_one_the_pulse_height():
    example = np.zeros(1, [("energy", "f8")])
    energies = np.concatenate(list(sources.pulses(n=300, example=example, seed=5, noise=0.001)))
    with_pulse = energies["energy"] > 0.01
    assert 0.6 < with_pulse.mean() < 0.9, "Poisson(1.5) pulses: about 78% of events have one"
    assert energies["energy"][with_pulse].mean() > 0.4


def test_pulses_is_reproducible_with_a_seed():
    first = list(sources.pulses(n=3, example=np.zeros(64, SAMPLE), seed=9))
    again = list(sources.pulses(n=3, example=np.zeros(64, SAMPLE), seed=9))
    other = list(sources.pulses(n=3, example=np.zeros(64, SAMPLE), seed=10))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])


def test_pulses_keeps_its_rate_without_drift():
    start = time.perf_counter()
    count = sum(1 for _ in sources.pulses(n=101, rate=500, example=np.zeros(64, "f4"), seed=0))
    elapsed = time.perf_counter() - start
    assert count == 101
    assert 0.19 <= elapsed < 0.4, f"100 intervals at 500/s took {elapsed:.3f} s"


@pytest.mark.parametrize(
    "arguments", [{"n": -1}, {"n": 3, "rate": -1}, {"n": 3, "tau": 0}, {"n": 3, "noise": -0.1}]
)
def test_pulses_rejects_bad_arguments(arguments):
    with pytest.raises(ValueError, match="pulses"):
        next(sources.pulses(**arguments))


def test_pulses_with_n_zero_yields_nothing():
    assert list(sources.pulses(n=0, example=np.zeros(4, "f4"))) == []


# --- filters.select ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("height", "bounds", "kept"),
    [
        (0.5, {"min": 0.3}, True),
        (0.3, {"min": 0.3}, True),
        (0.29, {"min": 0.3}, False),
        (0.7, {"max": 0.7}, True),
        (0.71, {"max": 0.7}, False),
        (0.5, {"min": 0.3, "max": 0.6}, True),
        (0.65, {"min": 0.3, "max": 0.6}, False),
        (float("nan"), {"min": 0.3}, False),
    ],
)
def test_select_keeps_values_in_the_closed_range(height, bounds, kept):
    result = filters.select(event_of(PULSE, height=height), field="height", **bounds)
    assert result is kept


def test_select_on_several_elements_needs_every_one_in_range():
    inside = event_of(PULSE, length=3, height=[0.4, 0.5, 0.6])
    one_out = event_of(PULSE, length=3, height=[0.4, 0.1, 0.6])
    assert filters.select(inside, field="height", min=0.3) is True
    assert filters.select(one_out, field="height", min=0.3) is False
    shape = np.full(16, 0.5)
    shape[7] = 2.0
    assert filters.select(event_of(PULSE, shape=shape), field="shape", max=1.0) is False


def test_select_works_on_integer_fields():
    dtype = np.dtype([("channel", "i2")])
    assert filters.select(event_of(dtype, channel=3), field="channel", min=2, max=3) is True
    assert filters.select(event_of(dtype, channel=4), field="channel", min=2, max=3) is False


def test_select_errors_name_the_problem():
    with pytest.raises(TypeError, match="'flag' is bool, not numeric"):
        filters.select(event_of(np.dtype([("flag", "b1")])), field="flag", min=0)
    with pytest.raises(KeyError, match="no field 'energy'.*height"):
        filters.select(event_of(PULSE), field="energy", min=0)
    with pytest.raises(ValueError, match="needs min=, max= or both"):
        filters.select(event_of(PULSE), field="height")
    with pytest.raises(ValueError, match="more than max"):
        filters.select(event_of(PULSE), field="height", min=2, max=1)


def test_select_declares_its_field_argument():
    declared = signature_of(filters.select)
    assert declared.kind == "filter" and declared.field_args == ("field",)
    assert call_shape(filters.select, "filter").required == ("field",)


# --- sinks.npy and sinks.null ---------------------------------------------------------------------


def test_npy_round_trip_of_length_one_records_with_metadata(tmp_path):
    path = tmp_path / "deep" / "folder" / "kept.npy"
    sink = sinks.npy(path=str(path), metadata=True)
    for index in range(7):
        meta = np.zeros((), META_DTYPE)
        meta["counter"] = index
        meta["timestamp"] = 1000.0 + index
        sink.process(event_of(PULSE, height=index / 10, shape=np.arange(16) + index), meta)
    assert len(np.load(path)) <= 7, "before finish() the file holds the checkpointed rows"
    sink.finish()
    loaded = np.load(path)
    assert loaded.dtype == PULSE and loaded.shape == (7,)
    assert np.allclose(loaded["height"], np.arange(7) / 10)
    assert np.array_equal(loaded["shape"][3], np.arange(16) + 3)
    meta = np.load(tmp_path / "deep" / "folder" / "kept_meta.npy")
    assert meta.dtype == META_DTYPE and list(meta["counter"]) == list(range(7))


def test_npy_file_is_valid_while_it_is_written(tmp_path):
    path = tmp_path / "live.npy"
    sink = sinks.npy(path=str(path))
    sink.data_stream.checkpoint_s = 0.0
    for index in range(3):
        sink.process(event_of(PULSE, height=index))
        assert list(np.load(path)["height"]) == list(range(index + 1))
    sink.finish()
    assert len(np.load(path)) == 3


def test_npy_keeps_event_boundaries_when_length_is_more_than_one(tmp_path):
    path = tmp_path / "wave.npy"
    sink = sinks.npy(path=str(path))
    waves = [np.arange(100, dtype="f4") * k for k in range(1, 4)]
    for wave in waves:
        sink.process(wave)
    sink.finish()
    loaded = np.load(path)
    assert loaded.shape == (3, 100) and loaded.dtype == np.float32
    assert np.array_equal(loaded, np.stack(waves))


def test_npy_of_no_events_is_an_empty_array(tmp_path):
    path = tmp_path / "none.npy"
    sinks.npy(path=str(path)).finish()
    assert np.load(path).shape == (0,)


def test_npy_header_has_room_for_any_final_shape():
    room = len(sinks._header(PULSE, sinks._LONGEST_SHAPE))
    written = sinks._header(PULSE, (10**15, 4096), room)
    assert len(written) == room and room % 64 == 0


def test_npy_refuses_a_second_writer_and_a_bad_suffix(tmp_path):
    path = tmp_path / "one.npy"
    first = sinks.npy(path=str(path))
    with pytest.raises(RuntimeError, match="processes=1"):
        sinks.npy(path=str(path))
    first.process(np.zeros(4, "f4"))
    first.finish()
    assert np.load(path).shape == (1, 4), "the refused writer must not truncate the file"
    with pytest.raises(ValueError, match=r"must end in \.npy"):
        sinks.npy(path=str(tmp_path / "x.csv"))


def test_npy_rejects_an_event_unlike_the_first(tmp_path):
    sink = sinks.npy(path=str(tmp_path / "w.npy"))
    sink.process(np.zeros(4, "f4"))
    with pytest.raises(ValueError, match="does not match"):
        sink.process(np.zeros(5, "f4"))


def test_null_consumes_and_returns_nothing():
    assert sinks.null(event_of(PULSE)) is None
    assert signature_of(sinks.null).kind == "exporter"


# --- monitors.histogram and monitors.rate ---------------------------------------------------------


def test_histogram_with_a_range_counts_like_numpy(tmp_path, capsys):
    values = np.random.default_rng(0).normal(0.5, 0.2, 3000)
    path = tmp_path / "h.json"
    hist = monitors.histogram(field="height", bins=20, range=[0, 1], path=str(path))
    for value in values:
        hist.process(event_of(PULSE, height=value))
    hist.finish()
    saved = json.loads(path.read_text())
    expected, edges = np.histogram(values[(values >= 0) & (values <= 1)], bins=20, range=(0, 1))
    assert saved["counts"] == expected.tolist()
    assert np.allclose(saved["edges"], edges)
    assert saved["underflow"] == int((values < 0).sum())
    assert saved["overflow"] == int((values > 1).sum())
    assert saved["entries"] == 3000
    assert saved["mean"] == pytest.approx(values.mean()) and saved["std"] == pytest.approx(
        values.std()
    )
    summary = capsys.readouterr().err
    assert "histogram of height: 3000 entries" in summary and "█" in summary


def test_histogram_adaptive_range_covers_every_value(tmp_path):
    path = tmp_path / "h.npz"
    hist = monitors.histogram(field="height", bins=10, path=str(path))
    for value in np.random.default_rng(1).permutation(np.linspace(2.0, 4.0, 1500)):
        hist.process(event_of(PULSE, height=value))
    hist.finish()
    saved = np.load(path)
    assert saved["counts"].sum() == 1500 and saved["entries"] == 1500
    assert saved["edges"][0] < 2.0 and saved["edges"][-1] > 4.0
    assert saved["underflow"] == saved["overflow"] == 0


def test_histogram_adaptive_range_counts_later_outliers_apart():
    hist = monitors.histogram(field="height", bins=10)
    for value in np.random.default_rng(2).uniform(0, 1, 1000):
        hist.process(event_of(PULSE, height=value))
    hist.process(event_of(PULSE, height=5.0))
    hist.process(event_of(PULSE, height=-5.0))
    result = hist.result()
    assert (result["underflow"], result["overflow"]) == (1, 1)
    assert sum(result["counts"]) == 1000 and result["entries"] == 1002


def test_histogram_of_a_few_events_fixes_its_range_at_the_end(tmp_path, capsys):
    hist = monitors.histogram(field="height", bins=5, path=str(tmp_path / "few.json"))
    for value in (1.0, 2.0, 3.0, float("nan")):
        hist.process(event_of(PULSE, height=value))
    hist.finish()
    saved = json.loads((tmp_path / "few.json").read_text())
    assert sum(saved["counts"]) == 3 and saved["nan"] == 1
    assert "(nan 1)" in capsys.readouterr().err


def test_histogram_of_a_plain_array_counts_every_sample():
    hist = monitors.histogram(bins=4, range=[0, 4])
    hist.process(np.array([0.5, 1.5, 1.6, 3.5], "f4"))
    assert hist.result()["counts"] == [1, 2, 0, 1]


def test_histogram_of_no_events_reports_zero_entries(tmp_path, capsys):
    monitors.histogram(field="height", path=str(tmp_path / "e.json")).finish()
    assert json.loads((tmp_path / "e.json").read_text())["mean"] is None
    assert "0 entries" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"bins": 0}, "bins"),
        ({"range": [1, 0]}, "lo < hi"),
        ({"range": [1]}, r"\[lo, hi\]"),
        ({"path": "h.png"}, r"\.npz or \.json"),
    ],
)
def test_histogram_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        monitors.histogram(field="height", **arguments)


def test_histogram_needs_a_field_of_a_struct():
    with pytest.raises(ValueError, match="say which with field="):
        monitors.histogram().process(event_of(PULSE))
    with pytest.raises(KeyError, match="no field 'energy'"):
        monitors.histogram(field="energy").process(event_of(PULSE))


def test_rate_prints_per_buffer_rates(capsys):
    meter = monitors.rate(every=0.05, label="meter")
    start = time.monotonic()
    while time.monotonic() - start < 0.2:
        meter.process(None, source="raw")
        meter.process(None, source="kept")
        time.sleep(0.002)
    meter.finish()
    err = capsys.readouterr().err.splitlines()
    assert len(err) >= 3 and all(line.startswith("meter: ") for line in err)
    assert "raw" in err[0] and "kept" in err[0] and "/s" in err[0]
    assert "events" in err[-1] and " s" in err[-1]


def test_rate_rejects_a_zero_interval():
    with pytest.raises(ValueError, match="every"):
        monitors.rate(every=0)


# --- how flowc calls them -----------------------------------------------------------------------


def test_workers_ask_flowc_for_what_they_need():
    assert call_shape(sources.pulses, "importer").wants_example
    assert call_shape(sinks.npy, "exporter").wants_meta
    assert call_shape(monitors.rate, "observer").wants_source
    assert call_shape(monitors.histogram, "observer").is_class


# --- catalog -------------------------------------------------------------------------------------


def test_catalog_lists_every_standard_worker_with_its_kind():
    kinds = {e.name: e.kind for e in catalog.entries()}
    assert kinds == {
        "filters.prescale": "filter",
        "filters.sample": "filter",
        "filters.select": "filter",
        "mimo.clocked": "importer",
        "mimo.export": "exporter",
        "mimo.histogram": "exporter",
        "mimo.pha": "processor",
        "mimo.replay": "importer",
        "monitors.histogram": "observer",
        "monitors.oscilloscope": "observer",
        "monitors.rate": "observer",
        "processors.event_builder": "processor",
        "processors.find_pulses": "processor",
        "processors.project": "processor",
        "sinks.csv": "exporter",
        "sinks.hdf5": "exporter",
        "sinks.histogram": "exporter",
        "sinks.npy": "exporter",
        "sinks.null": "exporter",
        "sources.csv": "importer",
        "sources.hdf5": "importer",
        "sources.npy": "importer",
        "sources.pulses": "importer",
        "sources.replay": "importer",
        "sources.swmr_follow": "importer",
        "sources.waveforms": "importer",
    }
    assert [e.name for e in catalog.entries()] == sorted(kinds)


def test_catalog_entry_describes_arguments_signature_and_doc():
    select = catalog.entry("filters.select")
    assert select.parameters == (
        ("field", None, True),
        ("min", "not given", False),
        ("max", "not given", False),
    )
    assert select.signature.field_args == ("field",)
    assert select.doc.startswith("Keep the events whose `field`")
    pulses = catalog.entry("stdlib.sources.pulses")
    names = [p[0] for p in pulses.parameters]
    assert names[:2] == ["n", "rate"] and "example" not in names
    assert ("rate", "0.0", False) in pulses.parameters
    assert catalog.entry("sinks.npy").parameters[0] == ("path", None, True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        select.kind = "processor"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("counter", '"counter"'),
        ('say "hi"\n', '"say \\"hi\\"\\n"'),
        (True, "true"),
        ((), "[]"),
        ([1, "a", False], '[1, "a", false]'),
        (0.001, "0.001"),
        (None, "not given"),
        (
            {"height": [0, 1, 50], "1st ch": {"on": True}},
            '{height: [0, 1, 50], "1st ch": {on: true}}',
        ),
    ],
)
def test_catalog_shows_defaults_as_flow_text(value, text):
    assert catalog.flow_literal(value) == text


def test_catalog_entry_of_an_unknown_name_is_a_key_error():
    with pytest.raises(KeyError):
        catalog.entry("sinks.parquet")
    with pytest.raises(KeyError):
        catalog.entry("catalog.entries")
    with pytest.raises(KeyError):
        catalog.entry("_records.fitter")
