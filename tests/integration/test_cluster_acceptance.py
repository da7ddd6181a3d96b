"""Issue #3 acceptance on real processes: a 3-master cluster made by ``rcsim up``, driven by
redis-py's RedisCluster, ``redis-cli --cluster check``, a manual slot move and redis-benchmark."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
from redis.cluster import RedisCluster

from node.protocol.keyslot import key_slot
from tests.support.cluster import rcsim_cluster

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "redis-benchmark"], capture_output=True).returncode != 0,
    reason="redis tools not installed",
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[int]:
    """First port of a 3-master cluster made by ``rcsim up``."""
    with rcsim_cluster(3) as (port, _run_dir):
        yield port


def _node_ports(port: int) -> dict[str, int]:
    """node id -> client port, from CLUSTER NODES on one node."""
    text = _raw(port, "CLUSTER", "NODES")
    ports = {}
    for line in text.splitlines():
        fields = line.split()
        ports[fields[0]] = int(fields[1].split("@")[0].rsplit(":", 1)[1])
    return ports


def _raw(port: int, *args: str) -> object:
    """One command on a plain connection, reply not post-processed by redis-py's callbacks."""
    conn = redis.Redis(port=port, decode_responses=True)
    conn.response_callbacks.clear()
    try:
        return conn.execute_command(*args)
    finally:
        conn.close()


@pytest.mark.parametrize("protocol", [3, 2])
def test_redis_cluster_client(cluster: int, protocol: int) -> None:
    rc = RedisCluster(host="127.0.0.1", port=cluster, protocol=protocol, decode_responses=True)
    try:
        keys = [f"p{protocol}:key:{i}" for i in range(10_000)]
        assert len({key_slot(k.encode()) for k in keys}) > 5000
        pipe = rc.pipeline()
        for i, k in enumerate(keys):
            pipe.set(k, str(i))
        assert all(pipe.execute())
        pipe = rc.pipeline()
        for k in keys:
            pipe.get(k)
        assert pipe.execute() == [str(i) for i in range(10_000)]
        assert rc.get(keys[1234]) == "1234"

        tagged = {f"{{user{protocol}}}:{i}": f"v{i}" for i in range(20)}
        assert rc.mset(tagged) is True
        assert rc.mget(list(tagged)) == list(tagged.values())

        # redis-py refuses cross-slot MSET client-side, so ask a node directly.
        # Read the raw reply so the error code is visible (redis-py strips it into a class).
        plain = redis.Redis(port=cluster, protocol=protocol).connection_pool.get_connection()
        plain.send_command("MSET", "a", "1", "b", "2")
        with pytest.raises(redis.exceptions.ResponseError) as info:
            plain.read_response()
        plain.disconnect()
        assert type(info.value).__name__ in ("ResponseError", "ClusterCrossSlotError")
        assert "Keys in request don't hash to the same slot" in str(info.value)
        raw = socket.create_connection(("127.0.0.1", cluster))
        raw.sendall(b"MSET a 1 b 2\r\n")
        assert raw.recv(1024) == b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
        raw.close()

        tx = rc.pipeline(transaction=True)
        tx.set(f"{{tx{protocol}}}:a", "1")
        tx.incr(f"{{tx{protocol}}}:n")
        tx.get(f"{{tx{protocol}}}:a")
        # redis-py 8's cluster transaction skips the SET callback, so "OK" or True.
        ok, n, got = tx.execute()
        assert ok in (True, "OK") and (n, got) == (1, "1")
        assert rc.get(f"{{tx{protocol}}}:n") == "1"
    finally:
        rc.close()


def test_redis_cli_cluster_check(cluster: int) -> None:
    out = subprocess.run(
        ["redis-cli", "--cluster", "check", f"127.0.0.1:{cluster}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "[OK] All 16384 slots covered." in text
    assert "[ERR]" not in text and "[WARNING]" not in text, text


def _slot_owner_port(port: int, slot: int) -> int:
    for start, end, master, *_ in _raw(port, "CLUSTER", "SLOTS"):
        if start <= slot <= end:
            return int(master[1])
    raise AssertionError(f"slot {slot} not served")


def test_move_empty_slot(cluster: int) -> None:
    ports = _node_ports(cluster)
    by_port = {p: nid for nid, p in ports.items()}
    # An empty slot, and a key that hashes to it.
    key = next(
        f"move:{i}"
        for i in range(100_000)
        if _raw(
            _slot_owner_port(cluster, key_slot(f"move:{i}".encode())),
            "CLUSTER",
            "COUNTKEYSINSLOT",
            str(key_slot(f"move:{i}".encode())),
        )
        == 0
    )
    slot = key_slot(key.encode())
    old = _slot_owner_port(cluster, slot)
    target = next(p for p in ports.values() if p != old)
    target_id = by_port[target]
    for p in [target] + [p for p in ports.values() if p != target]:
        assert _raw(p, "CLUSTER", "SETSLOT", str(slot), "NODE", target_id) in ("OK", True)

    with socket.create_connection(("127.0.0.1", old)) as raw:
        raw.sendall(f"GET {key}\r\n".encode())
        assert raw.recv(1024) == f"-MOVED {slot} 127.0.0.1:{target}\r\n".encode()

    deadline = time.monotonic() + 2.0
    while True:
        nodes_ok = all(
            _slot_owner_port(p, slot) == target
            and any(
                line.split()[0] == target_id
                and any(
                    r == str(slot)
                    or (("-" in r) and int(r.split("-")[0]) <= slot <= int(r.split("-")[1]))
                    for r in line.split()[8:]
                    if not r.startswith("[")
                )
                for line in _raw(p, "CLUSTER", "NODES").splitlines()
            )
            for p in ports.values()
        )
        if nodes_ok:
            break
        assert time.monotonic() < deadline, "slot move did not propagate within 2 s"
        time.sleep(0.05)
    rc = redis.Redis(port=target)
    assert rc.set(key, "x") is True
    assert rc.get(key) == b"x"


def test_redis_benchmark_cluster(cluster: int) -> None:
    out = subprocess.run(
        ["redis-benchmark", "--cluster", "-p", str(cluster), "-q", "-t", "set,get", "-n", "20000"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    text = (out.stdout + out.stderr).replace("\r", "\n")
    assert out.returncode == 0, text
    bad = [line for line in text.splitlines() if "error" in line.lower() or "ERR" in line]
    assert not bad, text
    assert "SET:" in text and "GET:" in text, text
