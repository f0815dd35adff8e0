"""What the standard monitors show is honest: they say how many events they saw of how many,
the rate monitor reads its buffer's counters, the text histogram's rows are equal groups of
bins, and each hands a live document to the page of `flowc run --serve`."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from flowc.stdlib import monitors

import flowc
from flowc.types import META_DTYPE

PACED = """
pipeline paced
const N = 10
buffer raw : f4[64] slots=256
importer src  = stdlib.sources.pulses(n=N, rate=1000, seed=1) -> raw
exporter keep = stdlib.sinks.null() raw
observer meter = stdlib.monitors.rate(every=0.5, path=RATE) observes raw
observer hist  = stdlib.monitors.histogram(bins=12, range=[-1, 3], path=HIST) observes raw
"""


def test_monitors_at_1khz_see_every_event_and_the_rate_of_the_buffer(tmp_path, capfd):
    rate_path, hist_path = tmp_path / "rate.json", tmp_path / "hist.json"
    source = PACED.replace("RATE", json.dumps(str(rate_path))).replace(
        "HIST", json.dumps(str(hist_path))
    )
    result = flowc.compile_source(source, overrides={"N": 2000}).run(timeout=60)
    assert result.ok
    written = result.stats["buffers"]["raw"]["written"]
    assert written == 2000
    for name in ("meter", "hist"):
        look = result.stats["workers"][name]
        assert (look["seen"], look["skipped"]) == (written, 0), name
    meter = json.loads(rate_path.read_text())["buffers"]["raw"]
    assert (meter["written"], meter["seen"]) == (2000, 2000)
    assert meter["rate"] == pytest.approx(1000, rel=0.02)
    steady = [r for _, r in meter["series"]]
    assert len(steady) >= 2 and all(r == pytest.approx(1000, rel=0.05) for r in steady)
    hist = json.loads(hist_path.read_text())
    assert (hist["seen"], hist["of"]) == (2000, 2000)
    assert hist["entries"] == 2000 * 64
    err = capfd.readouterr().err
    assert "saw 2,000 of 2,000 events" in err
    assert re.search(r"rate: raw 2,000 events, \d+\.\d/s \(saw 2,000 of 2,000 events\)", err)


def test_the_rate_monitor_reports_the_buffer_rate_even_when_it_sees_few(tmp_path):
    """A flood it cannot follow: it sees some events, yet the rate is the buffer's."""
    rate_path = tmp_path / "rate.json"
    source = f"""
pipeline flood
buffer raw : f4[16] slots=8
importer src  = stdlib.sources.pulses(n=50000, seed=1) -> raw
exporter keep = stdlib.sinks.null() raw
observer meter = stdlib.monitors.rate(every=0.2, path={json.dumps(str(rate_path))}) observes raw
"""
    result = flowc.compile_source(source).run(timeout=60)
    assert result.ok
    meter = json.loads(rate_path.read_text())["buffers"]["raw"]
    assert meter["written"] == 50000
    assert meter["seen"] == result.stats["workers"]["meter"]["seen"]


def histogram_rows(summary: str) -> list[tuple[float, float, int, int]]:
    """(low, high, bar length in eighths, count) of each row of a text histogram."""
    rows = []
    for line in summary.splitlines():
        found = re.match(r"\s+\[\s*(\S+),\s*(\S+)\) (.{40}) (\d+)$", line)
        if found:
            bar = found[3]
            eighths = 8 * bar.count("█") + sum(
                monitors._BAR_BLOCKS.index(c) for c in bar if c not in " █"
            )
            rows.append((float(found[1]), float(found[2]), eighths, int(found[4])))
    return rows


def fill(hist, values) -> None:
    for value in values:
        hist.process(np.array([value], "f8"))


def test_the_text_histogram_prints_every_bin_up_to_twenty():
    hist = monitors.histogram(bins=12, range=[0, 3])
    fill(hist, np.repeat(np.linspace(0.125, 2.875, 12), np.arange(1, 13)))
    rows = histogram_rows(hist.summary(hist.result()))
    assert len(rows) == 12
    widths = {round(high - low, 9) for low, high, _, _ in rows}
    assert widths == {0.25}
    assert [count for *_, count in rows] == list(range(1, 13))
    assert rows[-1][2] == 8 * 40 and rows[0][2] == round(8 * 40 / 12)


def test_the_text_histogram_merges_bins_evenly_with_honest_heights():
    hist = monitors.histogram(bins=50, range=[0, 50])
    fill(hist, np.arange(50) + 0.5)  # one entry per bin: a flat histogram
    summary = hist.summary(hist.result())
    rows = histogram_rows(summary)
    assert len(rows) == 10 and "(5 bins per row)" in summary
    assert {round(high - low, 9) for low, high, _, _ in rows} == {5.0}
    assert {eighths for _, _, eighths, _ in rows} == {320}
    prime = monitors.histogram(bins=23, range=[0, 23])
    fill(prime, np.arange(23) + 0.5)
    rows = histogram_rows(prime.summary(prime.result()))
    assert [count for *_, count in rows] == [2] * 11 + [1]
    assert {eighths for _, _, eighths, _ in rows} == {320}, "the short row is as tall: flat"


def test_monitors_publish_live_documents(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWC_LIVE_DIR", str(tmp_path))
    monkeypatch.setenv("FLOWC_WORKER", "hist")
    hist = monitors.histogram(bins=4, range=[0, 4])
    fill(hist, [0.5, 1.5, 1.6])
    hist.finish()
    document = json.loads((tmp_path / "hist.json").read_text())
    assert document["kind"] == "histogram"
    assert (document["counts"], document["seen"], document["of"]) == ([1, 2, 0, 0], 3, 3)
    assert len(document["edges"]) == 5
    monkeypatch.setenv("FLOWC_WORKER", "meter")
    meter = monitors.rate()
    for _ in range(3):
        meter.process(None, source="raw")
    meter.finish()
    document = json.loads((tmp_path / "meter.json").read_text())
    assert (document["kind"], document["seen"], document["of"]) == ("rate", 3, 3)
    assert set(document["series"]) == {"raw"}
    monkeypatch.setenv("FLOWC_WORKER", "scope")
    scope = monitors.oscilloscope(png=str(tmp_path / "s.png"), every=60)
    meta = np.zeros((), META_DTYPE)
    scope.process(np.arange(3000, dtype="f4"), meta, "raw")
    document = json.loads((tmp_path / "scope.json").read_text())
    assert document["kind"] == "scope" and document["seen"] == 1
    assert len(document["traces"]) == 1 and len(document["traces"][0][0]) == 1000
    assert document["sample_time"] == 3.0
