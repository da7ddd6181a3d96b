"""The list value and its commands without sockets: the quicklist model, listpack and ziplist
codecs, DUMP/RESTORE, memory accounting, config capture and expiry in virtual time.

The model is checked against itself (every node's tracked size equals the listpack really
built from its elements) under random operations; its agreement with Redis's own layout is
checked differentially in ``tests/compat/test_lists_diff.py``.
"""

from __future__ import annotations

import random

import pytest

from node import rdb
from node.config import Config
from node.core import execute
from node.keyspace import KEY_OVERHEAD_BYTES, value_size
from node.protocol.resp import NULL_ARRAY
from node.session import Session
from node.state import NodeState
from node.types.listpack import (
    build_listpack,
    decode_listpack,
    decode_ziplist,
    encode_entry,
    entry_size,
)
from node.types.quicklist import ListValue
from tests.support.nodes import make_node

NOW = 1_700_000_000_000


@pytest.fixture
def node() -> NodeState:
    return make_node(Config(), rng=random.Random(5), now_ms=NOW)


@pytest.fixture
def ctx(node: NodeState) -> Session:
    return Session(node, 1)


def run(ctx: Session, *args: str | bytes) -> object:
    return execute(ctx, [a if isinstance(a, bytes) else a.encode() for a in args])


def check_model(value: ListValue) -> None:
    """Tracked node sizes are the real listpack sizes; counts add up; no empty node."""
    total = 0
    elements = list(value.node_elements())
    assert [len(e) for e in elements] == [n[0] for n in value.nodes]
    for node_elements, (count, size) in zip(elements, value.nodes, strict=True):
        assert count > 0
        assert len(build_listpack(node_elements)) == size
        total += size
    assert total == value.lp_bytes
    assert sum(n[0] for n in value.nodes) == len(value.items)


# -- listpack entries --------------------------------------------------------------------------

ENTRY_SAMPLES = [
    b"0",
    b"127",
    b"128",
    b"-1",
    b"-4096",
    b"4095",
    b"-4097",
    b"4096",
    b"32767",
    b"-32768",
    b"32768",
    b"8388607",
    b"-8388608",
    b"8388608",
    b"2147483647",
    b"-2147483648",
    b"2147483648",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"9223372036854775808",  # too big: a string
    b"-0",
    b"007",
    b"+1",
    b"",
    b"a",
    b"x" * 63,
    b"x" * 64,
    b"x" * 125,  # encoded 127 bytes: 1-byte back-length
    b"x" * 126,  # encoded 128 bytes: 2-byte back-length
    b"x" * 4095,
    b"x" * 4096,
    b"x" * 16400,
]


@pytest.mark.parametrize("elem", ENTRY_SAMPLES, ids=lambda e: repr(e[:12]) + f"/{len(e)}")
def test_entry_size_matches_encoding(elem):
    assert entry_size(elem) == len(encode_entry(elem))


def test_listpack_round_trip():
    lp = build_listpack(ENTRY_SAMPLES)
    assert int.from_bytes(lp[:4], "little") == len(lp)
    assert int.from_bytes(lp[4:6], "little") == len(ENTRY_SAMPLES)
    assert decode_listpack(lp) == ENTRY_SAMPLES


def test_known_listpack_bytes():
    """Redis 7.0.15's DUMP of RPUSH l a b c carries exactly this listpack."""
    assert build_listpack([b"a", b"b", b"c"]) == bytes.fromhex("100000000300816102816202816302ff")


@pytest.mark.parametrize(
    "broken",
    [
        b"",
        b"\x07\x00\x00\x00\x00\x00",  # no terminator
        b"\x08\x00\x00\x00\x01\x00\x81\xff",  # entry runs into the end
        b"\x09\x00\x00\x00\x01\x00\xf6\x01\xff",  # reserved encoding
        b"\x07\x00\x00\x01\x00\x00\xff",  # wrong total length
    ],
)
def test_bad_listpacks_are_refused(broken):
    with pytest.raises(rdb.RdbError):
        decode_listpack(broken)


def test_ziplist_decoding_covers_every_encoding():
    entries = [
        bytes((0x00, 0x01)) + b"a",  # 6-bit string
        bytes((0x03, 0x40, 0x41)) + b"y" * 65,  # 14-bit string
        bytes((0x44, 0xFE, 0x85)),  # int8 -123
        bytes((0x03, 0xC0)) + (-300).to_bytes(2, "little", signed=True),
        bytes((0x04, 0xF0)) + (70000).to_bytes(3, "little", signed=True),
        bytes((0x05, 0xD0)) + (-(2**31)).to_bytes(4, "little", signed=True),
        bytes((0x06, 0xE0)) + (2**40).to_bytes(8, "little", signed=True),
        bytes((0x0A, 0xF1)),  # immediate 0
        bytes((0x02, 0xFD)),  # immediate 12
    ]
    body = b"".join(entries)
    zl = (11 + len(body)).to_bytes(4, "little") + b"\x00" * 4 + b"\x09\x00" + body + b"\xff"
    assert decode_ziplist(zl) == [
        b"a",
        b"y" * 65,
        b"-123",
        b"-300",
        b"70000",
        b"-2147483648",
        b"1099511627776",
        b"0",
        b"12",
    ]
    with pytest.raises(rdb.RdbError):
        decode_ziplist(zl[:-1] + b"\x00")


# -- the node model ----------------------------------------------------------------------------


def test_pushes_fill_8k_nodes():
    """131 entries of 60 bytes per node with the default fill (measured on Redis 7.0.15:
    the size estimate adds 8 bytes per insert)."""
    value = ListValue()
    for _ in range(300):
        value.push_tail(b"x" * 60)
    assert [n[0] for n in value.nodes] == [131, 131, 38]
    head_first = ListValue()
    for _ in range(300):
        head_first.push_head(b"x" * 60)
    assert [n[0] for n in head_first.nodes] == [38, 131, 131]
    check_model(value)


@pytest.mark.parametrize(
    ("fill", "per_node"), [(0, 1), (1, 1), (5, 5), (-1, 65), (-5, 1056), (-9, 1056)]
)
def test_fill_settings(fill, per_node):
    value = ListValue(fill)
    for _ in range(300):
        value.push_tail(b"y" * 60)
    assert value.nodes[0][0] == min(per_node, 300)


def test_count_limited_nodes_stay_under_8k():
    value = ListValue(1000)
    for _ in range(300):
        value.push_tail(b"z" * 100)
    assert max(n[1] for n in value.nodes) <= 8192
    check_model(value)


@pytest.mark.parametrize("fill", [-2, -1, 3, 0])
@pytest.mark.parametrize("seed", range(5))
def test_model_tracks_real_sizes_under_random_operations(fill, seed):
    rng = random.Random(seed)
    value = ListValue(fill)
    mirror: list[bytes] = []

    def element() -> bytes:
        if rng.random() < 0.4:
            return b"%d" % rng.randint(-(10**12), 10**12)
        return b"e" * rng.choice([1, 10, 60, 100, 700])

    for _ in range(400):
        op = rng.random()
        if op < 0.25 or not mirror:
            elem = element()
            value.push_tail(elem)
            mirror.append(elem)
        elif op < 0.45:
            elem = element()
            value.push_head(elem)
            mirror.insert(0, elem)
        elif op < 0.55:
            head = rng.random() < 0.5
            assert value.pop(head) == (mirror.pop(0) if head else mirror.pop())
        elif op < 0.65:
            count, head = rng.randint(1, 40), rng.random() < 0.5
            popped = value.pop_many(count, head)
            expected = mirror[:count] if head else mirror[::-1][:count]
            if head:
                del mirror[: len(expected)]
            else:
                del mirror[len(mirror) - len(expected) :]
            assert popped == expected
        elif op < 0.8:
            index, elem, after = rng.randrange(len(mirror)), element(), rng.random() < 0.5
            value.insert(index, elem, after)
            mirror.insert(index + 1 if after else index, elem)
        elif op < 0.88:
            index, elem = rng.randrange(len(mirror)), element()
            value.replace(index, elem)
            mirror[index] = elem
        elif op < 0.94:
            target = mirror[rng.randrange(len(mirror))]
            indices = [i for i, e in enumerate(mirror) if e == target]
            value.remove_indices(indices, entry_size(target))
            mirror = [e for e in mirror if e != target]
        else:
            left, right = rng.randint(0, 10), rng.randint(0, 10)
            left, right = min(left, len(mirror)), min(right, max(0, len(mirror) - left))
            value.trim(left, right)
            mirror = mirror[left : len(mirror) - right]
        assert list(value.items) == mirror
        check_model(value)


def test_range_walks_from_either_end():
    value = ListValue()
    for i in range(1000):
        value.push_tail(b"%d" % i)
    assert value.range(0, 2) == [b"0", b"1", b"2"]
    assert value.range(997, 999) == [b"997", b"998", b"999"]
    assert value.range(400, 400) == [b"400"]


def test_copy_is_independent():
    value = ListValue()
    for i in range(500):
        value.push_tail(b"v%d" % i)
    twin = value.copy()
    twin.push_head(b"new")
    value.pop(True)
    assert list(twin.items)[:2] == [b"new", b"v0"]
    assert value.items[0] == b"v1"
    check_model(value)
    check_model(twin)


# -- DUMP / RESTORE ----------------------------------------------------------------------------


def test_dump_payload_matches_redis():
    """``RPUSH l a b c`` then DUMP on Redis 7.0.15."""
    value = ListValue()
    for elem in (b"a", b"b", b"c"):
        value.push_tail(elem)
    expected = "12010210100000000300816102816202816302ff0a00c818b90c9533529e"
    assert rdb.dump_payload(value).hex() == expected


def test_rdb_round_trip_keeps_nodes():
    value = ListValue(-1)
    for i in range(2000):
        value.push(b"item-%d" % i if i % 3 else b"%d" % i, head=i % 2 == 0)
    loaded = rdb.load_payload(rdb.dump_payload(value))
    assert isinstance(loaded, ListValue)
    assert list(loaded.items) == list(value.items)
    assert [list(n) for n in loaded.nodes] == [list(n) for n in value.nodes]
    assert loaded.size_limit is None  # adopts the config at its first write
    for compress in (True, False):
        assert rdb.dump_payload(loaded, compress) == rdb.dump_payload(value, compress)


def test_compressed_interior_nodes_round_trip():
    value = ListValue(-2, depth=1)
    for i in range(3000):
        value.push_tail(b"repetitive-%d" % (i % 10))
    payload = rdb.dump_payload(value, compress=False)
    assert payload.count(b"\x02\xc3") == len(value.nodes) - 2  # interior nodes, LZF
    assert list(rdb.load_payload(payload).items) == list(value.items)  # type: ignore[attr-defined]


def test_restored_list_adopts_config_on_first_write(node, ctx):
    node.config.set("list-max-listpack-size", "2")
    run(ctx, "RPUSH", "l", "a", "b", "c")
    payload = run(ctx, "DUMP", "l")
    node.config.set("list-max-listpack-size", "3")
    run(ctx, "RESTORE", "r", "0", payload)  # type: ignore[arg-type]
    restored = ctx.db.data[b"r"]
    assert [n[0] for n in restored.nodes] == [2, 1]  # type: ignore[attr-defined]
    run(ctx, "RPUSH", "r", "d", "e", "f")
    assert [n[0] for n in restored.nodes] == [2, 3, 1]  # type: ignore[attr-defined]


# -- commands in virtual time ------------------------------------------------------------------


def test_config_is_captured_when_the_list_is_created(node, ctx):
    run(ctx, "RPUSH", "old", *["v"] * 10)
    node.config.set("list-max-listpack-size", "4")
    run(ctx, "RPUSH", "new", *["v"] * 10)
    run(ctx, "RPUSH", "old", *["v"] * 10)
    assert [n[0] for n in ctx.db.data[b"new"].nodes] == [4, 4, 2]  # type: ignore[attr-defined]
    assert [n[0] for n in ctx.db.data[b"old"].nodes] == [20]  # type: ignore[attr-defined]


def test_memory_estimate_follows_every_change(node, ctx):
    rng = random.Random(1)
    for _ in range(300):
        elements = [b"%d" % rng.randint(0, 10**6), b"s" * rng.randint(0, 200)]
        command = rng.choice(
            [
                ("RPUSH", "a", *elements),
                ("LPUSH", "b", *elements),
                ("LPOP", "a", "3"),
                ("RPOP", "b"),
                ("LMOVE", "a", "b", "LEFT", "RIGHT"),
                ("LTRIM", "b", "1", "-2"),
                ("LINSERT", "a", "BEFORE", elements[0], "x"),
                ("LSET", "b", "0", "y" * 90),
                ("LREM", "a", "0", "x"),
                ("RPOPLPUSH", "b", "b"),
                ("LMPOP", "2", "a", "b", "RIGHT", "COUNT", "2"),
            ]
        )
        run(ctx, *command)
        db = ctx.db
        expected = sum(KEY_OVERHEAD_BYTES + len(k) + value_size(v) for k, v in db.data.items())
        assert db.used_bytes == expected


def test_expired_list_is_gone_for_pushes_and_blocking(node, ctx):
    run(ctx, "RPUSH", "l", "a")
    run(ctx, "PEXPIRE", "l", "100")
    node.now_ms = NOW + 101
    assert run(ctx, "LLEN", "l") == 0
    run(ctx, "RPUSH", "l", "b")
    assert run(ctx, "PTTL", "l") == -1
    run(ctx, "PEXPIRE", "l", "100")
    node.now_ms = NOW + 300
    blocked = run(ctx, "BLPOP", "l", "0")
    assert type(blocked).__name__ == "Block"
    assert run(ctx, "EXISTS", "l") == 0


def test_watch_sees_list_writes(node, ctx):
    """LTRIM always counts as a write (signalModifiedKey), LREM/LINSERT only when they
    change something."""
    other = Session(node, 2)
    run(ctx, "RPUSH", "l", "a", "b")
    for command, touches in (
        (("LREM", "l", "0", "zz"), False),
        (("LINSERT", "l", "BEFORE", "zz", "x"), False),
        (("LTRIM", "l", "0", "-1"), True),
        (("LSET", "l", "0", "a"), True),
        (("RPUSHX", "l", "c"), True),
    ):
        run(ctx, "WATCH", "l")
        run(other, *command)
        run(ctx, "MULTI")
        run(ctx, "PING")
        assert (run(ctx, "EXEC") is NULL_ARRAY) is touches, command


def test_lists_wake_blocked_clients_and_strings_do_not(node, ctx):
    assert ListValue.wakes_blocked is True
    other = Session(node, 2)
    block = run(other, "BLPOP", "k", "0")  # what a connection parks on
    node.blocking.block(other, [b"BLPOP", b"k", b"0"], block, NOW)  # type: ignore[arg-type]
    run(ctx, "SET", "k", "v")
    assert not node.blocking.ready
    run(ctx, "DEL", "k")
    run(ctx, "LPUSH", "k", "v")
    assert node.blocking.ready == [(ctx.db, b"k")]
