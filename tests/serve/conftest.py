"""Fixtures of the live-page tests: a flow file of the test workers, and `flowc run --serve`
in subprocesses that are all ended after the test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from serve_helpers import Served, flow_text  # noqa: E402


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
