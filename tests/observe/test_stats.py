"""The statistics document (`--stats`, RunResult.stats) holds exact counts on known pipelines,
consistent with the summary: written = consumed + dropped + left for every buffer and reader."""

from __future__ import annotations

import json

import observe_workers
import pytest
from observe_helpers import flowc_run

import flowc
from flowc.runtime.summary import format_summary

FUNCTIONS = {
    name: getattr(observe_workers, name)
    for name in ("count", "parity", "every_fourth", "take", "peek", "slow", "spin")
}

SPLIT = """
pipeline split
const N = 100
type XY = {x: f8, y: f8}
buffer raw  : XY slots=8
buffer even : XY slots=8
buffer odd  : XY slots=4
buffer kept : XY slots=8
importer  src   = count(n=N) -> raw
filter    sides = parity() raw -> even, odd
processor half  = every_fourth() even -> kept
exporter  keep  = take() kept
observer  look  = peek() observes raw
"""


def assert_accounted(stats: dict) -> None:
    for name, b in stats["buffers"].items():
        for reader, consumed in b["consumed"].items():
            assert b["written"] == consumed + b["dropped"] + b["left"][reader], (name, reader)


def test_exact_counts_of_a_filter_a_processor_and_an_unconsumed_buffer(tmp_path):
    plan = flowc.compile_source(SPLIT, functions=FUNCTIONS)
    path = tmp_path / "stats.json"
    result = plan.run(stats_path=path, timeout=60)
    assert result.ok and result.exit == 0
    stats = json.loads(path.read_text())
    assert stats == json.loads(json.dumps(result.stats))
    assert (stats["pipeline"], stats["stopped"], stats["exit"]) == ("split", "completed", 0)
    buffers, workers = stats["buffers"], stats["workers"]
    assert buffers["raw"] == {
        "written": 100,
        "dropped": 0,
        "consumed": {"sides": 100},
        "left": {"sides": 0},
    }
    assert buffers["even"] == {
        "written": 50,
        "dropped": 0,
        "consumed": {"half": 50},
        "left": {"half": 0},
    }
    # nobody consumes `odd`: its writer overwrites, and all but the last 4 events are dropped
    assert buffers["odd"] == {"written": 50, "dropped": 46, "consumed": {}, "left": {}}
    assert buffers["kept"]["written"] == 25 and buffers["kept"]["consumed"] == {"keep": 25}
    assert workers["src"]["events_out"] == 100 and workers["src"]["kind"] == "importer"
    sides = workers["sides"]
    assert (sides["events_in"], sides["accepted"], sides["discarded"]) == (100, 100, 0)
    assert sides["per_output"] == {"even": 50, "odd": 50}
    assert (workers["half"]["events_in"], workers["half"]["events_out"]) == (50, 25)
    assert workers["keep"]["events_in"] == 25
    assert workers["look"]["seen"] + workers["look"]["skipped"] == 100
    for w in workers.values():
        assert w["errors"] == 0
        for key in ("wall_s", "cpu_s", "blocked_in_s", "blocked_out_s"):
            assert w[key] >= 0.0
        assert w["blocked_in_s"] + w["blocked_out_s"] <= w["wall_s"] * 1.05 + 0.05
    assert workers["keep"]["calls"] == 25
    for w in workers.values():
        if w["calls"]:
            assert 0 < w["call_min_s"] <= w["call_s"] / w["calls"] <= w["call_max_s"]
    assert_accounted(stats)


def test_a_dropping_buffer_counts_its_drops(tmp_path):
    source = """
pipeline drops
type XY = {x: f8, y: f8}
buffer raw : XY slots=4 overflow=drop
importer src  = count(n=400) -> raw
exporter keep = take(delay=0.002) raw
"""
    plan = flowc.compile_source(source, functions=FUNCTIONS)
    stats = plan.run(timeout=60).stats
    raw = stats["buffers"]["raw"]
    assert raw["written"] == 400
    assert raw["dropped"] > 0
    assert raw["consumed"]["keep"] == stats["workers"]["keep"]["events_in"] == 400 - raw["dropped"]
    assert_accounted(stats)


def test_call_times_are_exact_in_count_and_catch_a_slow_worker(tmp_path):
    source = """
pipeline timed
type XY = {x: f8, y: f8}
buffer raw  : XY slots=8
buffer kept : XY slots=8
importer  src  = count(n=203) -> raw
processor wait = slow(delay=0.002) raw -> kept
exporter  keep = take() kept
"""
    workers = flowc.compile_source(source, functions=FUNCTIONS).run(timeout=60).stats["workers"]
    # fast workers time one call in eight, each standing for the calls before it: the count
    # is exact all the same
    assert [workers[w]["calls"] for w in ("src", "wait", "keep")] == [203, 203, 203]
    wait = workers["wait"]
    assert 0.002 <= wait["call_min_s"] and wait["call_max_s"] < 1.0
    assert 203 * 0.002 <= wait["call_s"] <= wait["wall_s"]
    assert workers["keep"]["call_s"] < wait["call_s"] / 10
    # it sleeps: its calls take wall time, hardly any CPU
    assert wait["cpu_call_s"] < wait["call_s"] / 4
    assert wait["cpu_call_min_s"] <= wait["cpu_call_median_s"] <= wait["cpu_call_max_s"]


def test_a_worker_that_computes_spends_its_wall_time_on_the_cpu():
    source = """
pipeline computing
type XY = {x: f8, y: f8}
buffer raw  : XY slots=8
buffer kept : XY slots=8
importer  src  = count(n=100) -> raw
processor busy = spin(seconds=0.001) raw -> kept
exporter  keep = take() kept
"""
    busy = flowc.compile_source(source, functions=FUNCTIONS).run(timeout=60).stats["workers"]
    busy = busy["busy"]
    assert busy["calls"] == 100
    assert 100 * 0.001 <= busy["cpu_call_s"] <= busy["call_s"] * 1.05
    assert busy["cpu_call_median_s"] == pytest.approx(0.001, rel=0.15)
    assert 0.001 <= busy["cpu_call_max_s"]


def test_with_call_times_off_counts_stay_exact_and_times_are_left_out(monkeypatch):
    monkeypatch.setenv("FLOWC_CALL_TIMES", "off")
    plan = flowc.compile_source(SPLIT, functions=FUNCTIONS)
    stats = plan.run(timeout=60).stats
    assert stats["buffers"]["raw"]["consumed"] == {"sides": 100}
    assert stats["workers"]["keep"]["events_in"] == 25
    for name, w in stats["workers"].items():
        assert (w["calls"], w["call_s"], w["call_max_s"]) == (0, 0.0, 0.0), name
    assert_accounted(stats)
    assert "keep" in format_summary(stats)


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_the_time_series_ends_at_the_final_counts(start_method):
    source = """
pipeline series
type XY = {x: f8, y: f8}
buffer raw : XY slots=8
importer src  = count(n=300) -> raw
exporter keep = take(delay=0.003) raw
"""
    plan = flowc.compile_source(source, functions=FUNCTIONS)
    result = plan.run(timeout=60, start_method=start_method)
    timeline = result.timeline
    times = timeline["t"]
    assert len(times) >= 3
    assert times == sorted(times) and times[0] >= 0
    assert timeline["workers"]["keep"]["events_in"][-1] == 300
    assert timeline["workers"]["src"]["events_out"][-1] == 300
    written = timeline["buffers"]["raw"]["written"]
    assert written == sorted(written) and written[-1] == 300
    assert all(0 <= f <= 8 for f in timeline["buffers"]["raw"]["fill"])
    # the slow exporter keeps the buffer full for most of the run
    assert max(timeline["buffers"]["raw"]["fill"]) >= 6
    assert len(timeline["workers"]["keep"]["busy_s"]) == len(times)


def test_the_stats_file_and_the_printed_summary_agree(flow_folder):
    (flow_folder / "split.flow").write_text(
        SPLIT.replace("count(", '"workers.py":count(')
        .replace("parity(", '"workers.py":parity(')
        .replace("every_fourth(", '"workers.py":every_fourth(')
        .replace("take(", '"workers.py":take(')
        .replace("peek(", '"workers.py":peek(')
    )
    completed = flowc_run(flow_folder, "split.flow", "--set", "N=60", "--stats", "stats.json")
    assert completed.exit == 0, completed.stderr
    stats = json.loads((flow_folder / "stats.json").read_text())
    summary = completed.stderr
    for name, b in stats["buffers"].items():
        readers = ", ".join(f"{w} {n}/{b['left'][w]}" for w, n in b["consumed"].items())
        row = f"{name} {b['written']} {b['dropped']} {readers or '(not consumed)'}"
        assert row in [" ".join(line.split()) for line in summary.splitlines()]
    for name, w in stats["workers"].items():
        assert any(
            line.split()[:5]
            == [name, w["kind"], str(w["events_in"]), str(w["events_out"]), str(w["errors"])]
            for line in summary.splitlines()
        ), name
    # a run this short may have no worker busy half its time: then neither names one
    bottleneck = stats["bottleneck"]
    if bottleneck is None:
        assert "bottleneck:" not in summary
    else:
        assert f"bottleneck: `{bottleneck['worker']}`" in summary
    assert stats["buffers"]["kept"]["written"] == 15


def test_a_failed_run_still_reports_the_call_times_of_every_worker():
    """A worker failing on its sixth event: the others finish by themselves and the failed one
    hands over the calls it made, so the summary's time table has every worker."""
    source = """
pipeline failing
type XY = {x: f8, y: f8}
buffer raw : XY slots=8
importer src  = count(n=50) -> raw
exporter keep = fail_at(at=5) raw
"""
    plan = flowc.compile_source(source, functions={**FUNCTIONS, "fail_at": fail_sink})
    with pytest.raises(flowc.RunError) as failed:
        plan.run(timeout=60)
    workers = failed.value.result.stats["workers"]
    summary = format_summary(failed.value.result.stats)
    assert workers["keep"]["calls"] == 5  # the sixth raised
    assert workers["src"]["calls"] >= 6
    assert "no worker's code was called" not in summary
    assert "time per event: in the worker's code" in summary
    for name in ("src", "keep"):  # a row in the workers' table and one in the times'
        assert sum(line.split()[:1] == [name] for line in summary.splitlines()) == 2, name


def fail_sink(data, at):
    if data["x"][0] == at:
        raise ValueError(f"bad event {at}")
