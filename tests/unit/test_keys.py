"""Generic key commands in virtual time: TTL bookkeeping across RENAME/COPY/MOVE, OBJECT (idle
time on a virtual clock, encodings, refcounts), DUMP/RESTORE semantics, and Redis's glob rules."""

from __future__ import annotations

import random

import pytest

from node import rdb
from node.commands.keys import idle_seconds
from node.config import Config
from node.core import execute
from node.glob import glob_match, glob_matcher
from node.protocol.resp import encode
from node.session import Session
from node.state import NodeState
from tests.support.nodes import make_node

NOW = 1_700_000_000_000


class FakeList:
    """A stand-in for a non-string value type."""

    type_name = b"list"
    encoding = b"quicklist"

    def __init__(self, items: list[bytes] | None = None) -> None:
        self.items = list(items or [])

    def copy(self) -> FakeList:
        return FakeList(self.items)


@pytest.fixture
def node() -> NodeState:
    return make_node(Config(), rng=random.Random(9), now_ms=NOW)


@pytest.fixture
def session(node: NodeState) -> Session:
    return Session(node, 1)


def run(session: Session, *args: str | bytes) -> bytes:
    argv = [x if isinstance(x, bytes) else x.encode() for x in args]
    return encode(execute(session, argv), session.resp3)


# -- DEL, EXISTS, TYPE, KEYS, RANDOMKEY --------------------------------------------------------


def test_exists_counts_every_mention_and_del_counts_keys(session):
    run(session, "SET", "a", "1")
    run(session, "SET", "b", "2")
    assert run(session, "EXISTS", "a", "a", "b", "c") == b":3\r\n"
    assert run(session, "DEL", "a", "a", "c") == b":1\r\n"
    assert run(session, "UNLINK", "b") == b":1\r\n"
    assert session.db.data == {}


def test_type_names(session):
    run(session, "SET", "s", "v")
    session.db.set(b"l", FakeList())
    assert run(session, "TYPE", "s") == b"+string\r\n"
    assert run(session, "TYPE", "l") == b"+list\r\n"
    assert run(session, "TYPE", "none") == b"+none\r\n"


def test_keys_skips_expired_keys_without_deleting_them(node, session):
    run(session, "SET", "a1", "v")
    run(session, "SET", "a2", "v")
    run(session, "SET", "b1", "v")
    run(session, "PEXPIRE", "a2", "5")
    node.now_ms += 5
    assert sorted(execute(session, [b"KEYS", b"a*"])) == [b"a1"]  # type: ignore[arg-type]
    assert b"a2" in session.db.data
    assert sorted(execute(session, [b"KEYS", b"*"])) == [b"a1", b"b1"]  # type: ignore[arg-type]


def test_randomkey(session):
    assert run(session, "RANDOMKEY") == b"$-1\r\n"
    run(session, "SET", "only", "v")
    assert run(session, "RANDOMKEY") == b"$4\r\nonly\r\n"


# -- RENAME, COPY, MOVE, SWAPDB --------------------------------------------------------------


def test_rename_moves_value_and_ttl(session):
    run(session, "SET", "a", "v")
    run(session, "PEXPIRE", "a", "5000")
    run(session, "SET", "b", "old")
    assert run(session, "RENAME", "a", "b") == b"+OK\r\n"
    assert session.db.data == {b"b": b"v"}
    assert session.db.expires == {b"b": NOW + 5000}
    assert run(session, "RENAME", "a", "b") == b"-ERR no such key\r\n"
    assert run(session, "RENAME", "b", "b") == b"+OK\r\n"
    assert run(session, "RENAMENX", "b", "b") == b":0\r\n"


def test_renamenx_keeps_an_existing_target(session):
    run(session, "SET", "a", "1")
    run(session, "SET", "b", "2")
    assert run(session, "RENAMENX", "a", "b") == b":0\r\n"
    assert run(session, "RENAMENX", "a", "c") == b":1\r\n"
    assert session.db.data == {b"b": b"2", b"c": b"1"}


def test_copy_duplicates_mutable_values_and_keeps_ttl(node, session):
    session.db.set(b"src", bytearray(b"abc"))
    session.db.set_expire(b"src", NOW + 999)
    session.db.set(b"lst", FakeList([b"x"]))
    assert run(session, "COPY", "src", "dst", "DB", "3") == b":1\r\n"
    copied = node.dbs[3].data[b"dst"]
    assert copied == bytearray(b"abc") and copied is not session.db.data[b"src"]
    assert node.dbs[3].expires[b"dst"] == NOW + 999
    assert run(session, "COPY", "lst", "lst2") == b":1\r\n"
    assert session.db.data[b"lst2"] is not session.db.data[b"lst"]
    assert run(session, "COPY", "src", "lst2") == b":0\r\n"
    assert run(session, "COPY", "src", "lst2", "REPLACE") == b":1\r\n"
    assert run(session, "COPY", "src", "src") == (
        b"-ERR source and destination objects are the same\r\n"
    )
    assert run(session, "COPY", "src", "x", "DB", "99") == b"-ERR DB index is out of range\r\n"


def test_move_keeps_ttl_and_refuses_an_existing_target(node, session):
    run(session, "SET", "k", "v")
    run(session, "PEXPIRE", "k", "100")
    assert run(session, "MOVE", "k", "1") == b":1\r\n"
    assert node.dbs[1].expires == {b"k": NOW + 100}
    assert session.db.data == {}
    run(session, "SET", "k", "again")
    assert run(session, "MOVE", "k", "1") == b":0\r\n"
    assert run(session, "MOVE", "k", "0") == b"-ERR source and destination objects are the same\r\n"
    assert run(session, "MOVE", "k", "99999999999") == (
        b"-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
    )


def test_swapdb_swaps_contents_and_clients_keep_their_index(node, session):
    run(session, "SET", "in0", "v")
    other = Session(node, 2)
    run(other, "SELECT", "1")
    run(other, "SET", "in1", "v")
    assert run(session, "SWAPDB", "0", "1") == b"+OK\r\n"
    assert run(session, "EXISTS", "in1") == b":1\r\n"
    assert run(other, "EXISTS", "in0") == b":1\r\n"
    assert run(session, "SWAPDB", "0", "x") == b"-ERR invalid second DB index\r\n"
    assert run(session, "SWAPDB", "0", "16") == b"-ERR DB index is out of range\r\n"


def test_swapdb_invalidates_watches_on_keys_that_exist_on_either_side(node, session):
    run(session, "SELECT", "1")
    run(session, "SET", "k", "v")
    watcher = Session(node, 2)
    run(watcher, "WATCH", "k")  # k does not exist in db 0, but will after the swap
    run(session, "SWAPDB", "0", "1")
    run(watcher, "MULTI")
    run(watcher, "PING")
    assert run(watcher, "EXEC") == b"*-1\r\n"


# -- OBJECT ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,encoding",
    [
        (b"123", b"int"),
        (b"-9223372036854775808", b"int"),
        (b"9223372036854775808", b"embstr"),
        (b"012", b"embstr"),
        (b"", b"embstr"),
        (b"x" * 44, b"embstr"),
        (b"x" * 45, b"raw"),
        (bytearray(b"1"), b"raw"),
    ],
)
def test_object_encoding_of_strings(session, value, encoding):
    session.db.set(b"k", value)
    assert execute(session, [b"OBJECT", b"ENCODING", b"k"]) == encoding


def test_object_encoding_of_other_types_and_missing_keys(session):
    session.db.set(b"l", FakeList())
    assert run(session, "OBJECT", "ENCODING", "l") == b"$9\r\nquicklist\r\n"
    assert run(session, "OBJECT", "ENCODING", "nokey") == b"$-1\r\n"


def test_object_refcount_of_shared_integers(node, session):
    run(session, "SET", "small", "9999")
    run(session, "SET", "big", "10000")
    assert run(session, "OBJECT", "REFCOUNT", "small") == b":2147483647\r\n"
    assert run(session, "OBJECT", "REFCOUNT", "big") == b":1\r\n"
    node.config.set("maxmemory", "1000000")
    node.config.set("maxmemory-policy", "allkeys-lru")
    assert run(session, "OBJECT", "REFCOUNT", "small") == b":1\r\n"


def test_idle_time_follows_the_virtual_clock(node, session):
    run(session, "SET", "k", "v")
    node.now_ms += 10_000
    assert run(session, "OBJECT", "IDLETIME", "k") == b":10\r\n"
    # Lookups with Redis's LOOKUP_NOTOUCH leave the access time alone...
    for command in (["TYPE", "k"], ["TTL", "k"], ["EXISTS", "k"], ["OBJECT", "ENCODING", "k"]):
        run(session, *command)
    assert run(session, "OBJECT", "IDLETIME", "k") == b":10\r\n"
    # ...reads and writes through Database.lookup reset it.
    run(session, "DUMP", "k")
    assert run(session, "OBJECT", "IDLETIME", "k") == b":0\r\n"
    node.now_ms += 3_000
    run(session, "TOUCH", "k", "nokey")
    assert run(session, "OBJECT", "IDLETIME", "k") == b":0\r\n"
    node.now_ms += 2_500
    run(session, "EXPIRE", "k", "100")
    node.now_ms += 1_000
    assert run(session, "OBJECT", "IDLETIME", "k") == b":1\r\n"


def test_access_times_share_one_int_per_second(node, session):
    """Memory: 1M keys must not hold 1M int objects for their access times."""
    for i in range(5):
        node.now_ms = NOW + i * 100  # a new batch, a new now_ms object, the same second
        run(session, "SET", f"k{i}", "v")
    values = [session.db.access[b"k%d" % i] for i in range(5)]
    assert all(v is values[0] for v in values)


def test_lfu_policy_switches_freq_and_idletime(node, session):
    run(session, "SET", "k", "v")
    assert run(session, "OBJECT", "FREQ", "k").startswith(b"-ERR An LFU maxmemory policy is not")
    node.config.set("maxmemory-policy", "allkeys-lfu")
    assert run(session, "OBJECT", "FREQ", "k") == b":5\r\n"
    assert run(session, "OBJECT", "IDLETIME", "k").startswith(b"-ERR An LFU maxmemory policy is")
    assert run(session, "OBJECT", "FREQ", "nokey") == b"$-1\r\n"


def test_object_help_is_status_lines(session):
    reply = run(session, "OBJECT", "HELP")
    assert reply.startswith(b"*15\r\n+OBJECT <subcommand>")


# -- DUMP / RESTORE ---------------------------------------------------------------------------


def test_dump_restore_round_trip_with_relative_and_absolute_ttl(node, session):
    run(session, "SET", "k", "hello world, hello world, hello world")
    dumped = execute(session, [b"DUMP", b"k"])
    assert isinstance(dumped, bytes) and rdb.verify_payload(dumped)
    assert run(session, "RESTORE", "r1", "1500", dumped) == b"+OK\r\n"
    assert session.db.expires[b"r1"] == NOW + 1500
    assert run(session, "RESTORE", "r2", str(NOW + 99), dumped, "ABSTTL") == b"+OK\r\n"
    assert session.db.expires[b"r2"] == NOW + 99
    assert session.db.data[b"r1"] == session.db.data[b"r2"] == session.db.data[b"k"]


def test_restore_with_a_past_ttl_creates_nothing_but_replace_still_deletes(session):
    dumped = execute(session, [b"DUMP", b"nokey"])
    assert dumped is None
    payload = rdb.dump_payload(b"v")
    run(session, "SET", "k", "old")
    assert (
        run(session, "RESTORE", "k", "1", payload, "ABSTTL")
        == b"-BUSYKEY Target key name already exists.\r\n"
    )
    assert run(session, "RESTORE", "k", "1", payload, "ABSTTL", "REPLACE") == b"+OK\r\n"
    assert session.db.data == {}


def test_restore_idletime_sets_the_lru_clock_back(node, session):
    payload = rdb.dump_payload(b"v")
    run(session, "RESTORE", "k", "0", payload, "IDLETIME", "1234")
    assert run(session, "OBJECT", "IDLETIME", "k") == b":1234\r\n"
    node.now_ms += 2000
    assert run(session, "OBJECT", "IDLETIME", "k") == b":1236\r\n"


def test_restore_idletime_beyond_the_24_bit_clock(node, session):
    clock = (node.now_ms // 1000) & 0xFFFFFF
    payload = rdb.dump_payload(b"v")
    cases = {
        clock + 1: clock + 1,
        0xFFFFFF: 0,
        0x1000000: 1,
        0x1000000 + clock: clock,
        2**62: 0,  # idle * 1000 overflows to 0 in Redis
    }
    for idle, expected in cases.items():
        run(session, "RESTORE", "k", "0", payload, "IDLETIME", str(idle), "REPLACE")
        assert idle_seconds(session.db, b"k", node.now_ms) == expected, idle


@pytest.mark.parametrize(
    "args,error",
    [
        (["0", "x", "FOO"], b"-ERR syntax error\r\n"),
        (["-1", "x"], b"-ERR Invalid TTL value, must be >= 0\r\n"),
        (["0", "x"], b"-ERR DUMP payload version or checksum are wrong\r\n"),
        (["0", "x", "IDLETIME", "-1"], b"-ERR Invalid IDLETIME value, must be >= 0\r\n"),
        (["0", "x", "FREQ", "256"], b"-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"),
        (["0", "x", "FREQ", "1", "IDLETIME", "1"], b"-ERR syntax error\r\n"),
    ],
)
def test_restore_errors(session, args, error):
    assert run(session, "RESTORE", "k", *args) == error


def test_restore_reports_bad_data_and_unsupported_types(session):
    def with_footer(body: bytes) -> bytes:
        head = body + b"\x0a\x00"
        return head + rdb.crc64(head).to_bytes(8, "little")

    assert (
        run(session, "RESTORE", "k", "0", with_footer(b"\x00\xc4")) == b"-ERR Bad data format\r\n"
    )
    reply = run(session, "RESTORE", "k", "0", with_footer(b"\x13\x01"))  # a stream: not modelled
    assert reply.startswith(b"-ERR RESTORE is not supported") and b"stream" in reply


def test_dump_of_a_type_without_a_codec_is_a_clear_error(session):
    session.db.set(b"l", FakeList())
    assert run(session, "DUMP", "l") == b"-ERR DUMP is not supported for values of type list\r\n"


# -- glob (Redis's stringmatchlen), cases checked against redis-server 7.0.15 -----------------

GLOB_CASES = [
    (b"*", b"", False),  # the matcher needs a non-empty subject; KEYS special-cases "*"
    (b"", b"", True),
    (b"**", b"abc", True),
    (b"a*", b"a", True),
    (b"*a*a", b"a", False),
    (b"h?llo", b"hello", True),
    (b"h[ae]llo", b"hallo", True),
    (b"h[^e]llo", b"hello", False),
    (b"h[a-b]llo", b"hbllo", True),
    (b"h[b-a]llo", b"hallo", True),  # reversed ranges are swapped
    (b"[a-]", b"]", True),  # "a-]" is the range a..]
    (b"[a-]", b"-", False),
    (b"[a-]x", b"x", True),  # ...and the class is unterminated: x joins it
    (b"[abc", b"b", True),
    (b"[", b"[", False),
    (b"[^", b"z", True),
    (b"[]", b"]", False),
    (b"[]a]", b"]", False),
    (b"[^]", b"q", True),
    (b"[\\]]", b"]", True),
    (b"\\*", b"*", True),
    (b"\\*", b"a", False),
    (b"a\\", b"a\\", True),
    (b"[a-\xff]", b"\xff", True),  # signed chars: a..\xff is -1..97
    (b"[a-\xff]", b"z", False),
    (b"[\x80-\xff]", b"\x90", True),
]


@pytest.mark.parametrize("pattern,subject,expected", GLOB_CASES)
def test_glob_matches_like_redis(pattern, subject, expected):
    assert glob_match(pattern, subject) is expected
    assert glob_matcher(pattern)(subject) is expected


def test_glob_nocase_rules():
    assert glob_match(b"HeLLo", b"hello", nocase=True)
    assert glob_match(b"[A-C]", b"b", nocase=True)
    assert not glob_match(b"[\\A]", b"a", nocase=True)  # escaped class members keep their case
    assert glob_match(b"\\A", b"a", nocase=True)
    assert not glob_match(b"[A-z]", b"[", nocase=True)  # bounds are lowered: a..z


def test_glob_star_nesting_limit():
    subject = b"a" * 1100
    assert glob_match(b"*a" * 1000, subject)
    assert glob_match(b"*a" * 1000 + b"*", subject)
    assert not glob_match(b"*a" * 1001, subject)


def test_glob_is_linear_on_adversarial_patterns():
    pattern = b"*a" * 30 + b"b"
    assert not glob_match(pattern, b"a" * 5000)  # exponential without atomic groups
