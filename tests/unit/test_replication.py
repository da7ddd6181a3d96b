"""The replication core in virtual time: the stream a master writes (bytes equal to what a real
Redis 7.0.15 master sent for the same commands, captured by tapping one with PSYNC), offsets,
the backlog, PSYNC decisions, role changes, WAIT, READONLY / MASTERDOWN and expiry on replicas.

A replica connection is a client that sent ``PSYNC ? -1``; its stream is captured through
``repl.send_to_replica``. Times are fixed (``node.now_ms``), so PXAT/PEXPIREAT values are exact.
"""

from __future__ import annotations

import random

import pytest

from node import core, replication
from node.client_conn import ClientConnection
from node.config import Config
from node.protocol.errors import RespError
from node.protocol.resp import Raw
from node.replication.events import ReplicateFrom, StopReplication
from node.session import Session
from node.state import CloseClient, NodeState
from tests.support.nodes import make_node
from tests.support.rawclient import encode_command

NOW = 1_700_000_000_000
SELECT0 = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"


def cmd(*args) -> bytes:
    return encode_command(*args)


class Master:
    """A master node with one replica connection whose stream is captured."""

    def __init__(self, **config: str) -> None:
        cfg = Config()
        for name, value in config.items():
            cfg.set(name.replace("_", "-"), value)
        self.node = make_node(cfg, rng=random.Random(7), now_ms=NOW)
        self.client = self.session()
        self.stream = bytearray()
        self.node.repl.send_to_replica = lambda replica, data: self.stream.extend(data)
        self.replica = self.session()
        self.sync_reply = core.execute(self.replica, [b"PSYNC", b"?", b"-1"])

    def session(self) -> Session:
        session = Session(self.node, self.node.new_client_id())
        self.node.clients[session.id] = session
        return session

    def run(self, *argv, session: Session | None = None) -> object:
        return core.execute(
            session or self.client, [a if type(a) is bytes else str(a).encode() for a in argv]
        )

    def take(self) -> bytes:
        data = bytes(self.stream)
        self.stream.clear()
        return data


@pytest.fixture
def m() -> Master:
    return Master()


# -- no replica: nothing changes for a standalone master ------------------------------------------


def test_standalone_master_has_no_backlog_and_no_offset():
    node = make_node(Config(), rng=random.Random(1), now_ms=NOW)
    session = Session(node, 1)
    for _ in range(3):
        core.execute(session, [b"SET", b"k", b"v"])
    assert node.repl.backlog is None
    assert node.repl.master_repl_offset == 0
    assert not node.repl_gate and not node.repl_feed and not node.repl_pending


# -- PSYNC / full resync --------------------------------------------------------------------------


def test_full_resync_reply_new_replid_and_rdb(m: Master):
    reply = m.sync_reply
    assert type(reply) is Raw
    repl = m.node.repl
    head, _, rest = reply.data.partition(b"\r\n")
    assert head == b"+FULLRESYNC %s 0" % repl.replid.encode()
    length, _, rdb = rest.partition(b"\r\n")
    assert length == b"$%d" % len(rdb) and rdb.startswith(b"REDIS0010")
    assert repl.backlog is not None and repl.backlog.offset == 1 and repl.backlog.histlen == 0
    assert m.node.repl_feed and not m.node.repl_gate  # writes are fed on the fast path
    info = m.run("INFO", "replication").text  # type: ignore[attr-defined]
    assert b"connected_slaves:1\r\nslave0:ip=" in info
    assert b"repl_backlog_active:1\r\n" in info


def test_first_replica_changes_the_replid():
    node = make_node(Config(), rng=random.Random(7), now_ms=NOW)
    before = node.repl.replid
    core.execute(Session(node, 5), [b"PSYNC", b"?", b"-1"])
    assert node.repl.replid != before and node.repl.replid2 == "0" * 40


# -- the stream: deterministic rewrites (bytes as real Redis 7.0.15 sent them) ----------------------


def test_set_with_relative_expiry_becomes_pxat(m: Master):
    m.run("SET", "k", "v", "EX", 100)
    assert m.take() == SELECT0 + cmd("SET", "k", "v", "PXAT", NOW + 100_000)
    m.run("SET", "k", "v", "PX", 100000, "NX")  # refused: nothing propagated
    assert m.take() == b""
    m.run("SET", "k", "v2", "XX", "GET", "EX", 5)
    assert m.take() == cmd("SET", "k", "v2", "PXAT", NOW + 5000)
    m.run("SETEX", "a", 10, "x")
    m.run("PSETEX", "a", 10000, "x")
    assert m.take() == cmd("SET", "a", "x", "PXAT", NOW + 10_000) * 2
    m.run("SET", "k", "v", "PXAT", 99999999999999)
    m.run("SET", "b", "v", "KEEPTTL")
    assert m.take() == cmd("SET", "k", "v", "PXAT", 99999999999999) + cmd(
        "SET", "b", "v", "KEEPTTL"
    )


def test_expire_family_becomes_pexpireat(m: Master):
    m.run("SET", "k", "v")
    m.take()
    m.run("EXPIRE", "k", 100)
    assert m.take() == cmd("PEXPIREAT", "k", NOW + 100_000)
    m.run("EXPIRE", "k", 100, "NX")  # 0: not propagated
    m.run("EXPIRE", "nokey", 10)
    assert m.take() == b""
    m.run("PEXPIRE", "k", 100, "XX")
    assert m.take() == cmd("PEXPIREAT", "k", NOW + 100, "XX")
    m.run("EXPIRE", "k", -1)  # a time in the past deletes the key: DEL
    assert m.take() == cmd("DEL", "k")


def test_getex_getdel(m: Master):
    m.run("SET", "a", "x")
    m.take()
    m.run("GETEX", "a", "EX", 100)
    assert m.take() == cmd("PEXPIREAT", "a", NOW + 100_000)
    m.run("GETEX", "a")
    assert m.take() == b""
    m.run("GETEX", "a", "PERSIST")
    assert m.take() == cmd("PERSIST", "a")
    m.run("GETEX", "a", "PXAT", 99999999999999)
    assert m.take() == cmd("PEXPIREAT", "a", 99999999999999)
    m.run("GETDEL", "a")
    m.run("GETDEL", "a")
    assert m.take() == cmd("DEL", "a")


def test_float_increments_and_spop(m: Master):
    m.run("INCRBYFLOAT", "f", "1.5")
    assert m.take() == SELECT0 + cmd("SET", "f", "1.5", "KEEPTTL")
    m.run("HINCRBYFLOAT", "h", "f", "2.5")
    assert m.take() == cmd("HSET", "h", "f", "2.5")
    m.run("SADD", "s", "a")
    m.run("SPOP", "s")
    assert m.take() == cmd("SADD", "s", "a") + cmd("SREM", "s", "a")
    m.run("SADD", "s", "a", "b", "c")
    m.take()
    popped = m.run("SPOP", "s", 2).items  # type: ignore[union-attr]
    assert m.take() == (cmd("MULTI") + b"".join(cmd("SREM", "s", x) for x in popped) + cmd("EXEC"))
    m.run("SADD", "s", "x", "y")
    m.take()
    one = m.run("SPOP", "s", 1).items  # type: ignore[union-attr]
    assert m.take() == cmd("SREM", "s", one[0])
    m.run("SADD", "s", "x", "y")
    m.take()
    m.run("SPOP", "s", 5)  # the whole set
    assert m.take() == cmd("DEL", "s")


def test_no_op_writes_are_not_propagated_publish_is(m: Master):
    m.run("DEL", "nokey")
    m.run("SETNX", "q", 5)
    m.take()
    m.run("SETNX", "q", 6)
    m.run("SREM", "nos", "a")
    m.run("LPOP", "nolist")
    assert m.take() == b""
    m.run("PUBLISH", "ch", "hi")
    assert m.take() == cmd("PUBLISH", "ch", "hi")


def test_select_and_flushall(m: Master):
    m.run("SET", "x", 1)
    m.run("SELECT", 3)
    m.run("SET", "x", 1)
    m.run("FLUSHALL")
    m.run("SELECT", 0)
    assert m.take() == SELECT0 + cmd("SET", "x", "1") + cmd("SELECT", "3") + cmd(
        "SET", "x", "1"
    ) + cmd("FLUSHALL")


def test_transactions_wrap_several_writes_only(m: Master):
    for c in (("MULTI",), ("SET", "a", 1), ("SET", "b", 2), ("EXEC",)):
        m.run(*c)
    assert m.take() == SELECT0 + cmd("MULTI") + cmd("SET", "a", "1") + cmd("SET", "b", "2") + cmd(
        "EXEC"
    )
    for c in (("MULTI",), ("SET", "h", 1), ("EXEC",)):
        m.run(*c)
    assert m.take() == cmd("SET", "h", "1")
    for c in (("MULTI",), ("GET", "a"), ("EXEC",)):
        m.run(*c)
    assert m.take() == b""


def test_script_effects(m: Master):
    m.run("EVAL", "redis.call('set','x','1') redis.call('expire','x',100)", 0)
    assert m.take() == SELECT0 + cmd("MULTI") + cmd("set", "x", "1") + cmd(
        "PEXPIREAT", "x", NOW + 100_000
    ) + cmd("EXEC")
    m.run("EVAL", "redis.call('set','y','1')", 0)
    assert m.take() == cmd("set", "y", "1")
    m.run("EVAL", "return redis.call('get','y')", 0)
    assert m.take() == b""


def test_expired_keys_reach_replicas_as_del(m: Master):
    for key in ("e", "f", "g", "j"):
        m.run("SET", key, "v", "PX", 50)
    m.take()
    m.node.now_ms = NOW + 200
    m.run("GET", "e")  # a read: the DEL alone
    assert m.take() == cmd("DEL", "e")
    m.run("SET", "f", "w")  # a write: DEL then the write, in MULTI/EXEC as Redis 7.0.15 does
    assert m.take() == cmd("MULTI") + cmd("DEL", "f") + cmd("SET", "f", "w") + cmd("EXEC")
    m.run("EVAL", "redis.call('set','j','1')", 0)
    assert m.take() == cmd("MULTI") + cmd("DEL", "j") + cmd("set", "j", "1") + cmd("EXEC")
    m.node.active_expire()  # the active cycle: DEL written at once
    assert m.take() == cmd("DEL", "g")


def test_blocking_pops_propagate_as_plain_pops(m: Master):
    m.run("LPUSH", "l", "a", "b")
    m.run("BLPOP", "l", 0)
    m.run("BLMPOP", 0, 1, "l", "LEFT", "COUNT", 5)
    assert m.take() == SELECT0 + cmd("LPUSH", "l", "a", "b") + cmd("LPOP", "l") + cmd(
        "LPOP", "l", "1"
    )
    m.run("ZADD", "z", 1, "a", 2, "b")
    m.run("BZPOPMIN", "z", 0)
    m.run("BZMPOP", 0, 1, "z", "MAX", "COUNT", 3)
    assert m.take() == cmd("ZADD", "z", "1", "a", "2", "b") + cmd("ZPOPMIN", "z") + cmd(
        "ZPOPMAX", "z", "1"
    )


def test_blocked_client_served_later_propagates_the_pop(m: Master):
    waiter = ClientConnection(m.node, m.session())
    pusher = ClientConnection(m.node, m.session())
    assert waiter.feed(cmd("BRPOP", "q", 0)) == b""
    assert m.take() == b""
    pusher.feed(cmd("LPUSH", "q", "job"))
    assert m.node.blocking.released
    assert m.take() == SELECT0 + cmd("LPUSH", "q", "job") + cmd("RPOP", "q")


# -- offsets and the backlog ----------------------------------------------------------------------


def test_offset_counts_stream_bytes_and_backlog_holds_them(m: Master):
    m.run("SET", "a", "1")
    m.run("INCR", "a")
    data = m.take()
    repl = m.node.repl
    assert repl.master_repl_offset == len(data)
    assert repl.backlog.histlen == len(data)  # type: ignore[union-attr]
    assert repl.backlog.read_from(1) == data  # type: ignore[union-attr]
    info = m.run("INFO", "replication").text  # type: ignore[attr-defined]
    assert b"master_repl_offset:%d\r\n" % len(data) in info
    assert b"repl_backlog_first_byte_offset:1\r\nrepl_backlog_histlen:%d\r\n" % len(data) in info
    assert m.run("ROLE") == [b"master", len(data), [[b"", b"0", b"0"]]]


def test_backlog_is_a_bounded_ring_and_psync_decides_by_it():
    m = Master(repl_backlog_size="100")
    for i in range(20):
        m.run("SET", "key", "value-%d" % i)
    data = m.take()
    repl = m.node.repl
    backlog = repl.backlog
    assert repl.master_repl_offset == len(data) > 100
    assert backlog.histlen == 100  # type: ignore[union-attr]
    assert backlog.offset == len(data) - 100 + 1  # type: ignore[union-attr]
    assert backlog.read_from(backlog.offset) == data[-100:]  # type: ignore[union-attr]
    # CONTINUE within the window, FULLRESYNC before it, after the end, or another history.
    end = repl.master_repl_offset + 1
    assert replication.psync_decision(m.node, repl.replid, end) == (True, b"")
    assert replication.psync_decision(m.node, repl.replid, end - 30) == (True, data[-30:])
    assert replication.psync_decision(m.node, repl.replid, backlog.offset - 1)[0] is False  # type: ignore[union-attr]
    assert replication.psync_decision(m.node, repl.replid, end + 1)[0] is False
    assert replication.psync_decision(m.node, "f" * 40, end)[0] is False


def test_psync_continue_reply_and_replid2_after_promotion():
    m = Master()
    m.run("SET", "a", "1")
    m.take()
    node = m.node
    repl = node.repl
    old_id, offset = repl.replid, repl.master_repl_offset
    # As a replica, then promoted: the old id stays valid up to our offset.
    replication.follow(node, "127.0.0.1", 6380)
    replication.promote(node)
    assert repl.replid2 == old_id and repl.second_replid_offset == offset + 1
    assert any(type(e) is CloseClient for e in node.events)
    assert replication.psync_decision(node, old_id, offset + 1) == (True, b"")
    assert replication.psync_decision(node, old_id, offset + 2)[0] is False
    newcomer = m.session()
    core.execute(newcomer, [b"REPLCONF", b"capa", b"psync2"])
    reply = core.execute(newcomer, [b"PSYNC", old_id.encode(), b"%d" % (offset + 1)])
    assert reply == Raw(b"+CONTINUE %s\r\n" % repl.replid.encode())
    plain = m.session()
    reply = core.execute(plain, [b"PSYNC", repl.replid.encode(), b"%d" % (offset + 1)])
    assert reply == Raw(b"+CONTINUE\r\n")
    core.execute(m.session(), [b"PSYNC", b"f" * 40, b"1"])
    stats = core.execute(m.client, [b"INFO", b"stats"]).text  # type: ignore[union-attr]
    assert b"sync_full:2\r\nsync_partial_ok:2\r\nsync_partial_err:1\r\n" in stats


# -- role changes ---------------------------------------------------------------------------------


def test_follow_and_promote_events_offsets_and_data_age():
    node = make_node(Config(), rng=random.Random(1), now_ms=NOW)
    replication.follow(node, "10.0.0.1", 7000)
    assert node.events == [ReplicateFrom("10.0.0.1", 7000)]
    assert node.repl.role == "slave" and node.repl_gate and not node.repl_feed
    assert replication.psync_args(node) == (node.repl.replid, 1)
    assert replication.data_age_ms(node, NOW) == NOW  # never connected
    replication.full_sync_done(node, "a" * 40, 500)
    assert node.repl.replid == "a" * 40 and replication.replica_offset(node) == 500
    assert replication.data_age_ms(node, NOW + 250) == 250
    replication.link_down(node, NOW + 1000)
    assert replication.data_age_ms(node, NOW + 3000) == 2000
    assert core.execute(Session(node, 2), [b"ROLE"]) == [
        b"slave",
        b"10.0.0.1",
        7000,
        b"connect",
        -1,
    ]
    replication.continue_sync(node, "b" * 40)
    assert node.repl.replid2 == "a" * 40 and node.repl.second_replid_offset == 501
    assert core.execute(Session(node, 2), [b"ROLE"]) == [
        b"slave",
        b"10.0.0.1",
        7000,
        b"connected",
        500,
    ]
    replication.promote(node)
    assert node.events[-1] == StopReplication()
    assert node.repl.role == "master" and node.repl_feed  # keeps the backlog it synced with


def test_replicaof_replies():
    node = make_node(Config(), rng=random.Random(1), now_ms=NOW)
    s = Session(node, 1)
    assert core.execute(s, [b"REPLICAOF", b"NO", b"ONE"]) == Raw(b"+OK\r\n")
    assert node.repl.replid2 == "0" * 40  # a master stays as it was
    for port in (b"x", b"70000", b"-1"):
        reply = core.execute(s, [b"REPLICAOF", b"h", port])
        assert isinstance(reply, RespError) and reply.text == "ERR Invalid master port"
    assert core.execute(s, [b"REPLICAOF", b"h", b"1"]) == Raw(b"+OK\r\n")
    assert core.execute(s, [b"SLAVEOF", b"H", b"1"]) == b"OK Already connected to specified master"
    node.cluster_enabled = True
    reply = core.execute(s, [b"REPLICAOF", b"h", b"2"])
    assert reply.text == "ERR REPLICAOF not allowed in cluster mode."  # type: ignore[union-attr]


def test_becoming_a_replica_unblocks_blocked_clients():
    node = make_node(Config(), rng=random.Random(1), now_ms=NOW)
    conn = ClientConnection(node, Session(node, 1))
    conn.feed(cmd("BLPOP", "l", 0))
    replication.follow(node, "h", 1)
    ((_session, reply),) = node.blocking.released
    assert reply.text.startswith("UNBLOCKED force unblock")


# -- replica side ---------------------------------------------------------------------------------


def replica_node(**config: str) -> tuple[NodeState, Session]:
    cfg = Config()
    for name, value in config.items():
        cfg.set(name.replace("_", "-"), value)
    node = make_node(cfg, rng=random.Random(2), now_ms=NOW)
    replication.follow(node, "127.0.0.1", 6379)
    master = Session(node, 100)
    node.repl.master_session = master
    replication.full_sync_done(node, "c" * 40, 1000)
    return node, master


def apply(node: NodeState, master: Session, *argv) -> bytes | None:
    argv = [a if type(a) is bytes else str(a).encode() for a in argv]
    return replication.apply_stream(node, master, argv, len(encode_command(*argv)))


def test_apply_stream_executes_advances_offset_and_acks():
    node, master = replica_node()
    assert apply(node, master, "SELECT", 0) is None
    assert apply(node, master, "SET", "k", "v") is None
    assert node.dbs[0].data[b"k"] == b"v"
    expected = 1000 + len(cmd("SELECT", "0")) + len(cmd("SET", "k", "v"))
    assert node.repl.master_repl_offset == expected
    # GETACK reports the offset before itself, then counts itself.
    assert apply(node, master, "REPLCONF", "GETACK", "*") == cmd("REPLCONF", "ACK", str(expected))
    assert node.repl.master_repl_offset == expected + len(cmd("REPLCONF", "GETACK", "*"))
    assert apply(node, master, "PING") is None


def test_apply_stream_passes_the_stream_to_sub_replicas():
    node, master = replica_node()
    sub = Session(node, 7)
    got = bytearray()
    node.repl.send_to_replica = lambda r, data: got.extend(data)
    replication.add_replica(node, sub)
    apply(node, master, "SET", "k", "v")
    assert bytes(got) == cmd("SET", "k", "v")
    assert node.repl.backlog.read_from(1001) == bytes(got)  # type: ignore[union-attr]


def test_read_only_replica_refuses_client_writes():
    node, _master = replica_node()
    client = Session(node, 1)
    reply = core.execute(client, [b"SET", b"k", b"v"])
    assert reply.text == "READONLY You can't write against a read only replica."  # type: ignore[union-attr]
    assert core.execute(client, [b"GET", b"k"]) is None
    core.execute(client, [b"MULTI"])
    assert core.execute(client, [b"INCR", b"k"]).text.startswith("READONLY")  # type: ignore[union-attr]
    assert core.execute(client, [b"EXEC"]).text.startswith("EXECABORT")  # type: ignore[union-attr]
    node.config.set("replica-read-only", "no")
    node.apply_config()
    assert core.execute(client, [b"SET", b"k", b"v"]) == Raw(b"+OK\r\n")
    assert node.repl.master_repl_offset == 1000  # writes on a writable replica stay local


def test_wait_refused_on_replicas():
    node, _ = replica_node()
    reply = core.execute(Session(node, 1), [b"WAIT", b"0", b"0"])
    assert reply.text.startswith("ERR WAIT cannot be used with replica instances.")  # type: ignore[union-attr]


def test_stale_data_refused_when_link_down():
    node, _ = replica_node(replica_serve_stale_data="no")
    client = Session(node, 1)
    assert core.execute(client, [b"GET", b"k"]) is None  # link up
    replication.link_down(node, NOW)
    reply = core.execute(client, [b"GET", b"k"])
    assert reply.text == (  # type: ignore[union-attr]
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
    )
    assert core.execute(client, [b"PING"]).text.startswith("MASTERDOWN")  # type: ignore[union-attr]
    assert core.execute(client, [b"ECHO", b"x"]) == b"x"  # flagged stale
    assert b"master_link_status:down" in core.execute(client, [b"INFO", b"replication"]).text  # type: ignore[union-attr]


def test_replica_never_expires_keys_itself():
    node, master = replica_node()
    apply(node, master, "SET", "k", "5", "PXAT", NOW + 10)
    node.now_ms = NOW + 100
    client = Session(node, 1)
    assert core.execute(client, [b"GET", b"k"]) is None  # reported missing...
    assert b"k" in node.dbs[0].data  # ...but kept
    assert node.active_expire() == 0 and b"k" in node.dbs[0].data
    apply(node, master, "INCR", "k")  # the master's commands still see it
    assert node.dbs[0].data[b"k"] == b"6"
    apply(node, master, "DEL", "k")
    assert b"k" not in node.dbs[0].data


# -- WAIT -----------------------------------------------------------------------------------------


def test_wait_blocks_until_acked_and_sends_getack(m: Master):
    conn = ClientConnection(m.node, m.session())
    conn.feed(cmd("SET", "k", "v"))
    offset = m.node.repl.master_repl_offset
    m.take()
    assert conn.feed(cmd("WAIT", "1", "1000")) == b""  # blocked
    assert m.take() == cmd("REPLCONF", "GETACK", "*")
    replication.process_ack(m.node, m.replica.id, offset - 1)
    assert not m.node.blocking.released
    core.execute(m.replica, [b"REPLCONF", b"ACK", b"%d" % offset])
    ((session, reply),) = m.node.blocking.released
    assert session is conn.session and reply == 1


def test_wait_timeout_reply_is_the_count_then(m: Master):
    conn = ClientConnection(m.node, m.session())
    conn.feed(cmd("SET", "k", "v"))
    conn.feed(cmd("WAIT", "2", "100"))
    core.execute(m.replica, [b"REPLCONF", b"ACK", b"%d" % m.node.repl.master_repl_offset])
    assert not m.node.blocking.released
    m.node.blocking.expire(NOW + 99)
    assert not m.node.blocking.released
    m.node.blocking.expire(NOW + 100)
    assert m.node.blocking.released == [(conn.session, 1)]


def test_wait_zero_timeout_blocks_forever_and_multi_answers_at_once(m: Master):
    conn = ClientConnection(m.node, m.session())
    conn.feed(cmd("SET", "k", "v"))
    conn.feed(cmd("WAIT", "1", "0"))
    m.node.blocking.expire(NOW + 10**9)
    assert not m.node.blocking.released and conn.blocked
    s = m.session()
    core.execute(s, [b"MULTI"])
    core.execute(s, [b"WAIT", b"5", b"0"])
    assert core.execute(s, [b"EXEC"]) == [1]  # no write yet: every online replica counts


def test_scripts_cannot_write_on_a_read_only_replica():
    node, _master = replica_node()
    client = Session(node, 1)
    reply = core.execute(client, [b"EVAL", b"return redis.call('set','x','1')", b"0"])
    assert reply.text.startswith(  # type: ignore[union-attr]
        "READONLY You can't write against a read only replica. script: "
    )
    reply = core.execute(client, [b"EVAL", b"return redis.pcall('set','x','1')", b"0"])
    assert reply.text == "READONLY You can't write against a read only replica."  # type: ignore[union-attr]
    assert core.execute(client, [b"EVAL", b"return redis.call('get','x')", b"0"]) == Raw(b"$-1\r\n")
    assert b"x" not in node.dbs[0].data


def test_hello_reports_the_replica_role():
    node, _ = replica_node()
    reply = core.execute(Session(node, 1), [b"HELLO", b"3"])
    assert (b"role", b"replica") in reply.items  # type: ignore[union-attr]


def test_restore_ttl_goes_out_absolute(m: Master):
    m.run("SET", "r1", "hello")
    payload = m.run("DUMP", "r1")
    m.take()
    m.run("RESTORE", "r2", 5000, payload)
    assert m.take() == cmd("RESTORE", "r2", NOW + 5000, payload, "ABSTTL")
    m.run("RESTORE", "r3", 0, payload)
    assert m.take() == cmd("RESTORE", "r3", "0", payload)
    m.run("RESTORE", "r2", 5000, payload, "REPLACE", "IDLETIME", 10)
    assert m.take() == cmd(
        "RESTORE", "r2", NOW + 5000, payload, "REPLACE", "IDLETIME", "10", "ABSTTL"
    )
    m.run("RESTORE", "r5", 1, payload, "ABSTTL")  # already past: nothing created
    assert m.take() == b""


def test_min_replicas_to_write_refuses_writes_without_good_replicas():
    node = make_node(Config(), rng=random.Random(1), now_ms=NOW)
    node.config.set("min-replicas-to-write", "1")
    node.apply_config()
    client = Session(node, 1)
    reply = core.execute(client, [b"SET", b"a", b"b"])
    assert reply.text == "NOREPLICAS Not enough good replicas to write."  # type: ignore[union-attr]
    assert core.execute(client, [b"GET", b"a"]) is None
    reply = core.execute(client, [b"EVAL", b"return redis.call('set','x','1')", b"0"])
    assert reply.text.startswith("NOREPLICAS Not enough good replicas to write. script: ")  # type: ignore[union-attr]
    info = core.execute(client, [b"INFO", b"replication"]).text  # type: ignore[union-attr]
    assert b"connected_slaves:0\r\nmin_slaves_good_slaves:0\r\n" in info
    replica = Session(node, 2)
    core.execute(replica, [b"PSYNC", b"?", b"-1"])
    assert core.execute(client, [b"SET", b"a", b"b"]) == Raw(b"+OK\r\n")
    node.now_ms += 11_000  # no ack for longer than min-replicas-max-lag (10 s)
    assert core.execute(client, [b"SET", b"a", b"b"]).text.startswith("NOREPLICAS")  # type: ignore[union-attr]
    core.execute(replica, [b"REPLCONF", b"ACK", b"0"])
    assert core.execute(client, [b"SET", b"a", b"b"]) == Raw(b"+OK\r\n")


def test_master_transaction_moves_the_offset_only_at_exec():
    node, master = replica_node()
    sub = bytearray()
    node.repl.send_to_replica = lambda r, data: sub.extend(data)
    replication.add_replica(node, Session(node, 7))
    apply(node, master, "MULTI")
    apply(node, master, "SET", "a", "1")
    assert node.repl.master_repl_offset == 1000 and not sub
    apply(node, master, "SET", "b", "2")
    apply(node, master, "EXEC")
    txn = cmd("MULTI") + cmd("SET", "a", "1") + cmd("SET", "b", "2") + cmd("EXEC")
    assert node.repl.master_repl_offset == 1000 + len(txn) and bytes(sub) == txn
    assert node.dbs[0].data[b"a"] == b"1"
    # A link cut inside a transaction drops it and keeps the offset before it: PSYNC resends it.
    apply(node, master, "MULTI")
    apply(node, master, "SET", "c", "1")
    replication.link_down(node, NOW)
    assert node.repl.master_repl_offset == 1000 + len(txn)
    assert replication.psync_args(node) == ("c" * 40, 1000 + len(txn) + 1)
    assert master.multi is None and b"c" not in node.dbs[0].data


def test_following_the_same_master_again_is_a_no_op():
    node = make_node(Config(), rng=random.Random(1), now_ms=NOW)
    replication.follow(node, "h", 1)
    replication.follow(node, "h", 1)
    assert node.events == [ReplicateFrom("h", 1)]
    replication.follow(node, "h", 2)
    assert node.events[-1] == ReplicateFrom("h", 2)


def test_fast_path_feeds_the_same_stream(m: Master):
    """Pipelined requests through ClientConnection (the batch loop's fast path)."""
    conn = ClientConnection(m.node, m.client)
    conn.feed(
        cmd("SET", "a", "1")
        + cmd("SET", "b", "2", "EX", "10")
        + cmd("DEL", "nokey")
        + cmd("EVAL", "redis.call('set','x','1') redis.call('incr','x')", "0")
        + cmd("PUBLISH", "ch", "m")
        + cmd("SET", "e", "v", "PX", "5")
    )
    assert m.take() == SELECT0 + cmd("SET", "a", "1") + cmd(
        "SET", "b", "2", "PXAT", NOW + 10_000
    ) + cmd("MULTI") + cmd("set", "x", "1") + cmd("incr", "x") + cmd("EXEC") + cmd(
        "PUBLISH", "ch", "m"
    ) + cmd("SET", "e", "v", "PXAT", NOW + 5)
    m.node.now_ms = NOW + 10
    conn.feed(cmd("GET", "e") + cmd("GET", "a"))  # a read's expiry DEL: written by the batch
    assert m.take() == cmd("DEL", "e")
    assert m.node.repl.client_woff[m.client.id] == m.node.repl.master_repl_offset


def test_fed_non_writes_propagate_from_the_fast_path_only_while_feeding(m: Master):
    """Script effects and PUBLISH are not writes, yet feed the stream: the replication hook of
    the one invocation function sees them on the batch loop's fast path too."""
    conn = ClientConnection(m.node, m.session())
    assert m.node.hooks.is_enabled("replication")
    conn.feed(cmd("EVAL", "redis.call('set','fp','1')", "0"))
    assert m.take() == SELECT0 + cmd("set", "fp", "1")
    conn.feed(cmd("PUBLISH", "ch", "hi"))
    assert m.take() == cmd("PUBLISH", "ch", "hi")
    replication.follow(m.node, "h", 1)  # a replica feeds nothing itself
    assert not m.node.hooks.is_enabled("replication")


def test_waits_of_one_batch_share_one_getack(m: Master):
    conns = [ClientConnection(m.node, m.session()) for _ in range(3)]
    for conn in conns:
        conn.feed(cmd("SET", "k", "v"))
    m.take()
    conns[0].feed(cmd("WAIT", "1", "0"))
    conns[1].feed(cmd("WAIT", "1", "0"))
    assert m.take() == cmd("REPLCONF", "GETACK", "*")
    m.node.now_ms += 1  # a later batch asks again, as Redis's next event-loop iteration
    conns[2].feed(cmd("WAIT", "1", "0"))
    assert m.take() == cmd("REPLCONF", "GETACK", "*")
    core.execute(m.replica, [b"REPLCONF", b"ACK", b"%d" % m.node.repl.master_repl_offset])
    assert sorted(s.id for s, _ in m.node.blocking.released) == sorted(c.session.id for c in conns)


def test_cron_pings_replicas_every_period(m: Master):
    replication.cron(m.node, NOW)
    assert m.take() == cmd("ping")  # lowercase, as Redis's replicationCron writes it
    replication.cron(m.node, NOW + 9_999)
    assert m.take() == b""
    replication.cron(m.node, NOW + 10_000)
    assert m.take() == cmd("ping")
    assert m.node.repl.master_repl_offset == 2 * len(cmd("ping"))


def test_master_credentials():
    node = make_node(Config(), rng=random.Random(1), now_ms=NOW)
    assert replication.master_credentials(node) == (None, None)
    node.config.set("masterauth", "secret")
    assert replication.master_credentials(node) == (None, "secret")
    node.config.set("masteruser", "repl")
    assert replication.master_credentials(node) == ("repl", "secret")


def test_wait_counts_replicas_still_connected_at_timeout(m: Master):
    conn = ClientConnection(m.node, m.session())
    conn.feed(cmd("SET", "k", "v"))
    conn.feed(cmd("WAIT", "2", "100"))
    core.execute(m.replica, [b"REPLCONF", b"ACK", b"%d" % m.node.repl.master_repl_offset])
    replication.replica_disconnected(m.node, m.replica.id)
    m.node.blocking.expire(NOW + 100)
    assert m.node.blocking.released == [(conn.session, 0)]


def test_lazyfree_lazy_expire_propagates_unlink():
    m = Master(lazyfree_lazy_expire="yes")
    m.run("SET", "k", "v")
    m.run("EXPIRE", "k", -1)
    m.run("SET", "a", "v")
    m.run("GETEX", "a", "EXAT", 1)
    m.run("SET", "e", "v", "PX", 1)
    m.node.now_ms += 10
    m.run("GET", "e")
    assert m.take() == SELECT0 + cmd("SET", "k", "v") + cmd("UNLINK", "k") + cmd(
        "SET", "a", "v"
    ) + cmd("UNLINK", "a") + cmd("SET", "e", "v", "PXAT", NOW + 1) + cmd("UNLINK", "e")


def test_updates_answering_zero_are_propagated(m: Master):
    m.run("HSET", "h", "f", "1")
    m.run("ZADD", "z", 1, "m")
    m.take()
    assert m.run("HSET", "h", "f", "2") == 0
    assert m.run("ZADD", "z", 2, "m") == 0
    assert m.take() == cmd("HSET", "h", "f", "2") + cmd("ZADD", "z", "2", "m")
    assert m.run("SADD", "s2", "a") == 1
    assert m.run("SADD", "s2", "a") == 0
    assert m.take() == cmd("SADD", "s2", "a")


def test_master_stream_applies_on_a_replica_with_requirepass():
    node, _ = replica_node(requirepass="secret")
    master = Session(node, 101)
    node.repl.master_session = master
    apply(node, master, "SET", "k", "v")
    assert node.dbs[0].data[b"k"] == b"v"
    reply = core.execute(Session(node, 1), [b"GET", b"k"])
    assert reply.text.startswith("NOAUTH")  # type: ignore[union-attr]
