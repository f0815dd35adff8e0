"""Fixtures for the runtime tests: after every test, no shared memory and no process left."""

from __future__ import annotations

import os
import time

import pytest
from runtime_plans import descendants


def _flowc_names() -> set[str]:
    """Segments and semaphores of runs supervised by this process (other runs on the machine,
    other test sessions for instance, are none of this test's business)."""
    mine = (f"flowc_{os.getpid()}_", f"sem.flowc_{os.getpid()}_")
    return {n for n in os.listdir("/dev/shm") if n.startswith(mine)}


@pytest.fixture(autouse=True)
def no_leaks():
    """After every test: no new flowc segment or semaphore in /dev/shm, no child process alive."""
    before = _flowc_names()
    yield
    deadline = time.monotonic() + 1
    while time.monotonic() < deadline and (_flowc_names() - before or descendants()):
        time.sleep(0.05)
    assert _flowc_names() - before == set(), "shared memory left in /dev/shm"
    assert descendants() == [], "processes left behind"
