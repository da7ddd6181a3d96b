"""ROLE, INFO replication, REPLICAOF, WAIT, REPLCONF and PSYNC replies against Redis 7.0.15 on a
master with no replica (shared servers: nothing here creates a backlog), and a private pair
turned into replicas of a dead master for the replica-side replies."""

from __future__ import annotations

import re
import time

import pytest

from tests.support.procs import free_port, server_pair, start_rcsim
from tests.support.rawclient import RawClient, encode_command
from tests.support.waiting import wait_for


def _norm_info(raw: bytes) -> bytes:
    """Replication ids are random; lag and link ages depend on timing."""
    raw = re.sub(rb"master_replid:[0-9a-f]{40}", b"master_replid:<id>", raw)
    raw = re.sub(
        rb"master_link_down_since_seconds:-?\d+", b"master_link_down_since_seconds:<s>", raw
    )
    return re.sub(rb"^\$\d+\r\n|^=\d+\r\ntxt:", b"", raw)


def test_role_on_a_master(diff):
    diff.check("ROLE")


def test_info_replication_on_a_master(diff):
    ours, theirs = diff.both("INFO", "replication")
    assert _norm_info(ours) == _norm_info(theirs)


@pytest.mark.parametrize(
    "args",
    [
        ("WAIT", "0", "0"),
        ("WAIT", "-1", "0"),
        ("WAIT", "a", "0"),
        ("WAIT", "0", "a"),
        ("WAIT", "0", "-1"),
        ("WAIT", "0", "1.5"),
        ("WAIT", "99999999999999999999", "1"),
        ("WAIT", "1", "30"),  # no replica: blocks 30 ms, then 0
    ],
)
def test_wait_on_a_master_without_replicas(diff, args):
    diff.check(*args)


def test_wait_inside_multi_answers_at_once(diff):
    diff.check("MULTI")
    diff.check("WAIT", "5", "0")
    diff.check("EXEC")


@pytest.mark.parametrize(
    "args",
    [
        ("REPLCONF",),
        ("REPLCONF", "x"),
        ("REPLCONF", "listening-port"),
        ("REPLCONF", "listening-port", "abc"),
        ("REPLCONF", "listening-port", "99999999999999999999"),
        ("REPLCONF", "listening-port", "123"),
        ("REPLCONF", "foo", "bar"),
        ("REPLCONF", "capa", "eof"),
        ("REPLCONF", "CAPA", "x", "listening-port", "1"),
        ("REPLCONF", "listening-port", "1", "bogus", "2"),
        ("REPLCONF", "ip-address", "a" * 55),
        ("REPLCONF", "rdb-only", "x"),
        ("REPLCONF", "rdb-only", "5"),
        ("REPLCONF", "getack"),
        ("REPLCONF", "a", "b", "c"),
        ("PSYNC", "a", "b"),
        ("PSYNC", "?", "x"),
        ("SYNC", "x"),
        ("PSYNC", "x"),
        ("REPLICAOF", "host", "x"),
        ("REPLICAOF", "host", "70000"),
        ("REPLICAOF", "host", "-1"),
        ("REPLICAOF", "no", "two"),
        ("REPLICAOF", "NO", "ONE"),
        ("SLAVEOF", "no", "one"),
        ("REPLICAOF", "x"),
    ],
)
def test_replication_command_replies(diff, args):
    diff.check(*args)


def test_replconf_ack_and_getack_reply_nothing(diff):
    diff.check_raw(
        encode_command("REPLCONF", "ack", "5")
        + encode_command("REPLCONF", "getack", "*")
        + encode_command("PING")
    )


@pytest.fixture
def replica_pair():
    with server_pair() as pair:
        yield pair


def test_replica_of_a_dead_master(replica_pair):
    dead = free_port()
    ours, theirs = replica_pair
    with RawClient(ours.port) as a, RawClient(theirs.port) as b:

        def same(*args):
            got = a.call(*args), b.call(*args)
            assert got[0] == got[1], f"{args}: {got}"
            return got[0]

        same("REPLICAOF", "127.0.0.1", str(dead))
        same("REPLICAOF", "127.0.0.1", str(dead))  # +OK Already connected...
        same("SLAVEOF", "127.0.0.1", str(dead))
        same("SET", "k", "v")  # READONLY
        same("GET", "k")
        same("WAIT", "0", "0")  # refused on replicas
        same("MULTI")
        same("SET", "k", "v")
        same("EXEC")  # EXECABORT
        same("PSYNC", "?", "-1")  # NOMASTERLINK
        for role in (a.call("ROLE"), b.call("ROLE")):
            assert re.fullmatch(
                rb"\*5\r\n\$5\r\nslave\r\n\$9\r\n127\.0\.0\.1\r\n:%d\r\n\$\d+\r\n(connect|connecting)"
                rb"\r\n:-1\r\n" % dead,
                role,
            ), role
        infos = [_norm_info(c.call("INFO", "replication")) for c in (a, b)]
        assert infos[0] == infos[1]
        old_ids = [
            re.search(rb"master_replid:([0-9a-f]{40})", c.call("INFO", "replication")).group(1)  # type: ignore[union-attr]
            for c in (a, b)
        ]
        same("REPLICAOF", "NO", "ONE")
        for client, old in zip((a, b), old_ids, strict=True):
            info = client.call("INFO", "replication")
            assert b"master_replid2:%s\r\n" % old in info
            assert b"second_repl_offset:1\r\n" in info
        same("SET", "k", "v")
        wait_for("a master again", lambda: b"role:master" in a.call("INFO", "replication"), 5)
        same("ROLE")


# -- the replication stream itself, tapped from both masters ------------------------------------


class StreamTap:
    """A fake replica: PSYNC ? -1, skip the RDB, ack, then read the stream."""

    def __init__(self, port: int) -> None:
        self.client = RawClient(port)
        self.client.call("REPLCONF", "capa", "psync2")
        self.client.send(encode_command("PSYNC", "?", "-1"))
        buf = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            buf += self.client.read_available(0.05)
            match = re.match(rb"\+FULLRESYNC [0-9a-f]{40} \d+\r\n\n*\$(\d+)\r\n", buf)
            if match and len(buf) >= match.end() + int(match.group(1)):
                self.pending = buf[match.end() + int(match.group(1)) :]
                break
        else:
            raise AssertionError(f"no full resync: {buf[:200]!r}")
        self.client.send(encode_command("REPLCONF", "ACK", "0"))

    def read(self) -> bytes:
        data, self.pending = self.pending + self.client.read_available(0.15), b""
        return data

    def read_until(self, expected: bytes, timeout: float = 5.0) -> bytes:
        """The stream from here until it holds ``expected`` (PINGs aside), or what came
        within ``timeout``."""
        data, self.pending = self.pending, b""
        deadline = time.monotonic() + timeout
        while expected not in _norm_stream(data) and time.monotonic() < deadline:
            data += self.client.read_available(0.02)
        return data

    def close(self) -> None:
        self.client.close()


def _blocked(client: RawClient) -> bool:
    return b"blocked_clients:1\r\n" in client.call("INFO", "clients")


def _norm_stream(data: bytes) -> bytes:
    """Absolute times differ between the two runs; the replication cron's PINGs come when
    they come."""
    data = re.sub(rb"\$13\r\n1\d{12}\r\n", b"$13\r\n<unix-ms>\r\n", data)
    return data.replace(b"*1\r\n$4\r\nping\r\n", b"")


STREAM_SCRIPT = [
    ("SET", "k", "v", "EX", "100"),
    ("SET", "k", "v", "PX", "100000", "NX"),
    ("SET", "k", "v2", "XX", "GET", "EX", "5"),
    ("SETEX", "a", "10", "x"),
    ("PSETEX", "a", "10000", "x"),
    ("SET", "b", "v", "KEEPTTL"),
    ("EXPIRE", "k", "100"),
    ("EXPIRE", "k", "100", "NX"),
    ("PEXPIRE", "k", "100000", "XX"),
    ("EXPIRE", "nokey", "10"),
    ("GETEX", "a", "EX", "100"),
    ("GETEX", "a"),
    ("GETEX", "a", "PERSIST"),
    ("DEL", "nokey"),
    ("INCRBYFLOAT", "f", "1.5"),
    ("HINCRBYFLOAT", "h", "f", "2.5"),
    ("SADD", "s", "a"),
    ("SPOP", "s"),
    ("SADD", "s", "a", "b", "c"),
    ("SPOP", "s", "5"),
    ("LPUSH", "l", "a", "b", "c"),
    ("BLPOP", "l", "0"),
    ("BLMPOP", "0", "1", "l", "RIGHT", "COUNT", "5"),
    ("ZADD", "z", "1", "a", "2", "b"),
    ("BZPOPMAX", "z", "0"),
    ("MULTI",),
    ("SET", "t1", "1"),
    ("INCR", "t1"),
    ("EXEC",),
    ("MULTI",),
    ("SET", "t2", "1"),
    ("EXEC",),
    ("EVAL", "redis.call('set','x','1') redis.call('expire','x',100)", "0"),
    ("EVAL", "redis.call('set','y','1')", "0"),
    ("EVAL", "return redis.call('get','y')", "0"),
    ("SELECT", "3"),
    ("SET", "x", "1"),
    ("GETDEL", "x"),
    ("FLUSHALL",),
    ("SELECT", "0"),
    ("PUBLISH", "ch", "hi"),
    ("LPUSH", "l2", "a", "b", "c", "d"),
    ("BLMOVE", "l2", "l3", "LEFT", "RIGHT", "0"),
    ("BRPOPLPUSH", "l2", "l3", "0"),
    ("LMPOP", "1", "l2", "LEFT", "COUNT", "5"),
    ("LMPOP", "1", "nolist", "LEFT"),
    ("ZADD", "z2", "1", "a", "2", "b", "3", "c"),
    ("ZMPOP", "1", "z2", "MIN", "COUNT", "2"),
    ("ZPOPMAX", "z2", "5"),
    ("SET", "x", "1", "EXAT", "4102444800"),
    ("SET", "x", "2", "GET"),
    ("GETSET", "x", "3"),
    ("SMOVE", "nos", "s2", "a"),
    ("HSET", "h2", "a", "1", "b", "2"),
    ("HDEL", "h2", "zz"),
    ("ZINCRBY", "z3", "1.5", "m"),
    ("SETRANGE", "sr", "3", "abc"),
    ("COPY", "sr", "sr2"),
    ("RENAME", "sr2", "sr3"),
    ("PERSIST", "sr3"),
    ("EXPIRETIME", "sr3"),
    ("PFADD", "hll", "a", "b"),
    ("PFADD", "hll", "a"),
    ("SWAPDB", "0", "1"),
    ("SWAPDB", "0", "1"),
    ("FLUSHDB",),
    ("SET", "e", "v", "PX", "1"),
]


@pytest.fixture
def tapped_pair():
    """rcsim and redis-server with a StreamTap on each (Redis syncs from disk here, so both taps
    skip a ``$<length>`` RDB)."""
    with server_pair((), ("--repl-diskless-sync", "no")) as (ours, theirs):
        taps = [StreamTap(ours.port)]
        try:
            taps.append(StreamTap(theirs.port))
            yield ours, theirs, taps
        finally:
            for tap in taps:
                tap.close()


def test_the_replication_stream_matches_redis(tapped_pair):
    ours, theirs, taps = tapped_pair
    with RawClient(ours.port) as a, RawClient(theirs.port) as b:
        for command in STREAM_SCRIPT:
            replies = a.call(*command), b.call(*command)
            if command[0] != "SPOP":  # members come in hash order
                assert replies[0] == replies[1], (command, replies)
        time.sleep(0.05)  # "e" has expired: replicas get a DEL (lazily or actively)
        assert a.call("GET", "e") == b.call("GET", "e") == b"$-1\r\n"
        streams = [_norm_stream(t.read()) for t in taps]
        # Compare command by command for a readable failure.
        split = [re.split(rb"(?=\*\d+\r\n\$)", s) for s in streams]
        assert split[0] == split[1]
        assert streams[0].endswith(encode_command("DEL", "e"))


def test_served_blocked_clients_and_wait_against_redis(tapped_pair):
    ours, theirs, taps = tapped_pair
    with (
        RawClient(ours.port) as a,
        RawClient(theirs.port) as b,
        RawClient(ours.port) as wa,
        RawClient(theirs.port) as wb,
    ):
        for blocking, feed in (
            (("BLPOP", "q", "0"), ("RPUSH", "q", "x", "y")),
            (("BLMOVE", "q2", "d", "RIGHT", "LEFT", "0"), ("LPUSH", "q2", "x")),
            (("BRPOPLPUSH", "q5", "d", "0"), ("LPUSH", "q5", "x")),
            (("BZPOPMIN", "z", "0"), ("ZADD", "z", "1", "m")),
            (
                ("BLMPOP", "0", "2", "q3", "q4", "RIGHT", "COUNT", "3"),
                ("RPUSH", "q4", "1", "2"),
            ),
        ):
            wa.send(encode_command(*blocking))
            wb.send(encode_command(*blocking))
            wait_for(
                f"{blocking[0]} to block on both",
                lambda: all(_blocked(c) for c in (a, b)),
            )
            assert a.call(*feed) == b.call(*feed)
            assert wa.read_reply() == wb.read_reply()
        streams = [_norm_stream(t.read()) for t in taps]
        split = [re.split(rb"(?=\*\d+\r\n\$)", s) for s in streams]
        assert split[0] == split[1]
        assert encode_command("LMOVE", "q2", "d", "right", "left") in streams[0]
        # WAIT: blocks until the replica acks this client's write; GETACK asked once.
        offsets = []
        for client in (a, b):
            client.call("SET", "w", "1")
            info = client.call("INFO", "replication")
            offsets.append(int(re.search(rb"master_repl_offset:(\d+)", info).group(1)))  # type: ignore[union-attr]
        for client, tap, offset in zip((a, b), taps, offsets, strict=True):
            tap.read()
            client.send(encode_command("WAIT", "1", "5000"))
            getack = encode_command("REPLCONF", "GETACK", "*")
            assert _norm_stream(tap.read_until(getack)) == getack
            tap.client.send(encode_command("REPLCONF", "ACK", str(offset)))
            assert client.read_reply() == b":1\r\n"
            assert client.call("WAIT", "1", "0") == b":1\r\n"  # acked already: at once
            assert client.call("ROLE").endswith(b"$%d\r\n%d\r\n" % (len(str(offset)), offset))


# -- rcsim nodes among themselves: a failover keeps the history (PSYNC via replid2) ---------------


def _link_up(client: RawClient) -> bool:
    return b"master_link_status:up" in client.call("INFO", "replication")


def test_promotion_keeps_history_for_partial_resyncs():
    nodes = [start_rcsim() for _ in range(3)]
    try:
        a, b, c = (RawClient(n.port) for n in nodes)
        b.call("REPLICAOF", "127.0.0.1", str(nodes[0].port))
        wait_for("b linked to its new master", lambda: _link_up(b), 10.0, step=0.05)
        c.call("REPLICAOF", "127.0.0.1", str(nodes[1].port))  # chained: a -> b -> c
        wait_for("c linked to its new master", lambda: _link_up(c), 10.0, step=0.05)
        for i in range(50):
            a.call("SET", "k%d" % i, "v%d" % i)
        assert a.call("WAIT", "1", "5000") == b":1\r\n"
        wait_for("c to hold the 50 keys", lambda: c.call("DBSIZE") == b":50\r\n", 10.0, step=0.05)
        # Failover: b becomes the master, a follows it and continues its history.
        assert b.call("REPLICAOF", "NO", "ONE") == b"+OK\r\n"
        b.call("SET", "after", "1")
        assert a.call("REPLICAOF", "127.0.0.1", str(nodes[1].port)) == b"+OK\r\n"
        wait_for(
            "a to catch up",
            lambda: _link_up(a) and a.call("GET", "after") == b"$1\r\n1\r\n",
            10.0,
            step=0.05,
        )
        wait_for(
            "c to catch up",
            lambda: _link_up(c) and c.call("GET", "after") == b"$1\r\n1\r\n",
            10.0,
            step=0.05,
        )
        stats = b.call("INFO", "stats")
        assert b"sync_partial_ok:2\r\n" in stats  # a, and c after b's replid changed
        assert b"sync_full:1\r\n" in stats  # only c's first sync
        assert a.call("SET", "x", "1").startswith(b"-READONLY")
        for client in (a, b, c):
            client.close()
    finally:
        for node in nodes:
            node.stop()
