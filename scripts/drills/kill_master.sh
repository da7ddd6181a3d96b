#!/usr/bin/env bash
# Failover drill: start a 3 masters x 1 replica rcsim cluster (cluster-node-timeout 1000 ms),
# SIGKILL a master RUNS times (default 5), and print for each run the time to detect (first
# node flags it FAIL), to elect (its replica is a master) and to recover (every node
# cluster_state:ok and a write to the shard succeeds), then the medians. The killed node is
# restarted each time and must rejoin as a replica before the next run.
#
#   RUNS=5 RCSIM_PORT=7100 NODE_TIMEOUT=1000 ./scripts/drills/kill_master.sh [--shard shard-1]
#
# With RCSIM_DIR set to the run directory of a cluster that is already up, the drill runs on
# it and leaves it running.
set -euo pipefail
cd "$(dirname "$0")/../.."
rcsim() { .venv/bin/python -c 'from cluster.cli import main; main()' "$@"; }
RUNS="${RUNS:-5}"
if [ -n "${RCSIM_DIR:-}" ]; then
    rcsim drill kill-master --dir "$RCSIM_DIR" --runs "$RUNS" "$@"
    exit
fi
DIR="$(mktemp -d -t rcsim-drill-XXXXXX)"
trap 'rcsim down --dir "$DIR" >/dev/null 2>&1 || true; rm -rf "$DIR"' EXIT
rcsim up --masters 3 --replicas 1 --port "${RCSIM_PORT:-7100}" --dir "$DIR" \
    --node-timeout "${NODE_TIMEOUT:-1000}" >/dev/null
rcsim drill kill-master --dir "$DIR" --runs "$RUNS" "$@"
