"""The runtime's semantics on both backends: every kind and calling convention, sharing,
broadcast, fan-in, back-pressure, drops, observers, end of stream, failure, stopping and the
statistics document. Each test runs once on the local runtime and once on Ray."""

from __future__ import annotations

import numpy as np
import pytest
from ray_support import helpers

from flowc.runtime.result import RunError
from flowc.types import ElementType, FieldType

buffer, worker, make_plan = helpers.buffer, helpers.worker, helpers.make_plan
collected, assert_accounted = helpers.collected, helpers.assert_accounted

STATS_KEYS = {"pipeline", "elapsed", "exit", "stopped", "buffers", "workers", "failure"}
WORKER_KEYS = set(helpers.SPEC_WORKER_KEYS)
# beyond SPEC: the time per call of the worker's code, in wall and CPU time, on both backends
TIME_KEYS = {
    "calls",
    *(f"{clock}call_{stat}_s" for clock in ("", "cpu_") for stat in ("median", "min", "max")),
    "call_s",
    "cpu_call_s",
}


def test_chain_of_every_kind_delivers_every_event_in_order(tmp_path, backend):
    result = backend.run(helpers.every_kind_chain(tmp_path, name="chain"))
    helpers.assert_every_kind_chain_delivered(result, tmp_path)
    stats = result.stats
    assert STATS_KEYS <= set(stats) and stats["pipeline"] == "chain"
    assert all(WORKER_KEYS <= set(w) for w in stats["workers"].values())
    assert all(TIME_KEYS <= set(w) for w in stats["workers"].values())
    for name, w in stats["workers"].items():
        if w["kind"] != "observer":  # an observer may see no event of a short run
            assert w["calls"] > 0, name
            assert 0 <= w["cpu_call_min_s"] <= w["cpu_call_max_s"], name


def test_sharing_broadcast_and_fan_in(tmp_path, backend):
    """Two importers write one buffer; three processes of `mid` share it; two exporters (one of
    two processes) each get every event of `b`."""
    one, two = tmp_path / "one", tmp_path / "two"
    plan = make_plan(
        [buffer("a", slots=4), buffer("b", slots=3)],
        [
            worker("i1", "importer", "workers:count", outputs=["a"], args={"n": 80}),
            worker("i2", "importer", "workers:count", outputs=["a"], args={"n": 70}),
            worker("mid", "processor", "workers:identity", ["a"], ["b"], processes=3),
            worker("e1", "exporter", "workers:Collect", ["b"], args={"path": str(one)}),
            worker(
                "e2", "exporter", "workers:Collect", ["b"], args={"path": str(two)}, processes=2
            ),
        ],
    )
    result = backend.run(plan)
    expected = sorted(list(range(80)) + list(range(70)))
    assert sorted(collected(one)["counter"].tolist()) == expected
    assert sorted(collected(two)["counter"].tolist()) == expected
    stats = result.stats
    assert stats["buffers"]["a"]["written"] == 150
    assert stats["buffers"]["b"]["consumed"] == {"e1": 150, "e2": 150}
    assert (stats["workers"]["mid"]["events_in"], stats["workers"]["mid"]["processes"]) == (150, 3)
    assert_accounted(stats)


def test_calling_conventions(tmp_path, backend):
    """A class importer with finish(), a generator processor, meta and source, a processor with
    two outputs returning None for one, and a processor dropping events."""
    marker, even, odd = tmp_path / "marker", tmp_path / "even", tmp_path / "odd"
    plan = make_plan(
        [buffer("a"), buffer("r"), buffer("s"), buffer("ev"), buffer("od")],
        [
            worker(
                "src",
                "importer",
                "workers:Counter",
                outputs=["a"],
                args={"n": 20, "marker": str(marker)},
            ),
            worker("rep", "processor", "workers:repeat", ["a"], ["r"], args={"times": 2}),
            worker("stamp", "processor", "workers:stamp_meta", ["r"], ["s"]),
            worker("split", "processor", "workers:halves", ["s"], ["ev", "od"]),
            worker("e", "exporter", "workers:Collect", ["ev"], args={"path": str(even)}),
            worker("o", "exporter", "workers:Collect", ["od"], args={"path": str(odd)}),
        ],
    )
    result = backend.run(plan)
    assert marker.read_text() == "finished"
    got_even, got_odd = collected(even), collected(odd)
    assert got_even["x"].tolist() == [i for i in range(0, 20, 2) for _ in range(2)]
    assert got_odd["y"].tolist() == [i for i in range(1, 20, 2) for _ in range(2)]  # meta counter
    assert got_even["counter"].tolist() == got_even["x"].tolist()  # metadata travelled along
    assert set(got_odd["source"].tolist()) == {"od"}
    assert result.stats["workers"]["rep"]["events_out"] == 40
    assert_accounted(result.stats)


def test_tuples_plain_dtypes_functions_and_a_reused_array(tmp_path, backend):
    if backend.name == "ray":
        pytest.skip(
            "local functions through functions= need fork; a partition on Ray starts its "
            "workers with forkserver (functions= must be importable there, as under spawn)"
        )
    seen_lengths = []

    def ramp(example):
        for i in range(10):
            yield np.full_like(example, i)

    def check(data):
        seen_lengths.append(len(data))
        assert data.shape == (16,) and (data == data[0]).all()

    plan = make_plan(
        [
            buffer("w", element=ElementType.plain("f4"), length=16, slots=2),
            buffer("t"),
            buffer("r", slots=32),
        ],
        [
            worker("src", "importer", "ramp", outputs=["w"]),
            worker("chk", "exporter", "check", ["w"]),
            worker("tup", "importer", "workers:count_tuples", outputs=["t"], args={"n": 5}),
            worker("sink", "exporter", "workers:identity", ["t"]),
            worker(
                "same", "importer", "ray_workers:reuse_one_array", outputs=["r"], args={"n": 30}
            ),
            worker(
                "keep", "exporter", "workers:Collect", ["r"], args={"path": str(tmp_path / "r")}
            ),
        ],
        functions={"ramp": ramp, "check": check},
    )
    options = {"start_method": "fork"} if backend.name == "local" else {}
    result = backend.run(plan, **options)
    assert result.stats["workers"]["chk"]["events_in"] == 10
    assert result.stats["workers"]["sink"]["events_in"] == 5
    assert collected(tmp_path / "r")["x"].tolist() == list(range(30))


def test_drops_are_counted_and_unconsumed_buffers_never_block(tmp_path, backend):
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a", slots=2, overflow="drop"), buffer("u", slots=4)],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 300}),
            worker(
                "save",
                "exporter",
                "workers:Collect",
                ["a"],
                args={"path": str(out), "delay": 0.002},
            ),
            worker("free", "importer", "workers:count", outputs=["u"], args={"n": 100}),
            worker(
                "look",
                "observer",
                "workers:Watch",
                observes=["u"],
                args={"path": str(tmp_path / "w")},
            ),
        ],
    )
    result = backend.run(plan)
    a = result.stats["buffers"]["a"]
    got = collected(out)["x"].tolist()
    assert a["written"] == 300 and a["dropped"] > 0
    assert a["consumed"]["save"] == len(got) == 300 - a["dropped"]
    assert got == sorted(got) and got[0] == 0
    u = result.stats["buffers"]["u"]
    assert (u["written"], u["dropped"], u["consumed"], u["left"]) == (100, 96, {}, {})
    look = result.stats["workers"]["look"]
    assert look["seen"] + look["skipped"] == 100
    assert_accounted(result.stats)


def test_back_pressure_keeps_at_most_slots_events_in_flight(tmp_path, backend):
    """Event k + slots can only be written once the consumer has finished event k; the time
    the importer waited is its deadtime."""
    out, slots = tmp_path / "out", 3
    plan = make_plan(
        [buffer("a", slots=slots)],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 40}),
            worker(
                "save",
                "exporter",
                "ray_workers:Timed",
                ["a"],
                args={"path": str(out), "delay": 0.01},
            ),
        ],
    )
    result = backend.run(plan)
    got = np.load(next(tmp_path.glob("out.*.npz")))
    assert got["counter"].tolist() == list(range(40))
    assert (got["timestamp"][slots:] >= got["done"][:-slots]).all()
    blocked = result.stats["workers"]["src"]["blocked_out_s"]
    assert blocked > 0.1
    assert got["deadtime"].sum() == pytest.approx(blocked, rel=1e-6)


def test_long_events_travel_whole(tmp_path, backend):
    """Events of 1 MB (through Ray's object store) arrive whole, and a processor returning its
    input passes it on."""
    wide = ElementType.struct([FieldType("x", "f8"), FieldType("y", "f8")])
    plan = make_plan(
        [buffer("a", element=wide, length=65536, slots=4), buffer("b", element=wide, length=65536)],
        [
            worker("src", "importer", "ray_workers:big_events", outputs=["a"], args={"n": 30}),
            worker("mid", "processor", "ray_workers:check_big", ["a"], ["b"]),
            worker("save", "exporter", "ray_workers:check_big", ["b"]),
        ],
    )
    result = backend.run(plan)
    assert result.stats["workers"]["save"]["events_in"] == 30
    assert_accounted(result.stats)


def test_a_raising_worker_fails_the_run_naming_it(tmp_path, backend):
    plan = make_plan(
        [buffer("a"), buffer("b")],
        [
            worker("src", "importer", "workers:count_forever", outputs=["a"]),
            worker("bad", "processor", "workers:fail_at", ["a"], ["b"], args={"at": 25.0}),
            worker("save", "exporter", "workers:identity", ["b"]),
        ],
    )
    with pytest.raises(RunError) as caught:
        backend.run(plan, timeout=60)
    result = caught.value.result
    assert (result.ok, result.exit, result.stats["stopped"]) == (False, 1, "failed")
    assert result.failure.worker == "bad"
    assert "ValueError: bad event x=25.0" in result.failure.message
    assert "fail_at" in result.failure.traceback
    assert result.stats["failure"]["worker"] == "bad"


def test_a_killed_worker_fails_the_run_naming_it(tmp_path, backend):
    plan = make_plan(
        [buffer("a"), buffer("b")],
        [
            worker("src", "importer", "workers:count_forever", outputs=["a"]),
            worker("dies", "processor", "workers:kill_self_at", ["a"], ["b"], args={"at": 10.0}),
            worker("save", "exporter", "workers:identity", ["b"]),
        ],
    )
    result = backend.run(plan, timeout=60, raise_on_failure=False)
    assert (result.exit, result.failure.worker) == (1, "dies")


def test_skipped_errors_are_counted(backend):
    plan = make_plan(
        [buffer("a"), buffer("b")],
        [
            worker("src", "importer", "workers:count", outputs=["a"], args={"n": 30}),
            worker(
                "flaky",
                "processor",
                "workers:fail_every",
                ["a"],
                ["b"],
                args={"every": 3},
                on_error="skip",
            ),
            worker("save", "exporter", "workers:identity", ["b"]),
        ],
    )
    result = backend.run(plan)
    assert result.stats["workers"]["flaky"]["errors"] == 10
    assert result.stats["buffers"]["b"]["written"] == 20


def test_timeout_stops_the_importers_and_drains(tmp_path, backend):
    out = tmp_path / "out"
    plan = make_plan(
        [buffer("a", slots=4), buffer("b", slots=4)],
        [
            worker(
                "src", "importer", "workers:count_forever", outputs=["a"], args={"delay": 0.001}
            ),
            worker("mid", "processor", "workers:identity", ["a"], ["b"]),
            worker("save", "exporter", "workers:Collect", ["b"], args={"path": str(out)}),
        ],
    )
    # counted from the start: a partition on Ray starts its workers through a forkserver
    result = backend.run(plan, timeout=2 if backend.name == "local" else 10)
    assert (result.ok, result.exit, result.stats["stopped"]) == (True, 0, "timeout")
    got = collected(out)["x"].tolist()
    written = result.stats["buffers"]["a"]["written"]
    assert written > 0 and got == list(range(written))  # nothing accepted was lost
    assert_accounted(result.stats)
