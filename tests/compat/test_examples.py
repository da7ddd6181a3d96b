"""The worked examples in scripts/examples/ run against an rcsim node, an rcsim cluster
(``rcsim up``, driven by redis-py's RedisCluster) and redis-server.

Each example asserts its own results (ranks, lock ownership, queue order, HLL error, geo radius,
bitmap counts), so the same run on the oracle shows the example itself is right.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

from tests.support.cluster import rcsim_cluster

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


@pytest.fixture(scope="module")
def rcsim_cluster_port():
    with rcsim_cluster(3) as (port, _run_dir):
        yield port


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


@pytest.mark.parametrize("name", NAMES)
def test_example_on_a_cluster(name, rcsim_cluster_port):
    """The same programs through RedisCluster: their keys share hash tags, so every multi-key
    command (BITOP, scripts, MSET-like pipelines) stays in one slot."""

    def new_client() -> RedisCluster:
        return RedisCluster(host="127.0.0.1", port=rcsim_cluster_port, decode_responses=True)

    client = new_client()
    try:
        run = _load(name).run
        result = run(client, new_client=new_client) if name == "queue" else run(client)
    finally:
        client.close()
    assert result
