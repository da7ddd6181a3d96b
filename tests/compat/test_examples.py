"""The worked examples in scripts/examples/ run against rcsim and against redis-server.

Each example asserts its own results (ranks, lock ownership, queue order, HLL error, geo radius,
bitmap counts), so the same run on the oracle shows the example itself is right.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import redis

EXAMPLES = Path(__file__).resolve().parents[2] / "scripts" / "examples"
NAMES = ["leaderboard", "lock", "queue", "unique_visitors", "nearby_drivers", "daily_actives"]


def _load(name: str):
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location(
            f"rcsim_example_{name}", EXAMPLES / f"{name}.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EXAMPLES))


@pytest.mark.parametrize("server", ["rcsim", "redis"])
@pytest.mark.parametrize("name", NAMES)
def test_example(name, server, rcsim_node, redis_node):
    port = rcsim_node.port if server == "rcsim" else redis_node.port
    client = redis.Redis(port=port, decode_responses=True)
    try:
        result = _load(name).run(client)
    finally:
        client.close()
    assert result
