"""Sets in-process: encodings, intset widths, SPOP strategies, memory accounting and RDB
payloads pinned to bytes redis-server 7.0.15 produced."""

from __future__ import annotations

import random

import pytest

from node import rdb
from node.config import Config
from node.core import execute
from node.keyspace import KEY_OVERHEAD_BYTES, value_size
from node.protocol.resp import encode
from node.session import Session
from node.state import NodeState
from node.types import sets
from node.types.sets import Set, build_set, intset_blob
from tests.support.nodes import make_node

NOW = 1_700_000_000_000

# DUMP replies of redis-server 7.0.15.
REDIS_DUMP_INTSET = (  # SADD s1 1 2 3 -1 200 70000
    b"\x0b \x04\x00\x00\x00\x06\x00\x00\x00\xff\xff\xff\xff\x01\x00\x00\x00\x02\x00\x00\x00"
    b"\x03\x00\x00\x00\xc8\x00\x00\x00p\x11\x01\x00\n\x00\x0b\x7f\xf7\xb6!\xc7\r\xc6"
)
REDIS_DUMP_WIDE = (  # SADD s2 1 5000000000; SREM s2 5000000000 (the width stays 8)
    b"\x0b\x10\x08\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\n\x00i\xc13}y"
    b"\x9a\xc7\x0f"
)
REDIS_DUMP_PLAIN = b"\x02\x01\x01a\n\x00b\x96\xe9~D\xd2\x1am"  # SADD s3 a


@pytest.fixture(autouse=True)
def _registered():
    sets.register_rdb()


@pytest.fixture
def node() -> NodeState:
    state = make_node(Config(), rng=random.Random(1), now_ms=NOW)
    state.now_ms = NOW
    return state


@pytest.fixture
def session(node: NodeState) -> Session:
    return Session(node, 1)


def run(session: Session, *args: bytes | str | int) -> bytes:
    argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return encode(execute(session, argv), session.resp3)


def accounted(session: Session) -> int:
    db = session.db
    return sum(KEY_OVERHEAD_BYTES + len(k) + value_size(v) for k, v in db.data.items())


# -- encodings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "encoding"),
    [
        ([b"1", b"-2", b"9223372036854775807"], b"intset"),
        ([b"1", b"01"], b"hashtable"),
        ([b"-0"], b"hashtable"),
        ([b"+1"], b"hashtable"),
        ([b" 1"], b"hashtable"),
        ([b"9223372036854775808"], b"hashtable"),
        ([b"a"], b"hashtable"),
    ],
)
def test_intset_holds_only_canonical_integers(members, encoding):
    assert build_set(members, 512).encoding() == encoding


def test_intset_entry_limit_is_capped():
    value = build_set([b"%d" % i for i in range(3)], 2)
    assert value.encoding() == b"hashtable"
    value = build_set([b"%d" % i for i in range(600)], 2**40)  # capped at 2**30, not 2**40
    assert value.encoding() == b"intset"


def test_intset_replies_are_sorted_numerically(session):
    run(session, "SADD", "s", "10", "-3", "2", "100", "-20")
    assert run(session, "SMEMBERS", "s") == (
        b"*5\r\n$3\r\n-20\r\n$2\r\n-3\r\n$1\r\n2\r\n$2\r\n10\r\n$3\r\n100\r\n"
    )
    session.resp3 = True
    assert run(session, "SMEMBERS", "s").startswith(b"~5\r\n$3\r\n-20\r\n")
    assert run(session, "SPOP", "nokey", "2") == b"~0\r\n"
    assert run(session, "SRANDMEMBER", "nokey", "2") == b"*0\r\n"


def test_intset_width_only_grows():
    value = build_set([b"1", b"70000"], 512)
    assert value.width == 4
    value.remove(b"70000")
    assert value.width == 4 and intset_blob(value)[:4] == b"\x04\x00\x00\x00"
    assert build_set(value.items, 512).width == 2
    assert value.copy().width == 4


def test_remove_keeps_index_consistent():
    rng = random.Random(2)
    value = build_set([b"m%d" % i for i in range(50)], 512)
    expected = set(value.items)
    for _ in range(200):
        member = b"m%d" % rng.randrange(60)
        if rng.random() < 0.5:
            assert value.remove(member) == (member in expected)
            expected.discard(member)
        else:
            assert value.add(member, 512) == (member not in expected)
            expected.add(member)
        assert set(value.items) == expected == set(value._pos)
        assert all(value.items[i] == m for m, i in value._pos.items())


# -- SPOP strategies -----------------------------------------------------------------------------


def test_spop_keeping_few_survivors_builds_a_new_set(session):
    """Case 3: a hashtable set whose survivor is an integer becomes an intset, TTL kept."""
    session.node.rng = random.Random(4)
    for attempt in range(50):
        key = f"s{attempt}"
        run(session, "SADD", key, "a", "b", "c", "d", "e", "1")
        run(session, "PEXPIRE", key, "100000")
        popped = execute(session, [b"SPOP", key.encode(), b"5"])
        value = session.db.data[key.encode()]
        assert isinstance(value, Set) and len(value) == 1
        assert set(popped.items) | set(value.items) == {b"a", b"b", b"c", b"d", b"e", b"1"}  # type: ignore[attr-defined]
        assert session.db.ttl_ms(key.encode()) == NOW + 100000
        if value.items == [b"1"]:
            assert value.encoding() == b"intset"
            break
    else:
        pytest.fail("the integer never survived")


def test_spop_whole_set_lists_it_as_a_fresh_set(session):
    run(session, "SADD", "s", "5", "x", "3", "1")
    run(session, "SREM", "s", "x")
    assert run(session, "SPOP", "s", "3") == b"*3\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n"
    assert b"s" not in session.db.data


def test_sdiff_algorithm_two_goes_through_a_hashtable(session):
    run(session, "SADD", "many", *range(600))
    run(session, "SADD", "few", "1", "2")
    run(session, "SDIFFSTORE", "a2", "many", "few")
    assert run(session, "OBJECT", "ENCODING", "a2") == b"$9\r\nhashtable\r\n"
    run(session, "SADD", "most", *range(1, 600))
    run(session, "SDIFFSTORE", "a1", "many", "most")
    assert run(session, "OBJECT", "ENCODING", "a1") == b"$6\r\nintset\r\n"
    assert run(session, "SMEMBERS", "a1") == b"*1\r\n$1\r\n0\r\n"


# -- memory accounting ---------------------------------------------------------------------------


def test_memory_accounting_follows_every_write(session):
    rng = random.Random(8)
    pool = [str(i) for i in range(10)] + ["a", "b", "c"]
    for _ in range(500):
        key, other = rng.sample(["s1", "s2", "s3"], 2)
        op = rng.randrange(7)
        if op == 0:
            run(session, "SADD", key, *rng.sample(pool, 3))
        elif op == 1:
            run(session, "SREM", key, *rng.sample(pool, 2))
        elif op == 2:
            run(session, "SMOVE", key, other, rng.choice(pool))
        elif op == 3:
            run(session, "SPOP", key, rng.randrange(12))  # all three strategies
        elif op == 4:
            run(session, "SPOP", key)
        elif op == 5:
            run(session, rng.choice(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), key, key, other)
        else:
            run(session, "COPY", key, other, "REPLACE")
        assert session.db.used_bytes == accounted(session)


# -- RDB -----------------------------------------------------------------------------------------


def test_dump_matches_redis_bytes(session):
    run(session, "SADD", "s1", "1", "2", "3", "-1", "200", "70000")
    assert rdb.dump_payload(session.db.data[b"s1"]) == REDIS_DUMP_INTSET
    run(session, "SADD", "s2", "1", "5000000000")
    run(session, "SREM", "s2", "5000000000")
    assert rdb.dump_payload(session.db.data[b"s2"]) == REDIS_DUMP_WIDE
    run(session, "SADD", "s3", "a")
    assert rdb.dump_payload(session.db.data[b"s3"]) == REDIS_DUMP_PLAIN


@pytest.mark.parametrize("payload", [REDIS_DUMP_INTSET, REDIS_DUMP_WIDE, REDIS_DUMP_PLAIN])
def test_restore_round_trips_redis_payloads(session, payload):
    assert run(session, "RESTORE", "r", "0", payload) == b"+OK\r\n"
    assert run(session, "DUMP", "r") == b"$%d\r\n%s\r\n" % (len(payload), payload)


def test_restore_plain_set_picks_encoding_from_config():
    value = build_set([b"3", b"1", b"x"], 512)
    value.remove(b"x")
    payload = rdb.dump_payload(value)
    assert payload[0] == sets.RDB_TYPE_SET
    assert rdb.load_payload(payload).encoding() == b"intset"  # type: ignore[attr-defined]
    config = Config()
    config.values["set-max-intset-entries"] = "1"
    assert rdb.load_payload(payload, config).encoding() == b"hashtable"  # type: ignore[attr-defined]


def _payload(code: int, body: bytes) -> bytes:
    data = bytes((code,)) + body + b"\x0a\x00"
    return data + rdb.crc64(data).to_bytes(8, "little")


@pytest.mark.parametrize(
    ("code", "body"),
    [
        (sets.RDB_TYPE_SET, b"\x00"),  # empty
        (sets.RDB_TYPE_SET, b"\x02\x01a\x01a"),  # duplicate member
        (sets.RDB_TYPE_SET_INTSET, rdb.encode_string(b"\x02\x00\x00\x00\x00\x00\x00\x00")),
        (
            sets.RDB_TYPE_SET_INTSET,
            rdb.encode_string(b"\x03\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00"),
        ),
        (sets.RDB_TYPE_SET_INTSET, rdb.encode_string(b"\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00")),
        (
            sets.RDB_TYPE_SET_INTSET,
            rdb.encode_string(b"\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00"),
        ),
    ],
    ids=["empty", "duplicate", "empty-intset", "bad-width", "short", "unsorted"],
)
def test_restore_rejects_malformed_sets(session, code, body):
    assert run(session, "RESTORE", "bad", "0", _payload(code, body)) == b"-ERR Bad data format\r\n"
    assert b"bad" not in session.db.data
