#!/usr/bin/env bash
# redis-cli --cluster reshard of the same slots and keys on an rcsim cluster and on a
# redis-server cluster, same run: keys moved per second and their ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/setup >/dev/null
exec .venv/bin/python scripts/bench/reshard.py "$@"
