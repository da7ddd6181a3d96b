"""Whole-file RDB v10: save/load round trips for every type, in memory (the files crossing both
ways with a real redis-server are in tests/compat/test_rdb_file_redis.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from node import core, rdb
from node.config import Config
from node.protocol.resp import encode
from node.rdb_file import RdbError, load_rdb, load_rdb_info, save_rdb
from node.session import Session
from node.state import NodeState
from tests.support.nodes import make_node

NOW_MS = 1_790_000_000_000

LIBRARY = b"#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 7 end)"

# A mix covering every registered type and its encodings: int/raw/LZF strings, listpack and
# quicklist lists, intset/listpack/hashtable sets, listpack/skiplist zsets and hashes, HLL.
WRITES = [
    [b"SET", b"s:int", b"12345"],
    [b"SET", b"s:big", b"98765432109876543210"],
    [b"SET", b"s:raw", b"hello"],
    [b"SET", b"s:lzf", b"abc" * 100],
    [b"SET", b"s:empty", b""],
    [b"APPEND", b"s:appended", b"xyz"],
    [b"SETBIT", b"bits", b"1000", b"1"],
    [b"RPUSH", b"l:small", b"a", b"1", b"b"],
    [b"RPUSH", b"l:big", *[b"item-%d" % i for i in range(300)]],
    [b"SADD", b"set:int", b"1", b"2", b"300000"],
    [b"SADD", b"set:str", b"a", b"b", b"c"],
    [b"SADD", b"set:big", *[b"m%d" % i for i in range(200)]],
    [b"ZADD", b"z:small", b"1", b"a", b"2.5", b"b", b"-inf", b"c"],
    [b"ZADD", b"z:big", *[x for i in range(200) for x in (b"%d" % i, b"m%d" % i)]],
    [b"HSET", b"h:small", b"f1", b"v1", b"f2", b"22"],
    [b"HSET", b"h:big", *[x for i in range(600) for x in (b"f%d" % i, b"v%d" % i)]],
    [b"PFADD", b"hll", b"a", b"b", b"c"],
    [b"SET", b"ttl:key", b"v", b"PXAT", b"%d" % (NOW_MS + 50_000)],
    [b"SELECT", b"3"],
    [b"SET", b"db3", b"three"],
    [b"EXPIREAT", b"db3", b"%d" % (NOW_MS // 1000 + 100)],
]


def new_node(**config: str) -> tuple[NodeState, Session]:
    cfg = Config()
    for name, value in config.items():
        cfg.set(name, value, startup=True)
    node = make_node(cfg, now_ms=NOW_MS)
    return node, Session(node, 1)


def node_caller(node: NodeState) -> Callable[..., bytes]:
    """``dataset``'s call function over a node, without sockets."""
    session = Session(node, 99)

    def call(*args: bytes | str | int) -> bytes:
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return encode(core.execute(session, argv), False)

    return call


def run(session: Session, *argv: bytes) -> bytes:
    """The RESP2 bytes of the reply."""
    return encode(core.execute(session, list(argv)), False)


def snapshot(node: NodeState) -> dict[tuple[int, bytes], tuple[bytes, int | None]]:
    """Every key's DUMP payload and absolute expiry: equal snapshots mean equal datasets."""
    return {
        (db.id, key): (rdb.dump_payload(value), db.expires.get(key))
        for db in node.dbs
        for key, value in db.data.items()
    }


def populated() -> NodeState:
    node, session = new_node()
    for argv in WRITES:
        assert not run(session, *argv).startswith(b"-")
    run(session, b"FUNCTION", b"LOAD", LIBRARY)
    return node


def test_round_trip_every_type_ttl_db_and_functions() -> None:
    node = populated()
    data = save_rdb(node)
    assert data.startswith(b"REDIS0010")
    other, session = new_node()
    load_rdb(other, data)
    assert snapshot(other) == snapshot(node)
    assert len(snapshot(node)) == len(WRITES) - 2  # all but SELECT and EXPIREAT
    assert run(session, b"FCALL", b"myfunc", b"0") == b":7\r\n"
    # Encodings survive (OBJECT ENCODING reads the loaded value).
    assert run(session, b"OBJECT", b"ENCODING", b"set:int") == b"$6\r\nintset\r\n"
    assert run(session, b"OBJECT", b"ENCODING", b"z:big") == b"$8\r\nskiplist\r\n"
    assert run(session, b"OBJECT", b"ENCODING", b"h:big") == b"$9\r\nhashtable\r\n"


def test_aux_fields_and_checksum() -> None:
    node = populated()
    data = save_rdb(node)
    info = load_rdb_info(new_node()[0], data)
    assert info.aux[b"redis-ver"] == b"7.0.15"
    assert info.aux[b"redis-bits"] == b"64"
    assert info.aux[b"ctime"] == b"%d" % (NOW_MS // 1000)
    assert info.aux[b"aof-base"] == b"0"
    assert info.libraries == [LIBRARY]
    assert data[-9] == 0xFF
    assert int.from_bytes(data[-8:], "little") == rdb.crc64(data[:-8])
    corrupt = bytearray(data)
    corrupt[20] ^= 0x01
    with pytest.raises(RdbError):
        load_rdb(new_node()[0], bytes(corrupt))
    with pytest.raises(RdbError):
        load_rdb(new_node()[0], b"RUBBISH00" + data[9:])
    with pytest.raises(RdbError):
        load_rdb(new_node()[0], data[:-20])


def test_checksum_zero_is_accepted_and_no_compression() -> None:
    node, session = new_node(rdbchecksum="no", rdbcompression="no")
    run(session, b"SET", b"k", b"a" * 200)
    data = save_rdb(node)
    assert data.endswith(b"\xff" + b"\x00" * 8)
    assert b"a" * 200 in data
    other = new_node()[0]
    load_rdb(other, data)
    assert other.dbs[0].data[b"k"] == b"a" * 200


def test_expired_keys_skipped_by_a_master_only() -> None:
    node, session = new_node()
    run(session, b"SET", b"gone", b"v", b"PXAT", b"%d" % (NOW_MS + 10))
    run(session, b"SET", b"kept", b"v")
    data = save_rdb(node)
    later, _ = new_node()
    later.now_ms = NOW_MS + 1000
    info = load_rdb_info(later, data)
    assert (info.keys_loaded, info.expired_skipped) == (1, 1)
    replica, _ = new_node()
    replica.now_ms = NOW_MS + 1000
    load_rdb(replica, data, skip_expired=False)
    assert set(replica.dbs[0].data) == {b"gone", b"kept"}
