"""Fixtures of the live-page tests: a flow file of the test workers, `flowc run --serve` in
subprocesses that are all ended after the test, and after every test the check that no
process, shared memory segment or live folder is left."""

from __future__ import annotations

import glob
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from serve_helpers import Served, flow_text  # noqa: E402

RUNTIME_TESTS = HERE.parent / "runtime"
if str(RUNTIME_TESTS) not in sys.path:
    sys.path.insert(0, str(RUNTIME_TESTS))

from runtime_plans import descendants  # noqa: E402

LIVE_FOLDERS = os.path.join(tempfile.gettempdir(), "flowc_live_*")


@pytest.fixture(autouse=True)
def nothing_left():
    """After every test: no process, no shared memory segment of ours, no live folder."""

    def left():
        mine = f"flowc_{os.getpid()}_"
        segments = [n for n in os.listdir("/dev/shm") if mine in n]
        return segments, descendants(), glob.glob(LIVE_FOLDERS)

    before = set(glob.glob(LIVE_FOLDERS))
    yield
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (left()[0] or left()[1] or set(left()[2]) - before):
        time.sleep(0.05)
    segments, processes, folders = left()
    assert segments == [], "shared memory left in /dev/shm"
    assert processes == [], f"processes left behind: {processes}"
    assert set(folders) - before == set(), "a live folder left"


@pytest.fixture
def write_flow(tmp_path):
    def write(n: int = 0, delay: float = 0.001) -> Path:
        path = tmp_path / "live.flow"
        path.write_text(flow_text(n, delay))
        return path

    return write


@pytest.fixture
def serve_cli(tmp_path):
    """Start `flowc run ... --serve 127.0.0.1:0`; every process started is ended afterwards."""
    started: list[Served] = []

    def start(*args: str) -> Served:
        served = Served(*args, "--serve", "127.0.0.1:0", cwd=tmp_path)
        started.append(served)
        return served

    yield start
    for served in started:
        if served.process.poll() is None:
            served.process.kill()
        served.process.communicate()
