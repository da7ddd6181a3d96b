#!/usr/bin/env bash
# 3-master rcsim cluster vs 3-master redis-server cluster, same run: requests per second ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/setup >/dev/null
exec .venv/bin/python scripts/bench/cluster.py "$@"
