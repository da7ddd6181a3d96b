"""Cluster routing (``node.routing``) through the dispatcher, with a stub cluster view.

Each test builds a cluster-enabled ``NodeState`` whose ``cluster`` is a small stub with the
attributes the router reads (slot table, myself, migrating/importing maps, state), then runs
requests through ``node.core.execute`` and checks the exact reply bytes, as Redis's
getNodeByQuery + clusterRedirectClient would produce them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest

from node.config import Config
from node.core import execute
from node.protocol.keyslot import key_slot
from node.protocol.resp import encode
from node.session import Session
from node.state import NodeState
from tests.support.nodes import make_node

NOW = 1_700_000_000_000
ME, OTHER, THIRD = "a" * 40, "b" * 40, "c" * 40
EXECABORT = b"-EXECABORT Transaction discarded because of previous errors.\r\n"


@dataclass
class StubNode:
    node_id: str
    ip: str
    port: int
    hostname: str = ""
    is_replica: bool = False
    master_id: str | None = None


@dataclass
class StubConfig:
    preferred_endpoint_type: str = "ip"


@dataclass
class StubCluster:
    myself: StubNode
    nodes: dict[str, StubNode]
    slots: list[str | None] = field(default_factory=lambda: [None] * 16384)
    migrating_to: dict[int, str] = field(default_factory=dict)
    importing_from: dict[int, str] = field(default_factory=dict)
    state_ok: bool = True
    config: StubConfig = field(default_factory=StubConfig)

    def lookup(self, node_id: str | None) -> StubNode | None:
        return None if node_id is None else self.nodes.get(node_id)


SLOT_A = key_slot(b"a")  # 15495
SLOT_FOO = key_slot(b"foo")  # 12182


def make_cluster_node(**directives: str) -> NodeState:
    config = Config()
    config.set("cluster-enabled", "yes", startup=True)
    for name, value in directives.items():
        config.set(name.replace("_", "-"), value, startup=True)
    node = make_node(config, rng=random.Random(3), now_ms=NOW)
    me = StubNode(ME, "127.0.0.1", 7000)
    other = StubNode(OTHER, "127.0.0.1", 7001, hostname="other.example")
    third = StubNode(THIRD, "127.0.0.1", 7002)
    cluster = StubCluster(me, {ME: me, OTHER: other, THIRD: third})
    for slot in range(16384):
        cluster.slots[slot] = ME if slot < 8192 else OTHER
    node.cluster = cluster  # type: ignore[attr-defined]
    return node


@pytest.fixture
def node() -> NodeState:
    return make_cluster_node()


@pytest.fixture
def s(node: NodeState) -> Session:
    return Session(node, 1)


def run(session: Session, *args: str | bytes) -> bytes:
    argv = [a.encode() if isinstance(a, str) else a for a in args]
    return encode(execute(session, argv), session.resp3)


def mine(prefix: str = "k") -> str:
    """A key in one of my slots (0..8191)."""
    for i in range(1000):
        key = f"{prefix}{i}"
        if key_slot(key.encode()) < 8192:
            return key
    raise AssertionError


def theirs(prefix: str = "k") -> str:
    for i in range(1000):
        key = f"{prefix}{i}"
        if key_slot(key.encode()) >= 8192:
            return key
    raise AssertionError


def test_served_here_is_the_fast_verdict_of_route(s: Session) -> None:
    """The batch loop's shortcut: True only where route() would serve without a redirect."""
    from node.core import served_here

    commands = s.node.commands
    get, ping, mget = commands[b"get"], commands[b"ping"], commands[b"mget"]
    assert served_here(s, get, [b"GET", mine().encode()])
    assert not served_here(s, get, [b"GET", theirs().encode()])  # MOVED: the general path
    assert served_here(s, ping, [b"PING"])  # keyless
    assert not served_here(s, mget, [b"MGET", mine().encode()])  # multi-key: full routing
    s.asking = True
    assert not served_here(s, get, [b"GET", mine().encode()])  # ASKING must be cleared
    s.asking = False
    assert not s.gate  # cluster mode no longer shuts the gate for every command


def test_my_slot_is_served(s: Session) -> None:
    key = mine()
    assert run(s, "SET", key, "v") == b"+OK\r\n"
    assert run(s, "GET", key) == b"$1\r\nv\r\n"


def test_moved_to_owner(s: Session) -> None:
    assert run(s, "GET", "foo") == b"-MOVED %d 127.0.0.1:7001\r\n" % SLOT_FOO


def test_moved_uses_preferred_endpoint(node: NodeState, s: Session) -> None:
    node.cluster.config.preferred_endpoint_type = "hostname"  # type: ignore[attr-defined]
    assert run(s, "GET", "foo") == b"-MOVED %d other.example:7001\r\n" % SLOT_FOO
    node.cluster.nodes[OTHER].hostname = ""  # type: ignore[attr-defined]
    assert run(s, "GET", "foo") == b"-MOVED %d ?:7001\r\n" % SLOT_FOO
    node.cluster.config.preferred_endpoint_type = "unknown-endpoint"  # type: ignore[attr-defined]
    assert run(s, "GET", "foo") == b"-MOVED %d ?:7001\r\n" % SLOT_FOO


def test_keyless_commands_run_locally(node: NodeState, s: Session) -> None:
    node.cluster.state_ok = False  # type: ignore[attr-defined]
    assert run(s, "PING") == b"+PONG\r\n"
    assert run(s, "DBSIZE") == b":0\r\n"


def test_crossslot_comes_first(node: NodeState, s: Session) -> None:
    node.cluster.state_ok = False  # type: ignore[attr-defined]
    reply = run(s, "MSET", "a", "1", "foo", "2")
    assert reply == b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"


def test_same_hashtag_is_one_slot(s: Session) -> None:
    key = mine()
    assert run(s, "MSET", "{%s}x" % key, "1", "{%s}y" % key, "2") == b"+OK\r\n"


def test_movable_keys_are_routed(s: Session) -> None:
    reply = run(s, "ZUNIONSTORE", mine(), "2", "a", "foo")
    assert reply.startswith(b"-CROSSSLOT")
    assert run(s, "EVAL", "return 1", "1", "foo") == b"-MOVED %d 127.0.0.1:7001\r\n" % SLOT_FOO
    assert run(s, "EVAL", "return 1", "0") == b":1\r\n"


def test_unowned_slot(node: NodeState, s: Session) -> None:
    node.cluster.slots[SLOT_FOO] = None  # type: ignore[attr-defined]
    node.cluster.state_ok = False  # type: ignore[attr-defined]
    assert run(s, "GET", "foo") == b"-CLUSTERDOWN Hash slot not served\r\n"


def test_cluster_down(node: NodeState, s: Session) -> None:
    node.cluster.state_ok = False  # type: ignore[attr-defined]
    assert run(s, "GET", mine()) == b"-CLUSTERDOWN The cluster is down\r\n"


def test_cluster_down_allows_reads_when_configured() -> None:
    node = make_cluster_node(cluster_allow_reads_when_down="yes")
    node.cluster.state_ok = False  # type: ignore[attr-defined]
    s = Session(node, 1)
    key = mine()
    assert run(s, "GET", key) == b"$-1\r\n"
    reply = run(s, "SET", key, "v")
    assert reply == b"-CLUSTERDOWN The cluster is down and only accepts read commands\r\n"
    # reads of another node's slot are still redirected
    assert run(s, "GET", "foo") == b"-MOVED %d 127.0.0.1:7001\r\n" % SLOT_FOO


def migrating(node: NodeState, slot: int) -> None:
    node.cluster.migrating_to[slot] = THIRD  # type: ignore[attr-defined]


def test_migrating_all_keys_here_is_served(node: NodeState, s: Session) -> None:
    key = mine()
    assert run(s, "SET", key, "v") == b"+OK\r\n"
    migrating(node, key_slot(key.encode()))
    assert run(s, "GET", key) == b"$1\r\nv\r\n"


def test_migrating_missing_key_asks(node: NodeState, s: Session) -> None:
    key = mine()
    slot = key_slot(key.encode())
    migrating(node, slot)
    assert run(s, "GET", key) == b"-ASK %d 127.0.0.1:7002\r\n" % slot


def test_migrating_some_keys_tryagain(node: NodeState, s: Session) -> None:
    key = mine()
    slot = key_slot(key.encode())
    assert run(s, "SET", "{%s}1" % key, "v") == b"+OK\r\n"
    migrating(node, slot)
    reply = run(s, "MGET", "{%s}1" % key, "{%s}2" % key)
    assert reply == b"-TRYAGAIN Multiple keys request during rehashing of slot\r\n"
    assert run(s, "MGET", "{%s}3" % key, "{%s}2" % key) == b"-ASK %d 127.0.0.1:7002\r\n" % slot


def test_expired_key_counts_as_missing(node: NodeState, s: Session) -> None:
    key = mine()
    assert run(s, "SET", key, "v", "PX", "10") == b"+OK\r\n"
    node.now_ms += 100
    migrating(node, key_slot(key.encode()))
    assert run(s, "GET", key).startswith(b"-ASK ")


def importing(node: NodeState) -> tuple[str, int]:
    key = theirs()
    slot = key_slot(key.encode())
    node.cluster.importing_from[slot] = OTHER  # type: ignore[attr-defined]
    return key, slot


def test_importing_without_asking_is_moved(node: NodeState, s: Session) -> None:
    key, slot = importing(node)
    assert run(s, "GET", key) == b"-MOVED %d 127.0.0.1:7001\r\n" % slot


def test_asking_is_one_shot(node: NodeState, s: Session) -> None:
    key, slot = importing(node)
    assert run(s, "ASKING") == b"+OK\r\n"
    assert run(s, "GET", key) == b"$-1\r\n"
    assert run(s, "GET", key) == b"-MOVED %d 127.0.0.1:7001\r\n" % slot


def test_asking_twice_keeps_the_flag(node: NodeState, s: Session) -> None:
    key, _slot = importing(node)
    run(s, "ASKING")
    run(s, "ASKING")
    assert run(s, "SET", key, "v") == b"+OK\r\n"
    assert not s.asking


def test_asking_is_cleared_by_any_command(node: NodeState, s: Session) -> None:
    key, slot = importing(node)
    run(s, "ASKING")
    assert run(s, "PING") == b"+PONG\r\n"
    assert run(s, "GET", key) == b"-MOVED %d 127.0.0.1:7001\r\n" % slot


def test_asking_lasts_until_exec_inside_multi(node: NodeState, s: Session) -> None:
    key, _slot = importing(node)
    run(s, "ASKING")
    assert run(s, "MULTI") == b"+OK\r\n"
    assert run(s, "SET", key, "v") == b"+QUEUED\r\n"
    assert run(s, "GET", key) == b"+QUEUED\r\n"
    assert run(s, "EXEC") == b"*2\r\n+OK\r\n$1\r\nv\r\n"
    assert not s.asking


def test_importing_several_keys_with_missing_tryagain(node: NodeState, s: Session) -> None:
    key, _slot = importing(node)
    run(s, "ASKING")
    assert run(s, "MGET", "{%s}1" % key, "{%s}2" % key).startswith(b"-TRYAGAIN ")
    run(s, "ASKING")
    assert run(s, "MSET", "{%s}1" % key, "1", "{%s}2" % key, "2") == b"-TRYAGAIN" + (
        b" Multiple keys request during rehashing of slot\r\n"
    )


def test_restore_asking_needs_no_asking(node: NodeState, s: Session) -> None:
    key, slot = importing(node)
    assert run(s, "RESTORE", key, "0", "garbage") == b"-MOVED %d 127.0.0.1:7001\r\n" % slot
    reply = run(s, "RESTORE-ASKING", key, "0", "garbage")  # flagged asking: served here
    assert reply == b"-ERR DUMP payload version or checksum are wrong\r\n"


def test_readonly_replica_serves_reads_of_its_master(node: NodeState) -> None:
    cluster = node.cluster  # type: ignore[attr-defined]
    cluster.myself.is_replica = True
    cluster.myself.master_id = OTHER
    s = Session(node, 1)
    assert run(s, "GET", "foo") == b"-MOVED %d 127.0.0.1:7001\r\n" % SLOT_FOO
    assert run(s, "READONLY") == b"+OK\r\n"
    assert run(s, "GET", "foo") == b"$-1\r\n"
    assert run(s, "SET", "foo", "v") == b"-MOVED %d 127.0.0.1:7001\r\n" % SLOT_FOO
    assert run(s, "READWRITE") == b"+OK\r\n"
    assert run(s, "GET", "foo") == b"-MOVED %d 127.0.0.1:7001\r\n" % SLOT_FOO


def test_multi_queue_time_redirect_aborts_exec(s: Session) -> None:
    assert run(s, "MULTI") == b"+OK\r\n"
    assert run(s, "SET", mine(), "1") == b"+QUEUED\r\n"
    assert run(s, "GET", "foo") == b"-MOVED %d 127.0.0.1:7001\r\n" % SLOT_FOO
    assert run(s, "EXEC") == EXECABORT
    assert s.multi is None


def test_exec_checks_crossslot_over_the_queue(s: Session) -> None:
    key = mine()
    other = next(
        mine(p) for p in "pqrstuvwxyz" if key_slot(mine(p).encode()) != key_slot(key.encode())
    )
    assert run(s, "MULTI") == b"+OK\r\n"
    assert run(s, "SET", key, "1") == b"+QUEUED\r\n"
    assert run(s, "SET", other, "1") == b"+QUEUED\r\n"
    assert run(s, "EXEC") == b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    assert s.multi is None
    assert run(s, "GET", key) == b"$-1\r\n"  # nothing ran


def test_exec_without_multi_is_not_routed(s: Session) -> None:
    assert run(s, "EXEC") == b"-ERR EXEC without MULTI\r\n"


def test_shard_channels_are_routed(s: Session) -> None:
    assert run(s, "SPUBLISH", "foo", "m") == b"-MOVED %d 127.0.0.1:7001\r\n" % SLOT_FOO


def test_standalone_is_not_routed() -> None:
    node = make_node(Config(), now_ms=NOW)
    s = Session(node, 1)
    assert run(s, "SET", "foo", "v") == b"+OK\r\n"
    assert run(s, "ASKING") == b"-ERR This instance has cluster support disabled\r\n"
