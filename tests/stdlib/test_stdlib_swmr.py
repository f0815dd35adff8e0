"""swmr_follow against a writer in another process: it picks up frames written after it
started, takes only frames whose keys are written, stops at the finished flag or the timeout,
follows a grid scan point by point, and reads Blosc-compressed files through hdf5plugin."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from flowc.stdlib import sources
from swmr_writers import GRID_WRITER, WRITER


@pytest.fixture
def launch():
    """Start a writer script in its own process; each is killed, if still running, at the end."""
    started = []

    def start(script: str, *args) -> None:
        started.append(subprocess.Popen([sys.executable, "-c", script, *map(str, args)]))

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


@pytest.fixture
def writer(tmp_path, launch):
    def start(delay=0.3, frames=20, keys=None, rate=100.0, finish=True, linger=0.0):
        path = tmp_path / "live.h5"
        keys = frames if keys is None else keys
        launch(WRITER, path, delay, frames, keys, rate, "yes" if finish else "no", linger)
        return str(path)

    return start


def wait_for_keys(path: str, count: int, limit: float = 20.0) -> None:
    """Wait until the writer has written `count` keys (its start-up time is not the test's)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with h5py.File(path, "r", swmr=True) as handle:
                if "key" in handle and handle["key"].shape[0] >= count:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"the writer wrote fewer than {count} keys in {limit} s")


def test_follower_picks_up_frames_written_after_it_started(writer, tmp_path):
    path = writer(delay=0.5, frames=40, rate=50)
    started = time.time()
    arrivals, frames = [], []
    for event in sources.swmr_follow(
        path, ["data"], example=np.zeros(8, "f8"), keys=["key"], finished="finished", timeout=5
    ):
        arrivals.append(time.time())
        frames.append(event.copy())
    with h5py.File(path, "r") as handle:
        written_at = handle["written_at"][...]
    assert [int(f[0]) for f in frames] == list(range(40))
    assert written_at[0] > started + 0.3, "the file did not exist when the follower started"
    assert arrivals[0] < written_at[-1], "the first frame arrived while the file was written"
    lag = np.asarray(arrivals) - written_at
    assert np.median(lag) < 0.3


def test_follower_takes_only_frames_whose_key_is_written(writer, capsys):
    path = writer(delay=0.0, frames=10, keys=6)
    events = list(sources.swmr_follow(path, ["data"], keys=["key"], finished="finished", timeout=5))
    assert [int(e[0]) for e in events] == list(range(6))
    assert "stopped by the finished flag" in capsys.readouterr().err


def test_follower_without_keys_follows_the_data_length(writer):
    path = writer(delay=0.0, frames=12)
    example = np.zeros(1, [("data", "f8", (8,))])
    events = list(sources.swmr_follow(path, ["data"], example=example, finished="finished"))
    assert [int(e["data"][0, 0]) for e in events] == list(range(12))


def test_follower_stops_at_the_timeout_when_the_writer_goes_quiet(writer, capsys):
    path = writer(delay=0.0, frames=5, finish=False, linger=10)
    wait_for_keys(path, 5)
    started = time.monotonic()
    events = list(sources.swmr_follow(path, ["data"], keys=["key"], timeout=0.6, poll=0.02))
    elapsed = time.monotonic() - started
    assert len(events) == 5
    assert 0.6 <= elapsed < 3.0
    assert "stopped by the timeout" in capsys.readouterr().err


def test_follower_gives_up_on_a_file_that_never_appears(tmp_path):
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="could not be followed within 0.3 s: no such file"):
        next(sources.swmr_follow(str(tmp_path / "never.h5"), ["data"], timeout=0.3))
    assert time.monotonic() - started < 2


def test_follower_fills_struct_fields_and_refuses_a_misfit(writer):
    path = writer(delay=0.0, frames=3)
    with pytest.raises(ValueError, match="no dataset fills field 'energy'"):
        example = np.zeros(1, [("data", "f8", (8,)), ("energy", "f8")])
        next(sources.swmr_follow(path, ["data"], example=example, timeout=5))
    with pytest.raises(ValueError, match="holds 8 values, but the event holds 4"):
        next(sources.swmr_follow(path, ["data"], example=np.zeros(4, "f8"), timeout=5))


@pytest.fixture
def grid_writer(tmp_path, launch):
    def start(points=12, period=0.05, compress="none"):
        path = tmp_path / "grid.h5"
        launch(GRID_WRITER, path, points, period, compress)
        return str(path)

    return start


def test_a_grid_scan_yields_every_point_as_soon_as_its_key_is_set(grid_writer):
    # the writer stops in the middle of the second row: a follower of rows would give 4
    path = grid_writer(points=6, period=0.05)
    events = list(
        sources.swmr_follow(
            path, ["data"], example=np.zeros(10, "f8"), keys=["key"], finished="finished"
        )
    )
    assert [e.tolist() for e in events] == [[i + 1.0] * 10 for i in range(6)]


def test_a_whole_grid_scan_gives_its_12_points_in_order_while_it_is_written(grid_writer):
    path = grid_writer(points=12, period=0.25)
    arrivals, values = [], []
    for event in sources.swmr_follow(
        path,
        ["data"],
        example=np.zeros(1, [("data", "f8", (2, 5))]),
        keys=["key"],
        finished="finished",
        timeout=10,
        poll=0.01,
    ):
        arrivals.append(time.time())
        values.append(float(event["data"][0, 0, 0]))
    assert values == [float(i + 1) for i in range(12)]
    with h5py.File(path, "r") as handle:
        written_at = handle["written_at"][...].reshape(-1)
    # each point comes well before the rest of its row (3 x 0.25 s) is written
    lag = np.asarray(arrivals) - written_at
    assert np.median(lag) < 0.2, lag


def test_data_that_does_not_fit_the_keys_scan_is_refused(grid_writer, tmp_path):
    path = tmp_path / "misfit.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("key", data=np.ones((3, 4)))
        handle.create_dataset("data", data=np.ones((3, 5, 2)))
    with pytest.raises(
        ValueError, match=r"does not hold a frame per point of a scan of shape \(n, 4\)"
    ):
        next(sources.swmr_follow(str(path), ["data"], keys=["key"], timeout=1))


def test_a_blosc_compressed_grid_scan_is_read_through_hdf5plugin(grid_writer):
    pytest.importorskip("hdf5plugin", reason="the Blosc filter comes with hdf5plugin")
    path = grid_writer(points=12, period=0.01, compress="blosc")
    events = list(sources.swmr_follow(path, ["data"], keys=["key"], finished="finished"))
    assert [float(e[0, 0]) for e in events] == [float(i + 1) for i in range(12)]
    with h5py.File(path, "r") as handle:
        assert "32001" in handle["data"]._filters  # the Blosc filter


FOLLOW_WITHOUT_HDF5PLUGIN = """
import sys
sys.modules["hdf5plugin"] = None  # as if it were not installed
from flowc.stdlib import sources
try:
    list(sources.swmr_follow(sys.argv[1], ["data"], keys=["key"], finished="finished"))
except RuntimeError as exc:
    print(exc)
"""


def test_without_hdf5plugin_a_compressed_file_says_what_to_install(tmp_path):
    hdf5plugin = pytest.importorskip("hdf5plugin", reason="writing a Blosc file needs it")
    path = tmp_path / "blosc.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset(
            "data", data=np.ones((3, 4, 64, 64)), chunks=(1, 1, 64, 64), **hdf5plugin.Blosc()
        )
        handle.create_dataset("key", data=np.ones((3, 4, 1, 1)), chunks=(1, 4, 1, 1))
        handle.create_dataset("finished", data=np.int8(1))
    empty = tmp_path / "no-plugins"
    empty.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", FOLLOW_WITHOUT_HDF5PLUGIN, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HDF5_PLUGIN_PATH": str(empty)},
    )
    assert "compressed with blosc" in done.stdout.lower(), done.stdout + done.stderr
    assert "pip install hdf5plugin" in done.stdout
