"""swmr_follow against a writer in another process: it picks up frames written after it
started, takes only frames whose keys are written, and stops at the finished flag or the
timeout."""

from __future__ import annotations

import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from flowc.stdlib import sources
from swmr_writers import WRITER


@pytest.fixture
def writer(tmp_path):
    started = []

    def start(delay=0.3, frames=20, keys=None, rate=100.0, finish=True, linger=0.0):
        path = tmp_path / "live.h5"
        args = [delay, frames, frames if keys is None else keys, rate, "yes" if finish else "no"]
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), *map(str, args), str(linger)]
        )
        started.append(process)
        return str(path)

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


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
