"""String commands in virtual time: expiry, statistics, in-place edits and long double maths."""

from __future__ import annotations

import random

import pytest

from node import long_double
from node.commands.strings import _lcs_at, _lcs_rows
from node.config import Config
from node.core import execute
from node.keyspace import KEY_OVERHEAD_BYTES, value_size
from node.protocol.resp import encode
from node.session import Session
from node.state import NodeState
from tests.support.nodes import make_node

NOW = 1_700_000_000_000
LLONG_MAX = 2**63 - 1
WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"


class FakeSet:
    """A stand-in for another helper's set type: only what the keyspace needs."""

    type_name = "set"

    def memory_usage(self) -> int:
        return 64


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


def db_of(session: Session):
    return session.db


# -- expiry ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected_ms"),
    [
        (("EX", "10"), NOW + 10_000),
        (("PX", "1500"), NOW + 1500),
        (("EXAT", "1800000000"), 1_800_000_000_000),
        (("PXAT", "1800000000123"), 1_800_000_000_123),
        (("ex", "5", "EX", "7"), NOW + 7000),
        (("NX", "PX", "1"), NOW + 1),
        (("GET", "EX", "1"), NOW + 1000),
    ],
)
def test_set_stores_absolute_expire_time(session, options, expected_ms):
    run(session, "SET", "k", "v", *options)
    assert db_of(session).expires[b"k"] == expected_ms


def test_set_key_disappears_when_its_time_comes(session, node):
    assert run(session, "SET", "k", "v", "PX", "100") == b"+OK\r\n"
    node.now_ms = NOW + 99
    assert run(session, "GET", "k") == b"$1\r\nv\r\n"
    node.now_ms = NOW + 100  # Redis keeps a key through its last millisecond
    assert run(session, "GET", "k") == b"$1\r\nv\r\n"
    node.now_ms = NOW + 101
    assert run(session, "GET", "k") == b"$-1\r\n"
    assert b"k" not in db_of(session).data
    assert node.stats.expired_keys == 1


def test_setex_and_psetex(session, node):
    run(session, "SETEX", "a", "3", "v")
    run(session, "PSETEX", "b", "3", "v")
    assert db_of(session).expires == {b"a": NOW + 3000, b"b": NOW + 3}
    node.now_ms = NOW + 4
    assert run(session, "MGET", "a", "b") == b"*2\r\n$1\r\nv\r\n$-1\r\n"


def test_set_without_keepttl_clears_ttl_and_keepttl_keeps_it(session):
    run(session, "SET", "k", "v", "EX", "10")
    run(session, "SET", "k", "w", "KEEPTTL")
    assert db_of(session).expires[b"k"] == NOW + 10_000
    run(session, "SET", "k", "x", "GET", "KEEPTTL", "XX")
    assert db_of(session).expires[b"k"] == NOW + 10_000
    run(session, "SET", "k", "y", "NX", "EX", "99")  # aborted: TTL untouched
    assert db_of(session).expires[b"k"] == NOW + 10_000
    run(session, "SET", "k", "z")
    assert b"k" not in db_of(session).expires
    run(session, "SETEX", "k", "5", "v")
    run(session, "GETSET", "k", "v2")
    assert b"k" not in db_of(session).expires
    run(session, "SETEX", "k", "5", "v")
    run(session, "MSET", "k", "v3")
    assert b"k" not in db_of(session).expires


def test_in_place_edits_and_counters_keep_ttl(session):
    for command in [
        ("APPEND", "k", "x"),
        ("SETRANGE", "k", "0", "y"),
        ("INCR", "n"),
        ("INCRBYFLOAT", "n", "0.5"),
        ("GETEX", "k"),
    ]:
        run(session, "SET", "k", "1", "EX", "10")
        run(session, "SET", "n", "1", "EX", "10")
        run(session, *command)
        assert db_of(session).expires == {b"k": NOW + 10_000, b"n": NOW + 10_000}, command


def test_set_with_past_absolute_time_is_expired_at_next_lookup(session, node):
    """Redis 7.0 stores the past time (DBSIZE still counts the key) and expires it lazily."""
    assert run(session, "SET", "k", "v", "PXAT", "1") == b"+OK\r\n"
    assert b"k" in db_of(session).data
    assert node.stats.expired_keys == 0
    assert run(session, "GET", "k") == b"$-1\r\n"
    assert node.stats.expired_keys == 1


def test_plain_set_expires_a_due_key_first(session, node):
    run(session, "SET", "k", "v", "PX", "10")
    node.now_ms = NOW + 11
    run(session, "SET", "k", "w")
    assert node.stats.expired_keys == 1
    assert db_of(session).data[b"k"] == b"w"
    assert b"k" not in db_of(session).expires


def test_set_nx_succeeds_on_an_expired_key(session, node):
    run(session, "SET", "k", "v", "PX", "10")
    node.now_ms = NOW + 11
    assert run(session, "SET", "k", "w", "NX") == b"+OK\r\n"
    assert run(session, "SETNX", "k", "x") == b":0\r\n"
    assert run(session, "SET", "j", "v", "PX", "10") == b"+OK\r\n"
    node.now_ms = NOW + 22
    assert run(session, "SET", "j", "w", "XX") == b"$-1\r\n"
    assert run(session, "MSETNX", "j", "1") == b":1\r\n"


def test_getex_options(session, node):
    db = db_of(session)
    run(session, "SET", "k", "v")
    assert run(session, "GETEX", "k", "EX", "10") == b"$1\r\nv\r\n"
    assert db.expires[b"k"] == NOW + 10_000
    run(session, "GETEX", "k", "PX", "20")
    assert db.expires[b"k"] == NOW + 20
    run(session, "GETEX", "k", "EXAT", "1800000000")
    assert db.expires[b"k"] == 1_800_000_000_000
    run(session, "GETEX", "k", "PXAT", "1800000000001")
    assert db.expires[b"k"] == 1_800_000_000_001
    run(session, "GETEX", "k")
    assert db.expires[b"k"] == 1_800_000_000_001
    run(session, "GETEX", "k", "PERSIST")
    assert b"k" not in db.expires
    assert (
        run(session, "GETEX", "k", "EX", "0") == b"-ERR invalid expire time in 'getex' command\r\n"
    )
    assert b"k" not in db.expires


def test_getex_with_past_absolute_time_deletes_the_key(session, node):
    run(session, "SET", "k", "v")
    assert run(session, "GETEX", "k", "PXAT", str(NOW)) == b"$1\r\nv\r\n"
    assert b"k" not in db_of(session).data
    assert node.stats.expired_keys == 0  # a deletion, not an expiry
    run(session, "SET", "k", "v")
    assert run(session, "GETEX", "k", "PXAT", str(NOW + 1)) == b"$1\r\nv\r\n"
    assert b"k" in db_of(session).data


def test_expire_overflow_depends_on_now(session, node):
    limit_ms = LLONG_MAX - NOW
    assert run(session, "SET", "k", "v", "PX", str(limit_ms)) == b"+OK\r\n"
    assert db_of(session).expires[b"k"] == LLONG_MAX
    error = b"-ERR invalid expire time in 'set' command\r\n"
    assert run(session, "SET", "k", "v", "PX", str(limit_ms + 1)) == error
    assert run(session, "SET", "k", "v", "EX", str(limit_ms // 1000)) == b"+OK\r\n"
    assert run(session, "SET", "k", "v", "EX", str(limit_ms // 1000 + 1)) == error
    assert run(session, "SET", "k", "v", "EXAT", str(LLONG_MAX // 1000)) == b"+OK\r\n"
    assert run(session, "SET", "k", "v", "EXAT", str(LLONG_MAX // 1000 + 1)) == error
    assert run(session, "SETEX", "k", "0", "v") == (
        b"-ERR invalid expire time in 'setex' command\r\n"
    )
    assert run(session, "PSETEX", "k", str(limit_ms + 1), "v") == (
        b"-ERR invalid expire time in 'psetex' command\r\n"
    )


# -- wrong type ----------------------------------------------------------------------------------

# Replies of redis-server 7.0.15 with ``s`` a set and ``str`` = "abc", in this order.
WRONGTYPE_REPLIES = [
    (("GET", "s"), WRONGTYPE),
    (("GETSET", "s", "v"), WRONGTYPE),
    (("GETDEL", "s"), WRONGTYPE),
    (("GETEX", "s"), WRONGTYPE),
    (("GETEX", "s", "EX", "abc"), WRONGTYPE),
    (("GETEX", "s", "FOO"), b"-ERR syntax error\r\n"),
    (("SET", "s", "v", "GET"), WRONGTYPE),
    (("SET", "s", "v", "GET", "EX", "0"), b"-ERR invalid expire time in 'set' command\r\n"),
    (("SET", "s", "v", "NX"), b"$-1\r\n"),
    (("SETNX", "s", "v"), b":0\r\n"),
    (("APPEND", "s", "v"), WRONGTYPE),
    (("STRLEN", "s"), WRONGTYPE),
    (("INCR", "s"), WRONGTYPE),
    (("DECR", "s"), WRONGTYPE),
    (("INCRBY", "s", "1"), WRONGTYPE),
    (("INCRBY", "s", "x"), b"-ERR value is not an integer or out of range\r\n"),
    (("DECRBY", "s", "1"), WRONGTYPE),
    (("INCRBYFLOAT", "s", "1"), WRONGTYPE),
    (("INCRBYFLOAT", "s", "x"), WRONGTYPE),
    (("GETRANGE", "s", "0", "-1"), WRONGTYPE),
    (("GETRANGE", "s", "x", "-1"), b"-ERR value is not an integer or out of range\r\n"),
    (("SUBSTR", "s", "0", "-1"), WRONGTYPE),
    (("SETRANGE", "s", "0", "x"), WRONGTYPE),
    (("SETRANGE", "s", "-1", "x"), b"-ERR offset is out of range\r\n"),
    (("SETRANGE", "s", "0", ""), WRONGTYPE),
    (("MGET", "s", "str", "missing"), b"*3\r\n$-1\r\n$3\r\nabc\r\n$-1\r\n"),
    (("MSETNX", "s", "1", "t", "2"), b":0\r\n"),
    (("LCS", "s", "str"), b"-ERR The specified keys must contain string values\r\n"),
    (("LCS", "str", "s", "FOO"), b"-ERR The specified keys must contain string values\r\n"),
    (("LCS", "str", "missing"), b"$0\r\n\r\n"),
    (("SET", "s", "v", "XX", "GET"), WRONGTYPE),
    (("SET", "s", "v"), b"+OK\r\n"),
    (("GET", "s"), b"$1\r\nv\r\n"),
]


def test_wrongtype_replies_match_redis(session):
    db = db_of(session)
    db.set(b"s", FakeSet())
    db.set(b"str", b"abc")
    for command, expected in WRONGTYPE_REPLIES:
        assert run(session, *command) == expected, command
    assert b"t" not in db.data


# -- statistics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "hits", "misses"),
    [
        (("GET", "k"), 1, 0),
        (("GET", "nope"), 0, 1),
        (("MGET", "k", "nope", "set", "k"), 3, 1),
        (("STRLEN", "k"), 1, 0),
        (("GETRANGE", "nope", "0", "1"), 0, 1),
        (("SUBSTR", "k", "0", "1"), 1, 0),
        (("GETEX", "k", "PERSIST"), 1, 0),
        (("GETDEL", "k"), 1, 0),
        (("GETSET", "nope", "v"), 0, 1),
        (("SET", "k", "v", "GET"), 1, 0),
        (("LCS", "k", "nope"), 1, 1),
        (("LCS", "set", "k"), 2, 0),
        (("SET", "k", "v"), 0, 0),
        (("SET", "k", "v", "NX"), 0, 0),
        (("APPEND", "k", "v"), 0, 0),
        (("INCR", "n"), 0, 0),
        (("INCRBYFLOAT", "n", "1"), 0, 0),
        (("SETRANGE", "k", "0", "v"), 0, 0),
        (("MSETNX", "k", "v"), 0, 0),
    ],
)
def test_keyspace_hits_and_misses(session, node, command, hits, misses):
    db_of(session).set(b"k", b"abc")
    db_of(session).set(b"set", FakeSet())
    run(session, *command)
    assert (node.stats.keyspace_hits, node.stats.keyspace_misses) == (hits, misses)


# -- in-place edits ----------------------------------------------------------------------------


def expected_used_bytes(db) -> int:
    return sum(KEY_OVERHEAD_BYTES + len(k) + value_size(v) for k, v in db.data.items())


def test_append_grows_one_bytearray_in_place(session):
    db = db_of(session)
    assert run(session, "APPEND", "k", "ab") == b":2\r\n"
    assert type(db.data[b"k"]) is bytes  # a new key stores the argument, as Redis does
    run(session, "APPEND", "k", "cd")
    stored = db.data[b"k"]
    assert type(stored) is bytearray
    for _ in range(10):
        run(session, "APPEND", "k", "xyz")
    assert db.data[b"k"] is stored
    assert stored == b"abcd" + b"xyz" * 10
    assert db.used_bytes == expected_used_bytes(db)


def test_setrange_edits_in_place_and_keeps_accounting(session):
    db = db_of(session)
    assert run(session, "SETRANGE", "k", "3", "ab") == b":5\r\n"
    stored = db.data[b"k"]
    assert type(stored) is bytearray and stored == b"\0\0\0ab"
    assert run(session, "SETRANGE", "k", "1", "Z") == b":5\r\n"
    assert run(session, "SETRANGE", "k", "8", "END") == b":11\r\n"
    assert db.data[b"k"] is stored
    assert stored == b"\0Z\0ab\0\0\0END"
    run(session, "SET", "s", "hello")
    run(session, "SETRANGE", "s", "0", "J")
    assert db.data[b"s"] == bytearray(b"Jello")
    assert db.used_bytes == expected_used_bytes(db)


@pytest.mark.parametrize(
    "command",
    [("APPEND", "k", "x"), ("SETRANGE", "k", "1", "x"), ("SETRANGE", "k", "9", "x")],
)
def test_in_place_edits_invalidate_watch(node, command):
    watcher, writer = Session(node, 1), Session(node, 2)
    run(writer, "SET", "k", "ab")
    run(writer, "APPEND", "k", "c")  # now a bytearray: the next edits are in place
    run(watcher, "WATCH", "k")
    run(writer, *command)
    run(watcher, "MULTI")
    run(watcher, "GET", "k")
    assert run(watcher, "EXEC") == b"*-1\r\n"


def test_replies_do_not_alias_the_stored_bytearray(session):
    run(session, "SET", "k", "abc")
    run(session, "APPEND", "k", "d")
    run(session, "MULTI")
    run(session, "GET", "k")
    run(session, "MGET", "k")
    run(session, "GETEX", "k")
    run(session, "SET", "k", "x", "NX", "GET")
    run(session, "APPEND", "k", "e")
    run(session, "SETRANGE", "k", "0", "Z")
    assert run(session, "EXEC") == (
        b"*6\r\n$4\r\nabcd\r\n*1\r\n$4\r\nabcd\r\n$4\r\nabcd\r\n$4\r\nabcd\r\n:5\r\n:5\r\n"
    )


def test_counters_store_plain_decimal_bytes(session):
    db = db_of(session)
    run(session, "APPEND", "n", "4")
    run(session, "APPEND", "n", "1")
    assert run(session, "INCR", "n") == b":42\r\n"
    assert db.data[b"n"] == b"42" and type(db.data[b"n"]) is bytes
    assert run(session, "INCRBYFLOAT", "n", "0.5") == b"$4\r\n42.5\r\n"
    assert db.data[b"n"] == b"42.5" and type(db.data[b"n"]) is bytes
    assert db.used_bytes == expected_used_bytes(db)


def test_limits_follow_proto_max_bulk_len(session, node):
    node.proto_max_bulk_len = 10
    too_big = b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n"
    assert run(session, "SETRANGE", "k", "9", "x") == b":10\r\n"
    assert run(session, "SETRANGE", "k", "9", "xy") == too_big
    assert run(session, "SETRANGE", "j", "10", "x") == too_big
    assert run(session, "SETRANGE", "j", "100", "") == b":0\r\n"
    assert run(session, "APPEND", "k", "z") == too_big
    assert run(session, "APPEND", "k", "") == b":10\r\n"
    run(session, "SET", "a", "x")
    node.proto_max_bulk_len = 16  # the table takes (1+1)*(1+1)*4 = 16 bytes
    assert run(session, "LCS", "a", "a") == b"$1\r\nx\r\n"
    node.proto_max_bulk_len = 15
    assert run(session, "LCS", "a", "a", "LEN") == (
        b"-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n"
    )


# -- replies in RESP3 ----------------------------------------------------------------------------


def test_resp3_shapes(session):
    session.resp3 = True
    assert run(session, "GET", "nope") == b"_\r\n"
    assert run(session, "SET", "k", "v", "XX") == b"_\r\n"
    run(session, "MSET", "a", "ohmytext", "b", "mynewtext")
    assert run(session, "LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN") == (
        b"%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
        b"$3\r\nlen\r\n:6\r\n"
    )
    assert run(session, "INCRBYFLOAT", "f", "1.5") == b"$3\r\n1.5\r\n"  # a bulk, not a double


# -- long double arithmetic ---------------------------------------------------------------------


def incr(value: str, increment: str) -> str:
    a, b = long_double.parse(value.encode()), long_double.parse(increment.encode())
    assert a is not None and b is not None
    total = long_double.add(a, b)
    assert total is not None
    return long_double.format_human(total).decode()


@pytest.mark.parametrize(
    ("value", "increment", "expected"),
    [
        ("10.5", "0.1", "10.6"),  # a double would print 10.59999999999999964
        ("0", "5.0e3", "5000"),
        ("1", "1e-5", "1.00001"),
        ("0", "-1e-20", "0"),  # -0.00000000000000000 -> 0
        ("0", "-0", "0"),
        ("0", "0x10", "16"),
        ("0", "0x.8p1", "1"),
        ("0", "1.5e-17", "0.00000000000000002"),  # binary value just above the tie
        ("0", "0x1p-18", "0.00000381469726562"),  # exact tie at the 18th digit: to even
        ("0", "0x3p-18", "0.00001144409179688"),  # exact tie: to even (7 -> 8)
        ("9223372036854775807", "1", "9223372036854775808"),
        ("18446744073709551615", "1", "18446744073709551616"),  # 2**64 needs a 65th bit
        ("0", "1e19", "10000000000000000000"),
    ],
)
def test_long_double_sums(value, increment, expected):
    assert incr(value, increment) == expected


def test_long_double_extremes():
    biggest = long_double.parse(b"1.18973149535723176502e4932")
    assert biggest is not None and type(biggest) is tuple
    text = long_double.format_human(biggest)  # 4933 digits: beyond Python's default str limit
    assert len(text) == 4933 and text.startswith(b"118973149535723176502")
    assert long_double.parse(text) == biggest
    assert long_double.add(biggest, biggest) is None
    assert long_double.parse(b"1.19e4932") is None
    assert long_double.parse(b"4e-4951") == (1, long_double.MIN_EXP)
    assert long_double.parse(b"1e-4952") is None  # underflow to zero is refused
    assert long_double.parse(b"0e-99999") == long_double.ZERO


@pytest.mark.parametrize(
    "text",
    [b"", b" 1", b"1 ", b"1e", b"0x", b"nan", b"-nan", b"nan(1)", b"infinit", b"1\x00", b".", b"+"],
)
def test_long_double_rejects(text):
    assert long_double.parse(text) is None


def test_long_double_infinities_parse_but_never_add():
    inf = long_double.parse(b"-Infinity")
    assert inf == float("-inf")
    assert long_double.add(inf, long_double.ZERO) is None


def test_long_double_length_limit():
    assert long_double.format_human(long_double.parse(b"0" * 5118 + b"1")) == b"1"
    assert long_double.parse(b"0" * 5119 + b"1") is None


# -- LCS table -----------------------------------------------------------------------------------


def naive_lcs_table(a: bytes, b: bytes) -> list[list[int]]:
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    return table


def test_bit_parallel_lcs_table_matches_the_dynamic_programming_table():
    rng = random.Random(5)
    for _ in range(200):
        alphabet = rng.choice([b"ab", b"abcd", bytes(range(256))])
        a = bytes(rng.choice(alphabet) for _ in range(rng.randrange(25)))
        b = bytes(rng.choice(alphabet) for _ in range(rng.randrange(25)))
        rows = _lcs_rows(a, b)
        table = naive_lcs_table(a, b)
        for i in range(len(a) + 1):
            for j in range(len(b) + 1):
                assert _lcs_at(rows, i, j) == table[i][j], (a, b, i, j)
