"""What a run does with events: every kind, the calling conventions, sharing, broadcast, fan-in,
drops, observers, end of stream and the exact statistics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from runtime_plans import (
    SPEC_WORKER_KEYS,
    START_METHODS,
    assert_accounted,
    assert_every_kind_chain_delivered,
    buffer,
    collected,
    every_kind_chain,
    make_plan,
    marker_text,
    worker,
)

from flowc.runtime import ring, run
from flowc.runtime.summary import format_summary
from flowc.types import ElementType, FieldType

pytestmark = pytest.mark.runtime


@pytest.mark.parametrize("start_method", START_METHODS)
def test_chain_of_every_kind_delivers_every_event_in_order(tmp_path, start_method):
    result = run(every_kind_chain(tmp_path), start_method=start_method)
    assert_every_kind_chain_delivered(result, tmp_path)
    assert result.stats["buffers"]["c"]["written"] == 100


@pytest.mark.parametrize("start_method", START_METHODS)
def test_processes_share_events_without_loss_or_duplicates(tmp_path, start_method):
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a", slots=4), buffer("b", slots=4)],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 300}),
            worker("mid", "processor", "workers:identity", ["a"], ["b"], processes=3),
            worker(
                "save", "exporter", "workers:Collect", ["b"], args={"path": str(out)}, processes=2
            ),
        ],
    )
    result = run(plan, start_method=start_method)
    assert sorted(collected(out)["x"].tolist()) == list(range(300))
    assert result.stats["workers"]["mid"]["events_in"] == 300
    assert result.stats["workers"]["mid"]["processes"] == 3
    assert_accounted(result.stats)


def test_class_importer_and_exporter_finish(tmp_path):
    out, marker = tmp_path / "out", tmp_path / "marker"
    plan = make_plan(
        [buffer("a")],
        [
            worker(
                "src",
                "importer",
                "workers:Counter",
                outputs=["a"],
                args={"n": 50, "marker": str(marker)},
            ),
            worker("save", "exporter", "workers:Collect", ["a"], args={"path": str(out)}),
        ],
    )
    run(plan)
    assert marker.read_text() == "finished"
    assert collected(out)["x"].tolist() == list(range(50))


def test_importer_may_yield_tuples_for_length_one_records(tmp_path):
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a")],
        [
            worker("src", "importer", "workers:count_tuples", outputs=["a"], args={"n": 20}),
            worker("save", "exporter", "workers:Collect", ["a"], args={"path": str(out)}),
        ],
    )
    run(plan)
    got = collected(out)
    assert got["x"].tolist() == list(range(20))
    assert got["y"].tolist() == [2.0 * i for i in range(20)]


def test_generator_processor_yields_several_results_per_event(tmp_path):
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a"), buffer("b")],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 40}),
            worker("rep", "processor", "workers:repeat", ["a"], ["b"], args={"times": 3}),
            worker("save", "exporter", "workers:Collect", ["b"], args={"path": str(out)}),
        ],
    )
    result = run(plan)
    assert collected(out)["x"].tolist() == [i for i in range(40) for _ in range(3)]
    assert result.stats["workers"]["rep"]["events_out"] == 120


def test_meta_and_source_reach_the_worker_and_meta_travels(tmp_path):
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a"), buffer("b")],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 30}),
            worker("mid", "processor", "workers:stamp_meta", ["a"], ["b"]),
            worker("save", "exporter", "workers:Collect", ["b"], args={"path": str(out)}),
        ],
    )
    run(plan)
    got = collected(out)
    assert got["y"].tolist() == list(range(30))  # the importer's counter, copied by `mid`
    assert got["counter"].tolist() == list(range(30))


def test_processor_none_drops_and_several_outputs_route(tmp_path):
    even, odd, kept = tmp_path / "even", tmp_path / "odd", tmp_path / "kept"
    plan = make_plan(
        [buffer("a"), buffer("ev"), buffer("od"), buffer("a2"), buffer("k")],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 30}),
            worker("split", "processor", "workers:halves", ["a"], ["ev", "od"]),
            worker("e", "exporter", "workers:Collect", ["ev"], ["a2"], args={"path": str(even)}),
            worker("o", "exporter", "workers:Collect", ["od"], args={"path": str(odd)}),
            worker("dropper", "processor", "workers:drop_odd", ["a2"], ["k"]),
            worker("k", "exporter", "workers:Collect", ["k"], args={"path": str(kept)}),
        ],
    )
    result = run(plan)
    assert collected(even)["x"].tolist() == list(range(0, 30, 2))
    assert collected(odd)["x"].tolist() == list(range(1, 30, 2))
    assert collected(kept)["x"].tolist() == list(range(0, 30, 2))
    assert result.stats["workers"]["e"]["events_out"] == 15  # an exporter's copy to its output
    assert_accounted(result.stats)


def test_filter_with_several_outputs_counts_each(tmp_path):
    paths = [tmp_path / f"out{k}" for k in range(3)]
    plan = make_plan(
        [buffer("a"), buffer("r0"), buffer("r1"), buffer("r2")],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 60}),
            worker("cut", "filter", "workers:by_remainder", ["a"], ["r0", "r1", "r2"]),
        ]
        + [
            worker(f"s{k}", "exporter", "workers:Collect", [f"r{k}"], args={"path": str(paths[k])})
            for k in range(3)
        ],
    )
    result = run(plan)
    cut = result.stats["workers"]["cut"]
    assert cut["per_output"] == {"r0": 10, "r1": 20, "r2": 20}
    assert (cut["accepted"], cut["discarded"], cut["errors"]) == (50, 10, 0)
    assert collected(paths[1])["x"].tolist() == list(range(1, 60, 3))


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_broadcast_gives_every_event_to_every_consumer(tmp_path, start_method):
    one, two = tmp_path / "one", tmp_path / "two"
    plan = make_plan(
        [buffer("a", slots=3)],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 150}),
            worker("fast", "exporter", "workers:Collect", ["a"], args={"path": str(one)}),
            worker(
                "slow",
                "exporter",
                "workers:Collect",
                ["a"],
                args={"path": str(two), "delay": 0.0005},
            ),
        ],
    )
    result = run(plan, start_method=start_method)
    assert collected(one)["x"].tolist() == list(range(150))
    assert collected(two)["x"].tolist() == list(range(150))
    assert result.stats["buffers"]["a"]["consumed"] == {"fast": 150, "slow": 150}


def test_fan_in_interleaves_with_counters_per_importer(tmp_path):
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a")],
        [
            worker("one", "importer", "workers:count", outputs=["a"], args={"n": 50}),
            worker("two", "importer", "workers:count", outputs=["a"], args={"n": 70}),
            worker("save", "exporter", "workers:Collect", ["a"], args={"path": str(out)}),
        ],
    )
    result = run(plan)
    got = collected(out)
    assert sorted(got["counter"].tolist()) == sorted(list(range(50)) + list(range(70)))
    assert result.stats["buffers"]["a"]["written"] == 120


def test_processor_with_several_inputs_sees_every_event_with_its_source(tmp_path):
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a1"), buffer("a2", slots=2), buffer("b")],
        [
            worker("one", "importer", "workers:count", outputs=["a1"], args={"n": 40}),
            worker("two", "importer", "workers:count", outputs=["a2"], args={"n": 25}),
            worker("merge", "processor", "workers:tag_source", ["a1", "a2"], ["b"], processes=2),
            worker("save", "exporter", "workers:Collect", ["b"], args={"path": str(out)}),
        ],
    )
    result = run(plan)
    got = collected(out)
    from_one = sorted(x for x, y in zip(got["x"], got["y"], strict=True) if y == 1)
    from_two = sorted(x for x, y in zip(got["x"], got["y"], strict=True) if y == 2)
    assert (from_one, from_two) == (list(range(40)), list(range(25)))
    assert result.stats["buffers"]["a2"]["consumed"] == {"merge": 25}


def test_full_drop_buffer_drops_newest_and_counts(tmp_path):
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a", slots=2, overflow="drop")],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 400}),
            worker(
                "save",
                "exporter",
                "workers:Collect",
                ["a"],
                args={"path": str(out), "delay": 0.001},
            ),
        ],
    )
    result = run(plan)
    a = result.stats["buffers"]["a"]
    got = collected(out)["x"].tolist()
    assert a["written"] == 400 and a["dropped"] > 0
    assert a["consumed"]["save"] == len(got) == 400 - a["dropped"]
    assert got == sorted(got) and got[0] == 0
    assert result.stats["workers"]["src"]["blocked_out_s"] == 0.0


def test_unconsumed_buffer_never_blocks_and_counts_overwritten_events(tmp_path):
    plan = make_plan(
        [buffer("a", slots=4)],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 500}),
            worker(
                "look",
                "observer",
                "workers:Watch",
                observes=["a"],
                args={"path": str(tmp_path / "w")},
            ),
        ],
    )
    result = run(plan, timeout=30)
    a = result.stats["buffers"]["a"]
    assert (a["written"], a["dropped"], a["consumed"], a["left"]) == (500, 496, {}, {})
    look = result.stats["workers"]["look"]
    assert look["seen"] + look["skipped"] == 500


def test_observers_copy_consistent_slots_while_writers_race(tmp_path):
    wide = ElementType.struct([FieldType("x", "f8"), FieldType("y", "f8")])
    plan = make_plan(
        [buffer("a", element=wide, length=4096, slots=3)],
        [
            worker("src", "importer", "workers:fill_wide", outputs=["a"], args={"n": 3000}),
            worker("save", "exporter", "workers:identity", ["a"]),
            worker(
                "look",
                "observer",
                "workers:Watch",
                observes=["a"],
                args={"path": str(tmp_path / "w")},
            ),
        ],
    )
    result = run(plan)
    seen, torn, _ = marker_text(tmp_path, "w.").split()
    assert int(seen) == result.stats["workers"]["look"]["seen"] > 0
    assert int(torn) == 0


def test_zero_events_end_cleanly(tmp_path):
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a"), buffer("b")],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 0}),
            worker("mid", "processor", "workers:identity", ["a"], ["b"], processes=2),
            worker("save", "exporter", "workers:Collect", ["b"], args={"path": str(out)}),
        ],
    )
    result = run(plan)
    assert result.exit == 0 and collected(out)["x"].tolist() == []


def test_deadtime_and_timestamps_are_set_by_the_importer(tmp_path):
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a", slots=1)],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 30}),
            worker(
                "save",
                "exporter",
                "workers:Collect",
                ["a"],
                args={"path": str(out), "delay": 0.002},
            ),
        ],
    )
    started = time.time()
    result = run(plan)
    blocked = result.stats["workers"]["src"]["blocked_out_s"]
    got = collected(out)
    assert got["x"].tolist() == list(range(30))
    assert blocked > 0.02
    assert got["deadtime"].sum() == pytest.approx(blocked, rel=1e-6)
    assert started < got["timestamp"][0] and (np.diff(got["timestamp"]) > 0).all()


def test_plain_dtype_buffers_and_function_workers(tmp_path):
    seen = []

    def ramp(example):
        for i in range(10):
            yield np.full_like(example, i)

    def check(data):
        seen.append(data.copy())
        assert data.shape == (16,) and (data == data[0]).all()

    plan = make_plan(
        [buffer("w", element=ElementType.plain("f4"), length=16, slots=2)],
        [
            worker("src", "importer", "ramp", outputs=["w"]),
            worker("chk", "exporter", "check", ["w"]),
        ],
        functions={"ramp": ramp, "check": check},
    )
    result = run(plan, start_method="fork")
    assert result.stats["workers"]["chk"]["events_in"] == 10


def test_stats_file_and_summary(tmp_path, capfd):
    path = tmp_path / "stats.json"
    plan = make_plan(
        [buffer("a")],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 10}),
            worker("save", "exporter", "workers:identity", ["a"]),
        ],
        name="tiny",
    )
    result = run(plan, stats_path=path, quiet=False)
    document = json.loads(path.read_text())
    assert document == json.loads(json.dumps(result.stats))
    assert document["pipeline"] == "tiny" and document["exit"] == 0 and document["failure"] is None
    for key in SPEC_WORKER_KEYS:
        assert key in document["workers"]["save"]
    assert document["peak_rss_bytes"] > 0
    err = capfd.readouterr().err
    assert "save" in err and "src" in err and "peak memory" in err
    assert format_summary(result.stats).splitlines()[0].startswith("pipeline tiny: completed")


def test_a_slow_processor_hands_on_each_event_without_waiting_for_a_batch(tmp_path):
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a", slots=32), buffer("b", slots=32)],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 12}),
            worker("mid", "processor", "workers:sleepy", ["a"], ["b"], args={"delay": 0.05}),
            worker("save", "exporter", "workers:Collect", ["b"], args={"path": str(out)}),
        ],
    )
    run(plan)
    arrived = collected(out)["arrived"]
    assert len(arrived) == 12
    assert np.diff(arrived).max() < 0.2  # a batch of 8 would hold events back for 0.35 s


def test_text_printed_before_a_run_is_not_repeated_by_forked_workers():
    script = (
        f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
        "from runtime_plans import buffer, make_plan, worker\n"
        "from flowc.runtime import run\n"
        "print('before the run')\n"
        "plan = make_plan([buffer('a')], [worker('src', 'importer', 'workers:count',"
        " outputs=['a'], args={'n': 3}), worker('s', 'exporter', 'workers:identity', ['a'])])\n"
        "run(plan, start_method='fork')\n"
        "print('after')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.splitlines() == ["before the run", "after"], done.stderr


def test_every_buffer_can_be_shared_where_stores_may_be_reordered(tmp_path, monkeypatch):
    """Off x86, buffers of one writer and single-process readers use the locked path too."""
    monkeypatch.setattr(ring, "STORES_IN_ORDER", False)
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a", slots=3), buffer("b", slots=2), buffer("c", slots=4, overflow="drop")],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 300}),
            worker("mid", "processor", "workers:identity", ["a"], ["b"]),
            worker("cut", "filter", "workers:is_even", ["b"], ["c"]),
            worker("save", "exporter", "workers:Collect", ["b"], args={"path": str(out)}),
            worker("sink", "exporter", "workers:identity", ["c"]),
            worker(
                "look",
                "observer",
                "workers:Watch",
                observes=["b"],
                args={"path": str(tmp_path / "w")},
            ),
        ],
    )
    result = run(plan, start_method="fork")
    assert collected(out)["x"].tolist() == list(range(300))
    assert_accounted(result.stats)


def test_observers_may_keep_the_copies_they_get(tmp_path):
    plan = make_plan(
        [buffer("a", slots=2)],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 2000}),
            worker("save", "exporter", "workers:identity", ["a"]),
            worker(
                "look",
                "observer",
                "workers:Keep",
                observes=["a"],
                args={"path": str(tmp_path / "k")},
            ),
        ],
    )
    run(plan)
    kept, changed, counters_match = marker_text(tmp_path, "k.").split()
    assert int(kept) > 0 and int(changed) == 0 and counters_match == "True"


def test_events_a_fast_processor_holds_back_reach_an_idle_consumer_soon(tmp_path):
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a", slots=32), buffer("b", slots=32)],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 6}),
            worker(
                "mid", "processor", "workers:StallAt", ["a"], ["b"], args={"at": 5, "seconds": 1.0}
            ),
            worker("save", "exporter", "workers:Collect", ["b"], args={"path": str(out)}),
        ],
    )
    run(plan)
    got = collected(out)
    assert got["x"].tolist() == list(range(6))
    waits = got["arrived"] - got["arrived"][-1]
    # events 0..4 came out before the long sixth event ended, not with it
    assert (waits[:5] < -0.5).all()
