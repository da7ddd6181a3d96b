"""Replication between real processes, differential against redis-server 7.0.15:

1. an rcsim replica of a real redis-server master (disk and diskless ``$EOF:`` transfers) holds
   exactly the master's data, also after link drops resynced with ``+CONTINUE``;
2. a real redis-server replica of an rcsim master full-syncs from our RDB and follows our
   stream (so our RDB and our stream are what Redis expects);
3. rcsim master + rcsim replica: writes, expiry as DEL, WAIT, READONLY, partial resync after a
   short disconnect, full resync after the replid changed.

Datasets are compared through commands (``tests.support.dataset``): type, encoding, value and
absolute expiry of every key in every database.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator

import pytest

from tests.support.dataset import dataset
from tests.support.procs import ServerProcess, start_rcsim, start_redis
from tests.support.rawclient import RawClient
from tests.support.waiting import wait_for

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")

DEADLINE_S = 15.0
LIBRARY = (
    "#!lua name=lib\nredis.register_function{function_name='f', "
    "callback=function() return 1 end, flags={'no-writes'}}"
)


def info_field(client: RawClient, section: str, name: str) -> str:
    text = client.call("INFO", section).decode()
    match = re.search(rf"^{re.escape(name)}:(.*)\r$", text, re.M)
    return match.group(1) if match else ""


def replica_client_id(master: RawClient) -> str:
    """The id of the (only) replica connection in the master's CLIENT LIST: the client whose
    last command is REPLCONF (its ACKs)."""
    text = master.call("CLIENT", "LIST").decode()
    ids = [
        re.search(r"id=(\d+)", line).group(1)
        for line in text.splitlines()
        if "cmd=replconf" in line
    ]  # type: ignore[union-attr]
    assert len(ids) == 1, text
    return ids[0]


def write_mix(client: RawClient, tag: str) -> None:
    """Writes of every type, TTLs, several databases, commands Redis rewrites for the stream."""
    client.call("SET", f"s:{tag}", "hello")
    client.call("SET", f"n:{tag}", "10")
    client.call("INCRBY", f"n:{tag}", "5")
    client.call("INCRBYFLOAT", f"f:{tag}", "1.5")
    client.call("APPEND", f"s:{tag}", " world")
    client.call("SET", f"ttl:{tag}", "v", "EX", "1000")
    client.call("PEXPIRE", f"n:{tag}", "900000")
    client.call("RPUSH", f"l:{tag}", *[f"i{i}" for i in range(200)])
    client.call("LPOP", f"l:{tag}")
    client.call("SADD", f"set:{tag}", "1", "2", "3")
    client.call("SADD", f"sets:{tag}", *[f"m{i}" for i in range(150)])
    client.call("SPOP", f"sets:{tag}")
    client.call("ZADD", f"z:{tag}", "1", "a", "2", "b", "3.5", "c")
    client.call("ZINCRBY", f"z:{tag}", "10", "a")
    client.call("HSET", f"h:{tag}", "f1", "v1", "f2", "2")
    client.call("HINCRBYFLOAT", f"h:{tag}", "f2", "0.25")
    client.call("PFADD", f"hll:{tag}", "a", "b", "c")
    client.call("SETBIT", f"bits:{tag}", "77", "1")
    client.call("SELECT", "5")
    client.call("SET", f"db5:{tag}", "five")
    client.call("SELECT", "0")
    client.call("DEL", f"gone:{tag}")


def same_data(master: RawClient, replica: RawClient) -> bool:
    return dataset(master.call) == dataset(replica.call)


def wait_synced(master: RawClient, replica: RawClient) -> None:
    wait_for(
        "the replica to hold the master's data",
        lambda: same_data(master, replica),
        DEADLINE_S,
        step=0.05,
    )
    assert dataset(master.call), "nothing was replicated"


@pytest.fixture
def stop_later() -> Iterator[list[ServerProcess]]:
    procs: list[ServerProcess] = []
    yield procs
    for proc in procs:
        proc.stop()


# -- 1. rcsim replica of a real redis-server master ---------------------------------------------


@pytest.mark.parametrize("diskless", ["no", "yes"])
def test_rcsim_replica_of_redis_master(diskless: str, stop_later: list) -> None:
    master = start_redis("--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "0")
    stop_later.append(master)
    with RawClient(master.port) as m:
        write_mix(m, "before")
        m.call("FUNCTION", "LOAD", LIBRARY)
        replica = start_rcsim("--replicaof", "127.0.0.1", str(master.port))
        stop_later.append(replica)
        with RawClient(replica.port) as r:
            wait_synced(m, r)
            assert r.call("FCALL_RO", "f", "0") == b":1\r\n"
            write_mix(m, "live")
            # Expiry reaches the replica as the master's DEL.
            m.call("SET", "short", "v", "PX", "150")
            wait_synced(m, r)
            wait_for(
                "the key to expire",
                lambda: m.call("EXISTS", "short") == b":0\r\n",
                DEADLINE_S,
                step=0.05,
            )
            # DBSIZE counts a replica's logically expired keys until the master's DEL comes.
            wait_for(
                "the expired key's DEL",
                lambda: r.call("DBSIZE") == m.call("DBSIZE"),
                DEADLINE_S,
                step=0.05,
            )
            assert r.call("SET", "x", "y").startswith(b"-READONLY")
            assert info_field(m, "stats", "sync_full") == "1"
            # The replica drops its master link: it comes back with a partial resync, and the
            # writes made meanwhile arrive from the backlog.
            # The stream was in db 5 when the link broke: it goes on there without a SELECT.
            with RawClient(master.port) as m5:
                m5.call("SELECT", "5")
                m5.call("SET", "in-db5", "1")
                wait_for("the db-5 write", lambda: same_data(m, r), DEADLINE_S, step=0.05)
                assert r.call("CLIENT", "KILL", "TYPE", "master") == b":1\r\n"
                m5.call("SET", "in-db5-while-down", "1")
            write_mix(m, "while-down")
            wait_for(
                "+CONTINUE",
                lambda: info_field(m, "stats", "sync_partial_ok") == "1",
                DEADLINE_S,
                step=0.05,
            )
            wait_synced(m, r)
            # The master drops the replica: partial resync again.
            m.call("CLIENT", "KILL", "TYPE", "replica")
            write_mix(m, "after-kill")
            wait_for(
                "+CONTINUE",
                lambda: info_field(m, "stats", "sync_partial_ok") == "2",
                DEADLINE_S,
                step=0.05,
            )
            wait_synced(m, r)
            assert info_field(m, "stats", "sync_full") == "1"
            # Acks: the master sees the replica's offset catch up with its own.
            offset = info_field(m, "replication", "master_repl_offset")
            wait_for(
                "the replica's ACK of the master's offset",
                lambda: f"offset={offset}," in info_field(m, "replication", "slave0"),
                DEADLINE_S,
                step=0.05,
            )


def test_rcsim_replica_authenticates_with_masterauth(stop_later: list) -> None:
    master = start_redis("--requirepass", "s3cret", "--repl-diskless-sync-delay", "0")
    stop_later.append(master)
    with RawClient(master.port) as m:
        assert m.call("AUTH", "s3cret") == b"+OK\r\n"
        write_mix(m, "auth")
        replica = start_rcsim(
            "--replicaof", "127.0.0.1", str(master.port), "--masterauth", "s3cret"
        )
        stop_later.append(replica)
        with RawClient(replica.port) as r:
            wait_synced(m, r)


# -- 2. a real redis-server replica of an rcsim master ------------------------------------------


def test_redis_replica_of_rcsim_master(stop_later: list) -> None:
    master = start_rcsim()
    stop_later.append(master)
    with RawClient(master.port) as m:
        write_mix(m, "before")
        m.call("FUNCTION", "LOAD", LIBRARY)
        replica = start_redis("--replicaof", "127.0.0.1", str(master.port))
        stop_later.append(replica)
        with RawClient(replica.port) as r:
            # The full sync: Redis loaded our RDB (all types, TTLs, db 5, the library).
            wait_synced(m, r)
            assert r.call("FCALL_RO", "f", "0") == b":1\r\n"
            # Then it follows our stream (SELECT, rewritten commands, expiry as DEL).
            write_mix(m, "live")
            m.call("SET", "short", "v", "PX", "150")
            wait_synced(m, r)
            wait_for(
                "the key to expire",
                lambda: m.call("EXISTS", "short") == b":0\r\n",
                DEADLINE_S,
                step=0.05,
            )
            wait_for(
                "the expired key's DEL",
                lambda: r.call("DBSIZE") == m.call("DBSIZE"),
                DEADLINE_S,
                step=0.05,
            )
            assert info_field(r, "replication", "master_link_status") == "up"
            # WAIT: Redis answers our REPLCONF GETACK with its offset.
            m.call("SET", "acked", "1")
            assert m.call("WAIT", "1", "2000") == b":1\r\n"
            # We drop the replica: it resyncs partially from our backlog.
            listing = m.call("CLIENT", "LIST", "TYPE", "replica").decode()
            assert f"id={replica_client_id(m)} " in listing and " flags=S " in listing, listing
            assert m.call("CLIENT", "KILL", "TYPE", "replica") == b":1\r\n"
            write_mix(m, "while-down")
            wait_for(
                "a partial resync",
                lambda: "Master accepted a Partial Resynchronization" in replica.log_text(),
                DEADLINE_S,
                step=0.05,
            )
            wait_synced(m, r)
            assert replica.log_text().count("Full resync from master") == 1


def test_master_pings_replicas_and_drops_silent_ones(stop_later: list) -> None:
    """A hand-driven replica that never ACKs: it gets the RDB (no CRLF after it), then a PING
    every ``repl-ping-replica-period``, and is dropped after ``repl-timeout`` (replicationCron)."""
    master = start_rcsim("--repl-ping-replica-period", "1", "--repl-timeout", "2")
    stop_later.append(master)
    with RawClient(master.port) as m, RawClient(master.port) as fake:
        m.call("SET", "k", "v")
        assert fake.call("REPLCONF", "listening-port", "1234") == b"+OK\r\n"
        fake.send(b"PSYNC ? -1\r\n")
        head = fake._line().split()
        assert head[0] == b"+FULLRESYNC" and len(head[1]) == 40
        offset = int(head[2])
        size = int(fake._line()[1:])
        assert fake._exact(size).startswith(b"REDIS0010")
        assert "ip=127.0.0.1,port=1234,state=online" in info_field(m, "replication", "slave0")
        m.call("SET", "k2", "v2")
        stream = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$2\r\nv2\r\n"
        ping = b"*1\r\n$4\r\nping\r\n"
        started = time.monotonic()
        got = fake._exact(len(stream) + len(ping))
        assert got == stream + ping
        assert time.monotonic() - started < 3
        assert int(info_field(m, "replication", "master_repl_offset")) >= offset + len(got)
        rest = b""
        deadline = time.monotonic() + 8
        while not rest.endswith(b"<EOF>") and time.monotonic() < deadline:
            rest += fake.read_available(quiet=0.5)
        assert rest.endswith(b"<EOF>"), rest
        assert set(rest[:-5].split(ping)) <= {b""}  # only PINGs until the drop
        assert info_field(m, "replication", "connected_slaves") == "0"


# -- 3. rcsim master and rcsim replica ----------------------------------------------------------


def test_rcsim_master_and_replica(stop_later: list) -> None:
    master = start_rcsim()
    stop_later.append(master)
    with RawClient(master.port) as m:
        write_mix(m, "before")
        replica = start_rcsim("--replicaof", "127.0.0.1", str(master.port))
        stop_later.append(replica)
        with RawClient(replica.port) as r:
            wait_synced(m, r)
            write_mix(m, "live")
            wait_synced(m, r)
            assert r.call("SET", "x", "y") == (
                b"-READONLY You can't write against a read only replica.\r\n"
            )
            # Expiry on the master reaches the replica as a DEL.
            m.call("SET", "short", "v", "PX", "150")
            wait_for(
                "the key on the replica",
                lambda: r.call("EXISTS", "short") == b":1\r\n",
                DEADLINE_S,
                step=0.05,
            )
            wait_for(
                "the key to expire",
                lambda: m.call("EXISTS", "short") == b":0\r\n",
                DEADLINE_S,
                step=0.05,
            )
            wait_for(
                "the expired key's DEL",
                lambda: r.call("DBSIZE") == m.call("DBSIZE"),
                DEADLINE_S,
                step=0.05,
            )
            m.call("SET", "acked", "1")
            assert m.call("WAIT", "1", "2000") == b":1\r\n"
            assert r.call("GET", "acked") == b"$1\r\n1\r\n"
            # A short disconnect: partial resync, nothing lost.
            assert r.call("CLIENT", "KILL", "TYPE", "master") == b":1\r\n"
            write_mix(m, "while-down")
            wait_for(
                "a partial resync",
                lambda: replica.log_text().count("Successful partial resynchronization") == 1,
                DEADLINE_S,
                step=0.05,
            )
            wait_synced(m, r)
            assert replica.log_text().count("Finished with success") == 1
            # A new master replid: the next reconnection is a full resync.
            assert m.call("DEBUG", "CHANGE-REPL-ID") == b"+OK\r\n"
            assert r.call("CLIENT", "KILL", "TYPE", "master") == b":1\r\n"
            write_mix(m, "new-id")
            wait_for(
                "a full resync",
                lambda: replica.log_text().count("Finished with success") == 2,
                DEADLINE_S,
                step=0.05,
            )
            wait_synced(m, r)
            # A master that becomes a replica discards its own data for its master's.
            assert r.call("REPLICAOF", "NO", "ONE") == b"+OK\r\n"
            assert r.call("SET", "only-here", "1") == b"+OK\r\n"
            assert r.call("REPLICAOF", "127.0.0.1", str(master.port)) == b"+OK\r\n"
            wait_for(
                "the resync",
                lambda: r.call("EXISTS", "only-here") == b":0\r\n",
                DEADLINE_S,
                step=0.05,
            )
            wait_synced(m, r)


# -- 4. a chain: redis-server -> rcsim -> redis-server -------------------------------------------


def test_chained_replication_through_rcsim(stop_later: list) -> None:
    """rcsim in the middle passes the master's stream on byte for byte (offsets agree along the
    chain) and serves its own replica a full sync from its copy, also across a cut link."""
    top = start_redis("--repl-diskless-sync-delay", "0")
    stop_later.append(top)
    with RawClient(top.port) as m:
        write_mix(m, "before")
        middle = start_rcsim("--replicaof", "127.0.0.1", str(top.port))
        stop_later.append(middle)
        with RawClient(middle.port) as r1:
            wait_synced(m, r1)
            leaf = start_redis("--replicaof", "127.0.0.1", str(middle.port))
            stop_later.append(leaf)
            with RawClient(leaf.port) as r2:
                wait_synced(m, r2)
                write_mix(m, "live")
                wait_synced(m, r2)
                assert r1.call("CLIENT", "KILL", "TYPE", "master") == b":1\r\n"
                write_mix(m, "after-cut")
                wait_synced(m, r2)

                def one_offset() -> bool:
                    clients = (m, r1, r2)
                    return (
                        len({info_field(c, "replication", "master_repl_offset") for c in clients})
                        == 1
                    )

                wait_for("equal offsets along the chain", one_offset, DEADLINE_S, step=0.05)
