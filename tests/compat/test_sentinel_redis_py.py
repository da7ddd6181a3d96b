"""SENTINEL on rcsim nodes against a real Sentinel 7.0.15 (``redis-server --sentinel`` over a
real master and replica): the same field names in the same order, the same error bytes and
RESP3 types; and redis-py's ``Sentinel`` client working against rcsim nodes.

A standalone rcsim node answers for one shard, ``shard-0`` (its replication group); the cluster
side is covered by tests/unit/test_sentinel.py and tests/integration/test_failover_acceptance.py.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.sentinel import Sentinel

from tests.support import waiting
from tests.support.procs import ServerProcess, free_port, start_rcsim, start_redis
from tests.support.rawclient import RawClient
from tests.support.resp import header, parse

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")

NAME = "mymaster"  # the real Sentinel's name for its master; rcsim's is shard-0


# Nodes are killed, restarted and failed over under these tests: a refused or reset
# connection, or a redis-py error, means "not yet".
wait_for = functools.partial(waiting.wait_for, retry_on=(OSError, redis.RedisError))


@pytest.fixture(scope="module")
def real() -> Iterator[int]:
    """A real master, its replica, and a Sentinel monitoring them; yields the Sentinel port."""
    master = start_redis()
    replica = start_redis("--replicaof", "127.0.0.1", str(master.port))
    workdir = Path(tempfile.mkdtemp(prefix="sentinel-test-"))
    port = free_port()
    conf = workdir / "sentinel.conf"
    conf.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {workdir}\n"
        f"sentinel monitor {NAME} 127.0.0.1 {master.port} 1\n"
        f"sentinel down-after-milliseconds {NAME} 1000\n"
    )
    proc = subprocess.Popen(
        ["redis-server", str(conf), "--sentinel"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        wait_for("the Sentinel to find the replica", lambda: client.sentinel_slaves(NAME), 15)
        client.close()
        yield port
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
        replica.stop()
        master.stop()


@pytest.fixture(scope="module")
def ours() -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """An rcsim master and an rcsim replica of it (REPLICAOF), the replica synced."""
    master = start_rcsim()
    replica = start_rcsim()
    try:
        with redis.Redis(port=replica.port) as r:
            r.execute_command("REPLICAOF", "127.0.0.1", master.port)
            wait_for(
                "the rcsim replica to sync",
                lambda: r.info("replication").get("master_link_status") == "up",
            )
        yield master, replica
    finally:
        replica.stop()
        master.stop()


def call(port: int, *args: str, protocol: int = 2) -> bytes:
    with RawClient(port) as client:
        if protocol == 3:
            client.call("HELLO", "3")
        return client.call(*args)


def keys(entry: object) -> list[bytes]:
    """Field names of one instance entry (``parse`` flattens RESP3 maps like RESP2 arrays)."""
    assert isinstance(entry, list)
    return entry[0::2]


def head(raw: bytes) -> bytes:
    """The aggregate headers of an instance list: ``*1\\r\\n%20\\r\\n``..."""
    first, rest = raw.split(b"\r\n", 2)[:2]
    return first + b"\r\n" + rest + b"\r\n"


@pytest.mark.parametrize("protocol", [2, 3])
def test_masters_fields_and_types_match_sentinel(real, ours, protocol):
    master, _ = ours
    theirs = call(real, "SENTINEL", "MASTERS", protocol=protocol)
    mine = call(master.port, "SENTINEL", "MASTERS", protocol=protocol)
    assert head(mine) == head(theirs)
    assert keys(parse(mine)[0]) == keys(parse(theirs)[0])  # type: ignore[index]
    one_theirs = call(real, "SENTINEL", "MASTER", NAME, protocol=protocol)
    one_mine = call(master.port, "SENTINEL", "MASTER", "shard-0", protocol=protocol)
    assert keys(parse(one_mine)) == keys(parse(one_theirs))


@pytest.mark.parametrize("protocol", [2, 3])
def test_replicas_fields_match_sentinel(real, ours, protocol):
    master, replica = ours
    theirs = call(real, "SENTINEL", "REPLICAS", NAME, protocol=protocol)
    for port in (master.port, replica.port):
        mine = call(port, "SENTINEL", "REPLICAS", "shard-0", protocol=protocol)
        assert head(mine) == head(theirs)
        assert keys(parse(mine)[0]) == keys(parse(theirs)[0])  # type: ignore[index]
        # SLAVES is REPLICAS: same fields (values such as the offset and the ping times move).
        alias = call(port, "SENTINEL", "SLAVES", "shard-0", protocol=protocol)
        assert head(alias) == head(mine)
        assert keys(parse(alias)[0]) == keys(parse(mine)[0])  # type: ignore[index]


@pytest.mark.parametrize("protocol", [2, 3])
@pytest.mark.parametrize(
    "args",
    [
        ("SENTINEL", "MASTER", "nope"),
        ("SENTINEL", "REPLICAS", "nope"),
        ("SENTINEL", "SLAVES", "nope"),
        ("SENTINEL", "SENTINELS", "nope"),
        ("SENTINEL", "CKQUORUM", "nope"),
        ("SENTINEL", "FAILOVER", "nope"),
        ("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nope"),
        ("SENTINEL",),
        ("SENTINEL", "MASTERS", "x"),
        ("SENTINEL", "MASTER"),
        ("SENTINEL", "MYID", "x"),
        ("SENTINEL", "nosuch"),
        ("SENTINEL", "HELP"),
    ],
)
def test_errors_and_fixed_replies_match_sentinel(real, ours, args, protocol):
    master, _ = ours
    assert call(master.port, *args, protocol=protocol) == call(real, *args, protocol=protocol)


def test_addresses_quorum_and_ids(real, ours):
    master, replica = ours
    theirs = call(real, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME)
    mine = call(replica.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "shard-0")
    assert header(mine) == header(theirs) == b"*2"
    assert parse(mine) == [b"127.0.0.1", str(master.port).encode()]
    assert call(real, "SENTINEL", "CKQUORUM", NAME).startswith(b"+OK 1 usable Sentinels.")
    assert call(master.port, "SENTINEL", "CKQUORUM", "shard-0") == call(
        real, "SENTINEL", "CKQUORUM", NAME
    )
    assert len(call(master.port, "SENTINEL", "MYID")) == len(call(real, "SENTINEL", "MYID"))


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_sentinel_master_for_and_slave_for(ours, protocol):
    master, replica = ours
    sentinel = Sentinel(
        [("127.0.0.1", master.port)],
        socket_timeout=2,
        sentinel_kwargs={"protocol": protocol},
        protocol=protocol,
    )
    assert sentinel.discover_master("shard-0") == ("127.0.0.1", master.port)
    assert sentinel.discover_slaves("shard-0") == [("127.0.0.1", replica.port)]
    writer = sentinel.master_for("shard-0", socket_timeout=2)
    reader = sentinel.slave_for("shard-0", socket_timeout=2)
    value = b"v%d" % protocol
    writer.set("sentinel:k", value)
    assert writer.get("sentinel:k") == value
    wait_for("the replica to serve the write", lambda: reader.get("sentinel:k") == value)
    assert reader.execute_command("ROLE")[0] == b"slave"  # the reads really go to a replica
