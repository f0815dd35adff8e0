"""The standard workers in running pipelines: what one pipeline writes, the readers read back;
the event builder pairs exactly the matching triggers; swmr_follow processes a file another
process writes; the HDF5 sink records the plan of the run; the checker holds the workers'
signatures against the buffers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest
from flowc.stdlib import processors, sources
from swmr_writers import WRITER

import flowc

pytestmark = pytest.mark.runtime

SHM = Path("/dev/shm")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def segments() -> set[str]:
    return {p.name for p in SHM.glob("flowc_*")}


def leaked(before: set[str]) -> set[str]:
    """Segments that appeared since `before` whose supervisor is gone."""
    gone = set()
    for name in segments() - before:
        match = re.match(r"flowc_(\d+)_", name)
        if not (match and Path(f"/proc/{match.group(1)}").exists()):
            gone.add(name)
    return gone


def run_flow(folder: Path, text: str, **overrides) -> dict:
    flow = folder / "test.flow"
    flow.write_text(textwrap.dedent(text).lstrip())
    before = segments()
    result = flowc.compile_file(flow, overrides=overrides).run(timeout=60)
    assert result.ok and result.exit == 0
    assert not leaked(before)
    return result.stats


def flowc_command(*args: str, cwd: Path, **environment: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flowc", *args],
        cwd=cwd,
        env=dict(os.environ, NO_COLOR="1", **environment),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_what_the_sinks_write_the_readers_read_back(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stats = run_flow(
        tmp_path,
        """
        const N = 150
        type Sample = {ch0: f4, ch1: f4}
        type Pulse  = {channel: i2, time: f8, height: f8, integral: f8, baseline: f8}
        type Short  = {h: f4, t: f4}
        buffer raw    : Sample[512] slots=16
        buffer pulses : Pulse slots=64
        buffer short  : Short slots=64
        buffer kept   : Short slots=64
        importer  sim    = stdlib.sources.pulses(n=N, seed=5)                 -> raw
        processor finder = stdlib.processors.find_pulses(threshold=0.1)       raw -> pulses
        processor narrow = stdlib.processors.project(
            fields=["height", "time"], names=["h", "t"], types=["f4", "f4"],
        ) pulses -> short
        filter    every2 = stdlib.filters.prescale(n=2)                       short -> kept
        exporter  npy    = stdlib.sinks.npy(path="out/kept.npy", metadata=true) kept
        exporter  table  = stdlib.sinks.csv(path="out/kept.csv")             kept
        exporter  h5     = stdlib.sinks.hdf5(path="out/kept.h5")             kept
        exporter  raws   = stdlib.sinks.hdf5(path="out/raw.h5", swmr=true)   raw
        observer  scope  = stdlib.monitors.oscilloscope(png="out/scope.png") observes raw
        """,
    )
    short = np.dtype([("h", "f4"), ("t", "f4")])
    kept = np.load("out/kept.npy")
    assert kept.dtype == short and len(kept) == stats["buffers"]["kept"]["written"]
    assert len(kept) == (stats["buffers"]["short"]["written"] + 1) // 2 > 10
    assert (kept["h"] >= 0.1).all()
    with h5py.File("out/kept.h5") as handle:
        assert np.array_equal(handle["events"][...], kept)
    with h5py.File("out/raw.h5") as handle:
        assert handle["events"].shape == (150, 512) and handle["finished"][()] == 1
    example = np.zeros(1, short)
    read_back = {
        "npy": list(sources.npy("out/kept.npy", example=example)),
        "csv": list(sources.csv("out/kept.csv", example=example)),
        "hdf5": list(sources.hdf5("out/kept.h5", example=example)),
        "replay": list(sources.replay("out/kept.npy", example=example, speed=0)),
    }
    for name, events in read_back.items():
        assert np.array_equal(np.concatenate(events), kept), name

    stats = run_flow(
        tmp_path,
        """
        type Short = {h: f4, t: f4}
        buffer again  : Short slots=8
        buffer npys   : Short slots=8
        buffer h5s    : Short slots=8
        buffer some   : Short slots=8
        buffer waves  : {ch0: f4, ch1: f4}[512] slots=8
        importer  csv    = stdlib.sources.csv(path="out/kept.csv")          -> again
        importer  npy    = stdlib.sources.npy(path="out/kept.npy")          -> npys
        importer  h5     = stdlib.sources.hdf5(path="out/kept.h5")          -> h5s
        importer  replay = stdlib.sources.replay(path="out/raw.h5", speed=0) -> waves
        exporter  save   = stdlib.sinks.npy(path="out/again.npy")           again
        filter    half   = stdlib.filters.sample(fraction=0.5, seed=1)      npys -> some
        exporter  drop   = stdlib.sinks.null()                              some
        exporter  h5copy = stdlib.sinks.npy(path="out/h5.npy")              h5s
        exporter  copy   = stdlib.sinks.npy(path="out/waves.npy")           waves
        """,
    )
    assert np.array_equal(np.load("out/again.npy"), kept)
    assert np.array_equal(np.load("out/h5.npy"), kept)
    with h5py.File("out/raw.h5") as handle:
        assert np.array_equal(np.load("out/waves.npy"), handle["events"][...])
    assert stats["buffers"]["npys"]["written"] == len(kept)
    assert 0 < stats["buffers"]["some"]["consumed"]["drop"] < len(kept)


def test_a_reader_without_its_file_fails_the_run_naming_worker_and_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "missing.flow").write_text(
        "buffer b : f8 slots=4\n"
        'importer load = stdlib.sources.npy(path="nowhere.npy") -> b\n'
        "exporter s = stdlib.sinks.null() b\n"
    )
    before = segments()
    with pytest.raises(flowc.RunError) as raised:
        flowc.compile_file(tmp_path / "missing.flow").run(timeout=60)
    failure = raised.value.result.failure
    assert failure.worker == "load" and "no file 'nowhere.npy'" in failure.message
    assert not leaked(before)


def test_event_builder_in_a_pipeline_pairs_exactly_the_matching_triggers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_flow(
        tmp_path,
        """
        const N = 400
        type Hit = {energy: f8}
        buffer a_raw : Hit slots=16
        buffer b_raw : Hit slots=16
        buffer a : Hit slots=16
        buffer b : Hit slots=16
        buffer both : {a_energy: f8, b_energy: f8} slots=16
        importer  a_adc = stdlib.sources.pulses(n=N, seed=1, noise=0.002) -> a_raw
        importer  b_adc = stdlib.sources.pulses(n=N, seed=2, noise=0.002) -> b_raw
        filter    a_cut = stdlib.filters.select(field="energy", min=0.3)   a_raw -> a
        filter    b_cut = stdlib.filters.select(field="energy", min=0.3)   b_raw -> b
        processor build = stdlib.processors.event_builder(inputs=["a", "b"]) a, b -> both
        exporter  save  = stdlib.sinks.npy(path="out/both.npy", metadata=true) both
        """,
    )
    hit = np.zeros(1, [("energy", "f8")])
    a = np.concatenate(list(sources.pulses(n=400, example=hit, seed=1, noise=0.002)))["energy"]
    b = np.concatenate(list(sources.pulses(n=400, example=hit, seed=2, noise=0.002)))["energy"]
    expected = np.flatnonzero((a >= 0.3) & (b >= 0.3))
    built = np.load("out/both.npy")
    counters = np.load("out/both_meta.npy")["counter"]
    order = np.argsort(counters)
    assert list(counters[order]) == list(expected)
    assert np.array_equal(built["a_energy"][order], a[expected])
    assert np.array_equal(built["b_energy"][order], b[expected])


def test_swmr_follow_processes_a_file_another_process_writes(tmp_path):
    (tmp_path / "follow.flow").write_text(
        textwrap.dedent(
            """
            buffer frames : f8[8] slots=8
            importer  follow = stdlib.sources.swmr_follow(
                path="live.h5", datasets=["data"], keys=["key"], finished="finished", timeout=10,
            ) -> frames
            exporter  save   = stdlib.sinks.npy(path="frames.npy") frames
            """
        ).lstrip()
    )
    arguments = [str(tmp_path / "live.h5"), "0.5", "60", "60", "100", "yes", "0"]
    writer = subprocess.Popen([sys.executable, "-c", WRITER, *arguments])
    try:
        completed = flowc_command("run", "follow.flow", "--quiet", cwd=tmp_path)
    finally:
        writer.wait(30)
    assert completed.returncode == 0, completed.stderr
    assert writer.returncode == 0
    frames = np.load(tmp_path / "frames.npy")
    assert frames.shape == (60, 8) and list(frames[:, 0]) == list(range(60))
    assert "60 frame(s)" in completed.stderr and "finished flag" in completed.stderr


def test_the_swmr_example_writer_and_a_follower_run_as_two_commands(tmp_path):
    """The recipe of examples/README.md: the writer in the background, flowc following."""
    (tmp_path / "follow.flow").write_text(
        textwrap.dedent(
            """
            buffer frames : f4[256] slots=8
            importer follow = stdlib.sources.swmr_follow(
                path="out/live/frames.h5",
                datasets=["entry/data"],
                keys=["entry/keys"],
                finished="entry/finished",
            ) -> frames
            exporter save = stdlib.sinks.npy(path="frames.npy") frames
            """
        ).lstrip()
    )
    writer = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "swmr_writer.py"), "out/live/frames.h5"]
        + ["--frames", "150", "--rate", "300", "--length", "256"],
        cwd=tmp_path,
    )
    try:
        completed = flowc_command("run", "follow.flow", "--quiet", cwd=tmp_path)
    finally:
        writer.wait(30)
    assert completed.returncode == 0, completed.stderr
    assert writer.returncode == 0
    with h5py.File(tmp_path / "out" / "live" / "frames.h5") as written:
        assert np.array_equal(np.load(tmp_path / "frames.npy"), written["entry/data"][...])
    assert "150 frame(s)" in completed.stderr


def test_hdf5_sink_records_the_plan_of_the_run_given_in_the_environment(tmp_path):
    flow = tmp_path / "record.flow"
    flow.write_text(
        textwrap.dedent(
            """
            pipeline record
            const N = 40
            buffer raw : {ch0: f4}[64] slots=8
            importer sim  = stdlib.sources.pulses(n=N, seed=1) -> raw
            exporter save = stdlib.sinks.hdf5(path="out/raw.h5", chunk=16) raw
            """
        ).lstrip()
    )
    plan = flowc_command("plan", str(flow), "--set", "N=25", cwd=tmp_path)
    assert plan.returncode == 0, plan.stderr
    (tmp_path / "plan.json").write_text(plan.stdout)
    completed = flowc_command(
        "run", str(flow), "--set", "N=25", "--quiet", cwd=tmp_path, FLOWC_PLAN="plan.json"
    )
    assert completed.returncode == 0, completed.stderr
    compiled = flowc.compile_file(flow, overrides={"N": 25})
    with h5py.File(tmp_path / "out" / "raw.h5") as handle:
        assert handle["events"].shape == (25, 64) and handle["events"].chunks == (16, 64)
        assert list(handle["meta"]["counter"]) == list(range(25))
        attributes = dict(handle.attrs)
    assert attributes["flowc_plan_hash"] == compiled.hash
    assert attributes["flowc_source"] == flow.read_text()
    assert json.loads(attributes["flowc_overrides"]) == {"N": 25}
    assert attributes["flowc_pipeline"] == "record"


@pytest.mark.parametrize(
    ("statement", "code", "words"),
    [
        (
            'processor f = stdlib.processors.find_pulses(threshold=0.1, channels=["ch9"]) raw -> out',
            "E203",
            "no field `ch9`",
        ),
        (
            "processor f = stdlib.processors.find_pulses(threshold=0.1) raw -> wrong",
            "E202",
            "produces",
        ),
        ('processor f = stdlib.processors.project(names=["x"]) raw -> out', "E204", "`fields`"),
        ('filter f = stdlib.filters.prescale(n="2") raw -> copy', "E204", "takes an int"),
        (
            'processor f = stdlib.processors.event_builder(inputs=["raw", "raw2"], field="id") '
            "raw, raw2 -> out",
            "E203",
            "no field `id`",
        ),
        (
            'importer f = stdlib.sources.swmr_follow(path="x.h5", datasets="d") -> raw2',
            "E204",
            "takes a list",
        ),
    ],
)
def test_the_checker_holds_the_standard_signatures_against_the_buffers(statement, code, words):
    text = (
        textwrap.dedent(
            """
        buffer raw  : {ch0: f4}[64] slots=4
        buffer raw2 : {ch0: f4}[64] slots=4
        buffer copy : {ch0: f4}[64] slots=4
        buffer out  : {channel: i2, time: f8, height: f8, integral: f8, baseline: f8} slots=4
        buffer wrong : {height: f8} slots=4
        importer g = stdlib.sources.pulses(n=1) -> raw
        """
        )
        + statement
        + "\n"
    )
    with pytest.raises(flowc.FlowError) as raised:
        flowc.compile_source(text)
    found = [d for d in raised.value.diagnostics if d.code == code]
    assert found and any(words in d.message for d in found), raised.value.diagnostics


def test_the_pulse_type_of_the_finder_is_the_one_it_declares():
    record = np.zeros(1, processors.PULSE)
    text = (
        "buffer raw : f4[64] slots=4\n"
        f"buffer out : {processors.PULSE_TYPE} slots=4\n"
        "importer g = stdlib.sources.pulses(n=1) -> raw\n"
        "processor f = stdlib.processors.find_pulses(threshold=0.1) raw -> out\n"
        "exporter s = stdlib.sinks.null() out\n"
    )
    plan = flowc.compile_source(text)
    assert plan.buffer("out").dtype == record.dtype
