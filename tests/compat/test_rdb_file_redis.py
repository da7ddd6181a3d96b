"""Whole-file RDB v10 against a private redis-server 7.0.15: a file it wrote with SAVE loads here
with identical DUMP payloads and TTLs, and it starts on a file we wrote with the same dataset."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from node import rdb
from node.rdb_file import load_rdb_info, save_rdb
from node.state import NodeState
from tests.support.dataset import dataset
from tests.support.procs import start_redis
from tests.support.rawclient import RawClient
from tests.unit.test_rdb_file import LIBRARY, WRITES, new_node, node_caller, populated, run

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
