"""The trio driver for client connections: accept, read, execute, batch replies, tick.

Hot path: one ``recv`` feeds the parser, every complete request runs through ``core.execute``,
and all replies of that read leave in one ``send``. No per-command task, log line or await.
Out-of-band bytes (MONITOR lines) are written by a small pusher task started only for sessions
that receive them; a lock then keeps the two writers from interleaving.
"""

from __future__ import annotations

import errno
import logging
import time

import trio

from node import core
from node.protocol.resp import (
    ProtocolError,
    QueryBufferLimitExceeded,
    RequestParser,
    encode,
)
from node.runtime import Runtime
from node.session import Session
from node.state import BlockFor, CloseClient, NodeState, Shutdown

log = logging.getLogger("rcsim.node")

RECV_BYTES = 65536
MAX_CLIENTS_REPLY = b"-ERR max number of clients reached\r\n"


class Connection:
    """One client socket: its session, its cancel scope (CLIENT KILL) and its pusher."""

    __slots__ = ("event", "has_pusher", "scope", "send_lock", "session", "sock")

    def __init__(self, sock: trio.socket.SocketType, session: Session) -> None:
        self.sock = sock
        self.session = session
        self.scope = trio.CancelScope()
        self.send_lock = trio.Lock()
        self.has_pusher = False
        self.event = trio.Event()

    async def send(self, data: bytes) -> None:
        sock = self.sock
        view = memoryview(data)
        while view:
            sent = await sock.send(view)
            view = view[sent:]


class ClientServer:
    """Serves RESP on the listeners it is given, for one ``NodeState``."""

    def __init__(self, node: NodeState, runtime: Runtime) -> None:
        self.node = node
        self.runtime = runtime
        self.connections: dict[int, Connection] = {}
        self.shutdown_requested = trio.Event()

    async def serve(
        self, listeners: list[trio.SocketListener], task_status=trio.TASK_STATUS_IGNORED
    ) -> None:
        async with trio.open_nursery() as nursery:
            for listener in listeners:
                nursery.start_soon(self._accept_loop, listener, nursery)
            nursery.start_soon(self._tick_loop)
            task_status.started()

    async def _accept_loop(self, listener: trio.SocketListener, nursery: trio.Nursery) -> None:
        sock = listener.socket
        while True:
            try:
                client_sock, address = await sock.accept()
            except OSError as error:
                if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.warning("accept failed: %s", error)
                    await trio.sleep(0.1)
                    continue
                raise
            nursery.start_soon(self._serve_client, client_sock, address)

    async def _serve_client(self, sock: trio.socket.SocketType, address: tuple) -> None:
        node = self.node
        node.now_ms = self.runtime.wall_ms()
        with sock:
            try:
                sock.setsockopt(trio.socket.IPPROTO_TCP, trio.socket.TCP_NODELAY, 1)
            except OSError:
                pass
            node.stats.total_connections_received += 1
            if len(self.connections) >= node.config.get_int("maxclients"):
                node.stats.rejected_connections += 1
                try:
                    await sock.send(MAX_CLIENTS_REPLY)
                except OSError:
                    pass
                return
            local = sock.getsockname()
            session = Session(
                node,
                node.new_client_id(),
                addr=f"{address[0]}:{address[1]}",
                laddr=f"{local[0]}:{local[1]}",
            )
            conn = Connection(sock, session)
            session.notify = conn.event.set
            node.clients[session.id] = session
            self.connections[session.id] = conn
            try:
                with conn.scope:
                    async with trio.open_nursery() as nursery:
                        await self._read_loop(conn, nursery)
                        nursery.cancel_scope.cancel()
            except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                pass
            finally:
                session.unwatch_all()
                node.monitors.discard(session)
                node.clients.pop(session.id, None)
                self.connections.pop(session.id, None)

    async def _read_loop(self, conn: Connection, nursery: trio.Nursery) -> None:
        node = self.node
        session = conn.session
        sock = conn.sock
        runtime = self.runtime
        parser = RequestParser(max_bulk_len=node.proto_max_bulk_len)
        execute = core.execute
        stats = node.stats
        while True:
            parser.auth_pending = session.parser_auth_pending
            idle_timeout = node.config.get_int("timeout")
            if idle_timeout > 0:
                data = b""
                with trio.move_on_after(idle_timeout):
                    data = await sock.recv(RECV_BYTES)
                    if not data:
                        return
                if not data:
                    return  # idle for longer than `timeout` seconds: Redis closes the client
            else:
                data = await sock.recv(RECV_BYTES)
                if not data:
                    return
            stats.total_net_input_bytes += len(data)
            node.now_ms = now = runtime.wall_ms()
            session.last_interaction_ms = now
            protocol_error = None
            try:
                requests = parser.feed(data)
            except ProtocolError as error:
                requests, protocol_error = error.requests, error
            except QueryBufferLimitExceeded:
                log.warning("closing client %s that reached max query buffer length", session.addr)
                return
            if node.paused_until_ms > now and requests:
                await self._wait_while_paused(requests)
            out = []
            for argv in requests:
                reply = execute(session, argv)
                if session.reply_skip or session.reply_mode != b"on":
                    if session.reply_skip:
                        session.reply_skip -= 1
                    continue
                out.append(encode(reply, session.resp3))
                if session.close_after_reply or session.killed:
                    break
            if protocol_error is not None and not session.close_after_reply:
                log.info(
                    "Protocol error (%s) from client: %s", protocol_error.message, session.addr
                )
                out.append(protocol_error.reply)
                session.close_after_reply = True
            if node.events:
                await self._drain_events()
            if out:
                payload = b"".join(out)
                stats.total_net_output_bytes += len(payload)
                if conn.has_pusher:
                    async with conn.send_lock:
                        await conn.send(payload)
                else:
                    await conn.send(payload)
            if session.out_queue and not conn.has_pusher:
                conn.has_pusher = True
                nursery.start_soon(self._pusher, conn)
            if session.close_after_reply or session.killed:
                return

    async def _pusher(self, conn: Connection) -> None:
        session = conn.session
        while True:
            await conn.event.wait()
            conn.event = trio.Event()
            session.notify = conn.event.set
            if session.out_queue:
                payload = b"".join(session.out_queue)
                session.out_queue.clear()
                async with conn.send_lock:
                    await conn.send(payload)

    async def _wait_while_paused(self, requests: list[list[bytes]]) -> None:
        """CLIENT PAUSE: hold this batch until the pause ends (WRITE mode: only batches with writes)."""
        node = self.node
        if node.pause_writes_only:
            if not any(_is_write(node, argv) for argv in requests):
                return
        while node.paused_until_ms > node.now_ms:
            await trio.sleep(min(0.01, (node.paused_until_ms - node.now_ms) / 1000))
            node.now_ms = self.runtime.wall_ms()

    async def _drain_events(self) -> None:
        node = self.node
        events, node.events = node.events, []
        for event in events:
            if type(event) is CloseClient:
                conn = self.connections.get(event.client_id)
                if conn is not None:
                    conn.session.killed = True
                    conn.scope.cancel()
            elif type(event) is BlockFor:
                # DEBUG SLEEP blocks the whole node, exactly as it blocks Redis's event loop.
                time.sleep(event.ms / 1000)
                node.now_ms = self.runtime.wall_ms()
            elif type(event) is Shutdown:
                self.shutdown_requested.set()

    async def _tick_loop(self) -> None:
        """Redis's ``serverCron`` subset: active expiry ``hz`` times a second."""
        node = self.node
        while True:
            await trio.sleep(1 / max(1, node.config.get_int("hz")))
            node.now_ms = self.runtime.wall_ms()
            node.active_expire()


def _is_write(node: NodeState, argv: list[bytes]) -> bool:
    command = node.commands.get(argv[0]) or node.commands.get(argv[0].lower())
    return command is not None and command.is_write
