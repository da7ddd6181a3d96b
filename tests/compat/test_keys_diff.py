"""Generic key commands: rcsim answers byte for byte as redis-server 7.0.15, in RESP2 and RESP3.

Replies are compared raw. Only what Redis itself leaves open is normalised: the order of KEYS,
SCAN's cursors and batches (compared as sets after a full iteration), RANDOMKEY's pick,
millisecond TTLs and OBJECT IDLETIME (compared within a tolerance). DUMP payloads are compared
byte for byte, and crossed: Redis's payloads RESTORE into rcsim and rcsim's into Redis.
"""

from __future__ import annotations

import random
import time

import pytest

from tests.conftest import Differ
from tests.support.rawclient import RawClient
from tests.support.resp import parse

FAR_S = "4000000000"
FAR_MS = "4000000000000"
LLONG_MAX = str(2**63 - 1)
LLONG_MIN = str(-(2**63))


def both(diff: Differ, *args: bytes | str | int) -> tuple[object, object]:
    ours, theirs = diff.both(*args)
    return parse(ours), parse(theirs)


def setup(diff: Differ, *commands: tuple) -> None:
    """Run set-up commands on both servers, checking they agree."""
    diff.check_all(*commands)


def scan_to_end(client: RawClient, *options: bytes | str) -> list[bytes]:
    cursor: bytes = b"0"
    seen: list[bytes] = []
    for _ in range(100_000):
        reply = parse(client.call("SCAN", cursor, *options))
        assert isinstance(reply, list) and len(reply) == 2, reply
        cursor, keys = reply  # type: ignore[assignment]
        assert cursor.isdigit()
        seen.extend(keys)  # type: ignore[arg-type]
        if cursor == b"0":
            return seen
    raise AssertionError("SCAN did not finish")


# -- DEL, UNLINK, EXISTS, TYPE, TOUCH ---------------------------------------------------------


def test_del_unlink_exists_touch(diff):
    diff.check_all(
        ("DEL", "nokey"),
        ("SET", "a", "1"),
        ("SET", "b", "2"),
        ("SET", "c", "3"),
        ("EXISTS", "a"),
        ("EXISTS", "a", "a", "nokey", "b"),
        ("TOUCH", "a", "b", "nokey", "a"),
        ("DEL", "a", "a", "nokey"),
        ("UNLINK", "b", "c", "b"),
        ("EXISTS", "a", "b", "c"),
        ("DEL",),
        ("EXISTS",),
        ("UNLINK",),
        ("TOUCH",),
    )


def test_type(diff):
    diff.check_all(
        ("SET", "s", "v"),
        ("TYPE", "s"),
        ("TYPE", "nokey"),
        ("SET", "n", "12"),
        ("TYPE", "n"),
        ("APPEND", "n", "3"),
        ("TYPE", "n"),
        ("TYPE",),
        ("TYPE", "a", "b"),
    )


# -- EXPIRE family ----------------------------------------------------------------------------

EXPIRE_COMMANDS = ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"]


@pytest.mark.parametrize("command", EXPIRE_COMMANDS)
def test_expire_option_errors(diff, command):
    setup(diff, ("SET", "k", "v"))
    diff.check_all(
        (command, "k", "100", "NX", "XX"),
        (command, "k", "100", "NX", "GT"),
        (command, "k", "100", "NX", "LT"),
        (command, "k", "100", "GT", "LT"),
        (command, "k", "100", "nx", "xx", "gt", "lt"),
        (command, "k", "100", "FOO"),
        (command, "k", "100", "NX", "FOO"),
        (command, "k", "x", "FOO"),
        (command, "k", "x", "NX", "XX"),
        (command, "k", "x"),
        (command, "k", "1.5"),
        (command, "k", ""),
        (command, "nokey", "x"),
        (command, "k"),
        (command,),
    )


@pytest.mark.parametrize("command", EXPIRE_COMMANDS)
def test_expire_overflow(diff, command):
    setup(diff, ("SET", "k", "v"))
    diff.check_all(
        (command, "k", LLONG_MAX),
        (command, "k", LLONG_MIN),
        (command, "k", "9223372036854775"),
        (command, "k", "9223372036854774"),
        (command, "k", "-9223372036854775"),
        (command, "k", "-9223372036854776"),
        (command, "nokey", LLONG_MAX),
        ("EXISTS", "k"),
    )


@pytest.mark.parametrize(
    "command,past", [("EXPIRE", "-1"), ("PEXPIRE", "0"), ("EXPIREAT", "1"), ("PEXPIREAT", "1000")]
)
def test_expire_in_the_past_deletes(diff, command, past):
    setup(diff, ("SET", "k", "v"))
    diff.check_all(
        (command, "k", past, "XX"),
        ("EXISTS", "k"),
        (command, "k", past),
        ("EXISTS", "k"),
        (command, "k", past),
    )


def test_expire_nx_xx_gt_lt(diff):
    diff.check_all(
        ("SET", "k", "v"),
        ("EXPIRE", "nokey", "100", "GT"),
        ("EXPIRE", "k", "100", "XX"),
        ("EXPIRE", "k", "100", "GT"),
        ("EXPIRE", "k", "100", "LT"),
        ("TTL", "k"),
        ("EXPIRE", "k", "200", "NX"),
        ("EXPIRE", "k", "200", "GT"),
        ("TTL", "k"),
        ("EXPIRE", "k", "150", "GT"),
        ("EXPIRE", "k", "300", "LT"),
        ("EXPIRE", "k", "50", "XX", "LT"),
        ("TTL", "k"),
        ("EXPIRE", "k", "500", "xx", "GT"),
        ("TTL", "k"),
        ("PEXPIREAT", "k", FAR_MS, "GT"),
        ("PEXPIRETIME", "k"),
        ("EXPIRETIME", "k"),
        ("EXPIREAT", "k", FAR_S, "LT"),
        ("EXPIREAT", "k", FAR_S, "NX"),
        ("PERSIST", "k"),
        ("EXPIRE", "k", "-5", "LT"),
        ("EXISTS", "k"),
    )


def test_ttl_family(diff):
    diff.check_all(
        ("TTL", "nokey"),
        ("PTTL", "nokey"),
        ("EXPIRETIME", "nokey"),
        ("PEXPIRETIME", "nokey"),
        ("SET", "k", "v"),
        ("TTL", "k"),
        ("PTTL", "k"),
        ("EXPIRETIME", "k"),
        ("PEXPIRETIME", "k"),
        ("PEXPIREAT", "k", "99999999999999"),
        ("EXPIRETIME", "k"),
        ("PEXPIREAT", "k", "99999999999500"),
        ("EXPIRETIME", "k"),
        ("PEXPIREAT", "k", "99999999999499"),
        ("EXPIRETIME", "k"),
        ("PEXPIRETIME", "k"),
        ("PEXPIREAT", "k", LLONG_MAX),
        ("EXPIRETIME", "k"),
        ("PEXPIRETIME", "k"),
        ("EXPIRE", "k", "1000"),
        ("TTL", "k"),
        ("TTL",),
        ("PTTL", "a", "b"),
    )
    ours, theirs = both(diff, "PTTL", "k")
    assert 999_000 <= ours <= 1_000_000 and 999_000 <= theirs <= 1_000_000  # type: ignore[operator]


def test_persist(diff):
    diff.check_all(
        ("PERSIST", "nokey"),
        ("SET", "k", "v"),
        ("PERSIST", "k"),
        ("EXPIRE", "k", "100"),
        ("PERSIST", "k"),
        ("TTL", "k"),
        ("PERSIST", "k"),
        ("PERSIST",),
    )


def test_set_clears_ttl_and_expiry_happens(diff):
    diff.check_all(
        ("SET", "k", "v"),
        ("EXPIRE", "k", "100"),
        ("SET", "k", "w"),
        ("TTL", "k"),
        ("PEXPIRE", "k", "30"),
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if both(diff, "EXISTS", "k") == (0, 0):
            break
        time.sleep(0.01)
    diff.check_all(("EXISTS", "k"), ("TTL", "k"), ("GET", "k"))


# -- KEYS, glob patterns ----------------------------------------------------------------------

GLOB_KEYS = [
    b"hello",
    b"hallo",
    b"hxllo",
    b"hllo",
    b"heeeello",
    b"a",
    b"A",
    b"ab",
    b"]",
    b"-",
    b"^",
    b"[",
    b"\\",
    b"*",
    b"?",
    b"a*b",
    b"a?b",
    b"\xff",
    b"\x80",
    b"\x00",
    b"key:1",
    b"key:22",
    b"key:{tag}",
    b"z",
    b"",
]

GLOB_PATTERNS = [
    "*",
    "**",
    "",
    "h?llo",
    "h*llo",
    "h[ae]llo",
    "h[^e]llo",
    "h[a-b]llo",
    "h[b-a]llo",
    "[a-]",
    "[a-]x",
    "[abc",
    "[",
    "[^",
    "[]",
    "[]a]",
    "[^]",
    "[\\]]",
    "\\*",
    "\\?",
    "a\\",
    "\\",
    "[\\-]",
    "[-]",
    "[a-\xff]",
    "[\x80-\xff]",
    "a*b",
    "a\\*b",
    "key:*",
    "key:?",
    "key:[0-9]*",
    "*}",
    "[A-a]",
    "[Z-a]",
    "?",
    "*?*",
    "[^a-z]",
    "*a*a*a*b",
]


def seed_glob_keys(diff: Differ) -> None:
    for key in GLOB_KEYS:
        diff.check("SET", key, "v")


def test_keys_patterns(diff):
    seed_glob_keys(diff)
    for pattern in GLOB_PATTERNS:
        raw = pattern.encode("latin-1")
        ours, theirs = both(diff, "KEYS", raw)
        assert sorted(ours) == sorted(theirs), pattern  # type: ignore[arg-type]


def test_keys_random_patterns(diff):
    seed_glob_keys(diff)
    rng = random.Random(20240)
    alphabet = b"ab-]^[\\*?Ah\xffl"
    for _ in range(200):
        pattern = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))
        ours, theirs = both(diff, "KEYS", pattern)
        assert sorted(ours) == sorted(theirs), pattern  # type: ignore[arg-type]


def test_keys_star_nesting_limit(diff):
    setup(diff, ("SET", "a" * 1100, "v"))
    for pattern in ("*a" * 1000, "*a" * 1001, "*a" * 1001 + "*", "*" * 3000 + "a"):
        diff.check("KEYS", pattern)


def test_keys_skips_expired_keys(diff):
    setup(diff, ("SET", "k1", "v"), ("SET", "k2", "v"), ("PEXPIRE", "k2", "1"))
    time.sleep(0.01)  # the key is logically expired; KEYS must not list it
    ours, theirs = both(diff, "KEYS", "k*")
    assert sorted(ours) == sorted(theirs) == [b"k1"]  # type: ignore[arg-type]
    diff.check("KEYS")


# -- SCAN -------------------------------------------------------------------------------------


def test_scan_full_iteration(diff):
    for i in range(300):
        diff.check("SET", f"key:{i}", "v")
    for options in ((), ("COUNT", "1"), ("COUNT", "1000"), ("MATCH", "key:1*"), ("MATCH", "*")):
        ours = scan_to_end(diff.ours, *options)
        theirs = scan_to_end(diff.theirs, *options)
        assert sorted(set(ours)) == sorted(set(theirs)), options


def test_scan_type_filter(diff):
    setup(diff, ("SET", "a", "v"), ("SET", "b", "1"))
    for wanted in ("string", "STRING", "list", "none", "nosuchtype"):
        ours = scan_to_end(diff.ours, "TYPE", wanted)
        theirs = scan_to_end(diff.theirs, "TYPE", wanted)
        assert sorted(ours) == sorted(theirs), wanted


def test_scan_empty_database(diff):
    diff.check("SCAN", "0")
    diff.check("SCAN", "0", "MATCH", "x*", "COUNT", "5", "TYPE", "string")


@pytest.mark.parametrize(
    "args",
    [
        ("x",),
        (" 0",),
        ("0 ",),
        ("0x1",),
        ("1.0",),
        ("+",),
        ("18446744073709551616",),
        ("0", "COUNT", "0"),
        ("0", "COUNT", "-1"),
        ("0", "COUNT", "x"),
        ("0", "COUNT", "99999999999999999999"),
        ("x", "COUNT", "0"),
        ("0", "MATCH"),
        ("0", "COUNT"),
        ("0", "TYPE"),
        ("0", "FOO", "bar"),
        ("0", "COUNT", "1", "FOO"),
        (),
    ],
)
def test_scan_errors(diff, args):
    setup(diff, ("SET", "k", "v"))
    diff.check("SCAN", *args)


@pytest.mark.parametrize("cursor", ["", "+0", "-0", "0"])
def test_scan_cursor_spellings_of_zero(diff, cursor):
    setup(diff, ("SET", "k", "v"))
    ours, theirs = both(diff, "SCAN", cursor, "COUNT", "10000")
    assert ours == theirs == [b"0", [b"k"]]


# -- RANDOMKEY --------------------------------------------------------------------------------


def test_randomkey(diff):
    diff.check("RANDOMKEY")
    setup(diff, ("SET", "a", "1"), ("SET", "b", "2"))
    for _ in range(10):
        ours, theirs = both(diff, "RANDOMKEY")
        assert ours in (b"a", b"b") and theirs in (b"a", b"b")
    diff.check("RANDOMKEY", "x")


# -- RENAME, RENAMENX -------------------------------------------------------------------------


def test_rename(diff):
    diff.check_all(
        ("RENAME", "nokey", "x"),
        ("RENAME", "nokey", "nokey"),
        ("RENAMENX", "nokey", "x"),
        ("SET", "a", "1"),
        ("EXPIRE", "a", "1000"),
        ("RENAME", "a", "a"),
        ("RENAMENX", "a", "a"),
        ("RENAME", "a", "b"),
        ("EXISTS", "a"),
        ("GET", "b"),
        ("TTL", "b"),
        ("SET", "c", "3"),
        ("RENAMENX", "b", "c"),
        ("RENAME", "b", "c"),
        ("GET", "c"),
        ("TTL", "c"),
        ("RENAMENX", "c", "d"),
        ("GET", "d"),
        ("OBJECT", "ENCODING", "d"),
        ("RENAME", "d"),
    )


# -- COPY, MOVE, SWAPDB -----------------------------------------------------------------------


def test_copy(diff):
    diff.check_all(
        ("COPY", "nokey", "x"),
        ("COPY", "nokey", "nokey"),
        ("SET", "a", "hello"),
        ("PEXPIREAT", "a", FAR_MS),
        ("COPY", "a", "a"),
        ("COPY", "a", "a", "DB", "0"),
        ("COPY", "a", "b"),
        ("GET", "b"),
        ("PEXPIRETIME", "b"),
        ("COPY", "a", "b"),
        ("SET", "a", "other"),
        ("COPY", "a", "b", "REPLACE"),
        ("GET", "b"),
        ("PEXPIRETIME", "b"),
        ("COPY", "a", "b", "REPLACE", "REPLACE"),
        ("COPY", "a", "a", "DB", "1"),
        ("COPY", "a", "z", "DB", "15"),
        ("COPY", "a", "z", "DB", "16"),
        ("COPY", "a", "z", "DB", "-1"),
        ("COPY", "a", "z", "DB", "x"),
        ("COPY", "a", "z", "DB", "99999999999"),
        ("COPY", "a", "z", "DB"),
        ("COPY", "a", "z", "FOO"),
        ("COPY", "nokey", "z", "DB", "x"),
        ("SET", "n", "42"),
        ("COPY", "n", "n2"),
        ("OBJECT", "ENCODING", "n2"),
        ("APPEND", "n", "0"),
        ("COPY", "n", "n3"),
        ("OBJECT", "ENCODING", "n3"),
        ("SELECT", "1"),
        ("GET", "a"),
        ("SELECT", "15"),
        ("GET", "z"),
        ("SELECT", "0"),
    )


def test_move(diff):
    diff.check_all(
        ("MOVE", "nokey", "1"),
        ("SET", "k", "v"),
        ("EXPIRE", "k", "1000"),
        ("MOVE", "k", "0"),
        ("MOVE", "nokey", "0"),
        ("MOVE", "k", "16"),
        ("MOVE", "k", "-1"),
        ("MOVE", "k", "x"),
        ("MOVE", "k", "99999999999999"),
        ("MOVE", "k", "1"),
        ("EXISTS", "k"),
        ("SET", "k", "again"),
        ("MOVE", "k", "1"),
        ("SELECT", "1"),
        ("GET", "k"),
        ("TTL", "k"),
        ("SELECT", "0"),
        ("MOVE", "k"),
    )


def test_swapdb(diff):
    diff.check_all(
        ("SET", "in0", "a"),
        ("SELECT", "1"),
        ("SET", "in1", "b"),
        ("EXPIRE", "in1", "1000"),
        ("SWAPDB", "0", "1"),
        ("GET", "in0"),
        ("GET", "in1"),
        ("SELECT", "0"),
        ("GET", "in1"),
        ("TTL", "in1"),
        ("SWAPDB", "0", "0"),
        ("SWAPDB", "1", "0"),
        ("GET", "in0"),
        ("SWAPDB", "x", "1"),
        ("SWAPDB", "1", "x"),
        ("SWAPDB", "x", "y"),
        ("SWAPDB", "99999999999", "0"),
        ("SWAPDB", "0", "16"),
        ("SWAPDB", "-1", "0"),
        ("SWAPDB", "0"),
    )


def watch_then_exec(diff: Differ, setup_commands: list[tuple], watched: str, action: tuple):
    """A second client per server WATCHes ``watched`` in db 0; ``action`` runs on the main
    client; the EXEC replies of the watchers are compared."""
    for command in setup_commands:
        diff.check(*command)
    watchers = RawClient(diff.ours_port), RawClient(diff.theirs_port)
    try:
        for watcher in watchers:
            assert watcher.call("WATCH", watched) == b"+OK\r\n"
        diff.check(*action)
        replies = []
        for watcher in watchers:
            watcher.call("MULTI")
            watcher.call("PING")
            replies.append(watcher.call("EXEC"))
        assert replies[0] == replies[1], (action, replies)
        return replies[0]
    finally:
        for watcher in watchers:
            watcher.close()


@pytest.mark.parametrize(
    "setup_commands,watched",
    [
        ([("SELECT", "1"), ("SET", "k", "v"), ("SELECT", "0")], "k"),  # appears in db 0
        ([("SET", "k", "v")], "k"),  # leaves db 0
        ([("SET", "other", "v")], "k"),  # absent on both sides
        ([("SET", "k", "v"), ("SELECT", "1"), ("SET", "k", "w"), ("SELECT", "0")], "k"),
    ],
)
def test_swapdb_and_watch(diff, setup_commands, watched):
    watch_then_exec(diff, setup_commands, watched, ("SWAPDB", "0", "1"))


@pytest.mark.parametrize(
    "action",
    [
        ("RENAME", "src", "k"),
        ("RENAME", "k", "elsewhere"),
        ("COPY", "src", "k", "REPLACE"),
        ("MOVE", "k", "1"),
        ("EXPIRE", "k", "100"),
        ("PERSIST", "k"),
        ("DEL", "k"),
        ("EXISTS", "k"),
        ("TYPE", "k"),
        ("TOUCH", "k"),
        ("OBJECT", "ENCODING", "k"),
    ],
)
def test_writes_invalidate_watch_and_reads_do_not(diff, action):
    watch_then_exec(
        diff, [("SET", "k", "v"), ("SET", "src", "s"), ("EXPIRE", "k", "500")], "k", action
    )


# -- OBJECT -----------------------------------------------------------------------------------


def test_object_encoding_and_refcount(diff):
    values = [
        "1",
        "0",
        "9999",
        "10000",
        "-1",
        "123456789",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "12345678901234567890",
        "01",
        "-0",
        "+1",
        " 1",
        "",
        "x" * 44,
        "x" * 45,
        "hello",
    ]
    for value in values:
        diff.check_all(
            ("SET", "k", value),
            ("OBJECT", "ENCODING", "k"),
            ("OBJECT", "REFCOUNT", "k"),
        )
    diff.check_all(
        ("SET", "k", "abc"),
        ("APPEND", "k", "d"),
        ("OBJECT", "ENCODING", "k"),
        ("OBJECT", "REFCOUNT", "k"),
        ("OBJECT", "ENCODING", "nokey"),
        ("OBJECT", "REFCOUNT", "nokey"),
        ("OBJECT", "IDLETIME", "nokey"),
        ("OBJECT", "FREQ", "nokey"),
        ("OBJECT", "FREQ", "k"),
    )


def test_object_help_and_errors(diff):
    diff.check_all(
        ("OBJECT", "HELP"),
        ("object", "help"),
        ("OBJECT", "HELP", "x"),
        ("OBJECT",),
        ("OBJECT", "FOO", "k"),
        ("OBJECT", "ENCODING"),
        ("OBJECT", "ENCODING", "a", "b"),
        ("OBJECT", "IDLETIME"),
    )


def test_object_idletime(diff):
    setup(diff, ("SET", "k", "v"))
    ours, theirs = both(diff, "OBJECT", "IDLETIME", "k")
    assert ours in (0, 1) and theirs in (0, 1)


# -- DUMP, RESTORE ----------------------------------------------------------------------------

DUMP_VALUES = [
    b"",
    b"0",
    b"1",
    b"-1",
    b"127",
    b"128",
    b"-128",
    b"-129",
    b"32767",
    b"32768",
    b"-32768",
    b"-32769",
    b"2147483647",
    b"2147483648",
    b"-2147483648",
    b"-2147483649",
    b"9223372036854775807",
    b"01",
    b"+5",
    b"1.5",
    b"v",
    b"a" * 20,
    b"a" * 21,
    b"abcdefghijklmnopqrstu",
    b"x" * 100,
    b"hello world " * 50,
    bytes(range(256)),
    b"\x00\r\n" * 40,
    b"ab" * 5000,
]


def random_values(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        n = rng.choice([21, 25, 40, 64, 200, 1000, 4000])
        alphabet = bytes(rng.sample(range(256), rng.randint(1, 5)))
        if rng.random() < 0.5:
            out.append(bytes(rng.choice(alphabet) for _ in range(n)))
        else:
            word = bytes(rng.choice(alphabet) for _ in range(rng.randint(2, 9)))
            out.append((word * (n // len(word) + 1))[:n])
    return out


def test_dump_is_byte_identical(diff):
    diff.check("DUMP", "nokey")
    for value in DUMP_VALUES + random_values(7, 60):
        diff.check("SET", "k", value)
        diff.check("DUMP", "k")
    diff.check("SET", "k", "abc")
    diff.check("APPEND", "k", "def")
    diff.check("DUMP", "k")
    diff.check("DUMP")


def test_payloads_cross_between_servers(diff):
    """Redis's DUMP restores into rcsim, and rcsim's into Redis."""
    values = DUMP_VALUES + random_values(11, 20)
    for i, value in enumerate(values):
        diff.check("SET", f"src{i}", value)
    for i, value in enumerate(values):
        from_redis = parse(diff.theirs.call("DUMP", f"src{i}"))
        from_rcsim = parse(diff.ours.call("DUMP", f"src{i}"))
        assert diff.ours.call("RESTORE", f"dst{i}", "0", from_redis) == b"+OK\r\n"
        assert diff.theirs.call("RESTORE", f"dst{i}", "0", from_rcsim) == b"+OK\r\n"
        diff.check("GET", f"dst{i}")
        diff.check("OBJECT", "ENCODING", f"dst{i}")
        assert parse(diff.ours.call("GET", f"dst{i}")) == value


def test_restore_options(diff):
    payload = parse(diff.theirs.call("DUMP", "nokey"))
    assert payload is None
    diff.check("SET", "src", "value")
    payload = parse(diff.theirs.call("DUMP", "src"))
    assert isinstance(payload, bytes)
    diff.check_all(
        ("RESTORE", "src", "0", payload),
        ("RESTORE", "src", "0", payload, "REPLACE"),
        ("RESTORE", "t1", "100000", payload),
        ("TTL", "t1"),
        ("RESTORE", "t2", FAR_MS, payload, "ABSTTL"),
        ("PEXPIRETIME", "t2"),
        ("RESTORE", "t3", "1", payload, "ABSTTL"),
        ("EXISTS", "t3"),
        ("SET", "t4", "old"),
        ("RESTORE", "t4", "1", payload, "ABSTTL", "REPLACE"),
        ("EXISTS", "t4"),
        ("RESTORE", "t5", "0", payload, "IDLETIME", "1000"),
        ("RESTORE", "t6", "0", payload, "FREQ", "100"),
        ("RESTORE", "t7", "0", payload, "replace", "absttl", "idletime", "5"),
        ("EXISTS", "t7"),
        ("RESTORE", "t8", "0", payload, "IDLETIME", "1", "FREQ", "1"),
        ("RESTORE", "t8", "0", payload, "FREQ", "1", "IDLETIME", "1"),
        ("RESTORE", "t8", "0", payload, "IDLETIME", "-1"),
        ("RESTORE", "t8", "0", payload, "IDLETIME", "x"),
        ("RESTORE", "t8", "0", payload, "IDLETIME"),
        ("RESTORE", "t8", "0", payload, "FREQ", "256"),
        ("RESTORE", "t8", "0", payload, "FREQ", "-1"),
        ("RESTORE", "t8", "0", payload, "FREQ"),
        ("RESTORE", "t8", "0", payload, "FOO"),
        ("RESTORE", "t8", "-1", payload),
        ("RESTORE", "t8", "x", payload),
        ("RESTORE", "src", "-1", payload),
        ("RESTORE", "t8", "0"),
    )
    for key, expected in (("t5", 1000), ("t7", 5)):
        ours, theirs = both(diff, "OBJECT", "IDLETIME", key)
        assert expected <= ours <= expected + 1 and expected <= theirs <= expected + 1  # type: ignore[operator]


def with_footer(body: bytes, version: int = 10) -> bytes:
    """``body`` plus a correct RDB version and CRC-64 (computed by rcsim's own rdb module)."""
    from node import rdb

    head = body + version.to_bytes(2, "little")
    return head + rdb.crc64(head).to_bytes(8, "little")


BAD_PAYLOADS = [
    b"",
    b"x",
    b"\x00\x01a\x0a\x00" + b"\x00" * 8,  # wrong CRC
    with_footer(b"\x00\x01a", version=11),  # newer RDB version
    with_footer(b"\x00\x01a", version=9),
    with_footer(b"\x00\x01a", version=0),
    with_footer(b"\x00\xc3\x01\x00\x00"),  # LZF to length 0
    with_footer(b"\x00\xc3\x02\x05\x01a"),
    with_footer(b"\x00\xc3\x02\x05\x00a"),
    with_footer(b"\x00\xc3\x02\x01\x00a"),
    with_footer(b"\x00\xc4"),
    with_footer(b"\x00\xc0"),  # INT8 read from the footer
    with_footer(b"\x00\xc1\xff\xff"),
    with_footer(b"\x00\xc2\x00\x00\x00\x80"),
    with_footer(b"\x00\x05ab"),  # raw string running into the footer
    with_footer(b"\x00\x3fab"),
    with_footer(b"\x00\x01abcdef"),  # trailing bytes
    with_footer(b"\x08\x01a"),
    with_footer(b"\x14\x01a"),
    with_footer(b"\xff"),
    with_footer(b"\x00\x80\x00\x00\x00\x02ab"),
    with_footer(b"\x00\x81" + (2).to_bytes(8, "big") + b"ab"),
    with_footer(b"\x00\x82ab"),
    with_footer(b"\x00\x40\x02ab"),
]


@pytest.mark.parametrize("payload", BAD_PAYLOADS, ids=[repr(p[:8]) for p in BAD_PAYLOADS])
def test_restore_of_unusual_payloads(diff, payload):
    diff.check("RESTORE", "r", "0", payload)
    diff.check("GET", "r")
