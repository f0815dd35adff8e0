"""The Ray backend (SPEC section 8): a plan partitioned by node, each partition run on its node
by the local shared-memory runtime inside a Ray actor, the buffers between nodes bridged.

    placement.py  which node runs each worker; each node's sub-plan and the bridges
    bridge.py     how a buffer crosses between nodes (bridge workers and their actor ends)
    driver.py     starts the partitions, passes stop/drain/pause on, merges the statistics
"""

from flowc.backends.ray.driver import RayRun, run, start
from flowc.backends.ray.placement import PlacementError

__all__ = ["PlacementError", "RayRun", "run", "start"]
