"""Fixtures for the Ray backend tests: one Ray cluster of two nodes, `a` (the head, where the
tests' driver runs) and `b`, both on 127.0.0.1, for the whole session (Ray starts slowly), and
a `backend` fixture that runs the same scenario on the local runtime and on Ray.

Ray starts only in a network namespace that has nothing but loopback: run these tests with
`tests/raybackend/run_isolated.sh`; elsewhere the Ray cases skip and say why.
"""

from __future__ import annotations

import logging
import os

import pytest
from ray_support import Backend, flowc_segments, no_actor_left, ray_skip_reason

# the cluster notices a lost node within about this many seconds
_HEALTH_CHECK = {"health_check_period_ms": 500, "health_check_failure_threshold": 4}


@pytest.fixture(scope="session")
def cluster():
    """`ray.cluster_utils.Cluster` with the nodes `a` (head) and `b`; the tests' process is
    connected to it as the driver."""
    reason = ray_skip_reason()
    if reason:
        pytest.skip(reason)
    import ray
    from ray.cluster_utils import Cluster

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 2,
            "node_ip_address": "127.0.0.1",
            "node_name": "a",
            "include_dashboard": False,
            "_system_config": _HEALTH_CHECK,
        },
    )
    cluster.add_node(num_cpus=2, node_ip_address="127.0.0.1", node_name="b")
    ray.init(address=cluster.address, logging_level=logging.WARNING)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


@pytest.fixture(scope="session")
def ray_cluster(cluster) -> str:
    """The address of the session's cluster."""
    return cluster.address


@pytest.fixture(params=["local", "ray"])
def backend(request):
    """Each test using it runs on both backends; after a Ray run no actor may be left."""
    if request.param == "ray":
        request.getfixturevalue("cluster")
    segments_before = flowc_segments()
    yield Backend(request.param)
    if request.param == "ray":
        assert no_actor_left(), "actors left running in the cluster"
    assert flowc_segments() - segments_before == set(), "shared memory left in /dev/shm"
