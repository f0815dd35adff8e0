"""Every example pipeline checks clean, runs to completion, graphs, and leaves nothing behind."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import flowc
from flowc.callables import CallableTarget, resolve

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SHM = Path("/dev/shm")

# smaller constants for the test runs, so that each takes a second or two
SMALL = {
    "pulses.flow": ["N=400"],
    "waveforms.flow": ["N=300"],
    "broadcast.flow": ["N=300"],
    "parallel.flow": ["N=150"],
    "fanin.flow": ["N=200"],
    "oscilloscope.flow": ["N=300", "RATE=0"],
    "swmr.flow": ["FRAMES=200", "RATE=1000"],
    "eventbuild.flow": ["N=600", "RATE=0"],
    "batched.flow": ["N=1000", "BATCH=64"],
}
PULSE = np.dtype([("height", "f8"), ("time", "f8"), ("channel", "i2"), ("shape", "f4", (16,))])


def example_files() -> list[str]:
    return sorted(p.name for p in EXAMPLES.glob("*.flow"))


def flowc_command(
    *args: str, cwd: Path, timeout: float = 120, **environment: str
) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1", **environment)
    return subprocess.run(
        [sys.executable, "-m", "flowc", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def flowc_segments() -> set[str]:
    return {p.name for p in SHM.glob("flowc_*")}


def leaked_segments(before: set[str]) -> set[str]:
    """Segments that appeared since `before` and whose supervisor is gone (others' live runs
    on the same machine are not ours to judge)."""
    leaked = set()
    for name in flowc_segments() - before:
        match = re.match(r"flowc_(\d+)_", name)
        if match and Path(f"/proc/{match.group(1)}").exists():
            continue
        leaked.add(name)
    return leaked


def test_every_example_is_there_with_a_header_comment():
    assert set(SMALL) <= set(example_files())
    for name in example_files():
        first = (EXAMPLES / name).read_text().splitlines()[0]
        assert first.startswith(f"# {name}: "), f"{name} starts with {first!r}"


def test_pulses_example_holds_the_spec_statements_verbatim():
    text = (EXAMPLES / "pulses.flow").read_text()
    for line in (
        "importer  sim    = stdlib.sources.pulses(n=N, rate=5000)            -> raw",
        'processor finder = "peaks.py":find_pulses(threshold=0.2)     raw   -> pulses   processes=2',
        'filter    cut    = stdlib.filters.select(field="height", min=0.3) pulses -> kept',
        'exporter  save   = stdlib.sinks.npy(path="out/kept.npy")       kept',
        'observer  scope  = stdlib.monitors.histogram(field="height", bins=50) observes pulses',
    ):
        assert line in text


@pytest.mark.parametrize("name", example_files())
def test_example_checks_clean(name, tmp_path):
    completed = flowc_command("check", str(EXAMPLES / name), "--format", "json", cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = json.loads(completed.stdout)
    assert report == {"ok": True, "diagnostics": []}


@pytest.mark.parametrize("name", example_files())
def test_example_graphs(name, tmp_path):
    completed = flowc_command("graph", str(EXAMPLES / name), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    plan = flowc.compile_file(EXAMPLES / name)
    assert completed.stdout.lstrip().startswith("digraph")
    for worker in plan.workers:
        assert worker.name in completed.stdout


@pytest.mark.runtime
@pytest.mark.parametrize("name", example_files())
def test_example_runs_to_completion_and_accounts_for_every_event(name, tmp_path):
    before = flowc_segments()
    sets = [arg for value in SMALL.get(name, []) for arg in ("--set", value)]
    stats_path = tmp_path / "stats.json"
    completed = flowc_command(
        "run",
        str(EXAMPLES / name),
        *sets,
        "--quiet",
        "--timeout",
        "60",
        "--stats",
        str(stats_path),
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert not leaked_segments(before)
    stats = json.loads(stats_path.read_text())
    assert stats["stopped"] == "completed" and stats["exit"] == 0
    for buffer, counts in stats["buffers"].items():
        for worker, consumed in counts["consumed"].items():
            left = counts["left"][worker]
            assert counts["written"] == consumed + counts["dropped"] + left, (buffer, worker)
            assert left == 0, f"{worker} finished with {left} events of {buffer} unread"
    CHECK_OUTPUTS[name](tmp_path, stats, completed.stderr)


def check_pulses(folder: Path, stats: dict, stderr: str) -> None:
    kept = np.load(folder / "out" / "kept.npy")
    assert kept.dtype == PULSE and kept.ndim == 1
    assert len(kept) == stats["buffers"]["kept"]["consumed"]["save"] > 0
    assert (kept["height"] >= 0.3).all()
    assert stats["buffers"]["raw"]["written"] == 400
    assert "histogram of height" in stderr


def check_waveforms(folder: Path, stats: dict, stderr: str) -> None:
    out = folder / "out" / "waveforms"
    waves = np.load(out / "waveforms.npy")
    assert waves.shape == (300, 1024) and waves.dtype == np.float32
    pulses = np.load(out / "pulses.npy")
    assert pulses.dtype == PULSE and (pulses["channel"] == 0).all()
    samples = json.loads((out / "samples.json").read_text())
    assert sum(samples["counts"]) + samples["underflow"] + samples["overflow"] == samples["entries"]
    assert samples["entries"] % 1024 == 0 and samples["entries"] > 0


def check_broadcast(folder: Path, stats: dict, stderr: str) -> None:
    out = folder / "out" / "broadcast"
    raw = np.load(out / "raw.npy")
    meta = np.load(out / "raw_meta.npy")
    assert raw.shape == (300, 1024) and raw.dtype.names == ("ch0", "ch1")
    assert list(meta["counter"]) == list(range(300))
    assert (np.diff(meta["timestamp"]) >= 0).all()
    with h5py.File(out / "raw.h5") as copy:
        assert np.array_equal(copy["events"][...], raw), "both sinks saw every event"
        assert np.array_equal(copy["meta"][...], meta)
    assert stats["buffers"]["raw"]["consumed"] == {"archive": 300, "copy": 300}
    assert "rate: raw" in stderr


def check_parallel(folder: Path, stats: dict, stderr: str) -> None:
    hits = np.load(folder / "out" / "parallel" / "hits.npy")
    assert hits.dtype.names == ("amplitude", "time", "channel") and len(hits) > 0
    assert (hits["amplitude"] >= 0.3).all()
    amplitudes = np.load(folder / "out" / "parallel" / "amplitudes.npz")
    assert amplitudes["counts"].shape == (40,) and amplitudes["entries"] > 0
    assert stats["buffers"]["raw"]["consumed"] == {"matched": 150}


def check_fanin(folder: Path, stats: dict, stderr: str) -> None:
    assert stats["buffers"]["raw"]["written"] == 400
    assert stats["workers"]["left"]["events_out"] == stats["workers"]["right"]["events_out"] == 200
    pulses = np.load(folder / "out" / "fanin" / "pulses.npy")
    meta = np.load(folder / "out" / "fanin" / "pulses_meta.npy")
    assert len(pulses) == len(meta) > 0
    assert set(np.unique(pulses["channel"])) <= {0, 1}


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def check_oscilloscope(folder: Path, stats: dict, stderr: str) -> None:
    out = folder / "out" / "oscilloscope"
    with h5py.File(out / "pulses.h5") as archive:
        pulses = archive["events"][...]
        meta = archive["meta"][...]
        assert archive["events"].compression == "gzip" and archive["events"].chunks
    assert len(pulses) == len(meta) == stats["buffers"]["pulses"]["written"] > 0
    assert pulses.dtype.names == ("channel", "time", "height", "integral", "baseline")
    assert (pulses["height"] >= 0.1).all() and set(np.unique(pulses["channel"])) == {0, 1}
    assert set(meta["counter"]) <= set(range(300))
    assert is_png(out / "scope.png") and is_png(out / "heights.png")
    assert "histogram of height" in stderr


def check_swmr(folder: Path, stats: dict, stderr: str) -> None:
    out = folder / "out" / "swmr"
    with h5py.File(out / "frames.h5") as frames:
        assert frames["entry/data"].shape == (200, 1024) and frames["entry/finished"][()] == 1
    assert stats["buffers"]["frames"]["written"] == 200
    with h5py.File(out / "pulses.h5", "r", swmr=True) as pulses:
        assert len(pulses["events"]) == stats["buffers"]["pulses"]["written"] > 0
        assert pulses["finished"][()] == 1
    assert "200 frame(s)" in stderr and "stopped by the finished flag" in stderr


def check_eventbuild(folder: Path, stats: dict, stderr: str) -> None:
    out = folder / "out" / "eventbuild"
    left = stats["workers"]["left_cut"]["events_out"]
    right = stats["workers"]["right_cut"]["events_out"]
    with h5py.File(out / "coincidences.h5") as archive:
        built = archive["events"][...]
        meta = archive["meta"][...]
    assert 0 < len(built) <= min(left, right)
    assert len(set(meta["counter"])) == len(built), "each trigger is built once"
    assert (built["left_energy"] >= 0.05).all() and (built["right_energy"] >= 0.05).all()
    table = np.genfromtxt(out / "coincidences.csv", delimiter=",", names=True)
    assert np.array_equal(table["counter"], meta["counter"])
    assert np.allclose(table["right_energy"], built["right_energy"], rtol=0, atol=0)
    assert is_png(out / "left_energy.png")
    assert f"built {len(built)} events by counter" in stderr


def check_batched(folder: Path, stats: dict, stderr: str) -> None:
    out = folder / "out" / "batched"
    kept = np.load(out / "kept.npy")
    assert len(kept) == stats["buffers"]["kept"]["consumed"]["save"] > 0
    assert (kept["height"] >= 0.3).all()
    assert stats["buffers"]["raw"]["written"] == 1000
    heights = json.loads((out / "heights.json").read_text())
    assert heights["events"] == len(kept) and f"{len(kept)} events counted" in stderr
    assert stats["workers"]["finder"]["events_per_call"] > 1


CHECK_OUTPUTS = {
    "pulses.flow": check_pulses,
    "waveforms.flow": check_waveforms,
    "broadcast.flow": check_broadcast,
    "parallel.flow": check_parallel,
    "fanin.flow": check_fanin,
    "oscilloscope.flow": check_oscilloscope,
    "swmr.flow": check_swmr,
    "eventbuild.flow": check_eventbuild,
    "batched.flow": check_batched,
}


@pytest.mark.runtime
def test_pulses_example_runs_from_python(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = flowc_segments()
    plan = flowc.compile_file(EXAMPLES / "pulses.flow", overrides={"N": 200})
    result = plan.run(timeout=60)
    assert result.ok and result.exit == 0
    assert result.stats["buffers"]["raw"]["written"] == 200
    saved = result.stats["buffers"]["kept"]["consumed"]["save"]
    assert len(np.load(tmp_path / "out" / "kept.npy")) == saved
    assert not leaked_segments(before)


@pytest.mark.runtime
@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_file_workers_importing_each_other_run_under_every_start_method(start_method, tmp_path):
    before = flowc_segments()
    completed = flowc_command(
        "run",
        str(EXAMPLES / "parallel.flow"),
        "--set",
        "N=60",
        "--quiet",
        "--stats",
        "stats.json",
        cwd=tmp_path,
        FLOWC_START_METHOD=start_method,
    )
    assert completed.returncode == 0, completed.stderr
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["buffers"]["raw"]["consumed"] == {"matched": 60}
    hits = np.load(tmp_path / "out" / "parallel" / "hits.npy")
    assert len(hits) == stats["buffers"]["hits"]["written"]
    assert not leaked_segments(before)


@pytest.mark.slow
@pytest.mark.runtime
@pytest.mark.parametrize("name", example_files())
def test_example_runs_with_its_default_constants_in_well_under_30_seconds(name, tmp_path):
    start = time.monotonic()
    completed = flowc_command("run", str(EXAMPLES / name), "--quiet", cwd=tmp_path, timeout=60)
    elapsed = time.monotonic() - start
    assert completed.returncode == 0, completed.stderr
    assert elapsed < 30, f"{name} took {elapsed:.1f} s"


# --- the example workers on their own ------------------------------------------------------------


def example_worker(file: str, name: str):
    return resolve(CallableTarget("file", str(EXAMPLES / file), name))


def test_find_pulses_measures_height_and_crossing_time():
    find_pulses = example_worker("peaks.py", "find_pulses")
    wave = np.zeros(400, "f4")
    wave[100:] += 0.8 * np.exp(-np.arange(300) / 20.0)
    wave[250:] += 0.5 * np.exp(-np.arange(150) / 20.0)
    found = np.concatenate(list(find_pulses(wave, threshold=0.2)))
    assert found["height"] == pytest.approx([0.8, 0.5 + 0.8 * np.exp(-150 / 20)], abs=1e-6)
    assert found["time"][0] == pytest.approx(99.25)
    assert found["time"][1] == pytest.approx(249, abs=1)
    assert list(found["channel"]) == [0, 0]
    assert found["shape"][0][4] == pytest.approx(0.8)
    assert list(find_pulses(np.zeros(400, "f4"), threshold=0.2)) == []


def test_find_pulses_numbers_channels_by_field():
    find_pulses = example_worker("peaks.py", "find_pulses")
    event = np.zeros(300, [("ch0", "f4"), ("ch1", "f4")])
    event["ch1"][150:] = 0.6
    found = np.concatenate(list(find_pulses(event, threshold=0.2, sample_time=0.5)))
    assert list(found["channel"]) == [1]
    assert found["time"][0] == pytest.approx(149.5 * 0.5, abs=0.5)


def test_matched_filter_finds_pulses_buried_in_noise():
    matched = example_worker("matched.py", "MatchedFilter")(threshold=0.3)
    rng = np.random.default_rng(5)
    wave = rng.normal(0, 0.1, 4096)
    wave[1000:1256] += 0.7 * matched.template
    wave[3000:3256] += 0.5 * matched.template
    hits = np.concatenate(list(matched.process(wave)))
    assert list(hits["time"]) == pytest.approx([1000, 3000], abs=3)
    assert list(hits["amplitude"]) == pytest.approx([0.7, 0.5], abs=0.1)
