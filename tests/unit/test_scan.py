"""SCAN: the slot-numbered cursor, Redis's cursor parsing, and the guarantee that a key present for
the whole iteration is returned whatever is inserted or deleted meanwhile."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.config import Config
from node.core import execute
from node.keyspace import SCAN_MIN_SLOTS_PER_CALL, Database
from node.protocol.errors import RespError
from node.protocol.keyslot import SLOT_COUNT
from node.session import Session
from node.types.common import parse_scan_cursor
from tests.support.nodes import make_node

NOW = 1_700_000_000_000


@pytest.fixture
def session() -> Session:
    return Session(make_node(Config(), rng=random.Random(5), now_ms=NOW), 1)


def scan_all(session: Session, *options: bytes) -> tuple[list[bytes], int]:
    """Iterate SCAN to the end; returns every key returned (with repeats) and the call count."""
    cursor, seen, calls = b"0", [], 0
    while True:
        reply = execute(session, [b"SCAN", cursor, *options])
        assert isinstance(reply, list), reply
        cursor, keys = reply
        seen.extend(keys)
        calls += 1
        if cursor == b"0":
            return seen, calls


# -- the guarantee ----------------------------------------------------------------------------

operations = st.lists(
    st.tuples(
        st.sampled_from(["insert", "delete", "scan"]),
        st.integers(min_value=0, max_value=10_000),
    ),
    max_size=300,
)


@settings(max_examples=150, deadline=None)
@given(
    initial=st.integers(min_value=0, max_value=400),
    ops=operations,
    count=st.integers(min_value=1, max_value=50),
)
def test_keys_present_for_the_whole_scan_are_returned(initial, ops, count):
    db = Database(0)
    for i in range(initial):
        # Hash tags put many keys in one slot, so a slot can hold more keys than COUNT.
        db.set(b"init:%d:{%d}" % (i, i % 7), b"v")
    stayed = set(db.data)
    returned: set[bytes] = set()
    cursor = 0
    pending = list(ops)
    while True:
        # Run the mutations queued before this SCAN call.
        while pending and pending[0][0] != "scan":
            kind, n = pending.pop(0)
            if kind == "insert":
                db.set(b"new:%d:{%d}" % (n, n % 5), b"v")
            else:
                i = n % max(initial, 1)
                victim = b"init:%d:{%d}" % (i, i % 7)
                db.delete(victim)
                stayed.discard(victim)
        if pending:
            pending.pop(0)
        cursor, keys = db.scan(cursor, count)
        returned.update(keys)
        if cursor == 0:
            break
    assert stayed <= returned


def test_cursor_is_the_next_slot_and_zero_at_the_end():
    db = Database(0)
    for i in range(1000):
        db.set(b"k%d" % i, b"v")
    cursor, keys, seen = 0, [], []
    while True:
        cursor, keys = db.scan(cursor, 10)
        seen.extend(keys)
        assert 0 <= cursor < SLOT_COUNT
        if cursor == 0:
            break
    assert sorted(seen) == sorted(db.data)
    assert len(seen) == len(set(seen))  # whole slots, visited once each


def test_empty_and_sparse_keyspaces_take_few_calls(session):
    assert scan_all(session) == ([], 1)
    session.db.set(b"k", b"v")
    keys, calls = scan_all(session)
    assert keys == [b"k"]
    assert calls <= SLOT_COUNT // SCAN_MIN_SLOTS_PER_CALL


# -- the command ------------------------------------------------------------------------------


def test_scan_command_returns_every_key_once(session):
    for i in range(500):
        session.db.set(b"key:%d" % i, b"v")
    keys, _ = scan_all(session, b"COUNT", b"7")
    assert sorted(keys) == sorted(session.db.data)


def test_scan_match_and_type_filter(session):
    class FakeList:
        type_name = b"list"

    for i in range(100):
        session.db.set(b"a:%d" % i, b"v")
        session.db.set(b"b:%d" % i, FakeList())
    keys, _ = scan_all(session, b"MATCH", b"a:1*")
    assert sorted(keys) == sorted(k for k in session.db.data if k.startswith(b"a:1"))
    keys, _ = scan_all(session, b"TYPE", b"LIST", b"COUNT", b"1000")
    assert len(keys) == 100 and all(k.startswith(b"b:") for k in keys)
    keys, _ = scan_all(session, b"TYPE", b"nosuchtype")
    assert keys == []


def test_scan_skips_and_deletes_expired_keys(session):
    session.db.set(b"gone", b"v")
    session.db.set_expire(b"gone", NOW - 1)
    session.db.set(b"kept", b"v")
    keys, _ = scan_all(session)
    assert keys == [b"kept"]
    assert b"gone" not in session.db.data


@pytest.mark.parametrize(
    "argv,error",
    [
        ([b"x"], b"ERR invalid cursor"),
        ([b"0", b"COUNT", b"0"], b"ERR syntax error"),
        ([b"0", b"COUNT", b"-1"], b"ERR syntax error"),
        ([b"0", b"COUNT", b"x"], b"ERR value is not an integer or out of range"),
        ([b"x", b"COUNT", b"0"], b"ERR invalid cursor"),
        ([b"0", b"MATCH"], b"ERR syntax error"),
        ([b"0", b"FOO", b"bar"], b"ERR syntax error"),
    ],
)
def test_scan_errors(session, argv, error):
    reply = execute(session, [b"SCAN", *argv])
    assert isinstance(reply, RespError) and reply.text.encode() == error


def test_cursor_past_the_last_slot_ends_the_scan(session):
    session.db.set(b"k", b"v")
    assert execute(session, [b"SCAN", b"16384"]) == [b"0", []]
    assert execute(session, [b"SCAN", b"18446744073709551615"]) == [b"0", []]


# -- cursor parsing (strtoul) -----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,value",
    [
        (b"0", 0),
        (b"", 0),
        (b"+0", 0),
        (b"-0", 0),
        (b"42", 42),
        (b"+7", 7),
        (b"-1", 2**64 - 1),
        (b"18446744073709551615", 2**64 - 1),
        (b"-18446744073709551615", 1),
    ],
)
def test_cursor_parsing_accepts_what_strtoul_accepts(raw, value):
    assert parse_scan_cursor(raw) == value


@pytest.mark.parametrize(
    "raw",
    [
        b" 0",
        b"0 ",
        b"0x1",
        b"1.0",
        b"+",
        b"-",
        b"--1",
        b"18446744073709551616",
        b"\t1",
        b"\xd9\xa1",
    ],
)
def test_cursor_parsing_rejects_what_redis_rejects(raw):
    with pytest.raises(RespError, match="invalid cursor"):
        parse_scan_cursor(raw)
