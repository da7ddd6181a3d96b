"""Hashes in-process: encodings, memory accounting, the scan cursor, and RDB payloads pinned to
bytes redis-server 7.0.15 produced."""

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
from node.types import hashes
from node.types.hashes import Hash, ScanIndex, next_cursor
from node.types.listpack import build_listpack as listpack_blob
from node.types.listpack import decode_listpack as listpack_elements
from tests.support.nodes import make_node

NOW = 1_700_000_000_000

# DUMP replies of redis-server 7.0.15 (rdbcompression yes).
REDIS_DUMP_SMALL = (  # HSET h6 x y
    b"\x10\r\r\x00\x00\x00\x02\x00\x81x\x02\x81y\x02\xff\n\x00\xcf@.\xd8\xb6\xab\xac\x12"
)
REDIS_DUMP_INTEGERS = (  # HSET h5 a 1 b 2 c -1 d 200 e 5000 f 70000 g 3000000000 ...
    b"\x10\xc3@r@x\x1fx\x00\x00\x00\x1a\x00\x81a\x02\x01\x01\x81b\x02\x02\x01\x81c\x02\xdf"
    b"\xff\x02\x81d\x02\xc0\xc8\x02\x81e\x02\xf1\x12\x88\x13\x03\x81f\x02\xf2p\x11\x01\x04"
    b"\x81g\x02\xf4\x00^\xd0\xb2 1\x03\x00\t\x81h \x0c\x04\xa0rN\x18\t@\x0c\ri\x02\x85hello"
    b"\x06\x81j\x02\xf4\xff\x80\x00\x03\x7f\t\x81k #\x80\x00\x10\x80\t\x81l\x02\x8201\x03"
    b"\x81m\x02\x82-0\x03\xff\n\x00\x08\xb2\x7f\x1az\xcd\xd6\x1e"
)
INTEGERS_ARGS = [
    *("a", "1", "b", "2", "c", "-1", "d", "200", "e", "5000", "f", "70000"),
    *("g", "3000000000", "h", "10000000000000", "i", "hello"),
    *("j", "9223372036854775807", "k", "-9223372036854775808", "l", "01", "m", "-0"),
]


@pytest.fixture(autouse=True)
def _registered():
    """tests/unit/test_rdb.py registers a throwaway type under code 4 and removes it."""
    hashes.register_rdb()


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
    """The memory figure the keyspace would have if it were rebuilt from scratch."""
    db = session.db
    return sum(KEY_OVERHEAD_BYTES + len(k) + value_size(v) for k, v in db.data.items())


# -- encodings -----------------------------------------------------------------------------------


def test_listpack_until_a_limit_then_hashtable_for_good(session):
    session.node.config.values["hash-max-listpack-entries"] = "3"
    run(session, "HSET", "h", "a", "1", "b", "2", "c", "3")
    assert run(session, "OBJECT", "ENCODING", "h") == b"$8\r\nlistpack\r\n"
    run(session, "HSET", "h", "d", "4")
    assert run(session, "OBJECT", "ENCODING", "h") == b"$9\r\nhashtable\r\n"
    run(session, "HDEL", "h", "a", "b", "c")
    assert run(session, "OBJECT", "ENCODING", "h") == b"$9\r\nhashtable\r\n"


def test_long_argument_converts_before_any_field_is_set():
    value = Hash()
    value.set(b"a", b"1", 512, 64)
    value.convert_if_long([b"HSET", b"h", b"b", b"x" * 65], 2, 64)
    assert not value.listpack and list(value.fields) == [b"a"]


def test_insertion_order_is_kept_like_a_listpack(session):
    run(session, "HSET", "h", "c", "1", "a", "2", "b", "3")
    run(session, "HSET", "h", "a", "updated")
    run(session, "HDEL", "h", "c")
    run(session, "HSET", "h", "c", "back")
    assert run(session, "HKEYS", "h") == b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"


def test_hgetall_is_a_map_in_resp3(session):
    run(session, "HSET", "h", "f", "v")
    session.resp3 = True
    assert run(session, "HGETALL", "h") == b"%1\r\n$1\r\nf\r\n$1\r\nv\r\n"
    assert run(session, "HGETALL", "nokey") == b"%0\r\n"
    assert (
        run(session, "HRANDFIELD", "h", "1", "WITHVALUES") == b"*1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    )
    assert run(session, "HRANDFIELD", "nokey") == b"_\r\n"


def test_hincrbyfloat_uses_long_double_maths(session):
    assert run(session, "HINCRBYFLOAT", "h", "f", "10.5") == b"$4\r\n10.5\r\n"
    assert run(session, "HINCRBYFLOAT", "h", "f", "0.1") == b"$4\r\n10.6\r\n"
    assert run(session, "HINCRBYFLOAT", "h", "f", "-10.6") == b"$1\r\n0\r\n"
    assert run(session, "HINCRBYFLOAT", "h", "g", "inf").startswith(b"-ERR value is NaN")
    assert run(session, "HEXISTS", "h", "g") == b":0\r\n"


def test_copy_is_independent_and_keeps_encoding():
    value = Hash({b"a": b"1"}, listpack=False)
    twin = value.copy()
    twin.set(b"b", b"2", 512, 64)
    assert list(value.fields) == [b"a"] and not twin.listpack


# -- memory accounting ---------------------------------------------------------------------------


def test_memory_accounting_follows_every_write(session):
    rng = random.Random(5)
    for _ in range(400):
        key = rng.choice(["h1", "h2", "h3"])
        field = f"f{rng.randrange(8)}"
        op = rng.randrange(5)
        if op == 0:
            run(session, "HSET", key, field, "v" * rng.randrange(100))
        elif op == 1:
            run(session, "HDEL", key, field, f"f{rng.randrange(8)}")
        elif op == 2:
            run(session, "HINCRBY", key, "n", rng.randrange(-5, 5))
        elif op == 3:
            run(session, "HSETNX", key, field, "nx")
        else:
            run(session, "HINCRBYFLOAT", key, "x", "1.25")
        assert session.db.used_bytes == accounted(session)


def test_empty_hash_is_deleted(session):
    run(session, "HSET", "h", "a", "1", "b", "2")
    assert run(session, "HDEL", "h", "a", "b", "c") == b":2\r\n"
    assert b"h" not in session.db.data and session.db.used_bytes == 0


# -- the scan cursor -----------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [0, 1, 2, 5, 10])
def test_next_cursor_visits_every_bucket_once(bits):
    seen, v = [], 0
    while True:
        seen.append(v)
        v = next_cursor(v, bits)
        if v == 0:
            break
    assert sorted(seen) == list(range(1 << bits))


def test_scan_index_guarantee_across_resizes():
    """Keys present for the whole scan are returned even when the table grows and shrinks."""
    rng = random.Random(3)
    keys = {b"k%d" % i for i in range(300)}
    stable = set(keys)
    cursor, seen = 0, set()
    for step in range(10_000):
        cursor, found = ScanIndex(keys).scan(cursor, 7)
        seen.update(found)
        if cursor == 0:
            break
        if step % 2:
            extra = {b"n%d-%d" % (step, i) for i in range(rng.randrange(60))}
            keys |= extra
        else:
            doomed = set(rng.sample(sorted(keys - stable), min(len(keys - stable), 50)))
            keys -= doomed
            if step % 5 == 0 and len(stable) > 100:
                gone = set(rng.sample(sorted(stable), 20))
                stable -= gone
                keys -= gone
    assert cursor == 0 and stable <= seen


def test_indexes_stay_in_step_with_writes():
    """The HSCAN index and the HRANDFIELD picker are maintained, not rebuilt, on writes; the
    index is rebuilt at a new size once unbalanced, and the scan still finds stable fields."""
    rng = random.Random(11)
    value = Hash(listpack=False)
    for i in range(300):
        value.set(b"s%d" % i, b"v", 512, 64)
    value.random_field(rng)
    cursor, seen, step = 0, set(), 0
    while True:
        index = value.scan_index()
        cursor, found = index.scan(cursor, 5)
        seen.update(found)
        step += 1
        if step == 3:
            for i in range(8000):  # grows the table past 4x: rebuilt bigger
                value.set(b"g%d" % i, b"v", 512, 64)
        if step == 6:
            for i in range(8000):  # and back below 1/16th: rebuilt smaller
                value.delete(b"g%d" % i)
        value.set(b"n%d" % step, b"v", 512, 64)
        value.delete(b"n%d" % (step - 1))
        if cursor == 0:
            break
    assert {b"s%d" % i for i in range(300)} <= seen
    index = value.scan_index()
    assert index.count == len(value.fields)
    assert sorted(k for bucket in index.buckets.values() for k in bucket) == sorted(value.fields)
    picker = value.picker()
    assert sorted(picker.keys) == sorted(value.fields)
    assert all(picker.keys[i] == k for k, i in picker.pos.items())


def test_hscan_of_a_hashtable_returns_each_field_with_its_value(session):
    args = []
    for i in range(700):
        args += [f"f{i}", f"v{i}"]
    run(session, "HSET", "h", *args)
    cursor, found = b"0", {}
    while True:
        reply = execute(session, [b"HSCAN", b"h", cursor, b"COUNT", b"50"])
        cursor, items = reply  # type: ignore[misc]
        found.update(zip(items[::2], items[1::2], strict=True))
        if cursor == b"0":
            break
    assert found == {b"f%d" % i: b"v%d" % i for i in range(700)}


# -- RDB -----------------------------------------------------------------------------------------


def test_dump_matches_redis_bytes(session):
    run(session, "HSET", "h6", "x", "y")
    assert rdb.dump_payload(session.db.data[b"h6"]) == REDIS_DUMP_SMALL
    run(session, "HSET", "h5", *INTEGERS_ARGS)
    assert rdb.dump_payload(session.db.data[b"h5"]) == REDIS_DUMP_INTEGERS


def test_restore_of_redis_payload(session):
    assert run(session, "RESTORE", "r", "0", REDIS_DUMP_INTEGERS) == b"+OK\r\n"
    value = session.db.data[b"r"]
    assert isinstance(value, Hash) and value.listpack
    assert [x.encode() for x in INTEGERS_ARGS] == [b for pair in value.fields.items() for b in pair]


@pytest.mark.parametrize(
    "number",
    [0, 127, 128, -1, 4095, -4096, 4096, -4097, 32767, -32768, 32768, 2**23 - 1, -(2**23), 2**23]
    + [2**31 - 1, -(2**31), 2**31, 2**63 - 1, -(2**63)],
)
def test_listpack_integer_round_trip(number):
    text = b"%d" % number
    assert listpack_elements(listpack_blob([text, b"s" * 70, b"t" * 5000])) == [
        text,
        b"s" * 70,
        b"t" * 5000,
    ]


def test_hashtable_round_trip_and_limits(session):
    value = Hash({b"f%d" % i: b"v" for i in range(600)}, listpack=False)
    payload = rdb.dump_payload(value)
    assert payload[0] == hashes.RDB_TYPE_HASH
    loaded = rdb.load_payload(payload)
    assert isinstance(loaded, Hash) and loaded.fields == value.fields and not loaded.listpack
    small = rdb.dump_payload(Hash({b"a": b"1"}, listpack=False))
    assert rdb.load_payload(small).listpack  # type: ignore[attr-defined]
    config = Config()
    config.values["hash-max-listpack-entries"] = "0"
    assert not rdb.load_payload(small, config).listpack  # type: ignore[attr-defined]


def _ziplist(elements: list[bytes]) -> bytes:
    """A ziplist as Redis 6 wrote it (short strings and small integers only)."""
    body = b""
    previous = 0
    for element in elements:
        if element.isdigit() and int(element) <= 12:
            entry = bytes((previous, 0xF1 + int(element)))
        else:
            entry = bytes((previous, len(element))) + element
        body += entry
        previous = len(entry)
    total = 10 + len(body) + 1
    return total.to_bytes(4, "little") + (0).to_bytes(4, "little") + b"\x02\x00" + body + b"\xff"


def test_restore_of_a_ziplist_hash(session):
    blob = _ziplist([b"a", b"7", b"name", b"redis"])
    body = bytes((hashes.RDB_TYPE_HASH_ZIPLIST,)) + rdb.encode_string(blob) + b"\x09\x00"
    payload = body + rdb.crc64(body).to_bytes(8, "little")
    assert run(session, "RESTORE", "z", "0", payload) == b"+OK\r\n"
    assert (
        run(session, "HGETALL", "z") == b"*4\r\n$1\r\na\r\n$1\r\n7\r\n$4\r\nname\r\n$5\r\nredis\r\n"
    )


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x07\x00\x00\x00\x00\x00\xff",  # no pairs
        listpack_blob([b"a"]),  # odd
        listpack_blob([b"a", b"1", b"a", b"2"]),  # duplicate field
        listpack_blob([b"a", b"1"])[:-1] + b"\x00",  # no terminator
        b"\x0b\x00\x00\x00\x01\x00\xc1\xff",  # truncated entry
    ],
)
def test_restore_rejects_malformed_listpacks(session, blob):
    body = bytes((hashes.RDB_TYPE_HASH_LISTPACK,)) + rdb.encode_string(blob) + b"\x0a\x00"
    payload = body + rdb.crc64(body).to_bytes(8, "little")
    assert run(session, "RESTORE", "bad", "0", payload) == b"-ERR Bad data format\r\n"
    assert b"bad" not in session.db.data
