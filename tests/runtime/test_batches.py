"""Batches (`batch=N`, SPEC section 2): workers called with up to N events at once, every
promise of SPEC section 4 kept per event; and results stored by field name."""

from __future__ import annotations

import glob
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runtime_plans import (
    START_METHODS,
    assert_accounted,
    collected,
    descendants,
    marker_text,
)

import flowc
from flowc.runtime.ring import ResultError, store_for
from flowc.runtime.summary import format_summary

pytestmark = pytest.mark.runtime

HEAD = "type XY = {x: f8, y: f8}\n"


def compiled_text(text: str, folder) -> str:
    return HEAD + text.replace("OUT", str(folder / "out"))


def compiled(text: str, folder) -> flowc.Plan:
    return flowc.compile_source(compiled_text(text, folder))


def sizes(folder) -> list[int]:
    """The batch sizes `workers.CollectBatches` was called with (every process's)."""
    found = []
    for path in sorted(glob.glob(str(folder / "out-sizes.*.npy"))):
        found += np.load(path).tolist()
    return found


def chain(n=500, src=7, a_slots=16, b_slots=16, mid="batch=5", save="batch=64", extra=""):
    return (
        f"buffer a : XY slots={a_slots}\nbuffer b : XY slots={b_slots}\n"
        f"importer src = workers.count_batches(n={n}, size={src}) -> a batch={src}\n"
        f"processor mid = workers.double_y_batch() a -> b {mid}\n"
        f'exporter save = workers.CollectBatches(path="OUT") b {save}\n' + extra
    )


@pytest.mark.parametrize("method", START_METHODS)
def test_a_batched_chain_delivers_every_event_in_order(tmp_path, method):
    result = compiled(chain(), tmp_path).run(start_method=method, timeout=60)
    got = collected(tmp_path / "out")
    assert got["x"].tolist() == list(range(500))
    assert got["y"].tolist() == [4.0 * i for i in range(500)]
    # metadata travels with each row: the importer numbered the events from 0
    assert got["counter"].tolist() == list(range(500))
    assert set(got["source"].tolist()) == {"b"}
    assert_accounted(result.stats)
    workers = result.stats["workers"]
    assert workers["src"]["events_out"] == workers["save"]["events_in"] == 500
    # fewer calls than events: the code took batches
    assert workers["src"]["calls"] == 72  # ceil(500 / 7)
    assert max(sizes(tmp_path)) <= 8 and sum(sizes(tmp_path)) == 500  # half the 16 slots


def test_a_batch_never_crosses_the_rings_end(tmp_path):
    """In ring order event i sits in slot i % slots: a batch is one contiguous view, so it
    stops at the ring's end and the rest follows in the next batch."""
    compiled(chain(n=2000, src=10, b_slots=12, save="batch=10"), tmp_path).run(timeout=60)
    got = collected(tmp_path / "out")
    assert got["x"].tolist() == list(range(2000))
    first = 0
    for size in sizes(tmp_path):
        assert 1 <= size <= 10
        assert first % 12 + size <= 12, "a batch wrapped round the ring"
        first += size


def test_batches_are_read_only_views_of_shared_memory(tmp_path):
    text = (
        "buffer a : XY slots=8\n"
        "importer src = workers.count_batches(n=40, size=4) -> a batch=4\n"
        'exporter save = "probe.py":probe() a batch=8\n'
    )
    (tmp_path / "probe.py").write_text(
        "def probe(data, meta):\n"
        "    assert data.ndim == 2 and data.shape[1] == 1 and meta.shape == (len(data),)\n"
        "    assert not data.flags.writeable and not data.flags.owndata\n"
        "    assert not meta.flags.writeable\n"
    )
    plan = flowc.compile_source(HEAD + text, base_dir=str(tmp_path))
    assert plan.run(timeout=60).stats["workers"]["save"]["events_in"] == 40


def test_pairs_with_origin_route_rows_to_outputs_with_their_metadata(tmp_path):
    text = (
        "buffer a : XY slots=16\nbuffer even : XY slots=16\nbuffer odd : XY slots=16\n"
        "importer src = workers.count_batches(n=301, size=9) -> a batch=9\n"
        "processor split = workers.split_even_batch() a -> even, odd batch=16\n"
        f'exporter e = workers.Collect(path="{tmp_path / "e"}") even\n'
        f'exporter o = workers.CollectBatches(path="{tmp_path / "o"}") odd batch=3\n'
    )
    result = flowc.compile_source(HEAD + text).run(timeout=60)
    even, odd = collected(tmp_path / "e"), collected(tmp_path / "o")
    assert even["x"].tolist() == list(range(0, 301, 2))
    assert odd["x"].tolist() == list(range(1, 301, 2))
    assert even["counter"].tolist() == list(range(0, 301, 2))
    assert odd["counter"].tolist() == list(range(1, 301, 2))
    assert_accounted(result.stats)


def test_a_generator_processor_repeats_rows_by_origin(tmp_path):
    text = (
        "buffer a : XY slots=16\nbuffer b : XY slots=64\nbuffer c : XY slots=64\n"
        "importer src = workers.count_batches(n=50, size=5) -> a batch=5\n"
        "processor twice = workers.twice_batch() a -> b batch=8\n"
        "processor again = workers.pairs_batch() b -> c batch=8\n"
        'exporter save = workers.Collect(path="OUT") c\n'
    )
    compiled(text, tmp_path).run(timeout=60)
    got = collected(tmp_path / "out")
    assert sorted(got["x"].tolist()) == sorted(4 * list(range(50)))
    assert (got["counter"] == got["x"]).all()


def test_filter_masks_choose_outputs_and_count_per_event(tmp_path):
    text = (
        "buffer a : XY slots=32\nbuffer r0 : XY slots=8\nbuffer r1 : XY slots=8\n"
        "buffer r2 : XY slots=8\nbuffer ev : XY slots=8\nbuffer a2 : XY slots=8\n"
        "importer src = workers.count_batches(n=120, size=11) -> a batch=11\n"
        "filter pick = workers.remainder_masks() a -> r0, r1, r2 batch=32\n"
        f'exporter s0 = workers.Collect(path="{tmp_path / "r0"}") r0\n'
        f'exporter s1 = workers.Collect(path="{tmp_path / "r1"}") r1\n'
        f'exporter s2 = workers.Collect(path="{tmp_path / "r2"}") r2 -> ev\n'
        "filter even = workers.even_mask() ev -> a2 batch=4\n"
        f'exporter s3 = workers.Collect(path="{tmp_path / "a2"}") a2\n'
    )
    result = flowc.compile_source(HEAD + text).run(timeout=60)
    xs = range(120)
    assert collected(tmp_path / "r0")["x"].tolist() == [x for x in xs if x % 3 == 0 and x % 6]
    assert collected(tmp_path / "r1")["x"].tolist() == [x for x in xs if x % 3 == 1]
    assert collected(tmp_path / "r2")["x"].tolist() == [x for x in xs if x % 3 == 2]
    assert collected(tmp_path / "a2")["x"].tolist() == [x for x in xs if x % 3 == 2 and x % 2 == 0]
    pick = result.stats["workers"]["pick"]
    assert pick["accepted"] == 100 and pick["discarded"] == 20  # x % 6 == 0 goes nowhere
    assert pick["events_in"] == pick["accepted"] + pick["discarded"] + pick["errors"]
    assert_accounted(result.stats)


@pytest.mark.parametrize(
    ("processor", "said"),
    [
        ("workers.wrong_rows()", "returned 9 rows for output `b` from a batch of 8 events"),
        ("workers.origin_out_of_range()", "returned origin 8 for output `b`"),
    ],
)
def test_a_processors_wrong_rows_fail_the_worker_by_name(tmp_path, processor, said):
    text = (
        "buffer a : XY slots=16\nbuffer b : XY slots=16\n"
        "importer src = workers.count_batches(n=8, size=8) -> a batch=8\n"
        f"processor mid = {processor} a -> b batch=8\n"
        "exporter save = stdlib.sinks.null() b\n"
    )
    result = compiled(text, tmp_path).run(timeout=60, raise_on_failure=False)
    assert result.exit == 1 and result.failure.worker == "mid"
    assert "processor `mid`" in result.failure.message and said in result.failure.message


def test_a_filter_mask_of_the_wrong_length_fails_the_worker_by_name(tmp_path):
    text = (
        "buffer a : XY slots=8\nbuffer b : XY slots=8\n"
        "importer src = workers.count_batches(n=8, size=4) -> a batch=4\n"
        "filter cut = workers.short_mask() a -> b batch=8\n"
        "exporter save = stdlib.sinks.null() b\n"
    )
    result = compiled(text, tmp_path).run(timeout=60, raise_on_failure=False)
    assert result.failure.worker == "cut"
    assert "filter `cut` returned an array of shape (" in result.failure.message
    assert "return a boolean array of shape" in result.failure.message


@pytest.mark.parametrize(("rows", "length"), [(9, 1), (4, 2), (0, 1)])
def test_an_importers_batch_of_the_wrong_shape_fails_it_by_name(tmp_path, rows, length):
    text = (
        "buffer a : XY slots=16\n"
        f"importer src = workers.bad_batch(rows={rows}, length={length}) -> a batch=8\n"
        "exporter save = stdlib.sinks.null() a\n"
    )
    result = compiled(text, tmp_path).run(timeout=60, raise_on_failure=False)
    assert result.failure.worker == "src"
    assert "importer `src` has batch=8 and yielded an array of shape" in result.failure.message
    assert "1 <= k <= 8" in result.failure.message


def test_on_error_skip_counts_every_event_of_a_failing_batch(tmp_path):
    text = (
        "buffer a : XY slots=16\nbuffer b : XY slots=16\n"
        "importer src = workers.count_batches(n=200, size=10) -> a batch=10\n"
        "processor mid = workers.fail_batch_with(at=55) a -> b batch=10 on_error=skip\n"
        'exporter save = workers.Collect(path="OUT") b\n'
    )
    result = compiled(text, tmp_path).run(timeout=60)
    mid = result.stats["workers"]["mid"]
    got = collected(tmp_path / "out")["x"].tolist()
    assert 55 not in got and mid["errors"] >= 1
    assert mid["errors"] + mid["events_out"] == mid["events_in"] == 200
    assert len(got) == 200 - mid["errors"]
    assert_accounted(result.stats)


def test_a_failing_batch_names_its_events(tmp_path):
    text = (
        "buffer a : XY slots=16\nbuffer b : XY slots=16\n"
        "importer src = workers.count_batches(n=200, size=10) -> a batch=10\n"
        "processor mid = workers.fail_batch_with(at=55) a -> b batch=10\n"
        'exporter save = workers.Collect(path="OUT") b\n'
    )
    result = compiled(text, tmp_path).run(timeout=60, raise_on_failure=False)
    message = result.failure.message
    assert result.failure.worker == "mid" and message.startswith("ValueError: bad batch with x=55")
    at = re.search(r"\(at events? (\d+)(?: to (\d+))? of `a`\)$", message)
    first, last = int(at[1]), int(at[2] or at[1])
    assert first <= 55 <= last and last - first < 10


def test_processes_share_batches(tmp_path):
    text = chain(n=600, mid="batch=8 processes=2", save="batch=16 processes=2")
    result = compiled(text, tmp_path).run(timeout=60)
    got = collected(tmp_path / "out")
    assert sorted(got["x"].tolist()) == list(range(600))
    assert sorted(got["counter"].tolist()) == list(range(600))
    assert (got["y"] == 4 * got["x"]).all()
    assert_accounted(result.stats)


def test_a_buffer_that_drops_counts_each_dropped_event(tmp_path):
    text = (
        "buffer a : XY slots=4 overflow=drop\n"
        "importer src = workers.count_batches(n=400, size=50) -> a batch=50\n"
        'exporter save = workers.Collect(path="OUT", delay=0.001) a\n'
    )
    result = compiled(text, tmp_path).run(timeout=60)
    a = result.stats["buffers"]["a"]
    assert a["written"] == 400 and a["dropped"] > 0
    assert a["consumed"]["save"] == 400 - a["dropped"]
    assert_accounted(result.stats)


def test_an_observer_sees_a_batched_buffer_event_by_event(tmp_path):
    text = (
        "buffer a : XY slots=64\n"
        "importer src = workers.count_batches(n=3000, size=16) -> a batch=16\n"
        'exporter save = workers.CollectBatches(path="OUT") a batch=32\n'
        f'observer look = workers.Watch(path="{tmp_path / "w"}") observes a\n'
    )
    result = compiled(text, tmp_path).run(timeout=60)
    look = result.stats["workers"]["look"]
    assert look["seen"] >= 1 and look["seen"] + look["skipped"] == 3000
    seen, torn, _ = marker_text(tmp_path, "w.").split(" ")
    assert int(seen) == look["seen"] and int(torn) == 0


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_stop_drains_every_accepted_batch(tmp_path, method):
    text = (
        "buffer a : XY slots=32\nbuffer b : XY slots=32\n"
        "importer src = workers.count_batches_forever(size=16, delay=0.001) -> a batch=16\n"
        "processor mid = workers.double_y_batch() a -> b batch=8\n"
        'exporter save = workers.CollectBatches(path="OUT", delay=0.0005) b batch=4\n'
    )
    handle = compiled(text, tmp_path).start(start_method=method)
    deadline = time.monotonic() + 60
    while handle.stats()["buffers"]["b"]["written"] < 64 and time.monotonic() < deadline:
        time.sleep(0.05)
    handle.stop(drain=True)
    result = handle.wait(60)
    assert result.ok and result.stats["stopped"] == "interrupted"
    written = result.stats["buffers"]["a"]["written"]
    got = collected(tmp_path / "out")["x"].tolist()
    assert written > 0 and got == list(range(written))  # nothing accepted was lost
    assert_accounted(result.stats)


def test_statistics_say_events_per_call(tmp_path):
    result = compiled(chain(n=700, src=7), tmp_path).run(timeout=60)
    src, save = result.stats["workers"]["src"], result.stats["workers"]["save"]
    assert src["calls"] == 100 and src["events_out"] == 700 and src["events_per_call"] == 7.0
    assert save["events_per_call"] == 700 / save["calls"] > 1
    assert save["event_s"] == pytest.approx(save["call_s"] / 700)
    assert "events per call" in format_summary(result.stats)


# --- results by field name (SPEC section 2) -----------------------------------------------


@pytest.mark.parametrize("batch", ["", "batch=4", "batch=1"])
def test_a_record_in_another_field_order_is_stored_by_name(tmp_path, batch):
    text = (
        "buffer a : XY slots=8\nbuffer b : XY slots=8\n"
        "importer src = workers.count_batches(n=12, size=4) -> a batch=4\n"
        f"processor mid = workers.swapped_record() a -> b {batch}\n"
        'exporter save = workers.Collect(path="OUT") b\n'
    )
    compiled(text, tmp_path).run(timeout=60)
    got = collected(tmp_path / "out")
    assert got["x"].tolist() == list(range(12)) and (got["y"] == 2 * got["x"]).all()


@pytest.mark.parametrize(
    ("code", "out_type", "said"),
    [
        (
            "workers.float_into_int()",
            "{x: f8, n: i4}",
            "field `n`: float64 cannot be stored as int32",
        ),
        ("workers.missing_field()", "XY", "it has no field `y`"),
    ],
)
@pytest.mark.parametrize("batch", ["", "batch=4", "batch=1"])
def test_a_lossy_or_incomplete_result_fails_naming_output_and_field(
    tmp_path, code, out_type, said, batch
):
    text = (
        f"buffer a : XY slots=8\nbuffer b : {out_type} slots=8\n"
        "importer src = workers.count_batches(n=12, size=4) -> a batch=4\n"
        f"processor mid = {code} a -> b {batch}\n"
        "exporter save = stdlib.sinks.null() b\n"
    )
    result = compiled(text, tmp_path).run(timeout=60, raise_on_failure=False)
    assert result.failure.worker == "mid"
    assert "output `b`" in result.failure.message and said in result.failure.message


# --- the same events as batch=1, whatever the batch sizes, processes and slots --------------


@settings(
    max_examples=int(os.environ.get("FLOWC_BATCH_EXAMPLES", "6")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    source=st.integers(1, 20),
    mid=st.integers(1, 40),
    save=st.integers(1, 40),
    processes=st.integers(1, 2),
    a_slots=st.integers(1, 24),
    b_slots=st.integers(1, 24),
    method=st.sampled_from(START_METHODS),
)
def test_any_batches_deliver_the_events_of_batch_1(
    tmp_path_factory, source, mid, save, processes, a_slots, b_slots, method
):
    folder = tmp_path_factory.mktemp("batches")
    text = chain(
        n=157,
        src=source,
        a_slots=a_slots,
        b_slots=b_slots,
        mid=f"batch={mid} processes={processes}",
        save=f"batch={save}",
    )
    result = compiled(text, folder).run(timeout=120, start_method=method)
    got = collected(folder / "out")
    order = np.argsort(got["counter"], kind="stable")
    assert got["counter"][order].tolist() == list(range(157))
    assert got["x"][order].tolist() == list(range(157))
    assert (got["y"] == 4 * got["x"]).all()
    if processes == 1:
        assert got["x"].tolist() == list(range(157))  # one process keeps the order
    assert_accounted(result.stats)


def test_batch_modes_are_checked_against_the_code():
    text = (
        "buffer a : XY slots=8\n"
        "importer src = stdlib.sources.pulses(n=4) -> a\n"
        'exporter save = workers.CollectBatches(path="x") a batch=0\n'
    )
    with pytest.raises(flowc.FlowError) as caught:
        flowc.compile_source(HEAD + text)
    assert [d.code for d in caught.value.diagnostics] == ["E106"]


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("observer o = stdlib.monitors.rate() observes a batch=4\n", ["E106"]),
        ('exporter e = stdlib.processors.event_builder(inputs=["a", "b"]) a batch=2\n', ["E205"]),
        ("exporter e = stdlib.sinks.null() a batch=2.5\n", ["E106"]),
    ],
)
def test_bad_batch_options_are_diagnosed(text, codes):
    source = HEAD + "buffer a : XY slots=8\nimporter src = stdlib.sources.pulses(n=4) -> a\n"
    with pytest.raises(flowc.FlowError) as caught:
        flowc.compile_source(source + text)
    assert [d.code for d in caught.value.diagnostics if d.code in ("E106", "E205")] == codes


def test_batch_travels_through_the_plans_json():
    plan = compiled(chain(), Path("/tmp"))
    again = flowc.Plan.from_json(plan.to_json())
    assert [w.batch for w in again.workers] == [7, 5, 64]


# --- storing by field name, decided once per dtype (unit) ----------------------------------


def test_store_for_assigns_records_by_name_and_refuses_lossy_kinds():
    slot = np.dtype([("x", "f8"), ("n", "i4"), ("s", "f4", (2,))])
    target = np.zeros(3, slot)
    swapped = np.zeros(3, [("s", "f4", (2,)), ("n", "i2"), ("x", "f4")])
    swapped["x"], swapped["n"], swapped["s"] = 1.5, 7, [[1, 2]] * 3
    store_for(swapped.dtype, slot, "output `b`")(target, swapped)
    assert target["x"].tolist() == [1.5] * 3 and target["n"].tolist() == [7] * 3
    assert target["s"].tolist() == [[1.0, 2.0]] * 3
    cases = {
        np.dtype([("x", "f8"), ("n", "f8"), ("s", "f4", (2,))]): "field `n`: float64",
        np.dtype([("x", "c16"), ("n", "i4"), ("s", "f4", (2,))]): "field `x`: complex128",
        np.dtype([("x", "U4"), ("n", "i4"), ("s", "f4", (2,))]): "field `x`: <U4",
        np.dtype([("x", "f8"), ("n", "i4")]): "has no field `s`",
        np.dtype([("x", "f8"), ("n", "i4"), ("s", "f4", (2,)), ("t", "f8")]): "no field `t`",
    }
    for result_dtype, said in cases.items():
        with pytest.raises(ResultError, match="output `b`") as caught:
            store_for(result_dtype, slot, "output `b`")
        assert said in str(caught.value)
    with pytest.raises(ResultError, match="float64 cannot be stored as int16"):
        store_for(np.dtype("f8"), np.dtype("i2"), "output `w`")
    store_for(
        np.dtype("i8"), np.dtype("f4"), "output `w`"
    )  # an integer into a float keeps its kind
    names = np.zeros(2, [("name", "S8"), ("x", "f8")])
    text = np.array([(0.5, "abc"), (1.5, "de")], [("x", "f8"), ("name", "U8")])
    store_for(text.dtype, names.dtype, "output `t`")(names, text)  # text into bytes: encoded
    assert names["name"].tolist() == [b"abc", b"de"] and names["x"].tolist() == [0.5, 1.5]


def test_fan_in_writers_and_a_two_input_processor_take_batches(tmp_path):
    text = (
        "buffer a1 : XY slots=16\nbuffer a2 : XY slots=16\nbuffer both : XY slots=32\n"
        "buffer merged : XY slots=32\n"
        "importer one = workers.count_batches(n=300, size=9) -> a1 batch=9\n"
        "importer two = workers.count_batches(n=200, size=5) -> a2 batch=5\n"
        "processor tag = workers.double_y_batch() a1, a2 -> both batch=12\n"
        "exporter copy = stdlib.sinks.null() both -> merged batch=7\n"
        'exporter save = workers.CollectBatches(path="OUT") merged batch=20\n'
    )
    result = compiled(text, tmp_path).run(timeout=60)
    got = collected(tmp_path / "out")
    assert sorted(got["x"].tolist()) == sorted(list(range(300)) + list(range(200)))
    assert (got["y"] == 4 * got["x"]).all()
    assert result.stats["buffers"]["both"]["written"] == 500
    assert_accounted(result.stats)


def test_a_buffer_nobody_consumes_takes_batches_and_counts_the_overwritten(tmp_path):
    text = (
        "buffer a : XY slots=8\n"
        "importer src = workers.count_batches(n=100, size=10) -> a batch=10\n"
        f'observer look = workers.Watch(path="{tmp_path / "w"}") observes a\n'
    )
    result = compiled(text, tmp_path).run(timeout=60)
    a = result.stats["buffers"]["a"]
    assert a["written"] == 100 and a["dropped"] >= 92  # at most the last 8 stay


def test_ctrl_c_drains_every_accepted_batch(tmp_path):
    """The first Ctrl-C (SIGINT to `flowc run`) stops the importer between batches; every
    event of an accepted batch reaches the exporter."""
    flow = tmp_path / "endless.flow"
    flow.write_text(
        compiled_text(
            "buffer a : XY slots=32\nbuffer b : XY slots=32\n"
            "importer src = workers.count_batches_forever(size=16, delay=0.002) -> a batch=16\n"
            "processor mid = workers.double_y_batch() a -> b batch=8\n"
            'exporter save = workers.CollectBatches(path="OUT", delay=0.001) b batch=4\n',
            tmp_path,
        )
    )
    environment = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowc", "run", str(flow), "--quiet", "--stats", "s.json"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while len(descendants(proc.pid)) < 3 and time.monotonic() < deadline:  # the workers run
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    stats = json.loads((tmp_path / "s.json").read_text())
    written = stats["buffers"]["a"]["written"]
    got = collected(tmp_path / "out")["x"].tolist()
    assert written > 16 and written % 16 == 0  # whole batches only
    assert got == list(range(written))
    assert_accounted(stats)


# --- batch=1: the per-event loop, every rule of a batch kept ----------------------------------

BATCH_1_CODE = """\
import numpy as np


def swapped_rows(n, example):
    # one-row batches of another field order, made apart each time
    for i in range(n):
        rows = np.zeros((1, len(example)), dtype=[("y", "f8"), ("x", "f8")])
        rows["x"], rows["y"] = i, 2 * i
        yield rows


def strided_rows(n, example):
    # one-row batches that are views of every second element of a wider array
    for i in range(n):
        wide = np.zeros((1, 2 * len(example)), dtype=example.dtype)
        wide["x"], wide["y"] = i, 2 * i
        yield wide[:, ::2]


def event_instead_of_batch(example):
    yield example  # shape (LENGTH,): not a batch of one
"""


@pytest.mark.parametrize("length", [1, 300])  # 16 B and 4.8 KB events: both ways of storing
def test_batch_1_delivers_every_event_through_each_kind_of_worker(tmp_path, length):
    text = (
        f"buffer a : XY[{length}] slots=8\nbuffer b : XY[{length}] slots=8\n"
        f"buffer c : XY[{length}] slots=8\nbuffer d : XY[{length}] slots=8\n"
        f"buffer e : XY[{length}] slots=8\n"
        "importer src = workers.count_batches(n=300, size=1) -> a batch=1\n"
        "processor same = workers.identity() a -> b batch=1\n"
        "processor mid = workers.double_y_batch() b -> c batch=1\n"
        "filter even = workers.even_mask() c -> d batch=1\n"
        'exporter pass = workers.CollectBatches(path="OUT") d -> e batch=1\n'
        f'exporter save = workers.Collect(path="{tmp_path / "e"}") e\n'
    )
    result = compiled(text, tmp_path).run(timeout=60)
    evens = list(range(0, 300, 2))
    for got in (collected(tmp_path / "out"), collected(tmp_path / "e")):
        assert got["x"].tolist() == evens  # in order
        assert got["y"].tolist() == [4.0 * x for x in evens]
        assert got["counter"].tolist() == evens  # each row kept its metadata
    assert set(sizes(tmp_path)) == {1}
    workers = result.stats["workers"]
    assert workers["even"]["accepted"] == workers["even"]["discarded"] == 150
    for name in ("src", "same", "mid", "even", "pass"):
        assert workers[name]["events_per_call"] == 1.0
    assert_accounted(result.stats)


def test_batch_1_routes_other_results_as_a_batchs(tmp_path):
    """Pairs (rows, origin) to two outputs, a generator, masks per output and records of
    another field order take the checks and routing of any batch."""
    text = (
        "buffer a : XY slots=8\nbuffer b : XY slots=8\nbuffer even : XY slots=16\n"
        "buffer odd : XY slots=16\nbuffer twice : XY slots=16\nbuffer r0 : XY slots=8\n"
        "buffer r1 : XY slots=8\nbuffer r2 : XY slots=8\n"
        'importer src = "rows.py":swapped_rows(n=60) -> a batch=1\n'
        "processor record = workers.swapped_record() a -> b batch=1\n"
        "processor split = workers.split_even_batch() b -> even, odd batch=1\n"
        "processor again = workers.pairs_batch() odd -> twice batch=1\n"
        "filter pick = workers.remainder_masks() even -> r0, r1, r2 batch=1\n"
        f'exporter t = workers.Collect(path="{tmp_path / "t"}") twice\n'
        f'exporter s0 = workers.Collect(path="{tmp_path / "r0"}") r0\n'
        f'exporter s1 = workers.Collect(path="{tmp_path / "r1"}") r1\n'
        f'exporter s2 = workers.Collect(path="{tmp_path / "r2"}") r2\n'
    )
    (tmp_path / "rows.py").write_text(BATCH_1_CODE)
    result = flowc.compile_source(HEAD + text, base_dir=str(tmp_path)).run(timeout=60)
    evens = range(0, 60, 2)
    twice = collected(tmp_path / "t")
    assert twice["x"].tolist() == [x for x in range(1, 60, 2) for _ in range(2)]
    assert twice["counter"].tolist() == twice["x"].tolist()
    assert (twice["y"] == 2 * twice["x"]).all()
    assert collected(tmp_path / "r0")["x"].tolist() == [x for x in evens if x % 3 == 0 and x % 6]
    assert collected(tmp_path / "r1")["x"].tolist() == [x for x in evens if x % 3 == 1]
    assert collected(tmp_path / "r2")["x"].tolist() == [x for x in evens if x % 3 == 2]
    pick = result.stats["workers"]["pick"]
    assert pick["accepted"] == 20 and pick["discarded"] == 10
    assert_accounted(result.stats)


def test_batch_1_stores_a_one_row_view_that_is_not_contiguous(tmp_path):
    text = (
        "buffer a : XY[300] slots=4\n"
        'importer src = "rows.py":strided_rows(n=20) -> a batch=1\n'
        'exporter save = workers.CollectBatches(path="OUT") a batch=1\n'
    )
    (tmp_path / "rows.py").write_text(BATCH_1_CODE)
    flowc.compile_source(compiled_text(text, tmp_path), base_dir=str(tmp_path)).run(timeout=60)
    got = collected(tmp_path / "out")
    assert got["x"].tolist() == list(range(20))
    assert got["y"].tolist() == [2.0 * x for x in range(20)]


@pytest.mark.parametrize(
    ("worker", "said"),
    [
        (
            "processor mid = workers.wrong_rows() a -> b batch=1",
            "processor `mid` returned 2 rows for output `b` from a batch of 1 events",
        ),
        (
            "processor mid = workers.origin_out_of_range() a -> b batch=1",
            "processor `mid` returned origin 1 for output `b` from a batch of 1 events",
        ),
        (
            "filter mid = workers.short_mask() a -> b batch=1",
            "filter `mid` returned an array of shape (2,) and dtype bool for a batch of 1 events",
        ),
    ],
)
def test_batch_1_results_of_the_wrong_shape_fail_the_worker_by_name(tmp_path, worker, said):
    text = (
        "buffer a : XY slots=8\nbuffer b : XY slots=8\n"
        "importer src = workers.count_batches(n=8, size=1) -> a batch=1\n"
        f"{worker}\n"
        "exporter save = stdlib.sinks.null() b\n"
    )
    result = compiled(text, tmp_path).run(timeout=60, raise_on_failure=False)
    assert result.exit == 1 and result.failure.worker == "mid"
    assert said in result.failure.message


def test_batch_1_importer_yielding_an_event_instead_of_a_batch_fails_by_name(tmp_path):
    text = (
        "buffer a : XY[4] slots=8\n"
        'importer src = "rows.py":event_instead_of_batch() -> a batch=1\n'
        "exporter save = stdlib.sinks.null() a\n"
    )
    (tmp_path / "rows.py").write_text(BATCH_1_CODE)
    plan = flowc.compile_source(HEAD + text, base_dir=str(tmp_path))
    result = plan.run(timeout=60, raise_on_failure=False)
    assert result.failure.worker == "src"
    assert "importer `src` has batch=1 and yielded an array of shape (4,)" in result.failure.message
    assert "1 <= k <= 1" in result.failure.message


def test_batch_1_errors_count_one_event_each_and_name_it(tmp_path):
    text = (
        "buffer a : XY slots=8\nbuffer b : XY slots=8\n"
        "importer src = workers.count_batches(n=100, size=1) -> a batch=1\n"
        "processor mid = workers.fail_batch_with(at=55) a -> b batch=1 SKIP\n"
        'exporter save = workers.Collect(path="OUT") b\n'
    )
    result = compiled(text.replace("SKIP", "on_error=skip"), tmp_path).run(timeout=60)
    assert result.stats["workers"]["mid"]["errors"] == 1
    assert collected(tmp_path / "out")["x"].tolist() == [x for x in range(100) if x != 55]
    assert_accounted(result.stats)
    (tmp_path / "again").mkdir()
    failed = compiled(text.replace("SKIP", ""), tmp_path / "again").run(
        timeout=60, raise_on_failure=False
    )
    assert failed.failure.worker == "mid"
    assert failed.failure.message == "ValueError: bad batch with x=55 (at event 55 of `a`)"
