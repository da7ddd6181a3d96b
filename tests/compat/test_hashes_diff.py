"""Hash commands: rcsim answers byte for byte as redis-server 7.0.15, in RESP2 and RESP3.

Listpack hashes keep insertion order in both servers, so their replies are compared exactly.
Hashtable hashes come back in Redis's dict order, which rcsim cannot reproduce: those replies are
compared as unordered collections (same reply type and length, same elements or pairs).
HRANDFIELD is random: its replies are checked for shape, counts, membership and distinctness.
"""

from __future__ import annotations

import random

import pytest

from tests.conftest import Differ
from tests.support.resp import check_unordered, header, pairs, parse, scan_all, scan_keys

LLONG_MAX = str(2**63 - 1)
LLONG_MIN = str(-(2**63))
LONG_MAX = 2**63 - 1


def check_hash(diff: Differ, key: str) -> None:
    """HGETALL compared exactly for a listpack hash (both keep insertion order), as pairs for a
    hashtable one; the encodings must agree first."""
    encoding = diff.check("OBJECT", "ENCODING", key)
    if encoding == b"$9\r\nhashtable\r\n":
        check_unordered(diff, "HGETALL", key, paired=True)
    else:
        diff.check("HGETALL", key)


def fill(diff: Differ, key: str, count: int, value_size: int = 3) -> None:
    """HSET ``count`` fields f0..f{count-1} on both servers, in one command."""
    args: list[str] = []
    for i in range(count):
        args += [f"f{i}", str(i).rjust(value_size, "v")]
    diff.check("HSET", key, *args)


# -- scenarios compared byte for byte --------------------------------------------------------------

WRONGTYPE_COMMANDS = [
    ("HSET", "str", "f", "v"),
    ("HSET", "str", "f"),
    ("HMSET", "str", "f", "v"),
    ("HSETNX", "str", "f", "v"),
    ("HGET", "str", "f"),
    ("HMGET", "str", "f", "g"),
    ("HDEL", "str", "f"),
    ("HLEN", "str"),
    ("HSTRLEN", "str", "f"),
    ("HEXISTS", "str", "f"),
    ("HKEYS", "str"),
    ("HVALS", "str"),
    ("HGETALL", "str"),
    ("HINCRBY", "str", "f", "1"),
    ("HINCRBY", "str", "f", "x"),
    ("HINCRBYFLOAT", "str", "f", "1.5"),
    ("HINCRBYFLOAT", "str", "f", "inf"),
    ("HRANDFIELD", "str"),
    ("HRANDFIELD", "str", "2"),
    ("HRANDFIELD", "str", "2", "WITHVALUES"),
    ("HRANDFIELD", "str", "x"),
    ("HRANDFIELD", "str", "2", "bogus"),
    ("HSCAN", "str", "0"),
    ("HSCAN", "str", "x"),
    ("HSCAN", "str", "0", "COUNT", "0"),
]

SCENARIOS: dict[str, list[tuple]] = {
    "missing-key": [
        ("HGET", "h", "f"),
        ("HMGET", "h", "a", "b", "c"),
        ("HDEL", "h", "f"),
        ("HLEN", "h"),
        ("HSTRLEN", "h", "f"),
        ("HEXISTS", "h", "f"),
        ("HKEYS", "h"),
        ("HVALS", "h"),
        ("HGETALL", "h"),
        ("HRANDFIELD", "h"),
        ("HRANDFIELD", "h", "3"),
        ("HRANDFIELD", "h", "-3", "WITHVALUES"),
        ("HSCAN", "h", "0"),
        ("HSCAN", "h", "7", "COUNT", "0", "BOGUS"),
        ("EXISTS", "h"),
    ],
    "set-and-read": [
        ("HSET", "h", "a", "1"),
        ("HSET", "h", "b", "2", "c", "3", "a", "10"),
        ("HGET", "h", "a"),
        ("HGET", "h", "zz"),
        ("HMGET", "h", "a", "zz", "c", "a"),
        ("HLEN", "h"),
        ("HSTRLEN", "h", "a"),
        ("HSTRLEN", "h", "zz"),
        ("HEXISTS", "h", "b"),
        ("HEXISTS", "h", "zz"),
        ("HKEYS", "h"),
        ("HVALS", "h"),
        ("HGETALL", "h"),
        ("HSET", "h", "b", "two"),
        ("HGETALL", "h"),
        ("HSET", "h", b"\x00bin\r\n", b"\xff\x00"),
        ("HGET", "h", b"\x00bin\r\n"),
        ("HSET", "h", "", ""),
        ("HGET", "h", ""),
        ("HSTRLEN", "h", ""),
        ("HGETALL", "h"),
        ("TYPE", "h"),
        ("OBJECT", "ENCODING", "h"),
    ],
    "hmset-hsetnx": [
        ("HMSET", "h", "a", "1", "b", "2"),
        ("HMSET", "h", "a", "3"),
        ("HGETALL", "h"),
        ("HSETNX", "h", "a", "9"),
        ("HSETNX", "h", "z", "9"),
        ("HSETNX", "n", "f", "v"),
        ("HGETALL", "h"),
        ("HGETALL", "n"),
    ],
    "arity": [
        ("HSET", "h"),
        ("HSET", "h", "f"),
        ("HSET", "h", "f", "v", "g"),
        ("hset", "h", "f", "v", "g", "w", "x"),
        ("HMSET", "h", "f"),
        ("HMSET", "h", "f", "v", "g"),
        ("HSETNX", "h", "f"),
        ("HGET", "h"),
        ("HMGET", "h"),
        ("HDEL", "h"),
        ("HINCRBY", "h", "f"),
        ("HINCRBYFLOAT", "h", "f"),
        ("HRANDFIELD",),
        ("HSCAN", "h"),
        ("HKEYS", "h", "x"),
        ("EXISTS", "h"),
    ],
    "hdel": [
        ("HSET", "h", "a", "1", "b", "2", "c", "3"),
        ("HDEL", "h", "zz"),
        ("HDEL", "h", "a", "a", "zz"),
        ("HGETALL", "h"),
        ("HSET", "h", "a", "again"),
        ("HGETALL", "h"),
        ("HDEL", "h", "b", "c", "a", "q"),
        ("EXISTS", "h"),
        ("HGETALL", "h"),
    ],
    "hincrby": [
        ("HINCRBY", "h", "n", "5"),
        ("HINCRBY", "h", "n", "-7"),
        ("HINCRBY", "h", "n", "0"),
        ("HINCRBY", "h", "n", "x"),
        ("HINCRBY", "h", "n", "1.5"),
        ("HINCRBY", "h", "n", " 1"),
        ("HINCRBY", "h", "n", "+1"),
        ("HINCRBY", "h", "n", "01"),
        ("HINCRBY", "h", "n", LLONG_MAX),
        ("HINCRBY", "h", "big", LLONG_MAX),
        ("HINCRBY", "h", "big", "1"),
        ("HINCRBY", "h", "small", LLONG_MIN),
        ("HINCRBY", "h", "small", "-1"),
        ("HINCRBY", "h", "small", "9223372036854775808"),
        ("HSET", "h", "s", "abc", "f", "1.5", "sp", " 1", "z", "007", "neg", "-0"),
        ("HINCRBY", "h", "s", "1"),
        ("HINCRBY", "h", "f", "1"),
        ("HINCRBY", "h", "sp", "1"),
        ("HINCRBY", "h", "z", "1"),
        ("HINCRBY", "h", "neg", "1"),
        ("HINCRBY", "new", "f", "x"),
        ("EXISTS", "new"),
        ("HGETALL", "h"),
    ],
    "hincrbyfloat-errors": [
        ("HINCRBYFLOAT", "h", "f", "inf"),
        ("HINCRBYFLOAT", "h", "f", "-inf"),
        ("HINCRBYFLOAT", "h", "f", "nan"),
        ("HINCRBYFLOAT", "h", "f", "x"),
        ("HINCRBYFLOAT", "h", "f", ""),
        ("HINCRBYFLOAT", "h", "f", " 1"),
        ("HINCRBYFLOAT", "h", "f", "1 "),
        ("EXISTS", "h"),
        ("HSET", "h", "s", "abc", "i", "inf", "e", ""),
        ("HINCRBYFLOAT", "h", "s", "1"),
        ("HINCRBYFLOAT", "h", "i", "1"),
        ("HINCRBYFLOAT", "h", "e", "1"),
        ("HGETALL", "h"),
        ("HINCRBYFLOAT", "h", "big", "1e4932"),
        ("HINCRBYFLOAT", "h", "big", "1e4932"),
        ("OBJECT", "ENCODING", "h"),
        ("HSTRLEN", "h", "big"),
        ("HLEN", "h"),
    ],
    "hrandfield-errors": [
        ("HSET", "h", "a", "1", "b", "2"),
        ("HRANDFIELD", "h", "x"),
        ("HRANDFIELD", "h", "1.5"),
        ("HRANDFIELD", "h", "-9223372036854775808"),
        ("HRANDFIELD", "h", "-9223372036854775808", "WITHVALUES"),
        ("HRANDFIELD", "h", "9223372036854775808"),
        ("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"),
        ("HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"),
        ("HRANDFIELD", "h", "2", "WITHVALUE"),
        ("HRANDFIELD", "h", "2", "WITHVALUES", "x"),
        ("HRANDFIELD", "h", "0"),
        ("HRANDFIELD", "h", "0", "withvalues"),
        ("HRANDFIELD", "h", "5"),
        ("HRANDFIELD", "h", "2", "WithValues"),
        ("HRANDFIELD", "h", "3", "WITHVALUES"),
        ("HRANDFIELD", "h", "9223372036854775807"),
        ("HRANDFIELD", "h", "4611686018427387903", "WITHVALUES"),
    ],
    "hscan-listpack": [
        ("HSET", "h", "a", "1", "b", "2", "ab", "3", "c", "4", "10", "x"),
        ("HSCAN", "h", "0"),
        ("HSCAN", "h", "12345"),
        ("HSCAN", "h", "18446744073709551615"),
        ("HSCAN", "h", "-1"),
        ("HSCAN", "h", "0", "MATCH", "a*"),
        ("HSCAN", "h", "0", "match", "*"),
        ("HSCAN", "h", "0", "MATCH", "[a-b]", "COUNT", "1"),
        ("HSCAN", "h", "0", "COUNT", "1"),
        ("HSCAN", "h", "0", "COUNT", "0"),
        ("HSCAN", "h", "0", "COUNT", "-1"),
        ("HSCAN", "h", "0", "COUNT", "x"),
        ("HSCAN", "h", "0", "MATCH"),
        ("HSCAN", "h", "0", "TYPE", "hash"),
        ("HSCAN", "h", "0", "NOVALUES"),
        ("HSCAN", "h", "x"),
        ("HSCAN", "h", "18446744073709551616"),
        ("HSCAN", "h", " 1"),
    ],
    "keep-ttl": [
        ("HSET", "h", "a", "1"),
        ("EXPIRE", "h", "100"),
        ("HSET", "h", "b", "2"),
        ("HINCRBY", "h", "c", "1"),
        ("HDEL", "h", "a"),
        ("TTL", "h"),
        ("HDEL", "h", "b", "c"),
        ("TTL", "h"),
    ],
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(diff, name):
    diff.check_all(*SCENARIOS[name])


def test_wrong_type_everywhere(diff):
    diff.check("SET", "str", "v")
    diff.check_all(*WRONGTYPE_COMMANDS)
    diff.check("GET", "str")


def test_hash_is_wrong_type_for_strings_and_sets(diff):
    diff.check("HSET", "h", "f", "v")
    for command in (("GET", "h"), ("APPEND", "h", "x"), ("INCR", "h"), ("SADD", "h", "m")):
        diff.check(*command)


# -- HINCRBYFLOAT maths --------------------------------------------------------------------------

INCRBYFLOAT_CASES = [
    ("10.50", "0.1"),
    ("5.0e3", "2.0e2"),
    ("0.1", "0.2"),
    ("1", "-1"),
    ("3", "-0.5"),
    ("17179869184", "1.5"),
    ("-1.5", "1.5"),
    ("1e308", "1e308"),
    ("0", "1e-17"),
    ("0", "1.23456789012345678901"),
    ("1", "0x10"),
    ("0", "-0"),
    ("1.1", "1e20"),
    ("100", "1e-300"),
    ("3.14159", "2.71828"),
]


@pytest.mark.parametrize(("initial", "increment"), INCRBYFLOAT_CASES)
def test_hincrbyfloat_formatting(diff, initial, increment):
    diff.check("HSET", "h", "f", initial)
    diff.check("HINCRBYFLOAT", "h", "f", increment)
    diff.check("HGET", "h", "f")
    diff.check("HINCRBYFLOAT", "h", "new", increment)
    check_hash(diff, "h")


def test_hincrbyfloat_seeded_random(diff):
    rng = random.Random(7)
    for _ in range(40):
        increment = rng.choice(
            [
                f"{rng.uniform(-1000, 1000):.{rng.randint(0, 12)}f}",
                f"{rng.uniform(-1, 1):.3e}",
                str(rng.randint(-(10**6), 10**6)),
            ]
        )
        diff.check("HINCRBYFLOAT", "h", "f", increment)
    check_hash(diff, "h")


# -- encodings -----------------------------------------------------------------------------------

LONG = "x" * 65
EDGE = "y" * 64


def test_listpack_value_limit(diff):
    diff.check("HSET", "edge", "f", EDGE, EDGE, "v")
    diff.check("OBJECT", "ENCODING", "edge")
    for key, args in (
        ("v", ("f", LONG)),
        ("k", (LONG, "v")),
        ("mixed", ("a", "1", "b", LONG)),
    ):
        diff.check("HSET", key, "first", "1")
        diff.check("HSET", key, *args)
        diff.check("OBJECT", "ENCODING", key)
    check_unordered(diff, "HGETALL", "mixed", paired=True)


def test_conversion_triggers_of_single_field_commands(diff):
    diff.check_all(
        ("HSET", "nx", "a", "1"),
        ("HSETNX", "nx", "a", LONG),
        ("OBJECT", "ENCODING", "nx"),
        ("HSETNX", "nx", "b", LONG),
        ("OBJECT", "ENCODING", "nx"),
        ("HSET", "ib", "a", "1"),
        ("HINCRBY", "ib", LONG, "1"),
        ("OBJECT", "ENCODING", "ib"),
        ("HSET", "ibf", "a", "1"),
        ("HINCRBYFLOAT", "ibf", "a", "1e70"),
        ("OBJECT", "ENCODING", "ibf"),
        ("HGET", "ibf", "a"),
        ("HSET", "short", "a", "1"),
        ("HINCRBYFLOAT", "short", "a", "1e60"),
        ("OBJECT", "ENCODING", "short"),
        ("HSET", "same", "a", "1"),
        ("HSET", "same", "a", LONG),
        ("OBJECT", "ENCODING", "same"),
        ("HDEL", "same", "a"),
        ("HSET", "same", "a", "1"),
        ("OBJECT", "ENCODING", "same"),
    )


def test_listpack_entry_limit_and_one_way_conversion(diff):
    fill(diff, "h", 512)
    diff.check("OBJECT", "ENCODING", "h")
    diff.check("HGETALL", "h")
    diff.check("HSET", "h", "extra", "1")
    diff.check("OBJECT", "ENCODING", "h")
    diff.check("HLEN", "h")
    diff.check("HDEL", "h", "extra", "f0", "f1")
    diff.check("OBJECT", "ENCODING", "h")
    check_unordered(diff, "HKEYS", "h")
    check_unordered(diff, "HVALS", "h")
    check_unordered(diff, "HGETALL", "h", paired=True)
    diff.check("HGET", "h", "f100")
    diff.check("HMGET", "h", "f0", "f2", "f511")


def test_configured_thresholds(diff):
    """CONFIG SET changes when values convert (restored afterwards: the servers are shared)."""
    try:
        diff.check("CONFIG", "SET", "hash-max-listpack-entries", "2")
        diff.check("CONFIG", "SET", "hash-max-ziplist-value", "3")
        diff.check_all(
            ("HSET", "a", "f", "1", "g", "2"),
            ("OBJECT", "ENCODING", "a"),
            ("HSET", "a", "h", "3"),
            ("OBJECT", "ENCODING", "a"),
            ("HSET", "b", "f", "abc"),
            ("OBJECT", "ENCODING", "b"),
            ("HSET", "b", "g", "abcd"),
            ("OBJECT", "ENCODING", "b"),
        )
        diff.check("CONFIG", "SET", "hash-max-listpack-entries", "0")
        diff.check_all(("HSET", "z", "f", "1"), ("OBJECT", "ENCODING", "z"))
    finally:
        diff.check("CONFIG", "SET", "hash-max-listpack-entries", "512")
        diff.check("CONFIG", "SET", "hash-max-listpack-value", "64")


# -- HRANDFIELD ----------------------------------------------------------------------------------


def _randfield(diff: Differ, *args: object) -> tuple[object, object]:
    ours, theirs = diff.both("HRANDFIELD", *args)
    same = header(ours) == header(theirs) if ours[:1] != b"$" else theirs[:1] == b"$"
    assert same, (args, ours[:60], theirs[:60])
    return parse(ours), parse(theirs)


@pytest.mark.parametrize("size", [5, 600], ids=["listpack", "hashtable"])
def test_hrandfield_shapes(diff, size):
    fill(diff, "h", size)
    fields = {f"f{i}".encode(): str(i).rjust(3, "v").encode() for i in range(size)}
    for _ in range(5):
        ours, theirs = _randfield(diff, "h")
        assert ours in fields and theirs in fields
    for count in (1, 3, size - 1, size, size + 10, -1, -3, -(size + 7)):
        ours, theirs = _randfield(diff, "h", count)
        assert isinstance(ours, list) and isinstance(theirs, list)
        assert len(ours) == len(theirs)
        assert set(ours) <= set(fields)
        if count > 0:
            assert len(set(ours)) == len(ours)
        ours, theirs = _randfield(diff, "h", count, "WITHVALUES")
        assert isinstance(ours, list) and isinstance(theirs, list)
        if diff.protocol == 3:
            assert all(isinstance(pair, list) and len(pair) == 2 for pair in ours)
            found = [tuple(pair) for pair in ours]
        else:
            found = list(zip(ours[::2], ours[1::2], strict=True))
        assert all(fields[field] == value for field, value in found)
        if count > 0:
            assert len({field for field, _ in found}) == len(found)


def test_hrandfield_whole_listpack_is_in_order(diff):
    diff.check("HSET", "h", "c", "1", "a", "2", "b", "3")
    diff.check("HRANDFIELD", "h", "3")
    diff.check("HRANDFIELD", "h", "100", "WITHVALUES")


# -- HSCAN ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [(), ("COUNT", "3"), ("COUNT", "1000"), ("MATCH", "f1*")])
def test_hscan_hashtable_returns_everything(diff, options):
    fill(diff, "h", 700)
    ours = scan_all(diff.ours, "HSCAN", "h", *options)
    theirs = scan_all(diff.theirs, "HSCAN", "h", *options)
    assert set(pairs(ours)) == set(pairs(theirs))
    assert len(set(pairs(ours))) == (700 if not options or options[0] == "COUNT" else 111)


def test_hscan_guarantee_under_writes(diff):
    """Fields present for the whole scan are returned even as others come and go."""
    fill(diff, "h", 600)
    client = diff.ours
    cursor, seen, step = b"0", set(), 0
    while True:
        cursor, items = parse(client.call("HSCAN", "h", cursor, "COUNT", "20"))  # type: ignore[misc]
        seen.update(items[::2])
        step += 1
        client.call("HDEL", "h", f"f{step}")  # shrinks the table over time
        client.call("HSET", "h", *[f"n{step}-{i}" for i in range(4)])  # and grows it
        if cursor == b"0":
            break
    stayed = {f"f{i}".encode() for i in range(step + 1, 600)}
    assert stayed <= seen


def test_hscan_small_hashtable(diff):
    diff.check("HSET", "h", "a", LONG)
    diff.check("HSCAN", "h", "0")
    diff.check("HSCAN", "h", "0", "MATCH", "b*")


# -- generic key commands on hashes ---------------------------------------------------------------


def test_key_commands_on_hashes(diff):
    diff.check_all(
        ("HSET", "h", "a", "1", "b", "2"),
        ("TYPE", "h"),
        ("COPY", "h", "c"),
        ("HGETALL", "c"),
        ("OBJECT", "ENCODING", "c"),
        ("HSET", "c", "z", "9"),
        ("HGETALL", "h"),
        ("RENAME", "c", "r"),
        ("HGETALL", "r"),
        ("MOVE", "r", "1"),
        ("EXISTS", "r"),
        ("DEBUG", "DIGEST-VALUE", "h"),
        ("SELECT", "1"),
        ("HGETALL", "r"),
        ("DEL", "r"),
        ("SELECT", "0"),
    )
    diff.check("SET", "s", "string")
    for wanted in ("hash", "string"):
        ours = scan_keys(diff.ours, "TYPE", wanted)
        assert (
            ours
            == scan_keys(diff.theirs, "TYPE", wanted)
            == ({b"h"} if wanted == "hash" else {b"s"})
        )
    fill(diff, "big", 600)
    diff.check("COPY", "big", "big2")
    diff.check("OBJECT", "ENCODING", "big2")
    diff.check("DEBUG", "DIGEST-VALUE", "big", "big2")


def test_dump_listpack_is_byte_identical(diff):
    diff.check(
        "HSET",
        "h",
        *("a", "1", "b", "-1", "c", "200", "d", "5000", "e", "70000", "f", "3000000000"),
        *("g", LLONG_MAX, "h", LLONG_MIN, "i", "hello", "j", "01", "k", "-0", "l", EDGE),
        *("m", "1" * 20, "n", "-4096", "o", "4095", "p", "-32769", "q", "8388608"),
    )
    payload = diff.check("DUMP", "h")
    diff.check("HSET", "tiny", "x", "y")
    diff.check("DUMP", "tiny")
    raw = parse(payload)
    assert isinstance(raw, bytes)
    diff.check("RESTORE", "copy", "0", raw)
    diff.check("HGETALL", "copy")
    diff.check("OBJECT", "ENCODING", "copy")
    diff.check("RESTORE", "copy", "0", raw)
    diff.check("DEBUG", "DIGEST-VALUE", "h", "copy")


def test_dump_restore_hashtable_across_servers(diff):
    fill(diff, "h", 600)
    diff.check("HSET", "h", "long", LONG)
    for source, target in ((diff.ours, diff.theirs), (diff.theirs, diff.ours)):
        payload = parse(source.call("DUMP", "h"))
        assert isinstance(payload, bytes)
        assert target.call("RESTORE", "x", "0", payload, "REPLACE") == b"+OK\r\n"
        assert target.call("OBJECT", "ENCODING", "x") == b"$9\r\nhashtable\r\n"
    check_unordered(diff, "HGETALL", "x", paired=True)
    diff.check("DEBUG", "DIGEST-VALUE", "x", "h")


def test_restore_picks_encoding_from_config(diff):
    """A small hashtable hash dumped as type 4 restores as a listpack, unless too long."""
    diff.check("HSET", "h", "a", "1", "b", LONG)
    diff.check("HDEL", "h", "b")
    diff.check("OBJECT", "ENCODING", "h")
    payload = parse(diff.theirs.call("DUMP", "h"))
    diff.check("RESTORE", "r", "0", payload)
    diff.check("OBJECT", "ENCODING", "r")
    diff.check("HGETALL", "r")
    try:
        diff.check("CONFIG", "SET", "hash-max-listpack-entries", "0")
        diff.check("RESTORE", "r2", "0", payload)
        diff.check("OBJECT", "ENCODING", "r2")
    finally:
        diff.check("CONFIG", "SET", "hash-max-listpack-entries", "512")


def test_transaction_replies_are_snapshots(diff):
    diff.check_all(
        ("HSET", "h", "a", "1"),
        ("MULTI",),
        ("HGETALL", "h"),
        ("HSET", "h", "a", "2", "b", "3"),
        ("HKEYS", "h"),
        ("HDEL", "h", "a", "b"),
        ("HGETALL", "h"),
        ("EXEC",),
    )


def test_watch_is_invalidated_by_hash_writes(diff):
    diff.check("HSET", "h", "a", "1")
    for write in (("HSET", "h", "a", "1"), ("HINCRBY", "h", "n", "1"), ("HDEL", "h", "n")):
        diff.check("WATCH", "h")
        diff.check(*write)
        diff.check("MULTI")
        diff.check("HGET", "h", "a")
        diff.check("EXEC")
    diff.check("WATCH", "h")
    diff.check("HDEL", "h", "missing")
    diff.check("HSETNX", "h", "a", "2")
    diff.check("MULTI")
    diff.check("HGET", "h", "a")
    diff.check("EXEC")


def test_seeded_random_listpack_sequences(diff):
    """Random HSET/HDEL/HINCRBY traffic on small hashes, every reply compared exactly."""
    rng = random.Random(1234)
    fields = [f"f{i}" for i in range(12)] + ["1", "-5", "x" * 70]
    for _ in range(300):
        key = rng.choice(["h1", "h2"])
        field = rng.choice(fields)
        op = rng.randrange(7)
        if op == 0:
            diff.check("HSET", key, field, str(rng.randint(-300, 300)), rng.choice(fields), "v")
        elif op == 1:
            diff.check("HDEL", key, field, rng.choice(fields))
        elif op == 2:
            diff.check("HINCRBY", key, field, str(rng.randint(-10, 10)))
        elif op == 3:
            diff.check("HSETNX", key, field, "nx")
        elif op == 4:
            diff.check("HINCRBYFLOAT", key, field, f"{rng.uniform(-5, 5):.3f}")
        elif op == 5:
            diff.check("HMGET", key, field, rng.choice(fields))
        else:
            check_hash(diff, key)
        diff.check("HLEN", key)
