#!/usr/bin/env bash
# Runs the Ray backend tests in a network namespace of their own that has only loopback: Ray's
# processes listen on every interface and talk to the machine's own address, and they must reach
# nothing but 127.0.0.1. Needs root (unshare -n). Extra arguments go to pytest.
#   tests/raybackend/run_isolated.sh            # CI: after pip install -e ".[ray,test]"
#   tests/raybackend/run_isolated.sh -x -k cli  # a few of them
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! python -c "import ray" 2>/dev/null; then
  echo 'tests/raybackend/run_isolated.sh: Ray is not installed; the Ray tests skip (pip install "flowc[ray]")' >&2
fi

exec unshare --net bash -c '
  set -euo pipefail
  ip link set lo up
  export RAY_USAGE_STATS_ENABLED=0 RAY_NODE_IP_ADDRESS=127.0.0.1
  exec python -m pytest tests/raybackend -q "$@"
' run_isolated "$@"
