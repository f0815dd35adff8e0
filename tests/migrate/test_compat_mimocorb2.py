"""flowc.compat.mimocorb2: mimoCoRB2 worker functions run unchanged as flowc workers."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import flowc
from flowc.compat.mimocorb2 import buffer_spec, parse_buffer_spec
from flowc.types import ElementType, FieldType

WORKERS = """
import time

import numpy as np
from mimocorb2 import Filter, Importer, IsAlive, Processor, Exporter


def numbers(buffer_io):
    importer = Importer(buffer_io)

    def ufunc():
        for i in range(buffer_io["n"]):
            event = np.zeros_like(importer.data_example)
            event["x"] = i
            yield event
        yield None

    importer(ufunc)
    # code after the template call runs at the end of the stream, as under mimoCoRB2
    (buffer_io.run_dir / "importer_done.txt").write_text("done")


def wrong_count(buffer_io):
    Processor(buffer_io)(lambda data: [data, data])


def split(buffer_io):
    def ufunc(data):
        return [data["x"][0] % 2 == 0, data["x"][0] % 3 == 0]

    Filter(buffer_io)(ufunc)


def needs_gain(buffer_io):
    gain = buffer_io["gain"]
    Processor(buffer_io)(lambda data: [data * gain])


def copy_raw(buffer_io):
    reader = buffer_io.read[0]
    while True:
        with reader as (metadata, data):
            if data is None:
                break
            with buffer_io.write[0] as (_, copy):
                copy[:] = data


def endless(buffer_io):
    i = 0
    while True:
        with buffer_io.write[0] as (_, data):
            data["x"] = i
        i += 1


def alive(buffer_io):
    is_alive = IsAlive(buffer_io)
    polls = 0
    while is_alive():
        polls += 1
        time.sleep(0.005)
    (buffer_io.run_dir / "alive.txt").write_text(str(polls))


def collect(buffer_io):
    seen = [int(data["x"][0]) for data, metadata in Exporter(buffer_io)]
    np.save(buffer_io.run_dir / f"{buffer_io.name}.npy", np.array(seen))
"""

EVENT = ElementType.struct([FieldType("x", "f8")])


def spec(name: str) -> str:
    return buffer_spec(name, EVENT, 1)


def worker(
    kind: str, function: str, tmp_path: Path, *, sources=(), sinks=(), observes=(), **config
) -> str:
    adapter = {
        "importer": "ImporterWorker",
        "processor": "ProcessorWorker",
        "filter": "FilterWorker",
        "exporter": "ExporterWorker",
        "observer": "ObserverWorker",
    }[kind]
    args = [
        'mimo_file="workers.py"',
        f'mimo_function="{function}"',
        f'mimo_name="{function}"',
        f'mimo_setup_dir="{tmp_path}"',
        f'mimo_run_dir="{tmp_path / "run"}"',
    ]
    if sources:
        args.append("mimo_sources=[" + ", ".join(f'"{spec(b)}"' for b in sources) + "]")
    if sinks:
        args.append("mimo_sinks=[" + ", ".join(f'"{spec(b)}"' for b in sinks) + "]")
    if observes:
        args.append("mimo_observes=[" + ", ".join(f'"{spec(b)}"' for b in observes) + "]")
    args += [f"{k}={v}" for k, v in config.items()]
    wiring = (" " + ", ".join(sources) if sources else "") + (
        " -> " + ", ".join(sinks) if sinks else ""
    )
    if observes:
        wiring += " observes " + ", ".join(observes)
    return f"{kind} {function} = flowc.compat.mimocorb2.{adapter}({', '.join(args)}){wiring}"


def run(tmp_path: Path, buffers: list[str], workers: list[str], timeout: float = 60):
    (tmp_path / "workers.py").write_text(textwrap.dedent(WORKERS))
    text = "\n".join([f"buffer {b} : {{x: f8}} slots=4" for b in buffers] + workers) + "\n"
    plan = flowc.compile_source(text)
    return plan.run(quiet=True, timeout=timeout)


def test_buffer_specs_round_trip_field_names_and_sub_arrays():
    element = ElementType.struct(
        [FieldType("1st_chA_h", "f4"), FieldType('odd "name"', "i2", (4, 2)), FieldType("ok", "b1")]
    )
    name, dtype, length = parse_buffer_spec(buffer_spec("params", element, 3))
    assert (name, dtype, length) == ("params", element.numpy, 3)
    assert parse_buffer_spec("wave: f4[1024]")[1:] == (np.dtype("f4"), 1024)
    strings = np.dtype([("name", "S10"), ("label", "U5", (2,))])
    assert parse_buffer_spec("t: {name: S10, label: U5[2]}[3]")[1:] == (strings, 3)
    for bad in ("raw", "raw: {x: f9}", "raw: {x: f8", "raw: f8[2] extra"):
        with pytest.raises(ValueError):
            parse_buffer_spec(bad)


@pytest.mark.runtime
def test_importer_filter_and_exporters_route_events_like_mimocorb2(tmp_path):
    result = run(
        tmp_path,
        ["raw", "even", "third"],
        [
            worker("importer", "numbers", tmp_path, sinks=["raw"], n=12),
            worker("filter", "split", tmp_path, sources=["raw"], sinks=["even", "third"]),
            worker("exporter", "collect", tmp_path, sources=["even"])
            .replace("exporter collect", "exporter evens")
            .replace('mimo_name="collect"', 'mimo_name="evens"'),
            worker("exporter", "collect", tmp_path, sources=["third"])
            .replace("exporter collect", "exporter thirds")
            .replace('mimo_name="collect"', 'mimo_name="thirds"'),
        ],
    )
    assert result.ok
    run_dir = tmp_path / "run"
    assert np.load(run_dir / "evens.npy").tolist() == [0, 2, 4, 6, 8, 10]
    assert np.load(run_dir / "thirds.npy").tolist() == [0, 3, 6, 9]
    assert (run_dir / "importer_done.txt").read_text() == "done"


@pytest.mark.runtime
def test_a_ufunc_returning_the_wrong_number_of_results_fails_the_run(tmp_path):
    with pytest.raises(flowc.RunError) as raised:
        run(
            tmp_path,
            ["raw", "out"],
            [
                worker("importer", "numbers", tmp_path, sinks=["raw"], n=3),
                worker("processor", "wrong_count", tmp_path, sources=["raw"], sinks=["out"]),
                "exporter drop = stdlib.sinks.null() out",
            ],
        )
    failure = raised.value.result.failure
    assert failure.worker == "wrong_count"
    assert "same length as the number of sinks (1), not 2" in failure.message


@pytest.mark.runtime
def test_code_written_for_another_template_says_which_kind_to_declare(tmp_path):
    with pytest.raises(flowc.RunError) as raised:
        run(
            tmp_path,
            ["raw", "out"],
            [
                worker("importer", "numbers", tmp_path, sinks=["raw"], n=3),
                worker("processor", "split", tmp_path, sources=["raw"], sinks=["out"]),
                "exporter drop = stdlib.sinks.null() out",
            ],
        )
    message = raised.value.result.failure.message
    assert "runs a mimoCoRB2 Filter, but the .flow declares it a processor" in message
    assert "declare it `filter`" in message


@pytest.mark.runtime
def test_a_missing_config_key_fails_with_mimocorb2s_message(tmp_path):
    with pytest.raises(flowc.RunError) as raised:
        run(
            tmp_path,
            ["raw", "out"],
            [
                worker("importer", "numbers", tmp_path, sinks=["raw"], n=3),
                worker("processor", "needs_gain", tmp_path, sources=["raw"], sinks=["out"]),
                "exporter drop = stdlib.sinks.null() out",
            ],
        )
    failure = raised.value.result.failure
    assert failure.worker == "needs_gain"
    assert "Key 'gain' not found in configuration of needs_gain" in failure.message
    assert "workers.py" in failure.traceback


@pytest.mark.runtime
def test_an_empty_stream_ends_a_reading_worker_and_an_isalive_observer(tmp_path):
    started = time.perf_counter()
    result = run(
        tmp_path,
        ["raw", "out"],
        [
            worker("importer", "numbers", tmp_path, sinks=["raw"], n=0),
            worker("processor", "copy_raw", tmp_path, sources=["raw"], sinks=["out"]),
            worker("observer", "alive", tmp_path, observes=["raw"]),
            "exporter drop = stdlib.sinks.null() out",
        ],
    )
    assert result.ok
    assert result.stats["buffers"]["out"]["written"] == 0
    assert (tmp_path / "run" / "alive.txt").exists()
    assert time.perf_counter() - started < 15


@pytest.mark.runtime
def test_a_worker_reading_and_writing_itself_passes_every_event_on(tmp_path):
    result = run(
        tmp_path,
        ["raw", "out"],
        [
            worker("importer", "numbers", tmp_path, sinks=["raw"], n=25),
            worker("processor", "copy_raw", tmp_path, sources=["raw"], sinks=["out"]),
            worker("exporter", "collect", tmp_path, sources=["out"]),
        ],
    )
    assert result.ok
    assert np.load(tmp_path / "run" / "collect.npy").tolist() == list(range(25))


@pytest.mark.runtime
def test_an_endless_writer_is_held_back_and_stopped_by_the_timeout(tmp_path):
    result = run(
        tmp_path,
        ["raw"],
        [
            worker("importer", "endless", tmp_path, sinks=["raw"]),
            worker("exporter", "collect", tmp_path, sources=["raw"]),
        ],
        timeout=1,
    )
    assert result.ok and result.stats["stopped"] == "timeout"
    seen = np.load(tmp_path / "run" / "collect.npy")
    assert len(seen) > 0
    assert seen.tolist() == list(range(len(seen)))  # in order, none lost on the way
    assert result.stats["buffers"]["raw"]["written"] == len(seen)


def test_mimobuffer_describes_a_buffer_as_mimocorb2s_does():
    from flowc.compat.mimocorb2 import mimoBuffer

    buffer = mimoBuffer.from_setup(
        "raw", {"slot_count": 8, "data_length": 4, "data_dtype": {"ch1": "f4", "n": "i2"}}
    )
    assert (buffer.name, buffer.slot_count, buffer.data_length) == ("raw", 8, 4)
    assert buffer.data_example.shape == (4,) and buffer.data_example.dtype.names == ("ch1", "n")
    assert buffer.metadata_example.dtype.names == ("counter", "timestamp", "deadtime")
    assert buffer.flush_event_received.value is False


def test_deadtime_is_seen_as_mimocorb2s_ratio_of_the_time_between_events():
    from flowc.compat.mimocorb2 import DeadtimeRatio
    from flowc.types import META_DTYPE

    def meta(counter, timestamp, blocked):
        record = np.zeros((), META_DTYPE)
        record["counter"], record["timestamp"], record["deadtime"] = counter, timestamp, blocked
        return record

    ratio = DeadtimeRatio()
    assert ratio(meta(0, 10.0, 0.0))["deadtime"][0] == 0.0
    # 0.025 s blocked of the 0.1 s since the previous event
    assert ratio(meta(1, 10.1, 0.025))["deadtime"][0] == pytest.approx(0.25)
    # events 2 and 3 were not seen (a filter took them): 0.3 s over 3 events, 0.1 s each
    assert ratio(meta(4, 10.4, 0.05))["deadtime"][0] == pytest.approx(0.5)
    assert ratio(meta(5, 10.45, 0.2))["deadtime"][0] == 1.0  # never more than all of it
    seen = ratio(meta(6, 10.5, 0.0))
    assert seen["counter"][0] == 6 and seen["timestamp"][0] == 10.5  # the rest unchanged


FEB_2025 = """
import numpy as np
from mimocorb2.mimo_buffer import mimoBuffer
from mimocorb2.worker_templates import Exporter, Importer

DATA = 0
METADATA = 1


def numbers(*mimo_args):
    importer = Importer(mimo_args)
    assert isinstance(importer.writer.buffer, mimoBuffer)

    def ufunc():
        for i in range(importer.config["n"]):
            yield i  # a plain number into the {x} buffer, as mimoCoRB2 assigns it
        yield None

    importer(ufunc)


def collect(*mimo_args):
    sources, sinks, observes, config = mimo_args
    exporter = Exporter(mimo_args)
    seen = [(float(data["x"][0]), float(meta["deadtime"][0])) for data, meta in exporter]
    np.save(config["run_directory"] + f"/{config['name']}.npy", np.array(seen))
"""


@pytest.mark.runtime
def test_feb_2025_workers_get_their_mimo_args_and_see_deadtime_ratios(tmp_path):
    (tmp_path / "feb.py").write_text(textwrap.dedent(FEB_2025))
    spec = buffer_spec("raw", EVENT, 1)
    text = "\n".join(
        [
            "buffer raw : {x: f8} slots=2",
            f'importer numbers = flowc.compat.mimocorb2.ImporterWorker(mimo_file="feb.py", '
            f'mimo_function="numbers", mimo_name="numbers", mimo_setup_dir="{tmp_path}", '
            f'mimo_run_dir="{tmp_path / "run"}", mimo_sinks=["{spec}"], n=40) -> raw',
            f'exporter collect = flowc.compat.mimocorb2.ExporterWorker(mimo_file="feb.py", '
            f'mimo_function="collect", mimo_name="collect", mimo_setup_dir="{tmp_path}", '
            f'mimo_run_dir="{tmp_path / "run"}", mimo_sources=["{spec}"]) raw',
        ]
    )
    result = flowc.compile_source(text + "\n").run(quiet=True, timeout=60)
    assert result.ok
    seen = np.load(tmp_path / "run" / "collect.npy")
    assert seen[:, 0].tolist() == list(range(40))
    assert ((seen[:, 1] >= 0) & (seen[:, 1] <= 1)).all()
