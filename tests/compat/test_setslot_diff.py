"""CLUSTER SETSLOT and the slot-migration routing against the oracle: two cluster-enabled
rcsim nodes and two cluster-enabled redis-servers, joined the same way, get the same SETSLOT
sequence (node ids normalised); replies, the ``[s->-id]``/``[s-<-id]`` markers of CLUSTER
NODES, and ASK / TRYAGAIN / MOVED / ASKING answers must match byte for byte."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from node.protocol.keyslot import key_slot
from tests.support.procs import ServerProcess, free_port, start_rcsim, start_redis
from tests.support.rawclient import RawClient

SLOT = key_slot(b"{b}a")  # 3300: {b}a and {b}b share it, on node A
assert SLOT < 8192


def _pair(kind: str) -> list[ServerProcess]:
    nodes = []
    for _ in range(2):
        if kind == "rcsim":
            nodes.append(start_rcsim("--port", str(free_port()), "--cluster-enabled", "yes"))
        else:
            nodes.append(start_redis("--cluster-enabled", "yes"))
    return nodes


@pytest.fixture(scope="module")
def pairs() -> Iterator[dict[str, list[ServerProcess]]]:
    started: dict[str, list[ServerProcess]] = {}
    try:
        for kind in ("rcsim", "redis"):
            started[kind] = _pair(kind)
        for nodes in started.values():
            a, b = (RawClient(n.port) for n in nodes)
            assert a.call("CLUSTER", "ADDSLOTSRANGE", 0, 8191) == b"+OK\r\n"
            assert b.call("CLUSTER", "ADDSLOTSRANGE", 8192, 16383) == b"+OK\r\n"
            assert a.call("CLUSTER", "MEET", "127.0.0.1", nodes[1].port) == b"+OK\r\n"
            deadline = time.monotonic() + 15
            while not all(
                c.call("CLUSTER", "NODES").count(b"connected") == 2
                and b"handshake" not in c.call("CLUSTER", "NODES")
                and b"cluster_state:ok" in c.call("CLUSTER", "INFO")
                for c in (a, b)
            ):
                assert time.monotonic() < deadline, "nodes did not meet"
                time.sleep(0.1)
            a.close()
            b.close()
        yield started
    finally:
        for nodes in started.values():
            for node in nodes:
                node.stop()


def _myid(client: RawClient) -> bytes:
    return client.call("CLUSTER", "MYID").split(b"\r\n")[1]


def _markers(client: RawClient, names: dict[bytes, bytes]) -> list[bytes]:
    """The migration markers of the myself line, node ids replaced by names."""
    text = client.call("CLUSTER", "NODES")
    mine = next(line for line in text.split(b"\n") if b"myself" in line)
    out = [token for token in mine.split() if token.startswith(b"[")]
    for node_id, name in names.items():
        out = [token.replace(node_id, name) for token in out]
    return out


def _scenario(nodes: list[ServerProcess]) -> list[bytes]:
    a, b = (RawClient(n.port) for n in nodes)
    id_a, id_b = _myid(a), _myid(b)
    names = {id_a: b"<A>", id_b: b"<B>"}
    out: list[bytes] = []

    def record(reply: bytes) -> None:
        for node_id, name in names.items():
            reply = reply.replace(node_id, name)
        out.append(
            reply.replace(b":%d" % nodes[0].port, b":<A>").replace(b":%d" % nodes[1].port, b":<B>")
        )

    try:
        a.call("FLUSHALL")
        record(a.call("SET", "{b}a", "1"))
        record(a.call("SET", "{b}b", "2"))
        record(a.call("CLUSTER", "SETSLOT", SLOT, "MIGRATING", "f" * 40))
        record(a.call("CLUSTER", "SETSLOT", SLOT, "MIGRATING"))
        record(a.call("CLUSTER", "SETSLOT", SLOT, "BOGUS", id_b))
        record(a.call("CLUSTER", "SETSLOT", 16384, "STABLE"))
        record(a.call("CLUSTER", "SETSLOT", "x", "STABLE"))
        record(b.call("CLUSTER", "SETSLOT", SLOT, "MIGRATING", id_a))  # not the owner
        record(a.call("CLUSTER", "SETSLOT", SLOT, "IMPORTING", id_b))  # already the owner
        record(a.call("CLUSTER", "SETSLOT", SLOT, "NODE", id_b))  # still has keys
        record(b.call("CLUSTER", "SETSLOT", SLOT, "IMPORTING", id_a))
        record(a.call("CLUSTER", "SETSLOT", SLOT, "MIGRATING", id_b))
        out.append(b" ".join(_markers(a, names)))
        out.append(b" ".join(_markers(b, names)))
        record(a.call("MIGRATE", "127.0.0.1", nodes[1].port, "{b}a", 0, 5000))
        record(a.call("GET", "{b}a"))  # moved: ASK
        record(a.call("GET", "{b}b"))  # still here: served
        record(a.call("MGET", "{b}a", "{b}b"))  # mixed: TRYAGAIN
        record(a.call("SET", "{b}new", "x"))  # missing here: ASK
        record(b.call("GET", "{b}a"))  # importing without ASKING: MOVED
        record(b.call("ASKING"))
        record(b.call("GET", "{b}a"))  # with ASKING: served
        record(b.call("GET", "{b}a"))  # the flag is one-shot: MOVED again
        record(b.call("ASKING"))
        record(b.call("MGET", "{b}a", "{b}b"))  # several keys, some missing: TRYAGAIN
        record(a.call("MIGRATE", "127.0.0.1", nodes[1].port, "", 0, 5000, "KEYS", "{b}b"))
        record(b.call("CLUSTER", "SETSLOT", SLOT, "NODE", id_b))
        record(a.call("CLUSTER", "SETSLOT", SLOT, "NODE", id_b))
        out.append(b" ".join(_markers(a, names)) + b"|" + b" ".join(_markers(b, names)))
        record(a.call("GET", "{b}a"))  # now MOVED
        record(b.call("GET", "{b}b"))
        # and back, then STABLE clears a half-open state
        record(a.call("CLUSTER", "SETSLOT", SLOT, "IMPORTING", id_b))
        record(b.call("CLUSTER", "SETSLOT", SLOT, "MIGRATING", id_a))
        record(b.call("MIGRATE", "127.0.0.1", nodes[0].port, "", 0, 5000, "KEYS", "{b}a", "{b}b"))
        record(a.call("CLUSTER", "SETSLOT", SLOT, "NODE", id_a))
        record(b.call("CLUSTER", "SETSLOT", SLOT, "NODE", id_a))
        record(a.call("CLUSTER", "SETSLOT", SLOT, "MIGRATING", id_b))
        record(a.call("CLUSTER", "SETSLOT", SLOT, "STABLE"))
        out.append(b" ".join(_markers(a, names)))
        record(a.call("MGET", "{b}a", "{b}b"))
    finally:
        a.close()
        b.close()
    return out


def test_setslot_and_migration_routing_match_redis(pairs) -> None:
    ours = _scenario(pairs["rcsim"])
    theirs = _scenario(pairs["redis"])
    for i, (x, y) in enumerate(zip(ours, theirs, strict=True)):
        assert x == y, (i, x, y)
