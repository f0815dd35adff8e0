"""Fixtures for the control tests: after every test, no shared memory and no process left."""

from __future__ import annotations

import time

import pytest
from control_helpers import descendants, flowc_names


@pytest.fixture(autouse=True)
def no_leaks():
    before = flowc_names()
    yield
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and (flowc_names() - before or descendants()):
        time.sleep(0.05)
    assert flowc_names() - before == set(), "shared memory left in /dev/shm"
    assert descendants() == [], "processes left behind"
