"""Whole-file RDB v10: save/load round trips for every type, and files crossing both ways between
rcsim and a private redis-server 7.0.15 (SAVE there, load here; save here, start redis on it)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from node import core, rdb
from node.config import Config
from node.protocol.resp import encode
from node.rdb_file import RdbError, load_rdb, load_rdb_info, save_rdb
from node.session import Session
from node.state import NodeState
from tests.support.dataset import dataset
from tests.support.procs import start_redis
from tests.support.rawclient import RawClient

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
    node = NodeState(cfg, now_ms=NOW_MS)
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


# -- against a real redis-server -----------------------------------------------------------

needs_redis = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")


def populated_for_real_clock() -> NodeState:
    """``populated()`` with its TTLs an hour ahead of the real clock (redis-server's)."""
    node = populated()
    for db in node.dbs:
        for key in list(db.expires):
            db.set_expire(key, int(time.time() * 1000) + 3_600_000)
    return node


def _wait_loaded(client: RawClient) -> None:
    deadline = time.monotonic() + 10
    while b"loading:1" in client.call("INFO", "persistence") and time.monotonic() < deadline:
        time.sleep(0.05)


@needs_redis
def test_load_a_file_saved_by_redis_server() -> None:
    node = populated_for_real_clock()
    server = start_redis()
    try:
        with RawClient(server.port) as client:
            keys: list[tuple[int, bytes]] = []
            for db in node.dbs:
                if not db.data:
                    continue
                client.call("SELECT", db.id)
                for key, value in db.data.items():
                    ttl = db.expires.get(key)
                    args = ["RESTORE", key, ttl or 0, rdb.dump_payload(value)]
                    if ttl is not None:
                        args.append("ABSTTL")
                    assert client.call(*args) == b"+OK\r\n"
                    keys.append((db.id, key))
            client.call("SELECT", 0)
            client.call("SET", "expired", "x", "PXAT", 1000)  # long gone: not loaded by a master
            assert client.call("FUNCTION", "LOAD", LIBRARY).startswith(b"$")
            assert client.call("SAVE") == b"+OK\r\n"
            theirs = {}
            for db_id, key in keys:
                client.call("SELECT", db_id)
                theirs[(db_id, key)] = client.call("DUMP", key)
        data = (Path(server.workdir) / "dump.rdb").read_bytes()
    finally:
        server.stop()
    loaded, session = new_node()
    loaded.now_ms = int(time.time() * 1000)
    info = load_rdb_info(loaded, data)
    assert info.aux[b"redis-ver"] == b"7.0.15"
    assert info.keys_loaded == len(keys)
    for db_id, key in keys:
        value = loaded.dbs[db_id].data[key]
        payload = rdb.dump_payload(value)
        assert theirs[(db_id, key)] == b"$%d\r\n%s\r\n" % (len(payload), payload), key
        assert loaded.dbs[db_id].expires.get(key) == node.dbs[db_id].expires.get(key)
    assert run(session, b"FCALL", b"myfunc", b"0") == b":7\r\n"


@needs_redis
def test_redis_server_loads_our_file() -> None:
    node = populated_for_real_clock()
    data = save_rdb(node)
    server = start_redis()
    try:
        with RawClient(server.port) as client:
            assert client.call("FUNCTION", "LIST") == b"*0\r\n"
        server.stop()
        server.workdir.mkdir(exist_ok=True)
        work = server.workdir
        (work / "dump.rdb").write_bytes(data)
        server = start_redis("--dir", str(work))
        with RawClient(server.port) as client:
            _wait_loaded(client)
            theirs = dataset(client.call)
            assert theirs == dataset(node_caller(node))
            assert len(theirs) == len(WRITES) - 2
            client.call("SELECT", 0)
            assert client.call("FCALL", "myfunc", 0) == b":7\r\n"
    finally:
        server.stop()
