"""Fixtures for the Ray backend tests: one local Ray cluster for the session (started only in a
network namespace that has nothing but loopback), and a `backend` fixture that runs the same
scenario on the local runtime and on Ray.

Run them with `tests/ray/run_isolated.sh`; elsewhere the Ray cases skip and say why.
"""

from __future__ import annotations

import logging
import os
import time

import pytest
from ray_support import Backend, flowc_segments, live_actors, ray_skip_reason

_ACTOR_GONE_WAIT_S = 15.0


@pytest.fixture(scope="session")
def ray_cluster() -> str:
    """A local Ray cluster on 127.0.0.1 for the whole session; yields its GCS address."""
    reason = ray_skip_reason()
    if reason:
        pytest.skip(reason)
    import ray

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(
        address="local",
        _node_ip_address="127.0.0.1",
        include_dashboard=False,
        num_cpus=2,
        logging_level=logging.WARNING,
    )
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(params=["local", "ray"])
def backend(request):
    """Each test using it runs on both backends; after a Ray run no actor may be left."""
    if request.param == "ray":
        request.getfixturevalue("ray_cluster")
    segments_before = flowc_segments()
    yield Backend(request.param)
    if request.param == "ray":
        deadline = time.monotonic() + _ACTOR_GONE_WAIT_S
        while live_actors() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert live_actors() == [], "actors left running in the cluster"
    assert flowc_segments() - segments_before == set(), "shared memory left in /dev/shm"
