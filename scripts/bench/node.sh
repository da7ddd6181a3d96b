#!/usr/bin/env bash
# rcsim node vs redis-server, same run: requests per second and memory ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/setup >/dev/null
exec .venv/bin/python scripts/bench/node.py "$@"
