"""Blocked clients without sockets: BlockingState and ClientConnection parking in virtual time.

Connections are ``ClientConnection`` objects fed raw RESP; ``node.now_ms`` is the clock; the
driver's part (serve ready keys, expire deadlines, hand released replies back) is done by
hand with the same calls ``node.drivers.client_server`` makes.
"""

from __future__ import annotations

import random

import pytest

from node.blocking import Block, BlockingState, parse_timeout_ms, timeout_deadline
from node.client_conn import ClientConnection, retry_blocked
from node.config import Config
from node.protocol.errors import RespError
from node.protocol.resp import NULL_ARRAY
from node.session import Session
from node.state import NodeState
from node.types.quicklist import ListValue
from tests.support.nodes import make_node
from tests.support.rawclient import encode_command

NOW = 1_700_000_000_000


@pytest.fixture
def node() -> NodeState:
    return make_node(Config(), rng=random.Random(3), now_ms=NOW)


def connect(node: NodeState) -> ClientConnection:
    session = Session(node, node.new_client_id())
    node.clients[session.id] = session
    return ClientConnection(node, session)


def send(conn: ClientConnection, *commands: tuple) -> bytes:
    return conn.feed(b"".join(encode_command(*c) for c in commands))


def deliver(node: NodeState, conns: list[ClientConnection]) -> dict[int, bytes]:
    """The driver's ``release_blocked``: serve ready keys, hand out released replies."""
    by_id = {c.session.id: c for c in conns}
    out: dict[int, bytes] = {}
    blocking = node.blocking
    while blocking.ready or blocking.released:
        if blocking.ready:
            blocking.serve_ready(retry_blocked)
        released, blocking.released = blocking.released, []
        for session, reply in released:
            conn = by_id[session.id]
            out[session.id] = out.get(session.id, b"") + conn.unblock(reply)
    return out


# -- ClientConnection parking ------------------------------------------------------------------


def test_blocked_connection_holds_later_requests(node):
    a, b = connect(node), connect(node)
    assert send(a, ("BLPOP", "k", "0"), ("PING",), ("LLEN", "k")) == b""
    assert a.blocked and list(a.pending) == [[b"PING"], [b"LLEN", b"k"]]
    assert send(a, ("ECHO", "later")) == b""  # queued behind the block too
    assert node.blocking.is_blocked(a.session)
    # The push serves the blocked client before LPUSH's own reply is even encoded.
    assert send(b, ("LPUSH", "k", "v")) == b":1\r\n"
    assert node.blocking.released and not node.blocking.ready
    replies = deliver(node, [a, b])
    assert replies[a.session.id] == (b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n+PONG\r\n:0\r\n$5\r\nlater\r\n")
    assert not a.blocked and not a.pending and len(node.blocking) == 0


def test_next_command_of_the_pusher_runs_after_serving(node):
    a, b = connect(node), connect(node)
    send(b, ("BLPOP", "k", "0"))
    assert send(a, ("LPUSH", "k", "v"), ("LPOP", "k")) == b":1\r\n$-1\r\n"
    assert deliver(node, [a, b]) == {b.session.id: b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n"}


def test_timeout_in_virtual_time(node):
    a = connect(node)
    send(a, ("BRPOP", "k", "1.5"))
    blocked = node.blocking.by_session[a.session.id]
    assert blocked.block.deadline_ms == NOW + 1500
    assert node.blocking.deadline_added == NOW + 1500  # the driver may have to wake sooner
    assert node.blocking.next_deadline_ms() == NOW + 1500
    assert node.blocking.timeout_count() == 1
    node.blocking.expire(NOW + 1499)
    assert not node.blocking.released
    node.blocking.expire(NOW + 1500)
    assert deliver(node, [a]) == {a.session.id: b"*-1\r\n"}
    assert node.blocking.next_deadline_ms() is None


def test_timeout_zero_waits_forever(node):
    a = connect(node)
    send(a, ("BLMOVE", "k", "d", "LEFT", "RIGHT", "0"))
    node.blocking.expire(NOW + 10**12)
    assert a.blocked and node.blocking.timeout_count() == 0


def test_resp3_timeout_reply(node):
    a = connect(node)
    send(a, ("HELLO", "3"))
    send(a, ("BLMPOP", "0.01", "1", "k", "LEFT"))
    node.blocking.expire(NOW + 10)
    assert deliver(node, [a]) == {a.session.id: b"_\r\n"}


def test_fifo_service_and_one_element_each(node):
    pusher = connect(node)
    waiters = [connect(node) for _ in range(3)]
    for waiter in waiters:
        send(waiter, ("BLPOP", "k", "0"))
    send(pusher, ("RPUSH", "k", "a", "b"))
    replies = deliver(node, [pusher, *waiters])
    assert replies == {
        waiters[0].session.id: b"*2\r\n$1\r\nk\r\n$1\r\na\r\n",
        waiters[1].session.id: b"*2\r\n$1\r\nk\r\n$1\r\nb\r\n",
    }
    assert waiters[2].blocked
    assert list(node.blocking.waiting) == [(0, b"k")]


def test_multi_exec_serves_after_exec(node):
    a, b = connect(node), connect(node)
    send(b, ("BLPOP", "k", "0"))
    out = send(a, ("MULTI",), ("RPUSH", "k", "x"), ("LLEN", "k"), ("EXEC",))
    assert out.endswith(b"*2\r\n:1\r\n:1\r\n")
    assert deliver(node, [a, b]) == {b.session.id: b"*2\r\n$1\r\nk\r\n$1\r\nx\r\n"}


def test_blocking_denied_inside_multi(node):
    a = connect(node)
    queued = send(a, ("MULTI",), ("BLPOP", "k", "0"), ("BLMOVE", "k", "d", "LEFT", "LEFT", "0"))
    assert queued == b"+OK\r\n+QUEUED\r\n+QUEUED\r\n"
    assert send(a, ("EXEC",)) == b"*2\r\n*-1\r\n$-1\r\n"
    assert not a.blocked


def test_blocking_denied_in_scripts(node):
    """``blocking_allowed`` is False while a script runs: the timeout reply at once."""
    a = connect(node)
    a.session.in_script = True
    from node.core import execute

    assert execute(a.session, [b"BLPOP", b"k", b"0"]) is NULL_ARRAY
    assert execute(a.session, [b"BRPOPLPUSH", b"k", b"d", b"0"]) is None


def test_client_unblock_and_disconnect(node):
    a, b, c = connect(node), connect(node), connect(node)
    send(b, ("BLPOP", "k", "0"))
    send(c, ("BLPOP", "k", "0"))
    assert send(a, ("CLIENT", "UNBLOCK", str(b.session.id), "ERROR")) == b":1\r\n"
    assert deliver(node, [a, b, c]) == {
        b.session.id: b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    }
    c.closed()
    assert len(node.blocking) == 0 and not node.dbs[0].blocking_keys
    send(a, ("RPUSH", "k", "kept"))
    assert deliver(node, [a]) == {}
    assert send(a, ("LRANGE", "k", "0", "-1")) == b"*1\r\n$4\r\nkept\r\n"


def test_reply_off_still_parks(node):
    a, b = connect(node), connect(node)
    assert send(a, ("CLIENT", "REPLY", "OFF"), ("BLPOP", "k", "0"), ("PING",)) == b""
    assert a.blocked and list(a.pending) == [[b"PING"]]
    send(b, ("RPUSH", "k", "1"))
    assert deliver(node, [a, b]) == {a.session.id: b""}
    assert not a.blocked and not a.pending


def test_reply_skip_applies_to_the_blocked_reply(node):
    a, b = connect(node), connect(node)
    assert send(a, ("CLIENT", "REPLY", "SKIP"), ("BLPOP", "k", "0"), ("PING",)) == b""
    send(b, ("RPUSH", "k", "1"))
    assert deliver(node, [a, b]) == {a.session.id: b"+PONG\r\n"}


def test_blocked_in_another_database(node):
    a, b = connect(node), connect(node)
    send(b, ("SELECT", "2"), ("BLPOP", "k", "0"))
    send(a, ("RPUSH", "k", "db0"))
    assert deliver(node, [a, b]) == {}
    send(a, ("SELECT", "2"), ("RPUSH", "k", "db2"))
    assert deliver(node, [a, b]) == {b.session.id: b"*2\r\n$1\r\nk\r\n$3\r\ndb2\r\n"}
    assert b.session.db is node.dbs[2]


def test_retry_is_not_counted_again(node):
    """A served blocked command counts one call in total, as Redis 7.0's commandstats."""
    a, b = connect(node), connect(node)
    send(b, ("BLPOP", "k", "0"))
    send(a, ("RPUSH", "other", "x"))
    send(a, ("RPUSH", "k", "x"))
    deliver(node, [a, b])
    assert node.commands[b"blpop"].stats[0] == 1


# -- BlockingState on its own ------------------------------------------------------------------


def test_state_skips_clients_waiting_for_another_type(node):
    """A key whose value is not the type a client waits for does not serve it (7.0)."""
    state = BlockingState()
    db = node.dbs[0]
    db.blocking = state
    waiter = Session(node, 10)
    other = Session(node, 11)
    state.block(waiter, [b"BLPOP", b"k", b"0"], Block([b"k"], None, NULL_ARRAY, ListValue), NOW)
    state.block(other, [b"ANY", b"k"], Block([b"k"], None, NULL_ARRAY), NOW)
    db.data[b"k"] = b"a string"
    state.signal_ready(db, b"k")
    runs = []
    state.serve_ready(lambda session, argv: runs.append(session.id) or "served")
    assert runs == [11]
    assert state.released == [(other, "served")]
    assert state.is_blocked(waiter) and not state.is_blocked(other)


def test_state_serving_key_and_db_during_retry(node):
    state = BlockingState()
    db = node.dbs[4]
    session = Session(node, 10)
    session.select(4)
    state.block(session, [b"BLPOP", b"a", b"b", b"0"], Block([b"a", b"b", b"a"], None, None), NOW)
    assert db.blocking_keys == {b"a", b"b"}
    session.select(0)
    db.data[b"b"] = ListValue()
    state.signal_ready(db, b"b")
    state.signal_ready(db, b"b")  # signalled once per batch
    assert state.ready == [(db, b"b")]
    seen = []
    state.serve_ready(lambda s, argv: seen.append((s.db.id, state.serving_key)) or "ok")
    assert seen == [(4, b"b")]
    assert session.db is node.dbs[0] and state.serving_key is None
    assert not db.blocking_keys and not state.waiting


def test_state_retry_that_blocks_again_keeps_the_first_deadline(node):
    state = BlockingState()
    db = node.dbs[0]
    session = Session(node, 10)
    state.block(session, [b"X"], Block([b"k"], NOW + 100, "timeout"), NOW)
    db.data[b"k"] = ListValue()
    state.signal_ready(db, b"k")
    state.serve_ready(lambda s, argv: Block([b"k"], NOW + 99999, "other"))
    assert state.is_blocked(session) and not state.released
    state.expire(NOW + 100)
    assert state.released == [(session, "timeout")]


def test_state_stops_at_an_emptied_key(node):
    state = BlockingState()
    db = node.dbs[0]
    sessions = [Session(node, i) for i in (10, 11)]
    for session in sessions:
        state.block(session, [b"X"], Block([b"k"], None, None), NOW)
    db.data[b"k"] = ListValue()

    def consume(session, argv):
        del db.data[b"k"]
        return "got it"

    state.signal_ready(db, b"k")
    state.serve_ready(consume)
    assert state.released == [(sessions[0], "got it")]
    assert state.is_blocked(sessions[1])


def test_state_unblock_drop_and_counts(node):
    state = BlockingState()
    a, b = Session(node, 1), Session(node, 2)
    state.block(a, [b"X"], Block([b"k"], NOW + 5, "t-a"), NOW)
    state.block(b, [b"X"], Block([b"k", b"j"], None, "t-b"), NOW)
    assert len(state) == 2 and state.timeout_count() == 1
    assert state.unblock(a) and state.released == [(a, "t-a")]
    assert not state.unblock(a)
    assert state.unblock(b, "custom") and state.released[-1] == (b, "custom")
    state.block(a, [b"X"], Block([b"k"], None, None), NOW)
    state.drop(a)
    assert len(state) == 0 and not state.waiting


# -- timeouts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "ms"),
    [
        (b"0", 0),
        (b"1", 1000),
        (b"0.1", 100),
        (b"0.0001", 1),  # ceil
        (b"1e-400", 1),  # a long double, not zero
        (b"-0.0005", 0),  # ceil to -0: forever
        (b"-0.001", 0),  # -0.99999999999999999995 in long double
        (b"-1e-400", 0),
        (b"0x1p3", 8000),
        (b"+2", 2000),
        (b"9223372036854775.807", 2**63 - 1),
    ],
)
def test_parse_timeout(raw, ms):
    assert parse_timeout_ms(raw) == ms


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"x", "ERR timeout is not a float or out of range"),
        (b"", "ERR timeout is not a float or out of range"),
        (b"nan", "ERR timeout is not a float or out of range"),
        (b" 1", "ERR timeout is not a float or out of range"),
        (b"1_0", "ERR timeout is not a float or out of range"),
        (b"1e-5000", "ERR timeout is not a float or out of range"),
        (b"-1", "ERR timeout is negative"),
        (b"-0.002", "ERR timeout is negative"),
        (b"inf", "ERR timeout is negative"),
        (b"-inf", "ERR timeout is negative"),
        (b"1e20", "ERR timeout is negative"),  # the cast overflows to LLONG_MIN
        (b"9223372036854775.808", "ERR timeout is negative"),
    ],
)
def test_parse_timeout_errors(raw, error):
    with pytest.raises(RespError) as caught:
        parse_timeout_ms(raw)
    assert caught.value.text == error


def test_timeout_deadline():
    assert timeout_deadline(NOW, b"0") is None
    assert timeout_deadline(NOW, b"2.5") == NOW + 2500
