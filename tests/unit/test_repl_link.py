"""The replica-side link driver against a scripted master over in-memory streams: the handshake
bytes, both RDB transfer forms, stream application with exact offsets, GETACK, reconnection with
PSYNC continue, and the retry after a broken link."""

from __future__ import annotations

import trio
import trio.testing

from node import replication
from node.config import Config
from node.drivers.repl_link import ReplicaLink, command_length, request
from node.protocol.resp import RequestParser
from node.rdb_file import save_rdb
from node.session import Session
from node.state import NodeState
from tests.support.nodes import make_node

NOW_MS = 1_790_000_000_000
REPLID = "a" * 40


class FakeMaster:
    """The master end of one connection: reads the replica's commands, writes raw bytes."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.parser = RequestParser()
        self.pending: list[list[bytes]] = []

    async def command(self) -> list[bytes]:
        while not self.pending:
            with trio.fail_after(5):
                data = await self.stream.receive_some(65536)
            assert data, "replica closed the link"
            self.pending.extend(self.parser.feed(data))
        return self.pending.pop(0)

    async def send(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def handshake(self) -> list[bytes]:
        """Answer PING and the REPLCONFs; return the PSYNC command."""
        assert await self.command() == [b"PING"]
        await self.send(b"+PONG\r\n")
        assert await self.command() == [b"REPLCONF", b"listening-port", b"6380"]
        await self.send(b"+OK\r\n")
        assert await self.command() == [b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]
        await self.send(b"+OK\r\n")
        return await self.command()


def new_node(**config: str) -> NodeState:
    cfg = Config()
    cfg.set("port", "6380", startup=True)
    for name, value in config.items():
        cfg.set(name, value, startup=True)
    node = make_node(cfg, now_ms=NOW_MS)
    node.tcp_port = 6380
    return node


def master_rdb() -> bytes:
    source = new_node()
    session = Session(source, 1)
    from node import core

    core.execute(session, [b"SET", b"from-master", b"1"])
    core.execute(session, [b"RPUSH", b"list", b"a", b"b"])
    return save_rdb(source)


async def start_link(node: NodeState, nursery: trio.Nursery, connections: trio.MemorySendChannel):
    async def connect(host: str, port: int):
        replica_end, master_end = trio.testing.memory_stream_pair()
        await connections.send(master_end)
        return replica_end

    async def after_batch() -> None:
        pass

    link = ReplicaLink(node, connect, lambda: NOW_MS, after_batch, nursery)
    replication.follow(node, "127.0.0.1", 6379)
    node.events.clear()
    link.start("127.0.0.1", 6379)
    return link


def test_command_length_is_the_resp_size() -> None:
    for argv in ([b"PING"], [b"SET", b"k", b"v" * 300], [b"SELECT", b"5"], [b""]):
        assert command_length(argv) == len(request(*argv))


async def test_full_sync_stream_getack_and_partial_resync() -> None:
    node = new_node()
    node.dbs[0].set(b"old-data", b"x")  # a former master's data is discarded
    send, receive = trio.open_memory_channel(4)
    async with trio.open_nursery() as nursery:
        link = await start_link(node, nursery, send)
        master = FakeMaster(await receive.receive())
        assert await master.handshake() == [b"PSYNC", b"?", b"-1"]
        assert node.repl.link_status != "up"
        rdb = master_rdb()
        await master.send(b"+FULLRESYNC %s 100\r\n\n\n$%d\r\n" % (REPLID.encode(), len(rdb)))
        await master.send(rdb)
        ack = await master.command()
        assert ack == [b"REPLCONF", b"ACK", b"100"]
        assert node.repl.link_status == "up"
        assert set(node.dbs[0].data) == {b"from-master", b"list"}
        assert node.repl.replid == REPLID
        stream = request("SELECT", "2") + request("SET", "k", "v")
        stream += request("PING") + request("REPLCONF", "GETACK", "*")
        await master.send(stream)
        getack_at = 100 + len(stream) - len(request("REPLCONF", "GETACK", "*"))
        assert await master.command() == [b"REPLCONF", b"ACK", b"%d" % getack_at]
        assert node.dbs[2].data[b"k"] == b"v"
        assert node.repl.master_repl_offset == 100 + len(stream)
        # The master closes the link: the replica comes back asking to continue, in db 2.
        await master.stream.aclose()
        master = FakeMaster(await receive.receive())
        assert node.repl.link_status == "down"
        assert await master.handshake() == [b"PSYNC", REPLID.encode(), b"%d" % (101 + len(stream))]
        await master.send(b"+CONTINUE %s\r\n" % REPLID.encode())
        await master.send(request("SET", "k2", "v2"))
        while b"k2" not in node.dbs[2].data:
            await master.command()  # the ACKs
        assert b"from-master" in node.dbs[0].data  # data kept
        link.stop()
        nursery.cancel_scope.cancel()


async def test_diskless_eof_transfer_and_auth() -> None:
    node = new_node(masterauth="secret", masteruser="repl")
    send, receive = trio.open_memory_channel(4)
    async with trio.open_nursery() as nursery:
        link = await start_link(node, nursery, send)
        master = FakeMaster(await receive.receive())
        assert await master.command() == [b"PING"]
        await master.send(b"-NOAUTH Authentication required.\r\n")
        assert await master.command() == [b"AUTH", b"repl", b"secret"]
        await master.send(b"+OK\r\n")
        for _ in range(2):
            await master.command()
            await master.send(b"+OK\r\n")
        assert (await master.command())[0] == b"PSYNC"
        rdb = master_rdb()
        mark = b"m" * 40
        await master.send(b"+FULLRESYNC %s 7\r\n$EOF:%s\r\n" % (REPLID.encode(), mark))
        await master.send(rdb[:50])
        await master.send(rdb[50:] + mark)
        assert await master.command() == [b"REPLCONF", b"ACK", b"7"]
        assert node.dbs[0].data[b"from-master"] == b"1"
        link.stop()
        nursery.cancel_scope.cancel()


async def test_error_reply_retries() -> None:
    node = new_node()
    send, receive = trio.open_memory_channel(4)
    async with trio.open_nursery() as nursery:
        link = await start_link(node, nursery, send)
        master = FakeMaster(await receive.receive())
        await master.handshake()
        await master.send(b"-NOMASTERLINK Can't SYNC while not connected with my master\r\n")
        with trio.fail_after(5):
            master = FakeMaster(await receive.receive())  # a new attempt, a second later
        assert node.repl.link_status != "up"
        assert node.repl.link_down_since_ms == NOW_MS
        link.stop()
        nursery.cancel_scope.cancel()


async def test_silent_master_times_out_and_link_retries(autojump_clock) -> None:
    """Nothing from the master for ``repl-timeout`` seconds: the link is dropped and redone (in
    virtual time: trio's autojump clock)."""
    node = new_node(**{"repl-timeout": "3"})
    send, receive = trio.open_memory_channel(4)
    async with trio.open_nursery() as nursery:
        link = await start_link(node, nursery, send)
        master = FakeMaster(await receive.receive())
        await master.handshake()
        rdb = master_rdb()
        await master.send(b"+FULLRESYNC %s 0\r\n$%d\r\n" % (REPLID.encode(), len(rdb)) + rdb)
        assert await master.command() == [b"REPLCONF", b"ACK", b"0"]
        started = trio.current_time()
        with trio.fail_after(10):
            second = await receive.receive()  # the replica gave up and connected again
        assert 3 <= trio.current_time() - started < 5
        assert await FakeMaster(second).handshake() == [b"PSYNC", REPLID.encode(), b"1"]
        link.stop()
        nursery.cancel_scope.cancel()


async def test_promoted_mid_transfer_never_loads_the_old_masters_snapshot() -> None:
    """A failover promotes the replica while its link is still receiving an RDB (the driver
    drains StopReplication only later): the snapshot is dropped, the node keeps its own data,
    and the link does not come back to the old master."""
    node = new_node()
    node.dbs[0].set(b"mine", b"x")
    send, receive = trio.open_memory_channel(4)
    async with trio.open_nursery() as nursery:
        await start_link(node, nursery, send)
        master = FakeMaster(await receive.receive())
        assert await master.handshake() == [b"PSYNC", b"?", b"-1"]
        rdb = master_rdb()
        await master.send(b"+FULLRESYNC %s 100\r\n$%d\r\n" % (REPLID.encode(), len(rdb)))
        await master.send(rdb[:10])
        replication.promote(node)  # the election is won while the bytes are in flight
        await master.send(rdb[10:])
        with trio.move_on_after(2.5):  # longer than the 1 s retry period
            await receive.receive()
            raise AssertionError("the promoted node reconnected to its old master")
        assert set(node.dbs[0].data) == {b"mine"}
        assert node.repl.role == "master"
        nursery.cancel_scope.cancel()
