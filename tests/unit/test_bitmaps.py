"""Bitmap commands in process: wrong types, field arithmetic, bit search, keyspace effects.

Replies marked "oracle" were read from redis-server 7.0.15.
"""

from __future__ import annotations

import random

import pytest

from node.config import Config
from node.core import execute
from node.keyspace import KEY_OVERHEAD_BYTES, value_size
from node.protocol.resp import encode
from node.session import Session
from node.state import NodeState
from node.types import bitmaps
from tests.support.nodes import make_node

NOW = 1_700_000_000_000
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


def used_bytes_expected(db) -> int:
    return sum(KEY_OVERHEAD_BYTES + len(k) + value_size(v) for k, v in db.data.items())


WRONGTYPE_REPLIES = [  # oracle: ``s`` a set, ``str`` = "abc", each on a fresh keyspace
    (("SETBIT", "s", "1", "1"), WRONGTYPE),
    (("SETBIT", "s", "-1", "1"), b"-ERR bit offset is not an integer or out of range\r\n"),
    (("SETBIT", "s", "1", "2"), b"-ERR bit is not an integer or out of range\r\n"),
    (("GETBIT", "s", "1"), WRONGTYPE),
    (("GETBIT", "s", "x"), b"-ERR bit offset is not an integer or out of range\r\n"),
    (("BITCOUNT", "s"), WRONGTYPE),
    (("BITCOUNT", "s", "0"), WRONGTYPE),
    (("BITCOUNT", "s", "a", "b"), WRONGTYPE),
    (("BITPOS", "s", "1"), WRONGTYPE),
    (("BITPOS", "s", "2"), b"-ERR The bit argument must be 1 or 0.\r\n"),
    (("BITPOS", "s", "1", "x"), WRONGTYPE),
    (("BITOP", "AND", "d", "s"), WRONGTYPE),
    (("BITOP", "AND", "d", "str", "s"), WRONGTYPE),
    (("BITOP", "NOT", "d", "s"), WRONGTYPE),
    (("BITOP", "AND", "s", "str"), b":3\r\n"),
    (("BITFIELD", "s", "GET", "u8", "0"), WRONGTYPE),
    (("BITFIELD", "s", "SET", "u8", "0", "1"), WRONGTYPE),
    (
        ("BITFIELD", "s", "GET", "u99", "0"),
        b"-ERR Invalid bitfield type. Use something like i16 u8. "
        b"Note that u64 is not supported but i64 is.\r\n",
    ),
    (("BITFIELD", "s"), WRONGTYPE),
    (("BITFIELD_RO", "s", "GET", "u8", "0"), WRONGTYPE),
    (
        ("BITFIELD_RO", "s", "SET", "u8", "0", "1"),
        b"-ERR BITFIELD_RO only supports the GET subcommand\r\n",
    ),
]


@pytest.mark.parametrize(("command", "expected"), WRONGTYPE_REPLIES)
def test_wrongtype_replies_match_redis(session, command, expected):
    session.db.set(b"s", FakeSet())
    session.db.set(b"str", b"abc")
    assert run(session, *command) == expected
    assert b"d" not in session.db.data


def test_bitop_overwrites_another_type(session):
    session.db.set(b"s", FakeSet())
    session.db.set(b"str", b"abc")
    assert run(session, "BITOP", "AND", "s", "str") == b":3\r\n"
    assert run(session, "TYPE", "s") == b"+string\r\n"
    assert run(session, "OBJECT", "ENCODING", "s") == b"$3\r\nraw\r\n"


# -- field arithmetic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "incr", "bits", "owtype", "expected"),
    [
        (127, 1, 8, bitmaps.WRAP, (1, -128)),
        (127, 1, 8, bitmaps.SAT, (1, 127)),
        (-128, -1, 8, bitmaps.WRAP, (-1, 127)),
        (-128, -1, 8, bitmaps.SAT, (-1, -128)),
        (5, 0, 8, bitmaps.WRAP, (0, 0)),
        (-(2**63), 0, 8, bitmaps.SAT, (1, 127)),  # oracle: SET i8 0 -2^63 under SAT -> 127
        (-200, 0, 8, bitmaps.SAT, (-1, -128)),
        (2**63 - 1, 1, 64, bitmaps.WRAP, (1, -(2**63))),
        (-(2**63), 1, 64, bitmaps.SAT, (0, 0)),
        (-(2**63), -(2**63), 64, bitmaps.SAT, (-1, -(2**63))),
        (-1, -1, 1, bitmaps.SAT, (-1, -1)),  # oracle: SAT INCRBY i1 on -1 by -1 -> -1
        (-1, -1, 1, bitmaps.WRAP, (-1, 0)),
    ],
)
def test_signed_overflow(value, incr, bits, owtype, expected):
    assert bitmaps._check_signed(value, incr, bits, owtype) == expected


@pytest.mark.parametrize(
    ("value", "incr", "bits", "owtype", "expected"),
    [
        (255, 1, 8, bitmaps.WRAP, (1, 0)),
        (255, 1, 8, bitmaps.SAT, (1, 255)),
        (0, -1, 8, bitmaps.WRAP, (-1, 255)),
        (0, -1, 8, bitmaps.SAT, (-1, 0)),
        (2**64 - 1, 0, 63, bitmaps.WRAP, (1, 2**63 - 1)),  # SET u63 0 -1
        (2**64 - 1, 0, 63, bitmaps.SAT, (1, 2**63 - 1)),
        (10, -5, 8, bitmaps.SAT, (0, 0)),
    ],
)
def test_unsigned_overflow(value, incr, bits, owtype, expected):
    assert bitmaps._check_unsigned(value, incr, bits, owtype) == expected


def test_fields_round_trip_at_any_alignment():
    rng = random.Random(9)
    data = bytearray(40)
    shadow = 0  # the same 320 bits as one integer, bit 0 most significant
    for _ in range(2000):
        bits = rng.randrange(1, 65)
        offset = rng.randrange(0, 320 - bits + 1)
        value = rng.getrandbits(bits)
        bitmaps._set_bits(data, offset, bits, value)
        shift = 320 - offset - bits
        shadow = (shadow & ~(((1 << bits) - 1) << shift)) | (value << shift)
        assert bitmaps._get_unsigned(data, offset, bits) == value
        signed = value - (1 << bits) if value >> (bits - 1) else value
        assert bitmaps._get_signed(data, offset, bits) == signed
    assert int.from_bytes(data, "big") == shadow
    assert bitmaps._get_unsigned(b"\xff", 4, 12) == 0xF00  # zero-padded past the end


def test_bitpos_primitive():
    assert bitmaps._bitpos(b"", 0) == 0
    assert bitmaps._bitpos(b"", 1) == -1
    assert bitmaps._bitpos(b"\xff\xff", 0) == 16
    assert bitmaps._bitpos(b"\x00\x00", 1) == -1
    assert bitmaps._bitpos(b"\x00\x10", 1) == 11
    assert bitmaps._bitpos(b"\xff\xef", 0) == 11


# -- keyspace effects ------------------------------------------------------------------------------


def test_writes_store_raw_bytearrays_with_memory_accounted(session):
    db = session.db
    run(session, "SET", "k", "ab")
    assert run(session, "SETBIT", "k", "1000", "1") == b":0\r\n"
    assert type(db.data[b"k"]) is bytearray and len(db.data[b"k"]) == 126
    run(session, "BITFIELD", "k", "SET", "u8", "#300", "7")
    run(session, "SETBIT", "new", "9", "1")
    run(session, "BITOP", "OR", "dest", "k", "new")
    assert type(db.data[b"dest"]) is bytearray
    assert db.used_bytes == used_bytes_expected(db)
    run(session, "BITOP", "AND", "dest", "missing")
    assert b"dest" not in db.data
    assert db.used_bytes == used_bytes_expected(db)


def test_setbit_unchanged_bit_is_not_a_write(session):
    """Redis 7.0 skips signalModifiedKey when nothing changed; a WATCH survives."""
    run(session, "SETBIT", "k", "3", "1")
    other = Session(session.node, 2)
    run(session, "WATCH", "k")
    run(other, "SETBIT", "k", "3", "1")
    run(other, "BITFIELD", "k", "SET", "u4", "0", "1")  # same bits again
    run(session, "MULTI")
    run(session, "PING")
    assert run(session, "EXEC") == b"*1\r\n+PONG\r\n"
    run(session, "WATCH", "k")
    run(other, "SETBIT", "k", "3", "0")
    run(session, "MULTI")
    assert run(session, "EXEC") == b"*-1\r\n"


def test_bitop_drops_the_destination_ttl(session, node):
    run(session, "SET", "d", "old")
    run(session, "PEXPIRE", "d", "5000")
    run(session, "SET", "src", "x")
    assert run(session, "BITOP", "NOT", "d", "src") == b":1\r\n"
    assert b"d" not in session.db.expires
    assert run(session, "GET", "d") == b"$1\r\n\x87\r\n"


def test_setbit_keeps_ttl_and_expired_keys_start_over(session, node):
    run(session, "SET", "k", "\xff")
    run(session, "PEXPIRE", "k", "100")
    run(session, "SETBIT", "k", "9", "1")
    assert session.db.expires[b"k"] == NOW + 100
    node.now_ms = NOW + 101
    assert run(session, "SETBIT", "k", "0", "0") == b":0\r\n"
    assert bytes(session.db.data[b"k"]) == b"\x00"
    assert b"k" not in session.db.expires
