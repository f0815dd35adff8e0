"""Observers follow their buffers event by event (SPEC section 4, Observers): at 1 kHz one sees
every event, in order, never one twice; what it counts equals what was written."""

from __future__ import annotations

import json

import observe_workers
import pytest
from observe_helpers import flowc_run

import flowc

FUNCTIONS = {
    "count": observe_workers.count,
    "take": observe_workers.take,
    "slow": observe_workers.slow,
}

CONSUMED = """
pipeline watched
type XY = {x: f8, y: f8}
buffer raw : XY slots=256
importer src  = count(n=600, delay=0.001, after=STARTED) -> raw
exporter keep = take() raw
observer look = record(path=PATH) observes raw
"""

UNCONSUMED = """
pipeline watched
type XY = {x: f8, y: f8}
buffer raw : XY slots=256
importer src  = count(n=600, delay=0.001, after=STARTED) -> raw
observer look = record(path=PATH) observes raw
"""

# a buffer written by two processes and read by two: its slots go round through the free queue
SHARED = """
pipeline watched
type XY = {x: f8, y: f8}
buffer raw : XY slots=256
buffer mid : XY slots=256
importer  src  = count(n=1000, delay=0.001, after=STARTED) -> raw
processor pass = slow(delay=0.0) raw -> mid processes=2
exporter  keep = take() mid processes=2
observer  look = record(path=PATH) observes mid
"""


def run_recorded(tmp_path, source: str):
    """Run `source` with its observer `record`ing into a file: the result and what it wrote."""
    path = tmp_path / "seen.json"
    # the source starts once the observer has (a late start would be the test's own loss)
    started = json.dumps(f"{path}.started")
    plan = flowc.compile_source(
        source.replace("PATH", json.dumps(str(path))).replace("STARTED", started),
        functions={**FUNCTIONS, "record": observe_workers.Record},
    )
    result = plan.run(timeout=60)
    return result, json.loads(path.read_text())


@pytest.mark.parametrize("source", [CONSUMED, UNCONSUMED], ids=["consumed", "not consumed"])
def test_an_observer_at_1khz_sees_every_event_in_order_once(tmp_path, source):
    result, recorded = run_recorded(tmp_path, source)
    assert result.ok
    written = result.stats["buffers"]["raw"]["written"]
    look = result.stats["workers"]["look"]
    assert written == 600
    assert (look["seen"], look["skipped"]) == (600, 0)
    assert recorded["counters"] == list(range(600))
    assert recorded["observed"] == {"seen": 600, "skipped": 0, "published": 600}


def test_an_observer_slower_than_its_buffer_counts_what_it_skipped(tmp_path):
    """A flood into a small ring: the observer sees some, each at most once and in order; the
    rest is counted as skipped."""
    source = UNCONSUMED.replace("delay=0.001", "delay=0.0").replace("n=600", "n=20000")
    result, recorded = run_recorded(tmp_path, source)
    look = result.stats["workers"]["look"]
    assert look["seen"] + look["skipped"] == 20000
    counters = recorded["counters"]
    assert len(counters) == look["seen"] >= 16
    assert counters == sorted(set(counters))


def test_an_observer_of_a_buffer_with_several_writer_and_reader_processes_sees_every_event(
    flow_folder,
):
    """Two processes write `mid` and two read it: a freed slot is reused only after the slots
    freed before it, so an observer of events at 1 kHz copies every one once. Run as a user
    runs it, by `flowc run` (forked from this test process, whose heap has grown over the
    whole suite, the observer lost 115 to 161 events in two CI runs: see the closing note)."""
    seen = flow_folder / "seen.json"
    flow = SHARED.replace("PATH", json.dumps(str(seen)))
    flow = flow.replace("STARTED", json.dumps(f"{seen}.started"))
    for name in ("count", "slow", "take", "record"):
        flow = flow.replace(f" {name}(", f' "workers.py":{name}(')
    flow = flow.replace('"workers.py":record(', '"workers.py":Record(')
    (flow_folder / "shared.flow").write_text(flow)
    completed = flowc_run(flow_folder, "shared.flow", "--quiet", "--stats", "stats.json")
    assert completed.exit == 0, completed.stderr
    stats = json.loads((flow_folder / "stats.json").read_text())
    assert stats["buffers"]["mid"]["written"] == 1000
    look = stats["workers"]["look"]
    assert (look["seen"], look["skipped"]) == (1000, 0)
    assert sorted(json.loads(seen.read_text())["counters"]) == list(range(1000))
