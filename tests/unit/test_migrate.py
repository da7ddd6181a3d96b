"""MIGRATE in virtual time over a fake transport whose "target" is a second in-process node.

The fake link executes what MIGRATE pipelines (AUTH, SELECT, RESTORE/RESTORE-ASKING) on the
target node and answers with the first line of each reply, so these tests check the whole
exchange: payloads, TTLs, the cached link's db, COPY/REPLACE/KEYS/NOKEY/BUSYKEY, target errors,
socket errors with Redis's single retry, and timeouts (no retry)."""

from __future__ import annotations

import random

import pytest

from node.commands.migrate import MigrateLink
from node.config import Config
from node.core import execute
from node.protocol.resp import RequestParser, encode
from node.session import Session
from node.state import NodeState
from tests.support.nodes import make_node

NOW = 1_700_000_000_000


class FakeLink:
    def __init__(self, transport: FakeTransport) -> None:
        self.transport = transport
        self.last_dbid = -1
        self.timed_out = False
        self.lines: list[bytes] = []
        self.parser = RequestParser()
        self.session = Session(transport.target, 99)
        self.closed = False

    def write(self, data: bytes, timeout_ms: int) -> bool:
        t = self.transport
        t.writes.append(data)
        t.timeouts.append(timeout_ms)
        if t.fail_writes:
            t.fail_writes -= 1
            self.timed_out = t.fail_by_timeout
            return False
        for argv in self.parser.feed(data):
            t.received.append(argv)
            # The source still holds every key while the target restores it: no client can
            # look in between because the node is blocked for the whole MIGRATE.
            t.source_had.append(t.source_db().data.get(argv[1]) is not None)
            reply = encode(execute(self.session, argv), False)
            self.lines.append(reply.split(b"\r\n", 1)[0])
        return True

    def read_line(self, timeout_ms: int) -> bytes | None:
        t = self.transport
        if t.replies_before_failure is not None:
            if t.replies_before_failure == 0:
                self.timed_out = t.fail_by_timeout
                return None
            t.replies_before_failure -= 1
        return self.lines.pop(0)


class FakeTransport:
    def __init__(self, source: NodeState, target: NodeState) -> None:
        self.source = source
        self.target = target
        self.links: dict[bytes, FakeLink] = {}
        self.connects = 0
        self.refuse = False
        self.fail_writes = 0
        self.fail_by_timeout = False
        self.replies_before_failure: int | None = None
        self.writes: list[bytes] = []
        self.timeouts: list[int] = []
        self.received: list[list[bytes]] = []
        self.source_had: list[bool] = []
        self.closed: list[bytes] = []

    def source_db(self):
        return self.source.dbs[0]

    def get(self, host: bytes, port: bytes, timeout_ms: int) -> MigrateLink | None:
        if self.refuse:
            return None
        name = host + b":" + port
        if name not in self.links:
            self.connects += 1
            self.links[name] = FakeLink(self)
        return self.links[name]

    def close(self, host: bytes, port: bytes) -> None:
        name = host + b":" + port
        self.closed.append(name)
        link = self.links.pop(name, None)
        if link is not None:
            link.closed = True


def _node(**directives: str) -> NodeState:
    config = Config()
    for name, value in directives.items():
        config.set(name.replace("_", "-"), value, startup=True)
    return make_node(config, rng=random.Random(1), now_ms=NOW)


@pytest.fixture
def pair():
    source, target = _node(), _node()
    transport = FakeTransport(source, target)
    source.migrate_transport = transport
    return Session(source, 1), Session(target, 2), transport


def run(session: Session, *args: str | bytes) -> bytes:
    argv = [x if isinstance(x, bytes) else x.encode() for x in args]
    return encode(execute(session, argv), session.resp3)


def migrate(session: Session, *args: str) -> bytes:
    return run(session, "MIGRATE", "127.0.0.1", "7001", *args)


def test_moves_one_key_with_value_and_ttl(pair):
    src, dst, transport = pair
    run(src, "SET", "k", "v", "PX", "5000")
    assert migrate(src, "k", "0", "1000") == b"+OK\r\n"
    assert run(src, "EXISTS", "k") == b":0\r\n"
    assert run(dst, "GET", "k") == b"$1\r\nv\r\n"
    assert run(dst, "PTTL", "k") == b":5000\r\n"
    # SELECT then RESTORE (not RESTORE-ASKING outside cluster mode), ttl relative, no REPLACE
    assert transport.received[0] == [b"SELECT", b"0"]
    assert transport.received[1][:3] == [b"RESTORE", b"k", b"5000"]
    assert len(transport.received[1]) == 4
    assert transport.source_had == [False, True]
    assert src.node.migrate_deleted == [b"k"]


def test_nokey_is_a_status_reply_and_nothing_is_sent(pair):
    src, _dst, transport = pair
    assert migrate(src, "missing", "0", "1000") == b"+NOKEY\r\n"
    assert migrate(src, "", "0", "1000", "KEYS", "a", "b") == b"+NOKEY\r\n"
    assert transport.connects == 0


def test_expired_key_is_nokey(pair):
    src, _dst, _transport = pair
    run(src, "SET", "k", "v", "PX", "10")
    src.node.now_ms += 11
    assert migrate(src, "k", "0", "1000") == b"+NOKEY\r\n"


def test_copy_keeps_the_source_and_replace_overwrites(pair):
    src, dst, transport = pair
    run(src, "SET", "k", "new")
    run(dst, "SET", "k", "old")
    assert migrate(src, "k", "0", "1000", "COPY") == (
        b"-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
    )
    assert run(src, "GET", "k") == b"$3\r\nnew\r\n"
    assert migrate(src, "k", "0", "1000", "COPY", "REPLACE") == b"+OK\r\n"
    assert run(src, "GET", "k") == b"$3\r\nnew\r\n"
    assert run(dst, "GET", "k") == b"$3\r\nnew\r\n"
    assert transport.received[-1][-1] == b"REPLACE"
    assert src.node.migrate_deleted == []


def test_keys_batch_is_pipelined_and_missing_keys_skipped(pair):
    src, dst, transport = pair
    for name in ("a", "b", "c"):
        run(src, "RPUSH", name, name + "1", name + "2")
    run(src, "EXPIRE", "b", "100")
    assert migrate(src, "", "0", "5000", "KEYS", "a", "nope", "b", "c") == b"+OK\r\n"
    assert len(transport.writes) == 1  # one write: SELECT and the three RESTOREs
    assert [argv[1] for argv in transport.received[1:]] == [b"a", b"b", b"c"]
    assert run(dst, "LRANGE", "b", "0", "-1") == b"*2\r\n$2\r\nb1\r\n$2\r\nb2\r\n"
    assert run(dst, "TTL", "b") == b":100\r\n"
    assert run(src, "DBSIZE") == b":0\r\n"
    assert src.node.migrate_deleted == [b"a", b"b", b"c"]


def test_busykey_in_a_batch_moves_the_others(pair):
    """Each acknowledged key is deleted; the first target error is the reply (Redis)."""
    src, dst, _transport = pair
    for name in ("a", "b", "c"):
        run(src, "SET", name, "src")
    run(dst, "SET", "b", "dst")
    reply = migrate(src, "", "0", "1000", "KEYS", "a", "b", "c")
    assert reply == (
        b"-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
    )
    assert run(src, "KEYS", "*") == b"*1\r\n$1\r\nb\r\n"
    assert run(dst, "GET", "a") == b"$3\r\nsrc\r\n"
    assert run(dst, "GET", "b") == b"$3\r\ndst\r\n"
    assert src.node.migrate_deleted == [b"a", b"c"]


def test_select_sent_once_per_link_and_again_after_an_error(pair):
    src, dst, transport = pair
    for name in ("a", "b", "c"):
        run(src, "SET", name, "1")
    run(dst, "SELECT", "3")  # a different client: no effect on MIGRATE's link
    assert migrate(src, "a", "3", "1000") == b"+OK\r\n"
    assert migrate(src, "b", "3", "1000") == b"+OK\r\n"
    selects = [argv for argv in transport.received if argv[0] == b"SELECT"]
    assert selects == [[b"SELECT", b"3"]]
    assert migrate(src, "c", "99", "1000") == (
        b"-ERR Target instance replied with error: ERR DB index is out of range\r\n"
    )
    # Refused, so kept here; but the target ran the RESTORE in the db it had selected (db 3),
    # exactly as Redis's pipelined SELECT + RESTORE does.
    assert run(src, "EXISTS", "c") == b":1\r\n"
    assert migrate(src, "c", "3", "1000", "REPLACE") == b"+OK\r\n"
    selects = [argv for argv in transport.received if argv[0] == b"SELECT"]
    assert selects[-1] == [b"SELECT", b"3"] and len(selects) == 3
    assert dst.node.dbs[3].data.keys() == {b"a", b"b", b"c"}


def test_auth_and_auth2_are_sent_first():
    source, target = _node(), _node(requirepass="secret")
    transport = FakeTransport(source, target)
    source.migrate_transport = transport
    src = Session(source, 1)
    run(src, "SET", "k", "v")
    assert migrate(src, "k", "0", "1000") == (
        b"-ERR Target instance replied with error: NOAUTH Authentication required.\r\n"
    )
    assert migrate(src, "k", "0", "1000", "AUTH", "wrong") == (
        b"-ERR Target instance replied with error: WRONGPASS invalid username-password pair"
        b" or user is disabled.\r\n"
    )
    assert migrate(src, "k", "0", "1000", "AUTH2", "default", "secret") == b"+OK\r\n"
    assert transport.received[-3][0] == b"AUTH" and len(transport.received[-3]) == 3
    assert target.dbs[0].data[b"k"] == b"v"


def test_cluster_mode_sends_restore_asking():
    source, target = _node(cluster_enabled="yes"), _node()
    transport = FakeTransport(source, target)
    source.migrate_transport = transport
    src = Session(source, 1)
    run(src, "SET", "k", "v")
    assert migrate(src, "k", "0", "1000", "REPLACE") == b"+OK\r\n"
    assert transport.received[-1][0] == b"RESTORE-ASKING"
    assert transport.received[-1][-1] == b"REPLACE"


def test_syntax_and_argument_errors(pair):
    src, _dst, transport = pair
    run(src, "SET", "k", "v")
    syntax = b"-ERR syntax error\r\n"
    assert migrate(src, "k", "0", "1000", "FOO") == syntax
    assert migrate(src, "k", "0", "1000", "AUTH") == syntax
    assert migrate(src, "k", "0", "1000", "AUTH2", "u") == syntax
    assert migrate(src, "k", "0", "1000", "KEYS", "k") == (
        b"-ERR When using MIGRATE KEYS option, the key argument must be set to the empty string\r\n"
    )
    not_int = b"-ERR value is not an integer or out of range\r\n"
    assert migrate(src, "k", "x", "1000") == not_int
    assert migrate(src, "k", "0", "1.5") == not_int
    assert transport.connects == 0
    assert run(src, "EXISTS", "k") == b":1\r\n"


def test_timeout_zero_means_one_second(pair):
    src, _dst, transport = pair
    run(src, "SET", "k", "v")
    assert migrate(src, "k", "0", "0") == b"+OK\r\n"
    assert transport.timeouts == [1000]


def test_connect_failure(pair):
    src, _dst, transport = pair
    run(src, "SET", "k", "v")
    transport.refuse = True
    assert migrate(src, "k", "0", "1000") == b"-IOERR error or timeout connecting to the client\r\n"
    assert run(src, "EXISTS", "k") == b":1\r\n"


def test_no_transport_is_a_connect_error():
    session = Session(_node(), 1)
    run(session, "SET", "k", "v")
    assert migrate(session, "k", "0", "1000") == (
        b"-IOERR error or timeout connecting to the client\r\n"
    )


def test_write_error_is_retried_once_on_a_new_link(pair):
    src, dst, transport = pair
    run(src, "SET", "k", "v")
    transport.fail_writes = 1
    assert migrate(src, "k", "0", "1000") == b"+OK\r\n"
    assert transport.connects == 2 and transport.closed == [b"127.0.0.1:7001"]
    assert run(dst, "GET", "k") == b"$1\r\nv\r\n"


def test_write_errors_twice_give_ioerr_writing(pair):
    src, _dst, transport = pair
    run(src, "SET", "k", "v")
    transport.fail_writes = 2
    assert migrate(src, "k", "0", "1000") == (
        b"-IOERR error or timeout writing to target instance\r\n"
    )
    assert run(src, "EXISTS", "k") == b":1\r\n"


def test_write_timeout_is_not_retried(pair):
    src, _dst, transport = pair
    run(src, "SET", "k", "v")
    transport.fail_writes = 1
    transport.fail_by_timeout = True
    assert migrate(src, "k", "0", "1000") == (
        b"-IOERR error or timeout writing to target instance\r\n"
    )
    assert transport.connects == 1


def test_read_timeout_gives_ioerr_reading_and_keeps_the_key(pair):
    src, _dst, transport = pair
    run(src, "SET", "k", "v")
    transport.replies_before_failure = 0
    transport.fail_by_timeout = True
    assert migrate(src, "k", "0", "1000") == (
        b"-IOERR error or timeout reading to target instance\r\n"
    )
    assert run(src, "EXISTS", "k") == b":1\r\n"
    assert transport.connects == 1 and transport.links == {}


def test_read_error_after_some_replies_deletes_only_acknowledged_keys(pair):
    """SELECT and the first RESTORE are answered, then the link dies: no retry (keys were
    already moved), the first key is gone here, the other stays, IOERR reading."""
    src, _dst, transport = pair
    run(src, "SET", "a", "1")
    run(src, "SET", "b", "2")
    transport.replies_before_failure = 2
    assert migrate(src, "", "0", "1000", "KEYS", "a", "b") == (
        b"-IOERR error or timeout reading to target instance\r\n"
    )
    assert run(src, "KEYS", "*") == b"*1\r\n$1\r\nb\r\n"
    assert src.node.migrate_deleted == [b"a"]
    assert transport.connects == 1


def test_read_error_before_any_reply_is_retried(pair):
    src, dst, transport = pair
    run(src, "SET", "k", "v")
    transport.replies_before_failure = 0
    original_read = FakeLink.read_line

    def heal_after_first_failure(self, timeout_ms):
        line = original_read(self, timeout_ms)
        if line is None:
            transport.replies_before_failure = None
        return line

    FakeLink.read_line = heal_after_first_failure  # type: ignore[method-assign]
    try:
        # The first attempt's RESTORE did land on the target, so the retry meets BUSYKEY:
        # exactly what Redis does when a reply is lost.
        assert migrate(src, "k", "0", "1000") == (
            b"-ERR Target instance replied with error: BUSYKEY Target key name already exists.\r\n"
        )
    finally:
        FakeLink.read_line = original_read  # type: ignore[method-assign]
    assert transport.connects == 2
    assert run(dst, "GET", "k") == b"$1\r\nv\r\n"


def test_ttl_just_due_is_sent_as_one_ms(pair):
    src, _dst, transport = pair
    run(src, "SET", "k", "v", "PX", "100")
    src.node.now_ms += 100  # expires at now: still alive (Redis expires once past)
    assert migrate(src, "k", "0", "1000") == b"+OK\r\n"
    assert transport.received[-1][2] == b"1"


def test_every_type_round_trips(pair):
    src, dst, _transport = pair
    run(src, "HSET", "h", "f", "v")
    run(src, "SADD", "s", "a", "b")
    run(src, "ZADD", "z", "1.5", "m")
    run(src, "SET", "n", "12345")
    keys = ("h", "s", "z", "n")
    digests = run(src, "DEBUG", "DIGEST-VALUE", *keys)
    assert migrate(src, "", "0", "1000", "KEYS", *keys) == b"+OK\r\n"
    assert run(dst, "DEBUG", "DIGEST-VALUE", *keys) == digests
    assert run(src, "DBSIZE") == b":0\r\n"


def test_bitmap_ranges_matches_the_slot_walk():
    """gossip.slots.bitmap_ranges (the fast path CLUSTER NODES and nodes.conf saves use during
    a reshard) gives the same ranges as walking the slots."""
    from gossip.slots import bitmap_ranges, bitmap_slots, slot_ranges, slots_to_bitmap

    rng = random.Random(5)
    cases = [[], [0], [16383], range(16384), range(5461, 10923), [1, 2, 3, 8, 9, 4000]]
    cases += [[s for s in range(16384) if rng.random() < p] for p in (0.01, 0.5, 0.99)]
    # Both walks (run by run up to gossip.slots._FEW_RUNS runs, printed in binary above it).
    cases += [[s for r in range(runs) for s in range(r * 600, r * 600 + 7)] for runs in (24, 25)]
    cases += [[16380, 16381, 16382, 16383, 0]]
    for slots in cases:
        bitmap = slots_to_bitmap(slots)
        assert bitmap_ranges(bitmap) == slot_ranges(bitmap_slots(bitmap))


def test_bitmap_slots_outside_and_count():
    """The gossip fast path: only the claimed slots not already the sender's are walked."""
    from gossip.slots import bitmap_count, bitmap_slots_outside, slots_to_bitmap

    rng = random.Random(6)
    for _ in range(20):
        claimed = {s for s in range(16384) if rng.random() < 0.3}
        owned = {s for s in range(16384) if rng.random() < 0.6}
        got = bitmap_slots_outside(slots_to_bitmap(claimed), slots_to_bitmap(owned))
        assert got == sorted(claimed - owned)
        assert bitmap_count(slots_to_bitmap(claimed)) == len(claimed)
    assert bitmap_slots_outside(slots_to_bitmap([5]), slots_to_bitmap([5, 6])) == []
    assert bitmap_slots_outside(slots_to_bitmap([0, 16383]), bytes(2048)) == [0, 16383]


def test_replicas_get_a_del_of_the_acknowledged_keys_only(pair, monkeypatch):
    """Redis rewrites MIGRATE as DEL of the keys the target took, even on an error reply;
    MIGRATE itself never reaches the stream."""
    from node.replication import stream

    src, dst, _transport = pair
    written: list[bytes] = []
    monkeypatch.setattr(stream, "write_stream", lambda node, data: written.append(data))
    run(src, "SET", "a", "1")
    run(src, "SET", "b", "2")
    run(dst, "SET", "b", "taken")
    src.node.repl_feed = True
    try:
        reply = migrate(src, "", "0", "1000", "KEYS", "a", "b")
        assert migrate(src, "b", "0", "1000", "COPY", "REPLACE") == b"+OK\r\n"
    finally:
        src.node.repl_feed = False
    assert reply.startswith(b"-ERR Target instance replied with error: BUSYKEY")
    stream_bytes = b"".join(written)
    assert b"MIGRATE" not in stream_bytes.upper()
    assert b"*2\r\n$3\r\nDEL\r\n$1\r\na\r\n" in stream_bytes
    assert stream_bytes.count(b"DEL") == 1  # COPY deletes nothing


# -- blocked clients when their slot leaves (clusterRedirectBlockedClientIfNeeded) ------------


def _blocked_cluster_node():
    from tests.unit.test_routing import make_cluster_node

    node = make_cluster_node()
    sessions = []
    for i, key in enumerate((b"b", b"c", b"f")):  # slots 3300, 7365, 3168: all mine
        session = Session(node, 10 + i)
        node.clients[session.id] = session
        argv = [b"BLPOP", key, b"0"]
        block = execute(session, argv)  # the connection parks it, as client_conn does
        node.blocking.block(session, argv, block, node.now_ms)
        sessions.append(session)
    return node, sessions


def _released(node) -> dict[int, bytes]:
    out = {s.id: encode(reply, False) for s, reply in node.blocking.released}
    node.blocking.released.clear()
    return out


def test_blocked_client_gets_moved_when_its_slot_leaves():
    from node.routing import redirect_blocked_clients
    from tests.unit.test_routing import OTHER

    node, (on_b, on_c, on_f) = _blocked_cluster_node()
    assert redirect_blocked_clients(node) == 0
    node.cluster.slots[3300] = OTHER  # SETSLOT 3300 NODE <other>
    node.cluster.slots[3168] = None  # unassigned
    node.cluster.importing_from[7365] = OTHER
    node.cluster.slots[7365] = OTHER  # owned elsewhere but importing here: stays blocked
    assert redirect_blocked_clients(node) == 2
    assert _released(node) == {
        on_b.id: b"-MOVED 3300 127.0.0.1:7001\r\n",
        on_f.id: b"-CLUSTERDOWN Hash slot not served\r\n",
    }
    assert node.blocking.is_blocked(on_c)
    node.cluster.state_ok = False
    assert redirect_blocked_clients(node) == 1
    assert _released(node) == {on_c.id: b"-CLUSTERDOWN The cluster is down\r\n"}
    assert len(node.blocking) == 0
