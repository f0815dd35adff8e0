"""Processors, filters and monitors on their own: pulse finding, explicit type changes, event
building that pairs exactly the matching events, prescaling, sampling, pictures."""

from __future__ import annotations

import time

import numpy as np
import pytest
from flowc.stdlib import filters, monitors, processors, sources

from flowc.callables import signature_of
from flowc.types import META_DTYPE

PULSE = processors.PULSE


def meta_of(counter: int, timestamp: float = 0.0):
    record = np.zeros(1, META_DTYPE)
    record["counter"] = counter
    record["timestamp"] = timestamp
    return record[0]


def is_png(path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- waveforms -----------------------------------------------------------------------------------


def test_waveforms_put_one_trigger_on_every_channel_scaled_by_its_gain():
    example = np.zeros(1000, [("a", "f4"), ("b", "f4"), ("adc", "u2")])
    events = list(
        sources.waveforms(n=100, example=example, seed=1, gains=[1, 0.5], background=0, jitter=1)
    )
    assert len(events) == 100 and all(e.dtype == example.dtype for e in events)
    big = [e for e in events if e["a"].max() > 0.3]
    for event in big:
        starts = [
            int(np.argmax(wave > (wave.max() + np.median(wave)) / 2))
            for wave in (event["a"], event["b"], event["adc"].astype("f8"))
        ]
        assert max(starts) - min(starts) <= 6, "the channels see the trigger together"
        assert 245 <= starts[0] <= 260, "the pulse starts at a quarter of the waveform"
    ratio = np.median([e["b"].max() / e["a"].max() for e in big])
    assert ratio == pytest.approx(0.5, abs=0.05)
    baseline = np.median(np.concatenate([e["adc"][:200] for e in events]))
    assert baseline == pytest.approx(0.1 * 65535, rel=0.01)
    adc_height = np.median(
        [(e["adc"].max() - baseline) / (0.4 * 65535) / e["a"].max() for e in big]
    )
    assert adc_height == pytest.approx(1.0, abs=0.05), "the gains repeat: channel 2 has gain 1"


def test_waveforms_are_reproducible_and_check_their_arguments():
    first = list(sources.waveforms(n=2, example=np.zeros(64, "f4"), seed=3))
    again = list(sources.waveforms(n=2, example=np.zeros(64, "f4"), seed=3))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    for arguments in ({"trigger": 1.5}, {"gains": [-1]}, {"rate": -1}, {"n": -1}):
        with pytest.raises(ValueError, match="waveforms"):
            next(sources.waveforms(**{"n": 1, **arguments}))


# --- find_pulses -----------------------------------------------------------------------------------


def decaying(length: int, start: int, height: float, tau: float = 20.0) -> np.ndarray:
    wave = np.zeros(length)
    wave[start:] = height * np.exp(-np.arange(length - start) / tau)
    return wave


def test_find_pulses_measures_time_height_integral_and_baseline():
    wave = 0.25 + decaying(400, 100, 0.8) + decaying(400, 250, 0.5)
    found = np.concatenate(
        list(processors.find_pulses(wave.astype("f4"), threshold=0.2, sample_time=0.5))
    )
    assert found.dtype == PULSE
    assert list(found["channel"]) == [0, 0]
    assert found["height"] == pytest.approx([0.8, 0.5 + 0.8 * np.exp(-150 / 20)], abs=1e-6)
    assert found["time"][0] == pytest.approx(99.25 * 0.5)
    assert found["baseline"] == pytest.approx([0.25, 0.25])
    gate = decaying(400, 100, 0.8)[96:160].sum() * 0.5
    assert found["integral"][0] == pytest.approx(gate, rel=1e-5)


def test_find_pulses_numbers_channels_by_field_and_picks_some():
    event = np.zeros(300, [("ch0", "f4"), ("flag", "b1"), ("ch1", "f4"), ("ch2", "i2")])
    event["ch1"] = decaying(300, 150, 0.6)
    event["ch2"] = decaying(300, 50, 300)
    every = np.concatenate(list(processors.find_pulses(event, threshold=0.2)))
    assert sorted(every["channel"]) == [1, 2]
    picked = list(processors.find_pulses(event, threshold=0.2, channels=["ch2"]))
    assert [int(p["channel"][0]) for p in picked] == [2]
    pair = np.zeros(300, [("a", "f4"), ("ab", "f4")])
    pair["a"] = pair["ab"] = decaying(300, 100, 0.5)
    one = list(processors.find_pulses(pair, threshold=0.2, channels="ab"))
    assert [int(p["channel"][0]) for p in one] == [1], "a single name, not a set of letters"


def test_find_pulses_reads_a_sub_array_waveform_of_a_length_one_event():
    event = np.zeros(1, [("wave", "f4", (200,))])
    event["wave"][0] = decaying(200, 80, 1.0)
    (pulse,) = processors.find_pulses(event, threshold=0.3)
    assert pulse["time"][0] == pytest.approx(79, abs=1) and pulse["height"][0] == pytest.approx(1)


def test_find_pulses_inverts_negative_pulses_and_checks_its_arguments():
    wave = -decaying(300, 120, 0.7)
    assert list(processors.find_pulses(wave, threshold=0.2)) == []
    (pulse,) = processors.find_pulses(wave, threshold=0.2, polarity=-1)
    assert pulse["height"][0] == pytest.approx(0.7)
    with pytest.raises(ValueError, match="threshold"):
        next(processors.find_pulses(wave, threshold=0))
    with pytest.raises(ValueError, match="polarity"):
        next(processors.find_pulses(wave, threshold=0.1, polarity=2))


def test_find_pulses_finds_the_simulated_pulses():
    example = np.zeros(2048, "f4")
    events = list(sources.pulses(n=30, example=example, seed=4, mean_pulses=1, max_pulses=1))
    found = [list(processors.find_pulses(e, threshold=0.1)) for e in events]
    with_pulse = [e.max() > 0.15 for e in events]
    assert sum(bool(f) for f in found) >= sum(with_pulse) - 1


def test_find_pulses_declares_the_type_it_produces():
    declared = signature_of(processors.find_pulses)
    assert declared.produces == "{channel: i2, time: f8, height: f8, integral: f8, baseline: f8}"
    assert declared.field_args == ("channels",) and declared.kind == "processor"


# --- project ---------------------------------------------------------------------------------------


def test_project_keeps_renames_and_casts_fields_in_order():
    event = np.zeros(3, PULSE)
    event["height"] = [1.5, 2.5, 3.5]
    event["time"] = [10.9, 11.2, 12.0]
    result = processors.project(
        fields=["time", "height"], names=["t", "h"], types=["i4", "f4"]
    ).process(event)
    assert result.dtype == np.dtype([("t", "i4"), ("h", "f4")]) and result.shape == (3,)
    assert list(result["t"]) == [10, 11, 12] and list(result["h"]) == [1.5, 2.5, 3.5]


def test_project_keeps_sub_array_shapes_without_types():
    event = np.zeros(1, [("a", "f8"), ("shape", "f4", (16,))])
    result = processors.project(fields=["shape"]).process(event)
    assert result.dtype == np.dtype([("shape", "f4", (16,))])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"fields": []}, "one field or more"),
        ({"fields": ["a", "a"]}, "twice"),
        ({"fields": ["a", "b"], "names": ["x"]}, "1 entries for 2 fields"),
        ({"fields": ["a"], "types": ["float"]}, "not a dtype code"),
        ({"fields": ["a", "b"], "names": ["x", "x"]}, "one name"),
    ],
)
def test_project_rejects_bad_arguments(arguments, message):
    with pytest.raises(ValueError, match=message):
        processors.project(**arguments)


def test_project_names_a_missing_field():
    with pytest.raises(KeyError, match="no field 'energy'"):
        processors.project(fields=["energy"]).process(np.zeros(1, PULSE))


# --- event_builder ---------------------------------------------------------------------------------

HIT = np.dtype([("energy", "f8")])


def hit(energy: float) -> np.ndarray:
    return np.full(1, energy, HIT)


def test_event_builder_pairs_exactly_the_events_with_the_same_counter(capsys):
    builder = processors.event_builder(inputs=["left", "right"])
    left = [c for c in range(20) if c not in (3, 11)]
    right = [c for c in range(20) if c not in (5, 7, 11)]
    arrivals = [("left", c) for c in left] + [("right", c) for c in right]
    order = np.random.default_rng(1).permutation(len(arrivals))
    built = {}
    for index in order:
        source, counter = arrivals[index]
        energy = counter + (0.25 if source == "right" else 0.0)
        result = builder.process(hit(energy), meta_of(counter), source)
        if result is not None:
            assert counter not in built
            built[counter] = result
    assert sorted(built) == sorted(set(left) & set(right))
    for counter, merged in built.items():
        assert merged.dtype.names == ("left_energy", "right_energy")
        assert (merged["left_energy"][0], merged["right_energy"][0]) == (counter, counter + 0.25)
    builder.finish()
    assert "built 16 events by counter; unmatched: left 2, right 1" in capsys.readouterr().err


def test_event_builder_by_timestamp_pairs_the_nearest_within_the_window():
    builder = processors.event_builder(inputs=["a", "b"], by="timestamp", window=0.01, hold=1.0)
    assert builder.process(hit(1), meta_of(0, 100.000), "a") is None
    assert builder.process(hit(2), meta_of(0, 100.500), "a") is None
    merged = builder.process(hit(9), meta_of(0, 100.504), "b")
    assert (merged["a_energy"][0], merged["b_energy"][0]) == (2, 9)
    assert builder.process(hit(7), meta_of(0, 100.030), "b") is None, "0.03 s is outside"
    assert builder.process(hit(8), meta_of(0, 102.0), "b") is None
    assert builder.unmatched == {"a": 1, "b": 1}, "events older than `hold` are given up"


def test_event_builder_takes_the_key_from_a_field_when_asked():
    trigger = np.dtype([("trigger", "i8"), ("energy", "f8")])

    def tagged(number: int, energy: float) -> np.ndarray:
        event = np.zeros(1, trigger)
        event["trigger"], event["energy"] = number, energy
        return event

    builder = processors.event_builder(inputs=["a", "b"], field="trigger")
    assert builder.process(tagged(7, 1.0), meta_of(0), "a") is None
    assert builder.process(tagged(8, 2.0), meta_of(7), "b") is None, "the metadata does not count"
    merged = builder.process(tagged(7, 3.0), meta_of(1), "b")
    assert merged.dtype.names == ("a_trigger", "a_energy", "b_trigger", "b_energy")
    assert (merged["a_energy"][0], merged["b_energy"][0]) == (1.0, 3.0)
    with pytest.raises(KeyError, match="no field 'trigger'"):
        builder.process(hit(1), meta_of(0), "a")


def test_event_builder_merges_three_inputs_and_waveforms():
    builder = processors.event_builder(inputs=["x", "y", "z"])
    assert builder.process(hit(1), meta_of(4), "x") is None
    assert builder.process(np.arange(3, dtype="f4"), meta_of(4), "z") is None
    merged = builder.process(hit(2), meta_of(4), "y")
    assert merged.dtype.names == ("x_energy", "y_energy", "z")
    assert merged["z"].shape == (1, 3) and list(merged["z"][0]) == [0, 1, 2]


def test_event_builder_holds_at_most_max_pending_and_names_unknown_inputs():
    builder = processors.event_builder(inputs=["a", "b"], max_pending=3)
    for counter in range(5):
        builder.process(hit(counter), meta_of(counter), "a")
    assert list(builder.pending["a"]) == [2, 3, 4] and builder.unmatched["a"] == 2
    with pytest.raises(ValueError, match="`c`, which is not among"):
        builder.process(hit(0), meta_of(0), "c")
    with pytest.raises(ValueError, match="2 or more"):
        processors.event_builder(inputs=["a"])
    with pytest.raises(ValueError, match="by="):
        processors.event_builder(inputs=["a", "b"], by="time")


# --- prescale and sample ---------------------------------------------------------------------------


def test_prescale_keeps_every_nth_event():
    prescale = filters.prescale(n=3)
    assert [prescale.process(None) for _ in range(7)] == [True, False, False] * 2 + [True]
    assert all(filters.prescale(n=1).process(None) for _ in range(4))
    with pytest.raises(ValueError, match="n=0"):
        filters.prescale(n=0)


def test_sample_keeps_about_the_fraction_reproducibly():
    kept = [filters.sample(fraction=0.25, seed=3).process(None) for _ in range(1)]
    chooser = filters.sample(fraction=0.25, seed=3)
    choices = [chooser.process(None) for _ in range(4000)]
    again = filters.sample(fraction=0.25, seed=3)
    assert choices == [again.process(None) for _ in range(4000)]
    assert 0.22 < np.mean(choices) < 0.28 and kept[0] == choices[0]
    assert not any(filters.sample(fraction=0).process(None) for _ in range(100))
    with pytest.raises(ValueError, match="between 0 and 1"):
        filters.sample(fraction=1.5)


# --- monitors ------------------------------------------------------------------------------------


def test_histogram_draws_its_png_periodically_and_at_the_end(tmp_path, capsys):
    png = tmp_path / "pictures" / "h.png"
    hist = monitors.histogram(field="height", bins=10, range=[0, 1], png=str(png), every=0.01)
    event = np.zeros(1, PULSE)
    event["height"] = 0.5
    hist.process(event)
    assert not png.exists(), "not drawn before `every` has passed"
    time.sleep(0.02)
    hist.process(event)
    assert is_png(png), "drawn during the run"
    png.unlink()
    hist.finish()
    assert is_png(png) and not list(png.parent.glob(".*partial"))
    with pytest.raises(ValueError, match=r"must end in \.png"):
        monitors.histogram(field="height", png="h.jpg")


def test_oscilloscope_draws_the_latest_waveforms_and_saves_them(tmp_path):
    scope = monitors.oscilloscope(
        png=str(tmp_path / "scope.png"), path=str(tmp_path / "last.npz"), every=60, traces=2
    )
    example = np.zeros(256, [("ch0", "f4"), ("ch1", "f4")])
    events = list(sources.pulses(n=3, example=example, seed=1))
    for counter, event in enumerate(events):
        scope.process(event, meta_of(counter), "raw")
    assert not (tmp_path / "scope.png").exists(), "not yet a minute"
    scope.finish()
    assert is_png(tmp_path / "scope.png")
    last = np.load(tmp_path / "last.npz")
    assert sorted(last.files) == ["ch0", "ch1"]
    assert np.allclose(last["ch1"], events[-1]["ch1"])
    assert len(scope.recent) == 2


def test_oscilloscope_of_no_events_still_draws_and_refuses_bad_arguments(tmp_path):
    monitors.oscilloscope(png=str(tmp_path / "empty.png")).finish()
    assert is_png(tmp_path / "empty.png")
    with pytest.raises(ValueError, match="traces"):
        monitors.oscilloscope(png=str(tmp_path / "x.png"), traces=0)
    with pytest.raises(ValueError, match="no numeric channel"):
        monitors.oscilloscope(png=str(tmp_path / "x.png")).process(np.zeros(4, [("f", "b1")]))
