"""Set commands: rcsim answers byte for byte as redis-server 7.0.15, in RESP2 and RESP3.

Intsets are sorted in both servers, so their replies are compared exactly. Hashtable sets come
back in Redis's dict order, which rcsim cannot reproduce: those replies are compared as
unordered collections (same reply type and length, same members). SPOP and SRANDMEMBER are
random: their replies are checked for shape, counts, membership and distinctness.
"""

from __future__ import annotations

import random

import pytest

from tests.conftest import Differ
from tests.support.resp import check_unordered, header, parse, scan_all, scan_keys

LLONG_MAX = str(2**63 - 1)
LLONG_MIN = str(-(2**63))


def check_set(diff: Differ, key: str) -> None:
    """SMEMBERS compared exactly for an intset (sorted in both), as a set for a hashtable set;
    the encodings must agree first."""
    encoding = diff.check("OBJECT", "ENCODING", key)
    if encoding == b"$9\r\nhashtable\r\n":
        check_unordered(diff, "SMEMBERS", key)
    else:
        diff.check("SMEMBERS", key)


def numbers(diff: Differ, key: str, count: int, start: int = 0) -> None:
    diff.check("SADD", key, *[str(i) for i in range(start, start + count)])


# -- scenarios compared byte for byte --------------------------------------------------------------

WRONGTYPE_COMMANDS = [
    ("SADD", "str", "m"),
    ("SREM", "str", "m"),
    ("SMEMBERS", "str"),
    ("SISMEMBER", "str", "m"),
    ("SMISMEMBER", "str", "m", "n"),
    ("SCARD", "str"),
    ("SPOP", "str"),
    ("SPOP", "str", "2"),
    ("SPOP", "str", "-2"),
    ("SPOP", "str", "1", "2"),
    ("SRANDMEMBER", "str"),
    ("SRANDMEMBER", "str", "2"),
    ("SRANDMEMBER", "str", "x"),
    ("SMOVE", "str", "s", "m"),
    ("SMOVE", "s", "str", "1"),
    ("SMOVE", "nokey", "str", "m"),
    ("SINTER", "str"),
    ("SINTER", "s", "str"),
    ("SINTER", "nokey", "str"),
    ("SINTER", "str", "nokey"),
    ("SINTERSTORE", "d", "s", "str"),
    ("SINTERSTORE", "d", "nokey", "str"),
    ("SINTERCARD", "2", "s", "str"),
    ("SINTERCARD", "2", "nokey", "str"),
    ("SUNION", "s", "str"),
    ("SUNIONSTORE", "d", "nokey", "str"),
    ("SDIFF", "str", "s"),
    ("SDIFF", "nokey", "str"),
    ("SDIFFSTORE", "d", "s", "str"),
    ("SSCAN", "str", "0"),
    ("SSCAN", "str", "x"),
    ("SMEMBERS", "s"),
    ("EXISTS", "d"),
]

SCENARIOS: dict[str, list[tuple]] = {
    "missing-key": [
        ("SMEMBERS", "s"),
        ("SISMEMBER", "s", "m"),
        ("SMISMEMBER", "s", "a", "b"),
        ("SCARD", "s"),
        ("SREM", "s", "m"),
        ("SPOP", "s"),
        ("SPOP", "s", "3"),
        ("SPOP", "s", "0"),
        ("SRANDMEMBER", "s"),
        ("SRANDMEMBER", "s", "3"),
        ("SRANDMEMBER", "s", "-3"),
        ("SRANDMEMBER", "s", "0"),
        ("SMOVE", "s", "t", "m"),
        ("SINTER", "s"),
        ("SINTER", "s", "t"),
        ("SINTERCARD", "2", "s", "t"),
        ("SINTERSTORE", "d", "s"),
        ("SUNION", "s", "t"),
        ("SUNIONSTORE", "d", "s", "t"),
        ("SDIFF", "s", "t"),
        ("SDIFFSTORE", "d", "s"),
        ("SSCAN", "s", "0"),
        ("SSCAN", "s", "9", "BOGUS"),
        ("EXISTS", "s", "t", "d"),
    ],
    "intset-basics": [
        ("SADD", "s", "3", "1", "2", "-5", "10", "2"),
        ("SADD", "s", "1"),
        ("SMEMBERS", "s"),
        ("SCARD", "s"),
        ("SISMEMBER", "s", "2"),
        ("SISMEMBER", "s", "02"),
        ("SISMEMBER", "s", "x"),
        ("SMISMEMBER", "s", "1", "9", "-5", "+1", "1"),
        ("OBJECT", "ENCODING", "s"),
        ("SREM", "s", "3", "3", "99", "x"),
        ("SMEMBERS", "s"),
        ("SADD", "s", LLONG_MAX, LLONG_MIN),
        ("SMEMBERS", "s"),
        ("SADD", "s", "-0", "007"),
        ("OBJECT", "ENCODING", "s"),
        ("SCARD", "s"),
        ("SISMEMBER", "s", "007"),
        ("TYPE", "s"),
    ],
    "intset-order-and-width": [
        ("SADD", "s", "70000", "1", "-70000", "5000000000", "-1"),
        ("SMEMBERS", "s"),
        ("OBJECT", "ENCODING", "s"),
        ("DUMP", "s"),
        ("SREM", "s", "5000000000", "70000", "-70000"),
        ("DUMP", "s"),
        ("SMEMBERS", "s"),
        ("SADD", "t", "1", "2"),
        ("DUMP", "t"),
        ("SADD", "t", "-40000"),
        ("DUMP", "t"),
    ],
    "hashtable-stays": [
        ("SADD", "s", "1", "a"),
        ("OBJECT", "ENCODING", "s"),
        ("SREM", "s", "a"),
        ("OBJECT", "ENCODING", "s"),
        ("SMEMBERS", "s"),
        ("SADD", "t", "x"),
        ("OBJECT", "ENCODING", "t"),
        ("SADD", "u", "1"),
        ("SADD", "u", "x"),
        ("OBJECT", "ENCODING", "u"),
        ("SREM", "s", "1"),
        ("EXISTS", "s"),
    ],
    "arity-and-syntax": [
        ("SADD", "s"),
        ("SREM", "s"),
        ("SISMEMBER", "s"),
        ("SMISMEMBER", "s"),
        ("SPOP",),
        ("SPOP", "s", "1", "2"),
        ("SRANDMEMBER", "s", "1", "2"),
        ("SMOVE", "s", "t"),
        ("SINTER",),
        ("SINTERSTORE", "d"),
        ("SINTERCARD", "1"),
        ("SUNION",),
        ("SDIFFSTORE", "d"),
        ("SSCAN", "s"),
        ("SCARD", "s", "x"),
    ],
    "count-errors": [
        ("SADD", "s", "1", "2", "3"),
        ("SPOP", "s", "-1"),
        ("SPOP", "s", "x"),
        ("SPOP", "s", "1.5"),
        ("SPOP", "s", "9223372036854775808"),
        ("SPOP", "s", "0"),
        ("SRANDMEMBER", "s", "x"),
        ("SRANDMEMBER", "s", "-9223372036854775808"),
        ("SRANDMEMBER", "s", "9223372036854775808"),
        ("SRANDMEMBER", "s", "0"),
        ("SRANDMEMBER", "s", "3"),
        ("SRANDMEMBER", "s", "9223372036854775807"),
        ("SPOP", "s", "9223372036854775807"),
        ("EXISTS", "s"),
    ],
    "smove": [
        ("SADD", "s", "1", "2", "3"),
        ("SADD", "h", "a", "b"),
        ("SMOVE", "s", "s", "1"),
        ("SMOVE", "s", "s", "9"),
        ("SMOVE", "s", "t", "9"),
        ("EXISTS", "t"),
        ("SMOVE", "s", "t", "1"),
        ("SMEMBERS", "t"),
        ("OBJECT", "ENCODING", "t"),
        ("SMOVE", "s", "t", "2"),
        ("SMOVE", "s", "t", "3"),
        ("EXISTS", "s"),
        ("SMEMBERS", "t"),
        ("SMOVE", "h", "t", "a"),
        ("OBJECT", "ENCODING", "t"),
        ("SMOVE", "h", "n", "b"),
        ("OBJECT", "ENCODING", "n"),
        ("SMEMBERS", "n"),
        ("EXISTS", "h"),
        ("SADD", "x", "1"),
        ("SADD", "y", "1"),
        ("SMOVE", "x", "y", "1"),
        ("SMEMBERS", "y"),
        ("EXISTS", "x"),
    ],
    "sintercard": [
        ("SADD", "a", "1", "2", "3", "4", "5"),
        ("SADD", "b", "2", "3", "4", "5", "6"),
        ("SINTERCARD", "2", "a", "b"),
        ("SINTERCARD", "2", "a", "b", "LIMIT", "2"),
        ("SINTERCARD", "2", "a", "b", "limit", "0"),
        ("SINTERCARD", "2", "a", "b", "LIMIT", "100"),
        ("SINTERCARD", "2", "a", "b", "LIMIT", "3", "LIMIT", "1"),
        ("SINTERCARD", "1", "a", "b"),
        ("SINTERCARD", "3", "a", "b"),
        ("SINTERCARD", "0", "a"),
        ("SINTERCARD", "-1", "a"),
        ("SINTERCARD", "x", "a"),
        ("SINTERCARD", "9223372036854775808", "a"),
        ("SINTERCARD", "2", "a", "b", "LIMIT"),
        ("SINTERCARD", "2", "a", "b", "LIMIT", "-1"),
        ("SINTERCARD", "2", "a", "b", "LIMIT", "x"),
        ("SINTERCARD", "2", "a", "b", "FOO", "1"),
        ("SINTERCARD", "2", "a", "nokey"),
        ("SINTERCARD", "2", "a", "a"),
        ("SINTERCARD", "1", "a", "LIMIT", "9223372036854775807"),
    ],
    "store-ops-on-intsets": [
        ("SADD", "a", "1", "2", "3", "4", "5"),
        ("SADD", "b", "4", "5", "6", "7"),
        ("SADD", "c", "5", "9"),
        ("SINTER", "a", "b"),
        ("SINTER", "a", "b", "c"),
        ("SINTER", "a", "a"),
        ("SINTER", "b", "a"),
        ("SUNION", "a", "b", "c", "nokey"),
        ("SDIFF", "a", "b"),
        ("SDIFF", "a", "b", "c"),
        ("SDIFF", "a", "nokey"),
        ("SDIFF", "nokey", "a"),
        ("SDIFF", "a", "a"),
        ("SDIFF", "a", "b", "a"),
        ("SINTERSTORE", "d", "a", "b"),
        ("SMEMBERS", "d"),
        ("OBJECT", "ENCODING", "d"),
        ("SUNIONSTORE", "d", "a", "c"),
        ("SMEMBERS", "d"),
        ("SDIFFSTORE", "d", "a", "b", "c"),
        ("SMEMBERS", "d"),
        ("SINTERSTORE", "d", "a", "nokey"),
        ("EXISTS", "d"),
        ("SUNIONSTORE", "d", "a"),
        ("SDIFFSTORE", "d", "a", "a"),
        ("EXISTS", "d"),
        ("SET", "d", "string"),
        ("SUNIONSTORE", "d", "a"),
        ("TYPE", "d"),
        ("SINTERSTORE", "a", "a", "b"),
        ("SMEMBERS", "a"),
        ("SDIFFSTORE", "nothing", "nokey"),
        ("EXISTS", "nothing"),
    ],
    "store-drops-ttl": [
        ("SADD", "a", "1", "2"),
        ("SADD", "d", "9"),
        ("EXPIRE", "d", "100"),
        ("SUNIONSTORE", "d", "a"),
        ("TTL", "d"),
        ("EXPIRE", "a", "100"),
        ("SADD", "a", "3"),
        ("SREM", "a", "1"),
        ("SPOP", "a", "0"),
        ("TTL", "a"),
    ],
    "sscan-intset": [
        ("SADD", "s", "10", "1", "2", "11", "-3", "100"),
        ("SSCAN", "s", "0"),
        ("SSCAN", "s", "99"),
        ("SSCAN", "s", "0", "MATCH", "1*"),
        ("SSCAN", "s", "0", "MATCH", "-*", "COUNT", "1"),
        ("SSCAN", "s", "0", "COUNT", "0"),
        ("SSCAN", "s", "0", "COUNT", "x"),
        ("SSCAN", "s", "0", "TYPE", "set"),
        ("SSCAN", "s", "0", "MATCH"),
        ("SSCAN", "s", "-1"),
        ("SSCAN", "s", "18446744073709551616"),
        ("SSCAN", "s", "1x"),
        ("SADD", "h", "only"),
        ("SSCAN", "h", "0"),
        ("SSCAN", "h", "0", "MATCH", "x*"),
    ],
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(diff, name):
    diff.check_all(*SCENARIOS[name])


def test_wrong_type_everywhere(diff):
    diff.check("SET", "str", "v")
    diff.check("SADD", "s", "1", "2")
    diff.check_all(*WRONGTYPE_COMMANDS)


def test_set_is_wrong_type_for_other_commands(diff):
    diff.check("SADD", "s", "m")
    for command in (("GET", "s"), ("HGET", "s", "f"), ("INCR", "s"), ("HSET", "s", "f", "v")):
        diff.check(*command)


# -- encodings -----------------------------------------------------------------------------------


def test_intset_entry_limit(diff):
    numbers(diff, "s", 512)
    diff.check("OBJECT", "ENCODING", "s")
    diff.check("SMEMBERS", "s")
    diff.check("SADD", "s", "512")
    diff.check("OBJECT", "ENCODING", "s")
    diff.check("SREM", "s", "512", "511")
    diff.check("OBJECT", "ENCODING", "s")
    check_unordered(diff, "SMEMBERS", "s")
    diff.check("SCARD", "s")
    diff.check("SISMEMBER", "s", "7")
    diff.check("SMISMEMBER", "s", "7", "512", "x")
    numbers(diff, "big", 513)
    diff.check("OBJECT", "ENCODING", "big")


def test_configured_intset_limit(diff):
    try:
        diff.check("CONFIG", "SET", "set-max-intset-entries", "2")
        diff.check_all(
            ("SADD", "s", "1", "2"),
            ("OBJECT", "ENCODING", "s"),
            ("SADD", "s", "3"),
            ("OBJECT", "ENCODING", "s"),
            ("SADD", "a", "1", "2"),
            ("SADD", "b", "2", "3"),
            ("SUNIONSTORE", "u", "a", "b"),
            ("OBJECT", "ENCODING", "u"),
            ("SINTERSTORE", "i", "a", "b"),
            ("OBJECT", "ENCODING", "i"),
        )
        diff.check("CONFIG", "SET", "set-max-intset-entries", "0")
        diff.check_all(("SADD", "z", "1"), ("OBJECT", "ENCODING", "z"))
    finally:
        diff.check("CONFIG", "SET", "set-max-intset-entries", "512")


def test_fresh_results_follow_redis_encoding_and_order(diff):
    """SUNION/SDIFF build a new set: members of a hashtable set that are all integers come back
    as an intset would list them; SDIFF's algorithm choice shows in the stored encoding."""
    diff.check("SADD", "h", "5", "3", "x", "1", "-2")
    diff.check("SREM", "h", "x")
    diff.check("OBJECT", "ENCODING", "h")
    diff.check("SUNION", "h")
    diff.check("SDIFF", "h", "nokey")
    diff.check("SUNIONSTORE", "d", "h")
    diff.check("OBJECT", "ENCODING", "d")
    numbers(diff, "many", 600)
    diff.check("SADD", "few", "1", "2")
    # algorithm 2: the whole of "many" is copied (hashtable), then "few" is removed.
    diff.check("SDIFFSTORE", "d2", "many", "few")
    diff.check("OBJECT", "ENCODING", "d2")
    numbers(diff, "most", 599, start=1)
    # algorithm 1 with only "0" surviving: the result stays an intset.
    diff.check("SDIFFSTORE", "d3", "many", "most")
    diff.check("OBJECT", "ENCODING", "d3")
    diff.check("SMEMBERS", "d3")
    diff.check("SDIFF", "many", "most")
    # SPOP of the whole set lists it as a fresh set would.
    diff.check("SPOP", "h", "100")
    diff.check("EXISTS", "h")


def test_hashtable_set_operations(diff):
    diff.check("SADD", "a", *[f"m{i}" for i in range(40)], "1", "2")
    diff.check("SADD", "b", *[f"m{i}" for i in range(20, 60)], "2", "3")
    diff.check("SADD", "c", *[str(i) for i in range(5)])
    for command in (
        ("SMEMBERS", "a"),
        ("SINTER", "a", "b"),
        ("SINTER", "b", "a", "c"),
        ("SUNION", "a", "b", "c"),
        ("SDIFF", "a", "b"),
        ("SDIFF", "b", "a", "c"),
        ("SRANDMEMBER", "a", "100"),
    ):
        check_unordered(diff, *command)
    diff.check("SINTER", "a", "c")
    diff.check("SINTERCARD", "3", "a", "b", "c")
    diff.check("SINTERCARD", "2", "a", "b", "LIMIT", "5")
    for store in ("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"):
        diff.check(store, "d", "a", "b")
        check_set(diff, "d")
    diff.check("SINTERSTORE", "d", "a", "c")
    check_set(diff, "d")


# -- SPOP and SRANDMEMBER ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["intset", "hashtable", "big"])
def test_random_members_shapes(diff, kind):
    if kind == "intset":
        members = [str(i) for i in range(10)]
    elif kind == "hashtable":
        members = [f"m{i}" for i in range(10)]
    else:
        members = [str(i) for i in range(700)]
    size = len(members)
    known = {m.encode() for m in members}
    diff.check("SADD", "s", *members)
    for _ in range(5):
        ours, theirs = diff.both("SRANDMEMBER", "s")
        assert parse(ours) in known and parse(theirs) in known
    for count in (1, 2, size // 3, size // 2, size - 1, size, size + 5, -1, -3, -(size + 9)):
        ours, theirs = diff.both("SRANDMEMBER", "s", count)
        assert header(ours) == header(theirs), (count, ours[:40], theirs[:40])
        found = parse(ours)
        assert isinstance(found, list) and set(found) <= known
        if count > 0:
            assert len(set(found)) == len(found)
    remaining = set(known)
    for count in (1, 2, size // 3):
        ours, theirs = diff.both("SPOP", "s", count)
        assert header(ours) == header(theirs), (count, ours[:40], theirs[:40])
        popped = parse(ours)
        assert isinstance(popped, list) and set(popped) <= remaining
        assert len(set(popped)) == len(popped) == count
        remaining -= set(popped)
        # Redis popped different members: make the sets equal again.
        theirs_popped = parse(theirs)
        diff.theirs.call("SADD", "s", *theirs_popped)
        diff.theirs.call("SREM", "s", *popped)
    one = parse(diff.ours.call("SPOP", "s"))
    assert one in remaining
    diff.theirs.call("SREM", "s", one)
    remaining.discard(one)
    diff.check("SCARD", "s")
    check_set(diff, "s")
    # Few survivors: Redis keeps them in a new set (the third strategy).
    ours, theirs = diff.both("SPOP", "s", len(remaining) - 1)
    assert header(ours) == header(theirs)
    survivors = remaining - set(parse(ours))  # type: ignore[arg-type]
    assert len(survivors) == 1
    diff.theirs.call("DEL", "s")
    diff.theirs.call("SADD", "s", *survivors)
    check_set(diff, "s")
    diff.check("SPOP", "s", "5")
    diff.check("EXISTS", "s")


def test_spop_last_member_deletes_the_key(diff):
    diff.check("SADD", "s", "only")
    diff.check("SPOP", "s")
    diff.check("EXISTS", "s")
    diff.check("SPOP", "s")


# -- SSCAN ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [(), ("COUNT", "7"), ("MATCH", "m1*")])
def test_sscan_hashtable_returns_everything(diff, options):
    diff.check("SADD", "s", *[f"m{i}" for i in range(800)])
    ours = scan_all(diff.ours, "SSCAN", "s", *options)
    theirs = scan_all(diff.theirs, "SSCAN", "s", *options)
    assert set(ours) == set(theirs)
    assert len(set(ours)) == (800 if not options or options[0] == "COUNT" else 111)


def test_sscan_guarantee_under_writes(diff):
    diff.check("SADD", "s", *[f"m{i}" for i in range(600)])
    client = diff.ours
    cursor, seen, step = b"0", set(), 0
    while True:
        cursor, items = parse(client.call("SSCAN", "s", cursor, "COUNT", "15"))  # type: ignore[misc]
        seen.update(items)
        step += 1
        client.call("SREM", "s", f"m{step}")
        client.call("SADD", "s", *[f"n{step}-{i}" for i in range(5)])
        if cursor == b"0":
            break
    assert {f"m{i}".encode() for i in range(step + 1, 600)} <= seen


# -- generic key commands on sets ----------------------------------------------------------------


def test_key_commands_on_sets(diff):
    diff.check_all(
        ("SADD", "s", "3", "1", "2"),
        ("SADD", "h", "a", "b"),
        ("TYPE", "s"),
        ("TYPE", "h"),
        ("COPY", "s", "c"),
        ("SMEMBERS", "c"),
        ("OBJECT", "ENCODING", "c"),
        ("SADD", "c", "9"),
        ("SMEMBERS", "s"),
        ("RENAME", "c", "r"),
        ("SMEMBERS", "r"),
        ("MOVE", "r", "1"),
        ("EXISTS", "r"),
        ("DEBUG", "DIGEST-VALUE", "s", "h"),
        ("SELECT", "1"),
        ("SMEMBERS", "r"),
        ("DEL", "r"),
        ("SELECT", "0"),
        ("COPY", "h", "h2"),
        ("OBJECT", "ENCODING", "h2"),
        ("DEBUG", "DIGEST-VALUE", "h2"),
    )
    assert scan_keys(diff.ours, "TYPE", "set") == scan_keys(diff.theirs, "TYPE", "set")
    assert scan_keys(diff.ours, "TYPE", "set") == {b"s", b"h", b"h2"}


def test_dump_intset_is_byte_identical(diff):
    diff.check("SADD", "s", "1", "-1", "300", "-40000", "70000", LLONG_MAX, LLONG_MIN)
    payload = parse(diff.check("DUMP", "s"))
    diff.check("SADD", "small", "7")
    diff.check("DUMP", "small")
    diff.check("RESTORE", "r", "0", payload)
    diff.check("SMEMBERS", "r")
    diff.check("OBJECT", "ENCODING", "r")
    diff.check("DUMP", "r")
    diff.check("DEBUG", "DIGEST-VALUE", "s", "r")
    diff.check("SADD", "one", "member")
    diff.check("DUMP", "one")


def test_dump_restore_hashtable_sets_across_servers(diff):
    diff.check("SADD", "s", *[f"m{i}" for i in range(50)], "1")
    numbers(diff, "ints", 600)
    for key in ("s", "ints"):
        for source, target in ((diff.ours, diff.theirs), (diff.theirs, diff.ours)):
            payload = parse(source.call("DUMP", key))
            assert isinstance(payload, bytes)
            assert target.call("RESTORE", "x", "0", payload, "REPLACE") == b"+OK\r\n"
        check_set(diff, "x")
        diff.check("DEBUG", "DIGEST-VALUE", "x", key)


def test_restore_of_plain_set_type_picks_intset(diff):
    """A hashtable set whose members are all integers dumps as type 2 and restores as an
    intset (rdbLoadObject starts an intset when the length allows)."""
    diff.check("SADD", "s", "3", "x", "1")
    diff.check("SREM", "s", "x")
    payload = parse(diff.theirs.call("DUMP", "s"))
    diff.check("RESTORE", "r", "0", payload)
    diff.check("OBJECT", "ENCODING", "r")
    diff.check("SMEMBERS", "r")
    diff.check("DUMP", "r")


def test_transaction_replies_are_snapshots(diff):
    diff.check_all(
        ("SADD", "s", "1"),
        ("MULTI",),
        ("SMEMBERS", "s"),
        ("SADD", "s", "2", "3"),
        ("SMEMBERS", "s"),
        ("SREM", "s", "1", "2", "3"),
        ("SMEMBERS", "s"),
        ("EXEC",),
    )


def test_watch_is_invalidated_by_set_writes(diff):
    diff.check("SADD", "s", "1", "2")
    for write in (("SADD", "s", "3"), ("SREM", "s", "3"), ("SMOVE", "s", "t", "2")):
        diff.check("WATCH", "s")
        diff.check(*write)
        diff.check("MULTI")
        diff.check("SCARD", "s")
        diff.check("EXEC")
    for noop in (("SADD", "s", "1"), ("SREM", "s", "9"), ("SMOVE", "s", "t", "9")):
        diff.check("WATCH", "s")
        diff.check(*noop)
        diff.check("MULTI")
        diff.check("SCARD", "s")
        diff.check("EXEC")


def test_seeded_random_sequences(diff):
    """Random traffic over small sets of integers and words, replies compared (sorted when the
    set is a hashtable)."""
    rng = random.Random(99)
    pool = [str(i) for i in range(-3, 12)] + ["a", "b", "c", "01"]
    keys = ["s1", "s2", "s3"]
    for _ in range(300):
        key, other = rng.sample(keys, 2)
        op = rng.randrange(8)
        if op == 0:
            diff.check("SADD", key, *rng.sample(pool, rng.randint(1, 4)))
        elif op == 1:
            diff.check("SREM", key, *rng.sample(pool, rng.randint(1, 3)))
        elif op == 2:
            diff.check("SMOVE", key, other, rng.choice(pool))
        elif op == 3:
            diff.check("SMISMEMBER", key, *rng.sample(pool, 3))
        elif op == 4:
            store = rng.choice(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"])
            diff.check(store, rng.choice(keys), key, other)
        elif op == 5:
            diff.check("SINTERCARD", "2", key, other)
        else:
            check_set(diff, key)
        diff.check("SCARD", key)
