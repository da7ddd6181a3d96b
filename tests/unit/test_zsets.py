"""Sorted sets without sockets: argument parsing, encodings, RDB payloads (pinned to bytes
redis-server 7.0.15 produced), set inputs, blocking pops in virtual time and random members."""

from __future__ import annotations

import math

import pytest

from node import rdb
from node.blocking import Block
from node.config import Config
from node.core import execute
from node.protocol.errors import RespError
from node.protocol.resp import NULL_ARRAY, Double, encode
from node.session import Session
from node.types.zset_args import (
    MINUS_INF,
    PLUS_INF,
    option,
    parse_double,
    parse_lex_range,
    parse_score_range,
    strtod,
)
from node.types.zset_value import (
    ZSet,
    _lp_backlen,
    listpack_blob,
    listpack_entries,
    listpack_score_text,
)
from tests.support.nodes import make_node

NOW_MS = 1_700_000_000_000


@pytest.fixture
def session() -> Session:
    node = make_node(Config())
    node.now_ms = NOW_MS
    return Session(node, 1)


def run(session: Session, *args: str | bytes) -> bytes:
    """Execute one command and return its RESP bytes (a Block is returned as is)."""
    argv = [a if isinstance(a, bytes) else a.encode() for a in args]
    reply = execute(session, argv)
    if type(reply) is Block:
        return reply  # type: ignore[return-value]
    return encode(reply, session.resp3)


# -- parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value", "used"),
    [
        (b"1.5", 1.5, 3),
        (b"  -2", -2.0, 4),
        (b"0x10", 16.0, 4),
        (b"0x1.8p1", 3.0, 7),
        (b"0x", 0.0, 1),
        (b"1e", 1.0, 1),
        (b".5", 0.5, 2),
        (b"5.", 5.0, 2),
        (b"inf", math.inf, 3),
        (b"-Infinity", -math.inf, 9),
        (b"infinit", math.inf, 3),
        (b"1\x00junk", 1.0, 1),
        (b"", 0.0, 0),
        (b"abc", 0.0, 0),
        (b" ", 0.0, 0),
    ],
)
def test_strtod_consumes_what_glibc_consumes(raw, value, used):
    parsed, consumed, _ = strtod(raw)
    assert (parsed, consumed) == (value, used)


def test_strtod_reports_overflow_and_underflow():
    assert strtod(b"1e400") == (math.inf, 5, True)
    assert strtod(b"1e-400")[2] is True
    assert strtod(b"0x1p-1080")[2] is True
    assert strtod(b"0.0e-999")[2] is False  # an exact zero is no underflow
    assert strtod(b"1e-310")[0] > 0  # a denormal is fine
    assert math.isnan(strtod(b"nan(123)")[0])


@pytest.mark.parametrize("raw", [b"", b" 1", b"1 ", b"1_0", b"nan", b"1e400", b"1e-400", b"1\x00"])
def test_parse_double_rejects_what_get_double_from_object_rejects(raw):
    with pytest.raises(RespError, match="ERR value is not a valid float"):
        parse_double(raw)


def test_parse_double_custom_error():
    with pytest.raises(RespError, match="ERR weight value is not a float"):
        parse_double(b"x", "ERR weight value is not a float")
    assert parse_double(b"-inf") == -math.inf
    assert parse_double(b"0x10") == 16.0


def test_score_ranges():
    assert parse_score_range(b"(1", b"+inf") == (1.0, True, math.inf, False)
    assert parse_score_range(b"", b"(") == (0.0, False, 0.0, True)
    assert parse_score_range(b" 2", b"3\x00x") == (2.0, False, 3.0, False)
    for bad in ((b"1 ", b"2"), (b"nan", b"2"), (b"((1", b"2"), (b"[1", b"2")):
        with pytest.raises(RespError, match="ERR min or max is not a float"):
            parse_score_range(*bad)


def test_lex_ranges():
    spec = parse_lex_range(b"-", b"+")
    assert (spec.min, spec.max) == (MINUS_INF, PLUS_INF)
    spec = parse_lex_range(b"(a\x00b", b"[")
    assert (spec.min, spec.minex, spec.max, spec.maxex) == (b"a\x00b", True, b"", False)
    assert parse_lex_range(b"-\x00", b"+\x00junk").min == MINUS_INF
    for bad in ((b"", b"+"), (b"a", b"+"), (b"--", b"+"), (b"-", b"+a")):
        with pytest.raises(RespError, match="ERR min or max not valid string range item"):
            parse_lex_range(*bad)


def test_options_compare_as_c_strings():
    assert option(b"WithScores\x00junk") == b"withscores"
    assert option(b"\x00nx") == b""


# -- the value: encodings and score storage --------------------------------------------------------


def test_listpack_converts_once_and_for_all():
    zset = ZSet()
    for i in range(128):
        zset.add(b"m%d" % i, float(i), 128, 64)
    assert zset.encoding() == b"listpack"
    zset.add(b"extra", 1.0, 128, 64)
    assert zset.encoding() == b"skiplist"
    zset.remove_range(0, 120)
    assert zset.encoding() == b"skiplist"
    long_member = ZSet()
    long_member.add(b"x" * 65, 1.0, 128, 64)
    assert long_member.encoding() == b"skiplist"


def test_negative_zero_survives_only_in_a_skiplist():
    small, large = ZSet(), ZSet(listpack=False)
    small.add(b"a", -0.0, 128, 64)
    large.add(b"a", -0.0, 128, 64)
    assert math.copysign(1.0, small.scores[b"a"]) == 1.0
    assert math.copysign(1.0, large.scores[b"a"]) == -1.0
    large.to_listpack_if_small(128, 64)
    assert large.encoding() == b"listpack"
    assert math.copysign(1.0, large.scores[b"a"]) == 1.0


def test_copy_is_independent():
    zset = ZSet()
    zset.add(b"a", 1.0, 128, 64)
    other = zset.copy()
    other.add(b"b", 2.0, 128, 64)
    other.set_score(b"a", 1.0, 5.0)
    assert list(zset.items()) == [(b"a", 1.0)]
    assert list(other.items()) == [(b"b", 2.0), (b"a", 5.0)]


def test_members_with_equal_scores_order_by_bytes():
    zset = ZSet(listpack=False)
    for member in (b"b", b"ab", b"a", b"", b"\xff", b"a\x00"):
        zset.add(member, 1.0, 0, 0)
    assert [m for m, _ in zset.items()] == [b"", b"a", b"a\x00", b"ab", b"b", b"\xff"]
    assert zset.rank(b"ab") == 3


def test_listpack_score_text_is_what_zscan_prints():
    assert listpack_score_text(1e17) == b"100000000000000000"
    assert listpack_score_text(-0.0) == b"0"
    assert listpack_score_text(2.5) == b"2.5"
    # double2ll compares with LLONG_MAX/2 converted to a double, i.e. 2**62 itself
    assert listpack_score_text(float(2**62)) == b"4611686018427387904"
    assert listpack_score_text(float(2**62 + 1024)) == b"4.6116860184273889e+18"
    assert listpack_score_text(-math.inf) == b"-inf"


# -- RDB payloads (bytes from redis-server 7.0.15) --------------------------------------------------

REDIS_LISTPACK_DUMP = (
    b"\x11\x1a\x1a\x00\x00\x00\x06\x00\x81c\x02\xdf\xfd\x02\x81a\x02\x01\x01\x81b\x02\x832.5\x04"
    b"\xff\n\x00\xa6\x8a\x1a\xb1\xa9\xf2\xdc\xc2"
)  # ZADD k 1 a 2.5 b -3 c
REDIS_SKIPLIST_DUMP = (
    b"\x05\x02\x01b\x00\x00\x00\x00\x00\x00\x00@\xc3\t@Q\x01xx\xe0D\x00\x01xx\x00\x00\x00\x00"
    b"\x00\x00\xf0?\n\x00\xbdz,eE\xf4\xaf\xa4"
)  # ZADD big 1 <81 x> 2 b


def test_dump_matches_redis_bytes():
    small = ZSet()
    for member, score in ((b"a", 1.0), (b"b", 2.5), (b"c", -3.0)):
        small.add(member, score, 128, 64)
    assert rdb.dump_payload(small) == REDIS_LISTPACK_DUMP
    big = ZSet()
    big.add(b"x" * 81, 1.0, 128, 64)
    big.add(b"b", 2.0, 128, 64)
    assert rdb.dump_payload(big) == REDIS_SKIPLIST_DUMP


def test_redis_payloads_load():
    small = rdb.load_payload(REDIS_LISTPACK_DUMP)
    assert list(small.items()) == [(b"c", -3.0), (b"a", 1.0), (b"b", 2.5)]
    assert small.encoding() == b"listpack"
    big = rdb.load_payload(REDIS_SKIPLIST_DUMP)
    assert list(big.items()) == [(b"x" * 81, 1.0), (b"b", 2.0)]
    assert big.encoding() == b"skiplist"


def test_listpack_round_trip_of_every_entry_encoding():
    zset = ZSet()
    members = [b"0", b"127", b"128", b"-4096", b"4095", b"-32768", b"8388607", b"-2147483648"]
    members += [b"9223372036854775807", b"99999999999999999999", b"007", b"y" * 63, b"z" * 64]
    for i, member in enumerate(members):
        zset.add(member, [0.5, -1.0, 1e17, math.inf, -0.0, 3.0][i % 6], 128, 100)
    blob = listpack_blob(zset)
    entries = listpack_entries(blob)
    assert len(entries) == 2 * len(members)
    assert entries[entries.index(127) + 1] in (0.5, -1, b"0.5")
    restored = rdb.load_payload(rdb.dump_payload(zset))
    assert list(restored.items()) == list(zset.items())
    long_value = ZSet()
    long_value.add(b"v" * 5000, 1.0, 128, 10_000)
    assert list(listpack_entries(listpack_blob(long_value))) == [b"v" * 5000, 1]


@pytest.mark.parametrize(
    ("size", "encoded"),
    [
        (1, b"\x01"),
        (127, b"\x7f"),
        (128, b"\x01\x80"),
        (200, b"\x01\xc8"),
        (16382, b"\x7f\xfe"),
        (16383, b"\x00\xff\xff"),  # Redis moves to 3 bytes one value early
        (2097150, b"\x7f\xff\xfe"),
        (2097151, b"\x00\xff\xff\xff"),
    ],
)
def test_listpack_backlen(size, encoded):
    assert _lp_backlen(size) == encoded


def test_legacy_zset_payload_with_text_scores():
    body = bytes((3,)) + rdb.encode_length(3)
    for member, score in ((b"a", b"1.5"), (b"b", None), (b"c", b"-2")):
        body += rdb.encode_string(member)
        body += b"\xfe" if score is None else bytes((len(score),)) + score
    payload = body + rdb.RDB_VERSION.to_bytes(2, "little")
    payload += rdb.crc64(payload).to_bytes(8, "little")
    zset = rdb.load_payload(payload)
    assert list(zset.items()) == [(b"c", -2.0), (b"a", 1.5), (b"b", math.inf)]


def test_ziplist_payload_of_older_redis_versions():
    """Redis 6.2 dumps small sorted sets as a ziplist (type 12): ZADD k 1 a 2.5 b -300 c."""
    entries = [b"\x01a", b"\xf2", b"\x01b", b"\x032.5", b"\x01c", b"\xc0\xd4\xfe"]
    body, previous = b"", 0
    for entry in entries:
        body += bytes((previous,)) + entry
        previous = 1 + len(entry)
    tail = 10 + len(body) - previous
    blob = (10 + len(body) + 1).to_bytes(4, "little") + tail.to_bytes(4, "little") + b"\x06\x00"
    blob += body + b"\xff"
    payload = b"\x0c" + rdb.encode_string(blob, False) + (9).to_bytes(2, "little")
    payload += rdb.crc64(payload).to_bytes(8, "little")
    zset = rdb.load_payload(payload)
    assert list(zset.items()) == [(b"c", -300.0), (b"a", 1.0), (b"b", 2.5)]
    assert zset.encoding() == b"listpack"


@pytest.mark.parametrize(
    "blob",
    [b"", b"\x07\x00\x00\x00\x00\x00", b"\x08\x00\x00\x00\x01\x00\x01\xff", b"\x09\x00\x00\x00"],
)
def test_malformed_listpacks_are_refused(blob):
    payload = bytes((17,)) + rdb.encode_string(blob, False) + rdb.RDB_VERSION.to_bytes(2, "little")
    payload += rdb.crc64(payload).to_bytes(8, "little")
    with pytest.raises(rdb.RdbError):
        rdb.load_payload(payload)


# -- commands --------------------------------------------------------------------------------------


class FakeSet(set):
    """A stand-in for the set type: a plain set of members named ``set``."""

    type_name = b"set"


def test_sets_count_as_members_scoring_one(session):
    run(session, "ZADD", "a", "1", "x", "2", "y", "3", "z")
    run(session, "ZADD", "b", "10", "y", "20", "z", "30", "w")
    session.db.set(b"s", FakeSet({b"x", b"w", b"q"}))
    # Replies from redis-server 7.0.15 for the same data (SADD s x w q).
    assert run(session, "ZUNION", "3", "a", "b", "s", "WITHSCORES") == (
        b"*10\r\n$1\r\nq\r\n$1\r\n1\r\n$1\r\nx\r\n$1\r\n2\r\n$1\r\ny\r\n$2\r\n12\r\n"
        b"$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n31\r\n"
    )
    assert run(session, "ZDIFF", "2", "a", "s", "WITHSCORES") == (
        b"*4\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n"
    )
    assert run(session, "ZINTERCARD", "2", "s", "a") == b":1\r\n"


def test_zadd_reply_and_watch(session):
    run(session, "ZADD", "k", "1", "a")
    other = Session(session.node, 2)
    run(other, "WATCH", "k")
    run(session, "ZADD", "k", "1", "a")  # no change: WATCH still holds
    run(other, "MULTI")
    run(other, "ZCARD", "k")
    assert run(other, "EXEC") == b"*1\r\n:1\r\n"
    run(other, "WATCH", "k")
    run(session, "ZINCRBY", "k", "1", "a")
    run(other, "MULTI")
    run(other, "ZCARD", "k")
    assert run(other, "EXEC") == b"*-1\r\n"


def test_memory_estimate_follows_the_value(session):
    before = session.db.used_bytes
    run(session, "ZADD", "k", *[x for i in range(50) for x in (str(i), "member-%d" % i)])
    grown = session.db.used_bytes
    assert grown > before
    run(session, "ZREMRANGEBYRANK", "k", "0", "24")
    assert before < session.db.used_bytes < grown
    run(session, "DEL", "k")
    assert session.db.used_bytes == before


def test_blocking_pop_blocks_with_its_deadline(session):
    block = run(session, "BZPOPMIN", "a", "b", "1.5")
    assert type(block) is Block
    assert block.keys == [b"a", b"b"]
    assert block.deadline_ms == NOW_MS + 1500
    assert block.timeout_reply is NULL_ARRAY
    assert block.value_type is ZSet
    forever = run(session, "BZMPOP", "0", "1", "a", "MIN")
    assert forever.deadline_ms is None
    tiny = run(session, "BZPOPMAX", "a", "0.0001")
    assert tiny.deadline_ms == NOW_MS + 1  # Redis rounds the timeout up to 1 ms


def test_blocked_client_is_served_when_the_key_is_fed(session):
    node = session.node
    waiter = Session(node, 2)
    block = run(waiter, "BZPOPMAX", "k", "0")
    node.blocking.block(waiter, [b"BZPOPMAX", b"k", b"0"], block, node.now_ms)
    run(session, "ZADD", "k", "1", "a", "2", "b")
    node.blocking.serve_ready(execute)
    [(served, reply)] = node.blocking.released
    assert served is waiter
    assert encode(reply, False) == b"*3\r\n$1\r\nk\r\n$1\r\nb\r\n$1\r\n2\r\n"
    assert run(session, "ZRANGE", "k", "0", "-1") == b"*1\r\n$1\r\na\r\n"


def test_blocked_client_times_out_in_virtual_time(session):
    node = session.node
    block = run(session, "BZPOPMIN", "k", "0.25")
    node.blocking.block(session, [b"BZPOPMIN", b"k", b"0.25"], block, node.now_ms)
    node.blocking.expire(NOW_MS + 249)
    assert not node.blocking.released
    node.blocking.expire(NOW_MS + 250)
    assert node.blocking.released == [(session, NULL_ARRAY)]


def test_blocking_pops_answer_at_once_in_multi(session):
    run(session, "MULTI")
    run(session, "BZPOPMIN", "k", "0")
    assert run(session, "EXEC") == b"*1\r\n*-1\r\n"


@pytest.mark.parametrize(
    ("timeout", "error"),
    [
        ("abc", "ERR timeout is not a float or out of range"),
        ("-1", "ERR timeout is negative"),
        ("-0.00101", "ERR timeout is negative"),
        ("inf", "ERR timeout is negative"),
        ("1e30", "ERR timeout is negative"),
    ],
)
def test_blocking_timeout_errors(session, timeout, error):
    assert run(session, "BZPOPMIN", "k", timeout) == b"-" + error.encode() + b"\r\n"


def test_zrandmember_distinctness(session):
    run(session, "ZADD", "k", *[x for i in range(300) for x in (str(i), "m%d" % i)])
    for count in (5, 99, 101, 299):
        reply = execute(session, [b"ZRANDMEMBER", b"k", b"%d" % count])
        assert len(reply) == count == len(set(reply))
    repeated = execute(session, [b"ZRANDMEMBER", b"k", b"-1000"])
    assert len(repeated) == 1000 and len(set(repeated)) < 1000
    every = execute(session, [b"ZRANDMEMBER", b"k", b"300"])
    assert every == [b"m%d" % i for i in range(299, -1, -1)]  # from the tail, as Redis does


def test_resp3_withscores_are_pairs(session):
    session.resp3 = True
    run(session, "ZADD", "k", "1", "a", "-0", "b")
    assert execute(session, [b"ZRANGE", b"k", b"0", b"-1", b"WITHSCORES"]) == [
        [b"b", Double(0.0)],
        [b"a", Double(1.0)],
    ]
    assert run(session, "ZPOPMIN", "k") == b"*2\r\n$1\r\nb\r\n,0\r\n"
    assert run(session, "ZPOPMIN", "k", "1") == b"*1\r\n*2\r\n$1\r\na\r\n,1\r\n"
