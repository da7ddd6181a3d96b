"""The replica side of replication: a trio task that keeps this node synced with its master.

Theory of operation
-------------------
``ReplicaLink.start(host, port)`` (the driver calls it on a ``ReplicateFrom`` event) runs one
task that loops, as Redis's ``connectWithMaster`` + ``syncWithMaster`` + ``replicationCron``:

1. connect (bounded by ``repl-timeout``), ``PING``, ``AUTH [masteruser] masterauth`` when set,
   ``REPLCONF listening-port <port>``, ``REPLCONF capa eof capa psync2``;
2. ``PSYNC <replid> <offset+1>`` (``PSYNC ? -1`` for a node that never held data);
3. ``+FULLRESYNC <replid> <offset>``: read the RDB bulk, either ``$<len>`` or the diskless
   ``$EOF:<40-byte mark>`` form a real redis-server sends with ``repl-diskless-sync yes``, drop
   every key and library (a replica that was a master discards its data), ``load_rdb``;
   ``+CONTINUE [<new replid>]``: keep the data, the stream continues at our offset;
4. read the live stream with the node's RESP parser and hand each command to
   ``node.replication.apply_stream`` (which executes it and advances the offset), sending the
   master ``REPLCONF ACK <offset>`` every second and whatever ``apply_stream`` answers
   (``REPLCONF GETACK``'s ACK);
5. on any error, a silent master (nothing for ``repl-timeout`` s) or ``CLIENT KILL TYPE master``:
   link down (``link_down_since_ms``), retry after a second.

The task is the only I/O here; every state change goes through the pure replication core (or,
where it offers no function, sets the fields ``node.replication.ReplicationState`` documents).
Commands from the master run on the node's event loop like a client's batch: after each read the
driver's ``after_external_batch`` serves clients the batch unblocked and flushes their replies.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from node import replication
from node.protocol.resp import ProtocolError, RequestParser, encode, encode_command
from node.rdb_file import RdbError, flush_for_load, load_rdb_info
from node.session import Session
from node.state import NodeState

log = logging.getLogger("rcsim.node")

RECV_BYTES = 65536
RETRY_SECONDS = 1.0
ACK_PERIOD_SECONDS = 1.0
EOF_MARK_LEN = 40  # RDB_EOF_MARK_SIZE


class LinkError(Exception):
    """The link cannot go on (bad reply, closed connection, timeout): retry later."""


def command_length(argv: list[bytes]) -> int:
    """Bytes of ``argv`` in RESP multibulk form: what it took in the master's stream (masters
    write every command in this canonical form, so this is Redis's ``reploff`` advance)."""
    total = len(b"*%d\r\n" % len(argv))
    for arg in argv:
        total += len(b"$%d\r\n" % len(arg)) + len(arg) + 2
    return total


def request(*args: bytes | str | int) -> bytes:
    """``encode_command`` for mixed arguments (ports, offsets)."""
    return encode_command([a if isinstance(a, bytes) else str(a).encode() for a in args])


class _Buffered:
    """A receive buffer over a trio stream with bounded waits (``repl-timeout``)."""

    def __init__(
        self, stream: trio.abc.Stream, timeout_s: float, on_io: Callable[[], None]
    ) -> None:
        self.stream = stream
        self.buf = bytearray()
        self.timeout_s = timeout_s
        self.on_io = on_io

    async def fill(self) -> None:
        with trio.move_on_after(self.timeout_s) as scope:
            data = await self.stream.receive_some(RECV_BYTES)
        if scope.cancelled_caught:
            raise LinkError("Timeout connecting to the MASTER...")
        if not data:
            raise LinkError("Connection with master lost.")
        self.buf += data
        self.on_io()

    async def line(self) -> bytes:
        """One reply line without its CRLF; empty lines (the newlines a master sends to keep
        the link alive while it prepares the RDB) are skipped, as ``readSyncBulkPayload`` does."""
        while True:
            end = self.buf.find(b"\n")
            if end < 0:
                await self.fill()
                continue
            line = bytes(self.buf[:end]).rstrip(b"\r")
            del self.buf[: end + 1]
            if line:
                return line

    async def exact(self, n: int, progress: Callable[[int], None] | None = None) -> bytes:
        while len(self.buf) < n:
            await self.fill()
            if progress is not None:
                progress(min(len(self.buf), n))
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    async def until_mark(self, mark: bytes, progress: Callable[[int], None]) -> bytes:
        """Everything up to ``mark`` (the diskless ``$EOF:`` transfer's terminator)."""
        while not self.buf.endswith(mark) or len(self.buf) < len(mark):
            await self.fill()
            progress(len(self.buf))
        data = bytes(self.buf[: -len(mark)])
        self.buf.clear()
        return data

    def take(self) -> bytes:
        data = bytes(self.buf)
        self.buf.clear()
        return data


def _reason(error: BaseException) -> str:
    """The first leaf of a (possibly grouped: the ACK task runs in a nursery) link error."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    if isinstance(error, LinkError | RdbError | ProtocolError | OSError | trio.BrokenResourceError):
        return str(error) or type(error).__name__
    log.error("Unexpected error on the replication link", exc_info=error)
    return "unexpected error"


class ReplicaLink:
    """One node's link to its master (see the module docstring). ``after_batch`` is the
    driver's hook run after commands from the master were applied."""

    def __init__(
        self,
        node: NodeState,
        connect: Callable,
        wall_ms: Callable[[], int],
        after_batch: Callable[[], Awaitable[None]],
        nursery: trio.Nursery,
    ) -> None:
        self.node = node
        self.connect = connect
        self.wall_ms = wall_ms
        self.after_batch = after_batch
        self.nursery = nursery
        self._task_scope: trio.CancelScope | None = None
        self._conn_scope: trio.CancelScope | None = None
        self.master_session: Session | None = None
        # Set by the driver in cluster mode: True while DEBUG BUS-ISOLATE separates us from
        # our master, so the link stays down as in a real network partition.
        self.partitioned: Callable[[], bool] = lambda: False
        # The db the master's stream has SELECTed: a +CONTINUE goes on in it without a new
        # SELECT (Redis keeps its cached master client, with its db, across the reconnect).
        self.stream_db = 0

    # -- control (from the driver's event handling) ---------------------------------------

    def start(self, host: str, port: int) -> None:
        """(Re)start the link towards host:port, dropping any current one."""
        self.stop()
        self.stream_db = 0  # a new master starts its stream with a SELECT
        scope = self._task_scope = trio.CancelScope()
        self.nursery.start_soon(self._run, host, port, scope)

    def stop(self) -> None:
        if self._task_scope is not None:
            self._task_scope.cancel()
            self._task_scope = None
        self._drop_master_session()

    def drop_connection(self) -> None:
        """CLIENT KILL of the master client: close this connection, reconnect later."""
        if self._conn_scope is not None:
            self._conn_scope.cancel()

    def is_master_client(self, client_id: int) -> bool:
        return self.master_session is not None and self.master_session.id == client_id

    # -- the task ---------------------------------------------------------------------------

    async def _run(self, host: str, port: int, scope: trio.CancelScope) -> None:
        node = self.node
        with scope:
            while True:
                while self.partitioned():  # no route to the master until healed
                    await trio.sleep(RETRY_SECONDS / 10)
                if not self._following(host, port):
                    return  # promoted or re-pointed meanwhile: its StopReplication is queued
                replication.set_link_state(node, "connecting")
                try:
                    with trio.CancelScope() as conn_scope:
                        self._conn_scope = conn_scope
                        await self._session(host, port)
                    if conn_scope.cancelled_caught:
                        log.info("Connection with master lost (client killed).")
                except Exception as error:  # a broken link must never stop the node
                    log.warning("MASTER <-> REPLICA sync: %s (%s:%d)", _reason(error), host, port)
                finally:
                    # A stopped link (REPLICAOF NO ONE, another master) leaves the state to
                    # what replaced it; only the current link reports itself down.
                    if self._task_scope is scope:
                        self._conn_scope = None
                        self._link_down()
                await trio.sleep(RETRY_SECONDS)

    async def _session(self, host: str, port: int) -> None:
        node = self.node
        timeout_s = node.config.get_int("repl-timeout")
        with trio.move_on_after(timeout_s) as connect_scope:
            stream = await self.connect(host, port)
        if connect_scope.cancelled_caught:
            raise LinkError("Timeout connecting to the MASTER...")
        async with stream:
            reader = _Buffered(stream, timeout_s, self._touch)
            replication.set_link_state(node, "handshake")
            await self._handshake(stream, reader)
            await self._psync(stream, reader, host, port)
            await self._stream(stream, reader, host, port)

    async def _call(self, stream, reader: _Buffered, *args: bytes | str | int) -> bytes:
        await stream.send_all(request(*args))
        return await reader.line()

    async def _handshake(self, stream, reader: _Buffered) -> None:
        """PING, AUTH, REPLCONF: ``syncWithMaster``'s states up to RECEIVE_CAPA."""
        config = self.node.config
        reply = await self._call(stream, reader, "PING")
        if reply.startswith(b"-") and not reply.startswith(
            (b"-NOAUTH", b"-NOPERM", b"-ERR operation not permitted")
        ):
            raise LinkError(
                "Error reply to PING from master: '%s'" % reply.decode(errors="replace")
            )
        user, password = replication.master_credentials(self.node)
        if password:
            args = ("AUTH", user, password) if user else ("AUTH", password)
            reply = await self._call(stream, reader, *args)
            if reply.startswith(b"-"):
                raise LinkError("Unable to AUTH to MASTER: %s" % reply.decode(errors="replace"))
        port = config.get_int("replica-announce-port") or self.node.tcp_port
        await self._call(stream, reader, "REPLCONF", "listening-port", port)  # errors only logged
        announce_ip = config.get("replica-announce-ip")
        if announce_ip:
            await self._call(stream, reader, "REPLCONF", "ip-address", announce_ip)
        await self._call(stream, reader, "REPLCONF", "capa", "eof", "capa", "psync2")

    async def _psync(self, stream, reader: _Buffered, host: str, port: int) -> None:
        node = self.node
        repl = node.repl
        if repl.backlog is None and not repl.master_repl_offset:
            # Nothing to continue from (a fresh node): ask for a full sync outright, as a
            # replica without a cached master does (the master does not count it as a failed
            # partial resync then).
            replid, offset = "?", -1
        else:
            replid, offset = replication.psync_args(node)
        reply = await self._call(stream, reader, "PSYNC", replid, offset)
        if reply.startswith(b"+FULLRESYNC"):
            parts = reply.split()
            if len(parts) < 3:
                raise LinkError("Master replied with wrong +FULLRESYNC syntax.")
            replid, offset = parts[1].decode(), int(parts[2])
            await self._full_sync(reader, replid, offset, host, port)
        elif reply.startswith(b"+CONTINUE"):
            parts = reply.split()
            new_id = parts[1].decode() if len(parts) > 1 else None
            self._continued(new_id)
            log.info("Successful partial resynchronization with master.")
        else:
            raise LinkError(
                "Unexpected reply to PSYNC from master: %s" % reply.decode(errors="replace")
            )
        self._link_up(host, port)

    async def _full_sync(
        self, reader: _Buffered, replid: str, offset: int, host: str, port: int
    ) -> None:
        """``readSyncBulkPayload``: the RDB, then flush and load."""
        node = self.node
        repl = node.repl
        replication.set_link_state(node, "sync")
        repl.sync_read_bytes = 0
        try:
            header = await reader.line()
            if header.startswith(b"-"):
                raise LinkError(
                    "MASTER aborted replication with an error: %s" % header.decode(errors="replace")
                )
            if not header.startswith(b"$"):
                raise LinkError("Bad protocol from MASTER, the first byte is not '$'")
            if header.startswith(b"$EOF:") and len(header) >= 5 + EOF_MARK_LEN:
                mark = header[5 : 5 + EOF_MARK_LEN]
                repl.sync_total_bytes = 0
                data = await reader.until_mark(mark, self._progress)
            else:
                size = int(header[1:])
                repl.sync_total_bytes = size
                data = await reader.exact(size, self._progress)
            now = self.wall_ms()
            if not self._following(host, port):
                raise LinkError("no longer a replica of this master: snapshot dropped")
            flush_for_load(node)
            info = load_rdb_info(node, data, skip_expired=False, now_ms=now)
            # The master client starts in the db the master's stream was in (``rsi``'s
            # repl-stream-db); Redis masters also re-SELECT after a full resync.
            self.stream_db = int(info.aux.get(b"repl-stream-db", b"0") or 0)
            log.info("MASTER <-> REPLICA sync: Finished with success (%d bytes)", len(data))
        finally:
            repl.sync_in_progress = False
        self._full_sync_done(replid, offset)

    def _following(self, host: str, port: int) -> bool:
        """Still a replica of host:port? A failover (or REPLICAOF) changes the role at once,
        while the link task learns of it only when the driver drains the StopReplication event:
        until then it must neither reconnect nor load a snapshot from the old master (a
        promoted replica would otherwise take the data of the master it just replaced)."""
        repl = self.node.repl
        return repl.role == "slave" and (repl.master_host, repl.master_port) == (host, port)

    def _progress(self, read: int) -> None:
        repl = self.node.repl
        repl.sync_read_bytes = read
        repl.sync_last_io_ms = self.wall_ms()

    async def _stream(self, stream, reader: _Buffered, host: str, port: int) -> None:
        """Apply the master's commands until the link breaks; ACK every second."""
        session = self._master_session(stream)
        parser = RequestParser(max_bulk_len=1 << 62)
        lock = trio.Lock()

        async def send(data: bytes) -> None:
            async with lock:
                await stream.send_all(data)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._ack_loop, send)
            pending = reader.take()
            while True:
                if pending:
                    out = self._apply(session, parser.feed(pending))
                    await self.after_batch()
                    if out:
                        await send(out)
                await reader.fill()
                if not self._following(host, port):  # promoted while we waited for bytes
                    raise LinkError("no longer a replica of this master")
                pending = reader.take()

    def _apply(self, session: Session, requests: list[list[bytes]]) -> bytes:
        """Run a batch of commands from the master; the bytes to answer it (GETACK's ACK)."""
        node = self.node
        now = self.wall_ms()
        out = []
        apply = replication.apply_stream
        for argv in requests:
            reply = apply(node, session, argv, command_length(argv), now)
            if reply is None or reply == b"":
                continue
            out.append(reply if isinstance(reply, bytes | bytearray) else encode(reply, False))
        node.repl.last_interaction_ms = now
        session.last_interaction_ms = now
        return b"".join(out)

    async def _ack_loop(self, send: Callable) -> None:
        """``replicationSendAck`` once right away and then every second (replicationCron)."""
        repl = self.node.repl
        while True:
            await send(request("REPLCONF", "ACK", repl.master_repl_offset))
            await trio.sleep(ACK_PERIOD_SECONDS)

    # -- state changes (the replication core's, when it offers them) ------------------------

    def _touch(self) -> None:
        self.node.repl.last_interaction_ms = self.wall_ms()

    def _master_session(self, stream) -> Session:
        node = self.node
        self._drop_master_session()
        sock = getattr(stream, "socket", None)
        try:
            peer = "%s:%d" % sock.getpeername()[:2] if sock is not None else ""
            local = "%s:%d" % sock.getsockname()[:2] if sock is not None else ""
        except OSError:
            peer = local = ""
        session = Session(node, node.new_client_id(), addr=peer, laddr=local)
        session.flags = "M"
        if 0 <= self.stream_db < len(node.dbs):
            session.db_index = self.stream_db
            session.db = node.dbs[self.stream_db]
        node.clients[session.id] = session
        self.master_session = node.repl.master_session = session
        return session

    def _drop_master_session(self) -> None:
        session = self.master_session
        if session is not None:
            self.stream_db = session.db_index
            self.node.clients.pop(session.id, None)
            session.unwatch_all()
            self.master_session = None
            self.node.repl.master_session = None

    def _full_sync_done(self, replid: str, offset: int) -> None:
        replication.full_sync_done(self.node, replid, offset)

    def _continued(self, new_id: str | None) -> None:
        replication.continue_sync(self.node, new_id, self.wall_ms())

    def _link_up(self, host: str, port: int) -> None:
        replication.link_up(self.node, self.wall_ms())
        log.info("MASTER <-> REPLICA sync: link with %s:%d is up", host, port)

    def _link_down(self) -> None:
        self._drop_master_session()
        replication.link_down(self.node, self.wall_ms())
