"""Bitmap commands: rcsim answers byte for byte as redis-server 7.0.15, in RESP2 and RESP3.

Each scenario runs on both servers after FLUSHALL and compares every reply, and the stored
strings through GET. A hypothesis test then throws random SETBIT/BITOP/BITCOUNT/BITPOS/BITFIELD
sequences over a few shared keys at both servers.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Differ, require_redis_server
from tests.support.procs import server_pair
from tests.support.rawclient import RawClient

LLONG_MAX = str(2**63 - 1)
LLONG_MIN = str(-(2**63))

SCENARIOS: dict[str, list[tuple]] = {
    "setbit-getbit": [
        ("SETBIT", "k", "7", "1"),
        ("GET", "k"),
        ("SETBIT", "k", "7", "1"),
        ("SETBIT", "k", "7", "0"),
        ("SETBIT", "k", "100", "1"),
        ("GET", "k"),
        ("STRLEN", "k"),
        ("OBJECT", "ENCODING", "k"),
        ("GETBIT", "k", "100"),
        ("GETBIT", "k", "101"),
        ("GETBIT", "k", "10000"),
        ("GETBIT", "missing", "0"),
        ("SETBIT", "z", "20", "0"),
        ("GET", "z"),
        ("SET", "s", "ab"),
        ("OBJECT", "ENCODING", "s"),
        ("SETBIT", "s", "0", "0"),  # unchanged bit: still unshared to raw
        ("OBJECT", "ENCODING", "s"),
        ("SET", "n", "123"),
        ("OBJECT", "ENCODING", "n"),
        ("GETBIT", "n", "2"),
        ("SETBIT", "n", "7", "0"),
        ("GET", "n"),
        ("OBJECT", "ENCODING", "n"),
        ("TYPE", "k"),
    ],
    "setbit-errors": [
        ("SETBIT", "k", "-1", "1"),
        ("SETBIT", "k", "x", "1"),
        ("SETBIT", "k", "1.5", "1"),
        ("SETBIT", "k", " 1", "1"),
        ("SETBIT", "k", "01", "1"),
        ("SETBIT", "k", "4294967296", "1"),
        ("SETBIT", "k", LLONG_MAX, "1"),
        ("SETBIT", "k", "99999999999999999999", "1"),
        ("SETBIT", "k", "1", "2"),
        ("SETBIT", "k", "1", "-1"),
        ("SETBIT", "k", "1", "x"),
        ("SETBIT", "k", "1", ""),
        ("SETBIT", "k", "-1", "x"),
        ("SETBIT", "k", "1"),
        ("GETBIT", "k", "-1"),
        ("GETBIT", "k", "x"),
        ("GETBIT", "k", "4294967296"),
        ("GETBIT", "k"),
        ("EXISTS", "k"),
    ],
    "bitcount": [
        ("SET", "k", "foobar"),
        ("BITCOUNT", "k"),
        ("BITCOUNT", "k", "0", "0"),
        ("BITCOUNT", "k", "1", "1"),
        ("BITCOUNT", "k", "0", "-1"),
        ("BITCOUNT", "k", "-2", "-1"),
        ("BITCOUNT", "k", "-100", "100"),
        ("BITCOUNT", "k", "5", "1"),
        ("BITCOUNT", "k", "-1", "-2"),
        ("BITCOUNT", "k", "-1", "-2", "junk"),
        ("BITCOUNT", "k", "1", "1", "BYTE"),
        ("BITCOUNT", "k", "5", "30", "BIT"),
        ("BITCOUNT", "k", "5", "30", "bit"),
        ("BITCOUNT", "k", "0", "-1", "BIT"),
        ("BITCOUNT", "k", "-5", "-1", "BIT"),
        ("BITCOUNT", "k", "3", "3", "BIT"),
        ("BITCOUNT", "k", "1", "6", "BIT"),
        ("BITCOUNT", "k", "9", "9", "BIT"),
        ("BITCOUNT", "k", "7", "8", "BIT"),
        ("BITCOUNT", "k", "40", "1000", "BIT"),
        ("BITCOUNT", "k", "30", "5", "BIT"),
        ("BITCOUNT", "k", "0", "1", "bits"),
        ("BITCOUNT", "k", "0", "1", "byte\x00x"),
        ("BITCOUNT", "k", "0"),
        ("BITCOUNT", "k", "0", "1", "BIT", "x"),
        ("BITCOUNT", "k", "a", "1"),
        ("BITCOUNT", "k", "0", "b"),
        ("BITCOUNT", "missing"),
        ("BITCOUNT", "missing", "a", "b", "c"),
        ("BITCOUNT", "missing", "0"),
        ("SET", "e", ""),
        ("BITCOUNT", "e"),
        ("BITCOUNT", "e", "0", "-1"),
        ("BITCOUNT", "e", "0", "-1", "BIT"),
        ("SET", "n", "12345"),
        ("BITCOUNT", "n"),
        ("BITCOUNT",),
    ],
    "bitpos": [
        ("SET", "k", "\xff\xf0\x00"),
        ("BITPOS", "k", "0"),
        ("BITPOS", "k", "1"),
        ("BITPOS", "k", "1", "1"),
        ("BITPOS", "k", "1", "2"),
        ("BITPOS", "k", "0", "2", "-1"),
        ("BITPOS", "k", "1", "2", "-1"),
        ("BITPOS", "k", "0", "0", "0"),
        ("BITPOS", "k", "1", "7", "15", "BIT"),
        ("BITPOS", "k", "0", "7", "15", "BIT"),
        ("BITPOS", "k", "0", "0", "11", "BIT"),
        ("BITPOS", "k", "0", "3", "5", "bit"),
        ("BITPOS", "k", "1", "12", "20", "BIT"),
        ("BITPOS", "k", "1", "-9", "-1", "BIT"),
        ("BITPOS", "k", "0", "1", "1", "BYTE"),
        ("BITPOS", "k", "1", "5", "3"),
        ("BITPOS", "k", "1", "-1", "-100"),
        ("BITPOS", "k", "1", "2", "1", "BIT"),
        ("BITPOS", "k", "2"),
        ("BITPOS", "k", "-1"),
        ("BITPOS", "k", "x"),
        ("BITPOS", "k", "1", "x"),
        ("BITPOS", "k", "1", "0", "x"),
        ("BITPOS", "k", "1", "0", "x", "BIT"),
        ("BITPOS", "k", "1", "0", "x", "foo"),
        ("BITPOS", "k", "1", "0", "1", "foo"),
        ("BITPOS", "k", "1", "0", "1", "BIT", "extra"),
        ("BITPOS", "missing", "0"),
        ("BITPOS", "missing", "1"),
        ("BITPOS", "missing", "1", "x", "y", "z", "w"),
        ("BITPOS", "missing", "3"),
        ("SET", "f", "\xff\xff\xff"),
        ("BITPOS", "f", "0"),
        ("BITPOS", "f", "0", "1"),
        ("BITPOS", "f", "0", "1", "-1"),
        ("BITPOS", "f", "0", "8", "23", "BIT"),
        ("BITPOS", "f", "0", "8", "BIT"),
        ("BITPOS", "f", "1", "30", "40", "BIT"),
        ("SET", "z", "\x00\x00"),
        ("BITPOS", "z", "1"),
        ("BITPOS", "z", "0"),
        ("BITPOS", "z", "1", "0", "-1", "BIT"),
        ("SET", "e", ""),
        ("BITPOS", "e", "0"),
        ("BITPOS", "e", "1"),
        ("BITPOS", "e", "0", "0"),
        ("SET", "long", "\xff" * 40 + "\x7f" + "\x00" * 40 + "\x01"),
        ("BITPOS", "long", "0"),
        ("BITPOS", "long", "1", "41"),
        ("BITPOS", "long", "1", "3", "-1", "BIT"),
        ("BITPOS", "long", "0", "9", "500", "BIT"),
        ("BITPOS", "long", "1", "330", "655", "BIT"),
        ("BITPOS", "long", "1", "330", "656", "BIT"),
    ],
    "bitop": [
        ("SET", "a", "foobar"),
        ("SET", "b", "abcdef"),
        ("SET", "c", "xy"),
        ("BITOP", "AND", "d", "a", "b"),
        ("GET", "d"),
        ("OBJECT", "ENCODING", "d"),
        ("BITOP", "or", "d", "a", "c"),
        ("GET", "d"),
        ("BITOP", "Xor", "d", "a", "b", "c"),
        ("GET", "d"),
        ("BITOP", "AND", "d", "a", "c"),
        ("GET", "d"),
        ("BITOP", "AND", "d", "a", "missing"),
        ("GET", "d"),
        ("BITOP", "NOT", "d", "a"),
        ("GET", "d"),
        ("BITOP", "NOT", "d", "missing"),
        ("EXISTS", "d"),
        ("BITOP", "AND", "d", "missing", "missing2"),
        ("BITOP", "OR", "a", "a", "a"),
        ("GET", "a"),
        ("BITOP", "NOT", "d", "a", "b"),
        ("BITOP", "NOT", "d"),
        ("BITOP", "NAND", "d", "a"),
        ("BITOP", "AN", "d", "a"),
        ("BITOP", "and\x00", "d", "a"),
        ("BITOP", "AND", "d"),
        ("SET", "e", ""),
        ("BITOP", "OR", "d2", "e"),
        ("EXISTS", "d2"),
        ("SET", "d3", "old"),
        ("EXPIRE", "d3", "1000"),
        ("BITOP", "OR", "d3", "c"),
        ("TTL", "d3"),
        ("GET", "d3"),
        ("BITOP", "OR", "d3", "missing"),
        ("EXISTS", "d3"),
        ("SET", "n", "7"),
        ("BITOP", "NOT", "d4", "n"),
        ("GET", "d4"),
        ("OBJECT", "ENCODING", "d4"),
    ],
    "bitfield": [
        ("BITFIELD", "k", "SET", "u8", "0", "255", "GET", "u8", "0", "INCRBY", "u8", "0", "10"),
        ("GET", "k"),
        ("OBJECT", "ENCODING", "k"),
        ("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "u8", "#1", "300", "GET", "u8", "#1"),
        ("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "1000", "GET", "u8", "0"),
        ("BITFIELD", "k", "overflow", "wrap", "INCRBY", "i8", "0", "200"),
        ("BITFIELD", "k", "SET", "i5", "3", "-16", "GET", "i5", "3", "GET", "u5", "3"),
        ("BITFIELD", "k", "SET", "i64", "5", LLONG_MIN, "GET", "i64", "5", "GET", "u63", "5"),
        ("BITFIELD", "k", "INCRBY", "i64", "5", "-1"),
        ("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "i64", "5", LLONG_MIN),
        ("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "i64", "5", LLONG_MAX),
        ("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "i64", "5", LLONG_MAX),
        ("BITFIELD", "k", "SET", "u63", "0", LLONG_MAX, "GET", "u63", "0"),
        ("BITFIELD", "k", "SET", "u63", "0", "-1", "OVERFLOW", "SAT", "SET", "u63", "0", "-1"),
        ("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i8", "0", LLONG_MIN, "GET", "i8", "0"),
        ("BITFIELD", "k", "OVERFLOW", "SAT", "SET", "i8", "0", "-200", "GET", "i8", "0"),
        ("BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "i8", "0", "128", "SET", "i8", "0", "127"),
        ("BITFIELD", "k", "SET", "u1", "100", "1", "GET", "u1", "100", "GET", "i1", "100"),
        ("BITFIELD", "k", "OVERFLOW", "SAT", "INCRBY", "i1", "100", "-5"),
        (
            "BITFIELD",
            "k",
            "OVERFLOW",
            "SAT",
            "INCRBY",
            "u1",
            "100",
            "5",
            "INCRBY",
            "u1",
            "100",
            "-5",
        ),
        ("BITFIELD", "k", "GET", "u8", "#1000", "GET", "i64", "#100"),
        ("GET", "k"),
        ("STRLEN", "k"),
        ("BITFIELD", "k"),
        ("BITFIELD", "missing"),
        ("BITFIELD", "missing", "GET", "i8", "0"),
        ("EXISTS", "missing"),
        ("BITFIELD", "new", "OVERFLOW", "FAIL", "INCRBY", "u2", "10", "9"),
        ("GET", "new"),
        ("BITFIELD_RO", "k", "GET", "u8", "0", "GET", "i16", "#1"),
        ("BITFIELD_RO", "missing", "GET", "u8", "0"),
        ("BITFIELD_RO", "k"),
        ("BITFIELD_RO", "k", "SET", "u8", "0", "1"),
        ("BITFIELD_RO", "k", "INCRBY", "u8", "0", "1"),
        ("BITFIELD_RO", "k", "OVERFLOW", "SAT"),
        ("BITFIELD_RO", "k", "GET", "u8"),
        ("SET", "n", "1234"),
        ("BITFIELD", "n", "GET", "u8", "0", "SET", "u8", "8", "65"),
        ("GET", "n"),
    ],
    "bitfield-errors": [
        ("BITFIELD", "k", "GET", "u64", "0"),
        ("BITFIELD", "k", "GET", "i65", "0"),
        ("BITFIELD", "k", "GET", "i0", "0"),
        ("BITFIELD", "k", "GET", "u0", "0"),
        ("BITFIELD", "k", "GET", "I8", "0"),
        ("BITFIELD", "k", "GET", "x8", "0"),
        ("BITFIELD", "k", "GET", "", "0"),
        ("BITFIELD", "k", "GET", "i", "0"),
        ("BITFIELD", "k", "GET", "i08", "0"),
        ("BITFIELD", "k", "GET", "i8\x00x", "0"),
        ("BITFIELD", "k", "GET", "u-1", "0"),
        ("BITFIELD", "k", "GET", "u8", "-1"),
        ("BITFIELD", "k", "GET", "u8", "#-1"),
        ("BITFIELD", "k", "GET", "u8", "#"),
        ("BITFIELD", "k", "GET", "u8", "#x"),
        ("BITFIELD", "k", "GET", "u8", "##1"),
        ("BITFIELD", "k", "GET", "u8", "4294967296"),
        ("BITFIELD", "k", "GET", "u8", "#536870912"),
        ("BITFIELD", "k", "GET", "i64", "#1152921504606846976"),
        ("BITFIELD", "k", "GET", "i64", "#144115188075855872"),
        ("BITFIELD", "k", "GET", "u8", "x"),
        ("BITFIELD", "k", "GET", "u8"),
        ("BITFIELD", "k", "GET"),
        ("BITFIELD", "k", "SET", "u8", "0"),
        ("BITFIELD", "k", "SET", "u8", "0", "x"),
        ("BITFIELD", "k", "SET", "u8", "0", "1.5"),
        ("BITFIELD", "k", "INCRBY", "u8", "0", "99999999999999999999"),
        ("BITFIELD", "k", "OVERFLOW"),
        ("BITFIELD", "k", "OVERFLOW", "what"),
        ("BITFIELD", "k", "OVERFLOW", "SAT", "GET", "u8", "0", "OVERFLOW", "no"),
        ("BITFIELD", "k", "FOO"),
        ("BITFIELD", "k", "GET", "u8", "0", "FOO"),
        ("BITFIELD", "k", "get\x00", "u8", "0"),
        ("BITFIELD", "k", "SET", "u8", "0", "1", "GET", "u99", "0"),
        ("EXISTS", "k"),
        ("BITFIELD",),
    ],
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(diff, name):
    for command in SCENARIOS[name]:
        diff.check(*command)


def test_setbit_builds_the_same_strings(diff):
    offsets = [0, 1, 7, 8, 63, 64, 1000, 8191, 3, 5, 999]
    for i, offset in enumerate(offsets):
        diff.check("SETBIT", "k", str(offset), str(i % 2 ^ 1))
        diff.check("GET", "k")
    diff.check("BITCOUNT", "k")
    diff.check("BITPOS", "k", "1", "1")


def test_large_bitmaps(diff):
    diff.check("SETBIT", "big", "800000", "1")
    diff.check("SETBIT", "big", "12345", "1")
    diff.check("BITCOUNT", "big")
    diff.check("BITPOS", "big", "1")
    diff.check("BITPOS", "big", "1", "1600")
    diff.check("BITPOS", "big", "0", "0", "-1")
    diff.check("BITOP", "NOT", "inv", "big")
    diff.check("BITPOS", "inv", "0")
    diff.check("BITPOS", "inv", "1", "0", "-1")
    diff.check("BITCOUNT", "inv", "1000", "-1000", "BIT")
    diff.check("BITOP", "XOR", "x", "big", "inv")
    diff.check("BITCOUNT", "x")
    diff.check("BITFIELD", "big", "GET", "u8", "799995", "GET", "i64", "799990")


def test_keyspace_statistics_match(diff):
    """Hits and misses: GETBIT/BITCOUNT/BITPOS/BITOP/read-only BITFIELD read; writes do not."""
    commands = [
        ("SETBIT", "a", "1", "1"),
        ("SETBIT", "missing", "1", "0"),
        ("GETBIT", "a", "1"),
        ("GETBIT", "nope", "1"),
        ("BITCOUNT", "a"),
        ("BITCOUNT", "nope"),
        ("BITPOS", "a", "1"),
        ("BITPOS", "nope", "1"),
        ("BITOP", "OR", "d", "a", "nope"),
        ("BITFIELD", "a", "GET", "u8", "0"),
        ("BITFIELD", "nope", "GET", "u8", "0"),
        ("BITFIELD", "a", "SET", "u8", "0", "1"),
        ("BITFIELD_RO", "a", "GET", "u8", "0"),
    ]
    ours_before, theirs_before = _stats(diff.ours), _stats(diff.theirs)
    for command in commands:
        diff.check(*command)
    ours_after, theirs_after = _stats(diff.ours), _stats(diff.theirs)
    ours_delta = (ours_after[0] - ours_before[0], ours_after[1] - ours_before[1])
    theirs_delta = (theirs_after[0] - theirs_before[0], theirs_after[1] - theirs_before[1])
    assert ours_delta == theirs_delta


def _stats(client: RawClient) -> tuple[int, int]:
    text = client.call("INFO", "stats").decode()
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    return int(fields["keyspace_hits"]), int(fields["keyspace_misses"])


def test_watch_follows_redis_signalling(diff):
    """SETBIT and BITFIELD signal only when a bit changed or the string was created or grown
    (Redis 7.0); BITOP with an empty result signals only if it deleted something."""
    cases = [
        ([("SETBIT", "k", "3", "1")], ("SETBIT", "k", "3", "1")),
        ([("SETBIT", "k", "3", "1")], ("SETBIT", "k", "3", "0")),
        ([("SETBIT", "k", "3", "1")], ("SETBIT", "k", "30", "0")),
        ([("SETBIT", "k", "3", "1")], ("BITFIELD", "k", "GET", "u8", "0")),
        ([("SETBIT", "k", "3", "1")], ("BITFIELD", "k", "SET", "u8", "0", "16")),
        ([("SETBIT", "k", "3", "1")], ("BITFIELD", "k", "SET", "u8", "0", "17")),
        ([("SETBIT", "k", "3", "1")], ("BITFIELD", "k", "INCRBY", "u8", "0", "0")),
        ([("SETBIT", "k", "3", "1")], ("BITFIELD", "k", "SET", "u8", "8", "0")),
        (
            [("SETBIT", "k", "3", "1")],
            ("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "999"),
        ),
        ([], ("BITOP", "AND", "k", "nokey")),
        ([("SET", "k", "v")], ("BITOP", "AND", "k", "nokey")),
        ([("SET", "k", "v")], ("BITOP", "AND", "k", "k")),
    ]
    for setup, action in cases:
        diff.check("FLUSHALL")
        for command in setup:
            diff.check(*command)
        diff.check("WATCH", "k")
        with RawClient(diff.ours_port) as ours, RawClient(diff.theirs_port) as theirs:
            assert ours.call(*action) == theirs.call(*action), action
        diff.check("MULTI")
        diff.check("PING")
        diff.check("EXEC")
        diff.check("GET", "k")


def test_ttl_is_kept_by_in_place_writes(diff):
    diff.check("SET", "k", "abc")
    diff.check("EXPIRE", "k", "1000")
    diff.check("SETBIT", "k", "100", "1")
    diff.check("BITFIELD", "k", "SET", "u8", "200", "7")
    ours, theirs = diff.both("TTL", "k")
    assert ours == theirs or (ours.startswith(b":99") and theirs.startswith(b":99"))


def test_copy_dump_restore_digest(diff):
    diff.check("SETBIT", "k", "77", "1")
    diff.check("COPY", "k", "c")
    diff.check("SETBIT", "c", "1", "1")
    diff.check("GET", "k")
    diff.check("GET", "c")
    dumped = diff.check("DUMP", "k")
    header, _, rest = dumped.partition(b"\r\n")
    payload = rest[: int(header[1:])]
    diff.check("RESTORE", "r", "0", payload)
    diff.check("GET", "r")
    diff.check("DEBUG", "DIGEST-VALUE", "k", "c", "r")


# -- proto-max-bulk-len --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_limit_pair():
    require_redis_server()
    with server_pair(("--proto-max-bulk-len", "1mb")) as pair:
        yield pair


def test_offsets_are_limited_by_proto_max_bulk_len(small_limit_pair):
    ours, theirs = small_limit_pair
    differ = Differ(ours.port, theirs.port)
    bits = 8 * 1024 * 1024
    try:
        differ.check_all(
            ("SETBIT", "k", str(bits), "1"),
            ("SETBIT", "k", str(bits - 1), "1"),
            ("STRLEN", "k"),
            ("GETBIT", "k", str(bits)),
            ("GETBIT", "k", str(bits - 1)),
            ("BITFIELD", "k", "GET", "u8", str(bits)),
            ("BITFIELD", "k", "GET", "u8", str(bits - 1)),
            ("BITFIELD", "k", "GET", "u8", "#131072"),
            ("BITFIELD", "k", "GET", "u8", "#131071"),
            ("BITFIELD", "k", "SET", "u8", str(bits - 1), "255"),
            ("STRLEN", "k"),
            ("BITCOUNT", "k"),
        )
    finally:
        differ.close()


# -- random sequences ------------------------------------------------------------------------------

_KEYS = ["b1", "b2", "b3"]
_key = st.sampled_from(_KEYS)
_small = st.integers(-20, 60).map(str)
_offset = st.one_of(st.integers(0, 100), st.integers(-2, 2)).map(str)
_unit = st.sampled_from([[], ["BYTE"], ["BIT"]])
_type = st.builds(lambda s, n: f"{s}{n}", st.sampled_from("iu"), st.integers(1, 64))
_field_offset = st.one_of(st.integers(0, 120).map(str), st.integers(0, 10).map(lambda i: f"#{i}"))
_field_value = st.one_of(
    st.integers(-300, 300),
    st.sampled_from([2**63 - 1, -(2**63), 2**62, -(2**62), 2**32, -1]),
).map(str)
_field_op = st.one_of(
    st.builds(lambda t, o: ["GET", t, o], _type, _field_offset),
    st.builds(lambda t, o, v: ["SET", t, o, v], _type, _field_offset, _field_value),
    st.builds(lambda t, o, v: ["INCRBY", t, o, v], _type, _field_offset, _field_value),
    st.sampled_from([["OVERFLOW", "WRAP"], ["OVERFLOW", "SAT"], ["OVERFLOW", "FAIL"]]),
)
_COMMAND = st.one_of(
    st.builds(lambda k, o, b: ["SETBIT", k, o, b], _key, _offset, st.sampled_from("01")),
    st.builds(lambda k, o: ["GETBIT", k, o], _key, _offset),
    st.builds(
        lambda k, v: ["SET", k, v],
        _key,
        st.binary(max_size=12),
    ),
    st.builds(lambda k: ["BITCOUNT", k], _key),
    st.builds(lambda k, a, b, u: ["BITCOUNT", k, a, b, *u], _key, _small, _small, _unit),
    st.builds(lambda k, b: ["BITPOS", k, b], _key, st.sampled_from("01")),
    st.builds(lambda k, b, a: ["BITPOS", k, b, a], _key, st.sampled_from("01"), _small),
    st.builds(
        lambda k, b, a, e, u: ["BITPOS", k, b, a, e, *u],
        _key,
        st.sampled_from("01"),
        _small,
        _small,
        _unit,
    ),
    st.builds(
        lambda op, d, ks: ["BITOP", op, d, *ks],
        st.sampled_from(["AND", "OR", "XOR", "NOT"]),
        _key,
        st.lists(_key, min_size=1, max_size=3),
    ),
    st.builds(
        lambda k, ops: ["BITFIELD", k, *[w for op in ops for w in op]],
        _key,
        st.lists(_field_op, max_size=4),
    ),
    st.builds(
        lambda k, ops: ["BITFIELD_RO", k, *[w for op in ops for w in op]],
        _key,
        st.lists(_field_op, max_size=3),
    ),
    st.builds(lambda k: ["GET", k], _key),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(_COMMAND, min_size=1, max_size=20))
def test_random_bitmap_sequences(diff, sequence):
    diff.both("FLUSHALL")
    for args in sequence:
        diff.check(*args)
    for key in _KEYS:
        diff.check("GET", key)


# -- wrong types -----------------------------------------------------------------------------------

WRONGTYPE_COMMANDS = [
    ("SETBIT", "l", "1", "1"),
    ("SETBIT", "l", "-1", "1"),
    ("SETBIT", "l", "1", "2"),
    ("GETBIT", "l", "1"),
    ("GETBIT", "l", "x"),
    ("BITCOUNT", "l"),
    ("BITCOUNT", "l", "0"),
    ("BITCOUNT", "l", "a", "b"),
    ("BITPOS", "l", "1"),
    ("BITPOS", "l", "2"),
    ("BITPOS", "l", "1", "x"),
    ("BITOP", "AND", "d", "l"),
    ("BITOP", "AND", "d", "str", "l"),
    ("BITOP", "NOT", "d", "l"),
    ("BITOP", "AND", "l", "str"),
    ("BITFIELD", "l", "GET", "u8", "0"),
    ("BITFIELD", "l", "SET", "u8", "0", "1"),
    ("BITFIELD", "l", "GET", "u99", "0"),
    ("BITFIELD", "l"),
    ("BITFIELD_RO", "l", "GET", "u8", "0"),
    ("BITFIELD_RO", "l", "SET", "u8", "0", "1"),
]


def test_wrongtype_against_other_types(diff):
    """Lists and hashes: WRONGTYPE after the argument checks, as Redis orders them; BITOP's
    destination may be of any type (it is overwritten)."""
    for command in WRONGTYPE_COMMANDS:
        for other in ("l", "hash"):
            diff.check("FLUSHALL")
            diff.check("LPUSH", "l", "x")
            diff.check("HSET", "hash", "f", "v")
            diff.check("SET", "str", "abc")
            diff.check(*[(other if word == "l" else word) for word in command])
            diff.check("TYPE", other)
            diff.check("EXISTS", "d")
