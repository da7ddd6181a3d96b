"""MULTI/EXEC/WATCH in virtual time: expiry around WATCH, flushes, SWAPDB, MONITOR order.

Keys and TTLs are set through the keyspace API (``Database.set``/``set_expire``) so these tests
depend only on the transaction code and the dispatcher; ``node.now_ms`` is the clock.
"""

from __future__ import annotations

import random

import pytest

from node.config import Config
from node.core import execute
from node.keyspace import Database
from node.protocol.resp import encode
from node.session import Session
from node.state import NodeState
from tests.support.nodes import make_node

NOW = 1_700_000_000_000
NULL_ARRAY = b"*-1\r\n"
PONG_ONLY = b"*1\r\n+PONG\r\n"
EXECABORT = b"-EXECABORT Transaction discarded because of previous errors.\r\n"


@pytest.fixture
def node() -> NodeState:
    return make_node(Config(), rng=random.Random(7), now_ms=NOW)


@pytest.fixture
def a(node: NodeState) -> Session:
    return Session(node, 1)


@pytest.fixture
def b(node: NodeState) -> Session:
    return Session(node, 2)


def run(session: Session, *args: str | bytes) -> bytes:
    argv = [x if isinstance(x, bytes) else x.encode() for x in args]
    return encode(execute(session, argv), session.resp3)


def exec_ping(session: Session) -> bytes:
    """MULTI, PING, EXEC: the EXEC reply tells whether the WATCH held."""
    assert run(session, "MULTI") == b"+OK\r\n"
    assert run(session, "PING") == b"+QUEUED\r\n"
    return run(session, "EXEC")


def put(db: Database, key: bytes, expires_at: int | None = None) -> None:
    db.set(key, b"v")
    if expires_at is not None:
        db.set_expire(key, expires_at)


# -- queueing -------------------------------------------------------------------------------


def test_queued_commands_run_at_exec_in_order(a):
    assert run(a, "MULTI") == b"+OK\r\n"
    assert run(a, "SET", "k", "1") == b"+QUEUED\r\n"
    assert run(a, "GET", "k") == b"+QUEUED\r\n"
    assert a.db.data == {}
    assert run(a, "EXEC") == b"*2\r\n+OK\r\n$1\r\n1\r\n"
    assert a.multi is None


def test_rejected_command_flags_the_transaction(a):
    run(a, "MULTI")
    assert run(a, "NOSUCH").startswith(b"-ERR unknown command 'NOSUCH'")
    assert run(a, "SET", "k", "1") == b"+QUEUED\r\n"
    assert run(a, "EXEC") == EXECABORT
    assert a.db.data == {} and a.multi is None


def test_errors_of_multi_and_watch_themselves_do_not_abort(a):
    run(a, "MULTI")
    assert run(a, "MULTI") == b"-ERR MULTI calls can not be nested\r\n"
    assert run(a, "WATCH", "k") == b"-ERR WATCH inside MULTI is not allowed\r\n"
    assert exec_ping_after_multi(a) == PONG_ONLY


def exec_ping_after_multi(session: Session) -> bytes:
    run(session, "PING")
    return run(session, "EXEC")


def test_exec_refused_by_the_dispatcher_discards_the_transaction(a):
    run(a, "MULTI")
    run(a, "SET", "k", "1")
    assert run(a, "EXEC", "x") == (
        b"-EXECABORT Transaction discarded because of: "
        b"wrong number of arguments for 'exec' command\r\n"
    )
    assert a.multi is None
    assert run(a, "EXEC") == b"-ERR EXEC without MULTI\r\n"


def test_exec_without_authentication_is_an_execabort(node):
    node.requirepass = "secret"
    session = Session(node, 9)
    assert run(session, "EXEC") == (
        b"-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n"
    )
    assert node.stats.errors.get("EXECABORT") == 1


def test_exec_keeps_the_client_in_multi_while_the_queue_runs(a, node):
    """Commands run by EXEC see the client in MULTI (CLIENT LIST flags=x, no blocking)."""
    seen = []
    command = node.commands[b"ping"]
    original = command.handler
    command.handler = lambda ctx, argv: seen.append(ctx.multi is not None) or original(ctx, argv)
    try:
        assert exec_ping(a) == PONG_ONLY
    finally:
        command.handler = original
    assert seen == [True] and a.multi is None


def test_hello_inside_exec_encodes_the_rest_in_the_new_protocol(a):
    run(a, "MULTI")
    run(a, "GET", "missing")
    run(a, "HELLO", "3")
    run(a, "GET", "missing")
    reply = run(a, "EXEC")
    assert reply.startswith(b"*3\r\n$-1\r\n%7\r\n")
    assert reply.endswith(b"*0\r\n_\r\n")


def test_null_array_is_resp3_null(a, b):
    run(a, "HELLO", "3")
    run(a, "WATCH", "k")
    run(b, "SET", "k", "1")
    assert exec_ping(a) == b"_\r\n"


def test_monitor_shows_exec_after_its_commands(a, node):
    monitor = Session(node, 3)
    monitor.monitor = True
    node.add_monitor(monitor)
    for command in (("MULTI",), ("SET", "k", "1"), ("SELECT", "1")):
        run(a, *command)
    run(a, "EXEC")
    lines = b"".join(monitor.out_queue).split(b"\r\n")[:-1]
    shown = [line.split(b"] ", 1)[1] for line in lines]
    assert shown == [b'"MULTI"', b'"SET" "k" "1"', b'"SELECT" "1"', b'"EXEC"']
    assert b"[1 " in lines[3]  # the database in force after the command, as Redis shows it


# -- WATCH and writes ----------------------------------------------------------------------------


def test_write_by_another_client_fails_exec(a, b):
    run(a, "WATCH", "k")
    run(b, "SET", "k", "1")
    assert exec_ping(a) == NULL_ARRAY
    assert exec_ping(a) == PONG_ONLY  # EXEC forgot the failed WATCH


def test_watch_is_per_database(a, b, node):
    run(a, "WATCH", "k")
    put(node.dbs[1], b"k")
    assert exec_ping(a) == PONG_ONLY
    run(a, "WATCH", "k")
    run(a, "SELECT", "1")
    put(node.dbs[0], b"k")
    assert exec_ping(a) == NULL_ARRAY


def test_unwatch_and_disconnect_forget_the_keys(a, node):
    run(a, "WATCH", "k", "j", "k")
    assert len(a.watched) == 2 and set(node.dbs[0].watchers) == {b"k", b"j"}
    run(a, "UNWATCH")
    assert a.watched == [] and node.dbs[0].watchers == {}


# -- WATCH and expiry (Redis 7.0's keyIsExpired: expired once now > when) ----------------------------


def test_key_expiring_after_watch_fails_exec_without_being_deleted(a, node):
    put(a.db, b"k", expires_at=NOW + 100)
    run(a, "WATCH", "k")
    node.now_ms = NOW + 100  # not yet: Redis expires a key when now > when
    assert exec_ping(a) == PONG_ONLY
    run(a, "WATCH", "k")
    node.now_ms = NOW + 101
    assert b"k" in a.db.data
    assert exec_ping(a) == NULL_ARRAY


def test_key_expired_before_watch_then_deleted_lazily_is_no_change(a, b, node):
    put(a.db, b"k", expires_at=NOW - 1)
    run(a, "WATCH", "k")
    assert run(b, "GET", "k") == b"$-1\r\n"  # deletes it
    assert b"k" not in a.db.data
    assert exec_ping(a) == PONG_ONLY


def test_key_expired_before_watch_then_deleted_by_active_expiry_is_no_change(a, node):
    put(a.db, b"k", expires_at=NOW - 1)
    run(a, "WATCH", "k")
    node.active_expire()
    assert b"k" not in a.db.data
    assert exec_ping(a) == PONG_ONLY


def test_key_expired_before_watch_and_left_alone_keeps_exec(a, node):
    put(a.db, b"k", expires_at=NOW - 1)
    run(a, "WATCH", "k")
    node.now_ms += 10_000
    assert exec_ping(a) == PONG_ONLY


def test_key_expired_before_watch_then_written_fails_exec(a, b):
    put(a.db, b"k", expires_at=NOW - 1)
    run(a, "WATCH", "k")
    run(b, "SET", "k", "new")
    assert exec_ping(a) == NULL_ARRAY


def test_key_expired_before_watch_deleted_then_recreated_fails_exec(a, b):
    put(a.db, b"k", expires_at=NOW - 1)
    run(a, "WATCH", "k")
    run(b, "GET", "k")
    run(b, "SET", "k", "again")
    assert exec_ping(a) == NULL_ARRAY


def test_expire_set_on_watched_key_fails_exec(a, node):
    put(a.db, b"k")
    run(a, "WATCH", "k")
    a.db.set_expire(b"k", NOW + 100_000)
    assert exec_ping(a) == NULL_ARRAY


# -- WATCH and FLUSHALL / FLUSHDB / SWAPDB (Redis's touchAllWatchedKeysInDb) --------------------------


@pytest.mark.parametrize(
    ("present", "expires_at", "expected"),
    [
        (True, None, NULL_ARRAY),
        (False, None, PONG_ONLY),
        (True, NOW - 1, PONG_ONLY),  # expired when watched: flushing it is no change
    ],
    ids=["live", "missing", "expired"],
)
def test_flush_fails_exec_only_for_live_watched_keys(a, present, expires_at, expected):
    if present:
        put(a.db, b"k", expires_at)
    put(a.db, b"other")
    run(a, "WATCH", "k")
    a.db.flush()
    assert exec_ping(a) == expected


def test_flushall_through_the_dispatcher(a, b):
    put(a.db, b"k")
    run(a, "WATCH", "k")
    run(b, "FLUSHALL")
    assert exec_ping(a) == NULL_ARRAY


# (watched db, other db): None = no key, "live", "expired" (expired before WATCH); as redis 7.0.15
SWAP_CASES = [
    ("expired", None, PONG_ONLY),
    (None, "expired", PONG_ONLY),
    ("expired", "expired", PONG_ONLY),
    ("expired", "live", NULL_ARRAY),
    ("live", None, NULL_ARRAY),
    (None, "live", NULL_ARRAY),
    ("live", "live", NULL_ARRAY),
    (None, None, PONG_ONLY),
]


@pytest.mark.parametrize(("watched", "other", "expected"), SWAP_CASES)
def test_swapdb_invalidates_as_redis_does(a, node, watched, other, expected):
    db0, db1 = node.dbs[0], node.dbs[1]
    for db, state in ((db0, watched), (db1, other)):
        if state is not None:
            put(db, b"k", NOW - 1 if state == "expired" else None)
    run(a, "WATCH", "k")
    db0.swap_contents(db1, node.now_ms)
    assert exec_ping(a) == expected


def test_swapdb_keeps_watchers_with_their_database_number(a, node):
    db0, db1 = node.dbs[0], node.dbs[1]
    put(db1, b"k")
    run(a, "WATCH", "k")
    db0.swap_contents(db1, node.now_ms)
    assert db0.watchers and not db1.watchers
    assert b"k" in db0.data
