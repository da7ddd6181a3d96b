"""trio drivers for client connections, both over the sans-I/O ``ClientConnection``.

* ``EpollClientLoop`` (real TCP sockets, the default): Redis's own architecture inside trio. One
  task awaits the readiness of a private epoll descriptor (``trio.lowlevel.wait_readable``), then
  serves every ready socket synchronously: ``recv``, run all requests, one ``send``. No task
  switch per request: measured here, GET/SET reached ~0.86x of redis-server this way against
  ~0.5x with one trio task per connection. Output the kernel does not take at once is kept per
  connection and flushed on EPOLLOUT, in order.
* ``StreamClientServer`` (any other trio ``Listener``, e.g. an in-memory network in tests and
  simulations): one task per connection over ``receive_some``/``send_all``.

Both run the node's periodic work (active expiry, idle-client timeouts, end of CLIENT PAUSE) in
a tick task, and carry out the events command handlers leave in ``node.events``.
"""

from __future__ import annotations

import errno
import logging
import os
import select
import socket
import time
from collections.abc import Callable

import hiredis
import trio

from node import replication
from node.client_conn import ClientConnection, retry_blocked
from node.commands.sentinel import (
    FAILOVER_WAIT_S,
    KILL_NORMAL_CLIENTS,
    FailoverRequest,
)
from node.protocol.resp import ProtocolError, QueryBufferLimitExceeded, encode, encode_command
from node.replication import ReplicateFrom, StopReplication
from node.routing import redirect_blocked_clients
from node.runtime import Runtime
from node.session import Session
from node.state import BlockFor, CloseClient, NodeState, Shutdown

log = logging.getLogger("rcsim.node")

RECV_BYTES = 65536
MAX_CLIENTS_REPLY = b"-ERR max number of clients reached\r\n"
ACCEPTS_PER_WAKE = 128


async def _request(stream: trio.abc.Stream, argv: tuple[bytes, ...]) -> object:
    """One request on a short-lived connection to another node; its reply as hiredis parses
    it (``b"OK"``, lists, ``hiredis.ReplyError`` for an error)."""
    await stream.send_all(encode_command(argv))
    reader = hiredis.Reader()
    while (reply := reader.gets()) is False:
        chunk = await stream.receive_some(RECV_BYTES)
        if not chunk:
            raise OSError("connection closed")
        reader.feed(chunk)
    return reply


def _is_replica_role(role: object) -> bool:
    return isinstance(role, list) and role[0] == b"slave"


class ClientServer:
    """Serves RESP for one ``NodeState`` on the given listeners."""

    def __init__(self, node: NodeState, runtime: Runtime) -> None:
        self.node = node
        self.runtime = runtime
        self.shutdown_requested = trio.Event()
        # The tick task's next wake-up, and the event that wakes it earlier for a blocked
        # client whose timeout comes first (Redis answers timeouts to the millisecond).
        self._tick_wake_ms = 0
        self._tick_wakeup = trio.Event()
        self._driver: EpollClientLoop | StreamClientServer | None = None
        self._nursery: trio.Nursery | None = None
        # Replication (node/repl_link.py): the replica-side link, created on the first
        # ReplicateFrom event.
        self.repl_link = None

    async def serve(self, listeners: list, task_status=trio.TASK_STATUS_IGNORED) -> None:
        real_sockets = hasattr(select, "epoll") and all(
            isinstance(listener, trio.SocketListener) for listener in listeners
        )
        driver_cls = EpollClientLoop if real_sockets else StreamClientServer
        self._driver = driver = driver_cls(self)
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            await nursery.start(driver.run, listeners)
            nursery.start_soon(self._tick_loop)
            task_status.started()

    def new_session(self, addr: str, laddr: str) -> Session | None:
        """Register a client, or None when ``maxclients`` is reached."""
        node = self.node
        node.now_ms = self.runtime.wall_ms()
        if len(node.clients) >= node.config.get_int("maxclients"):
            node.stats.rejected_connections += 1  # not a received connection, as in Redis
            return None
        node.stats.total_connections_received += 1
        session = Session(node, node.new_client_id(), addr=addr, laddr=laddr)
        node.clients[session.id] = session
        return session

    def release_blocked(self) -> None:
        """Run the clients blocked on keys that got data, then hand every released client its
        reply (and the requests that waited behind it) through the driver. Those requests may
        feed or release more clients, hence the loop."""
        blocking = self.node.blocking
        while blocking.ready or blocking.released:
            if blocking.ready:
                blocking.serve_ready(retry_blocked)
            released, blocking.released = blocking.released, []
            for session, reply in released:
                self._driver.unblocked(session, reply)  # type: ignore[union-attr]

    def note_new_deadlines(self) -> None:
        """Clients blocked with a timeout since the last call: wake the tick task if the
        earliest of them is due before its next wake-up."""
        blocking = self.node.blocking
        deadline, blocking.deadline_added = blocking.deadline_added, None
        if deadline is not None and deadline < self._tick_wake_ms:
            self._tick_wakeup.set()

    async def drain_events(self) -> None:
        node = self.node
        events, node.events = node.events, []
        for event in events:
            if type(event) is CloseClient:
                link = self.repl_link
                if link is not None and link.is_master_client(event.client_id):
                    link.drop_connection()  # CLIENT KILL TYPE master: resync later
                    continue
                session = node.clients.get(event.client_id)
                if session is not None:
                    session.killed = True
                    self._driver.kill(session)  # type: ignore[union-attr]
            elif type(event) is ReplicateFrom:
                self._replica_link().start(event.host, event.port)
            elif type(event) is StopReplication:
                if self.repl_link is not None:
                    self.repl_link.stop()
            elif type(event) is BlockFor:
                # DEBUG SLEEP blocks the whole node, exactly as it blocks Redis's event loop.
                time.sleep(event.ms / 1000)
                node.now_ms = self.runtime.wall_ms()
            elif type(event) is Shutdown:
                self.shutdown_requested.set()
            elif type(event) is FailoverRequest:
                self._nursery.start_soon(self.sentinel_failover, event)  # type: ignore[union-attr]

    async def sentinel_failover(self, event: FailoverRequest) -> None:
        """SENTINEL FAILOVER: CLUSTER FAILOVER to the replica, wait for its promotion, then
        disconnect the normal clients of both nodes (Sentinel's reconfiguration)."""
        connect = self.runtime.transport.connect
        promoted = False
        try:
            with trio.move_on_after(FAILOVER_WAIT_S):
                async with await connect(event.host, event.port) as stream:
                    reply = await _request(stream, event.argv)
                    if isinstance(reply, hiredis.ReplyError):
                        log.warning("SENTINEL FAILOVER: %s", reply)
                        return
                    while not promoted:
                        role = await _request(stream, (b"ROLE",))
                        promoted = isinstance(role, list) and role[0] == b"master"
                        if not promoted:
                            await trio.sleep(0.05)
                    await _request(stream, KILL_NORMAL_CLIENTS)
            if promoted:  # once the old master follows the new one (if it is alive at all)
                with trio.move_on_after(FAILOVER_WAIT_S):
                    async with await connect(event.old_host, event.old_port) as stream:
                        while not _is_replica_role(await _request(stream, (b"ROLE",))):
                            await trio.sleep(0.05)
                        await _request(stream, KILL_NORMAL_CLIENTS)
        except (OSError, trio.BrokenResourceError, ValueError) as error:
            log.warning("SENTINEL FAILOVER via %s:%d: %s", event.host, event.port, error)

    def _replica_link(self):
        """The replica-side link driver, created on first use (standalone masters never pay)."""
        if self.repl_link is None:
            from node.repl_link import ReplicaLink

            self.repl_link = ReplicaLink(
                self.node,
                self.runtime.transport.connect,
                self.runtime.wall_ms,
                self.after_external_batch,
                self._nursery,  # type: ignore[arg-type]
            )
            glue = self.node.cluster_node
            if glue is not None:
                self.repl_link.partitioned = glue.master_cut_off
        return self.repl_link

    async def after_external_batch(self) -> None:
        """Commands ran outside a client read (the master's stream on a replica): do what the
        event loop does after a read: carry out events, serve the clients the batch
        unblocked, send the replies and pushes waiting."""
        node = self.node
        if node.events:
            await self.drain_events()
        if node.blocking.ready or node.blocking.released:
            self.release_blocked()
        if node.blocking.deadline_added is not None:
            self.note_new_deadlines()
        self._driver.flush_pending()  # type: ignore[union-attr]

    def replication_cron(self, now_ms: int) -> None:
        """The master side of Redis's ``replicationCron``: PING the replicas every
        ``repl-ping-replica-period`` through the stream (so it counts in the offsets), and
        drop a replica silent for ``repl-timeout``."""
        node = self.node
        repl = node.repl
        config = node.config
        if not node.paused_until_ms:
            replication.cron(node, now_ms)
        limit = now_ms - config.get_int("repl-timeout") * 1000
        for client_id, replica in list(repl.replicas.items()):
            if replica.state == "online" and replica.ack_ms and replica.ack_ms < limit:
                log.warning("Disconnecting timedout replica (streaming sync): %s", replica.ip)
                session = node.clients.get(client_id)
                if session is not None:
                    self._driver.kill(session)  # type: ignore[union-attr]

    def cut_partitioned_replication(self) -> None:
        """DEBUG BUS-ISOLATE is a partition: replication links across it drop as well (the
        replica's link to an isolated master, an isolated replica's connection here)."""
        node = self.node
        glue = node.cluster_node
        link = self.repl_link
        if link is not None and glue.master_cut_off():
            link.drop_connection()  # its task waits for the heal before reconnecting
        for client_id in glue.replicas_cut_off(node):
            session = node.clients.get(client_id)
            if session is not None:
                self._driver.kill(session)  # type: ignore[union-attr]

    async def _tick_loop(self) -> None:
        """Redis's ``serverCron`` subset: active expiry, idle clients, the end of CLIENT PAUSE."""
        node = self.node
        wall_ms = self.runtime.wall_ms
        repl = node.repl
        while True:
            period = 1 / max(1, node.config.get_int("hz"))
            if node.paused_until_ms:
                until_unpause = (node.paused_until_ms - wall_ms()) / 1000
                period = max(0.001, min(period, until_unpause))
            deadline = node.blocking.next_deadline_ms() if node.blocking.by_session else None
            if deadline is not None:
                period = max(0.001, min(period, (deadline - wall_ms()) / 1000))
            self._tick_wake_ms = wall_ms() + int(period * 1000)
            with trio.move_on_after(period):
                await self._tick_wakeup.wait()
            if self._tick_wakeup.is_set():  # a client blocked with an earlier deadline
                self._tick_wakeup = trio.Event()
                continue
            node.now_ms = now = wall_ms()
            node.active_expire()
            if node.blocking.by_session:
                node.blocking.expire(now)
                if node.cluster is not None:  # slot moved away / cluster down: -MOVED & co
                    redirect_blocked_clients(node)
                self.release_blocked()
            if node.paused_until_ms and node.paused_until_ms <= now:
                node.paused_until_ms = 0
            self._driver.periodic(now)  # type: ignore[union-attr]
            if repl.replicas:
                self.replication_cron(now)
            if node.cluster_node is not None and node.cluster_node.isolated:
                self.cut_partitioned_replication()
            if node.events:
                await self.drain_events()


def _replica_gone(node: NodeState, client_id: int) -> None:
    """A replica's connection closed (or a client's half-way through REPLCONF): forget it."""
    replication.replica_disconnected(node, client_id)


def _idle_clients(node: NodeState, now_ms: int) -> list[Session]:
    timeout_s = node.client_idle_timeout_s
    if timeout_s <= 0:
        return []
    limit = now_ms - timeout_s * 1000
    blocked = node.blocking.by_session  # no idle timeout for BLPOP & co, as in Redis
    replicas = node.repl.replicas  # nor for replicas, as in Redis
    return [
        s
        for s in node.clients.values()
        if s.last_interaction_ms < limit  # type: ignore[attr-defined]
        and not s.monitor  # type: ignore[attr-defined]
        and s.id not in blocked  # type: ignore[attr-defined]
        and s.id not in replicas  # type: ignore[attr-defined]
    ]


class _SocketConn:
    __slots__ = ("fd", "out", "proto", "queued", "raw")

    def __init__(self, raw: socket.socket, proto: ClientConnection) -> None:
        self.raw = raw
        self.fd = raw.fileno()
        self.proto = proto
        self.out = bytearray()  # bytes the kernel did not take yet (flushed on EPOLLOUT)
        self.queued = False  # has replies waiting in pending_writes for this loop iteration


class EpollClientLoop:
    """See the module docstring. All methods but ``run`` and ``_accept_loop`` are synchronous."""

    def __init__(self, server: ClientServer) -> None:
        self.server = server
        self.node = server.node
        self.wall_ms = server.runtime.wall_ms
        self.epoll = select.epoll()
        self.conns: dict[int, _SocketConn] = {}
        self.by_session: dict[int, _SocketConn] = {}
        self.paused: set[_SocketConn] = set()
        self.push_ready: set[_SocketConn] = set()
        # Replies produced in this loop iteration, written after every ready socket was read
        # (Redis's handleClientsWithPendingWrites): measured here, writing them at once
        # rather than right after each read raised pipelined throughput markedly.
        self.pending_writes: list[tuple[_SocketConn, bytes]] = []
        self.wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.epoll.register(self.wake_fd, select.EPOLLIN)
        # Listening sockets, for accepting clients while a script keeps the node busy.
        self.listen_socks: list[socket.socket] = []
        # Called by a script past busy-reply-threshold (node.scripting), see the method.
        self.node.process_events_while_busy = self.process_events_while_busy  # type: ignore[attr-defined]

    async def run(self, listeners: list, task_status=trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                for listener in listeners:
                    nursery.start_soon(self._accept_loop, listener)
                task_status.started()
                await self._event_loop()
        finally:
            for conn in list(self.conns.values()):
                self._close(conn)
            self.epoll.close()
            os.close(self.wake_fd)

    async def _accept_loop(self, listener: trio.SocketListener) -> None:
        # A stdlib socket on a duplicate of the listening descriptor: accept() without trio's
        # wrappers, and the accepted sockets are plain non-blocking stdlib sockets.
        lsock = socket.socket(fileno=os.dup(listener.socket.fileno()))
        lsock.setblocking(False)
        self.listen_socks.append(lsock)
        with lsock:
            while True:
                await trio.lowlevel.wait_readable(lsock)
                for _ in range(ACCEPTS_PER_WAKE):
                    try:
                        raw, address = lsock.accept()
                    except BlockingIOError:
                        break
                    except OSError as error:
                        if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                            log.warning("Error accepting a client connection: %s", error)
                            await trio.sleep(0.1)
                            break
                        raise
                    self._add(raw, address)

    def _add(self, raw: socket.socket, address: tuple) -> None:
        raw.setblocking(False)
        try:
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            local = raw.getsockname()
        except OSError:
            raw.close()
            return
        session = self.server.new_session(f"{address[0]}:{address[1]}", f"{local[0]}:{local[1]}")
        if session is None:
            try:
                raw.send(MAX_CLIENTS_REPLY)
            except OSError:
                pass
            raw.close()
            return
        conn = _SocketConn(raw, ClientConnection(self.node, session))
        session.notify = lambda: self._notify_push(conn)
        self.conns[conn.fd] = conn
        self.by_session[session.id] = conn
        self.epoll.register(conn.fd, select.EPOLLIN)

    async def _event_loop(self) -> None:
        epoll = self.epoll
        poll = epoll.poll
        node = self.node
        wall_ms = self.wall_ms
        wait_readable = trio.lowlevel.wait_readable
        read, finish = self._read, self._finish_batch
        glue = node.cluster_node
        while True:
            await wait_readable(epoll)
            node.now_ms = wall_ms()
            if glue is not None:
                glue.batch_open = True
            try:
                self._read_ready(poll(0), read)
                if node.events:
                    # Before the replies go out: DEBUG SLEEP answers after sleeping, as Redis.
                    await self.server.drain_events()
                finish()
            finally:
                if glue is not None:
                    glue.batch_open = False
            if glue is not None and glue.poke_pending:
                glue.flush()  # nodes.conf and bus messages, after the replies went out

    def _read_ready(
        self, ready: list[tuple[int, int]], read: Callable[[_SocketConn], None]
    ) -> None:
        """Flush the writable connections and ``read`` the readable ones (the wake-up
        eventfd is drained): the event loop's batch, and a busy script's."""
        conns = self.conns
        for fd, events in ready:
            conn = conns.get(fd)
            if conn is None:
                if fd == self.wake_fd:
                    try:
                        os.eventfd_read(self.wake_fd)
                    except BlockingIOError:
                        pass
                continue
            if events & select.EPOLLOUT:
                self._flush(conn)
            if events & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                read(conn)

    def _finish_batch(self) -> None:
        """After a batch: wake unblocked clients, note new deadlines, write every reply."""
        node = self.node
        if node.blocking.ready or node.blocking.released:
            self.server.release_blocked()
        if node.blocking.deadline_added is not None:
            self.server.note_new_deadlines()
        if self.pending_writes:
            self._write_pending()
        if self.push_ready:
            self._send_pushes()

    # -- a script past busy-reply-threshold (Redis's processEventsWhileBlocked) -------------

    def process_events_while_busy(self) -> None:
        """Serve other clients from inside a long script, synchronously: the script's Lua hook
        calls this while the node is busy. New clients are accepted and every request is
        answered at once, ``-BUSY`` except for the commands allowed then (SCRIPT KILL, FUNCTION
        KILL, SHUTDOWN NOSAVE...), through ``ScriptingState.execute_while_busy``. The script's
        own client is not read (Redis's protectClient); replies already computed are sent."""
        from node.scripting.state import scripting

        state = scripting(self.node)
        run = state.running
        caller_id = run.caller.id if run is not None else None
        for lsock in self.listen_socks:
            for _ in range(ACCEPTS_PER_WAKE):
                try:
                    raw, address = lsock.accept()
                except OSError:
                    break
                self._add(raw, address)
        if self.pending_writes:
            self._write_pending()

        def read(conn: _SocketConn) -> None:
            if conn.proto.session.id != caller_id and conn.fd in self.conns:
                self._read_while_busy(conn, state)

        self._read_ready(self.epoll.poll(0), read)

    def _read_while_busy(self, conn: _SocketConn, state) -> None:
        try:
            data = conn.raw.recv(RECV_BYTES)
        except BlockingIOError:
            return
        except OSError:
            self._close(conn)
            return
        if not data:
            self._close(conn)
            return
        proto = conn.proto
        session = proto.session
        protocol_error = None
        try:
            requests = proto.parser.feed(data)
        except ProtocolError as error:
            requests, protocol_error = error.requests, error
        except QueryBufferLimitExceeded:
            self._close(conn)
            return
        if proto.pending or proto.blocked:  # they wait behind the client's earlier requests
            proto.pending.extend(requests)
            return
        out = []
        for argv in requests:
            reply = state.execute_while_busy(session, argv)
            if session.reply_gate and (session.reply_skip or session.reply_mode != b"on"):
                if session.reply_skip:
                    session.reply_skip -= 1
            else:
                out.append(encode(reply, session.resp3))
            if session.close_after_reply or session.killed:
                proto.close_after_flush = True
                break
        if protocol_error is not None and not proto.close_after_flush:
            out.append(protocol_error.reply)
            proto.close_after_flush = True
        if out:
            self._write(conn, b"".join(out))
        if proto.close_after_flush and not conn.out and conn.fd in self.conns:
            self._close(conn)

    def _read(self, conn: _SocketConn) -> None:
        try:
            data = conn.raw.recv(RECV_BYTES)
        except BlockingIOError:
            return
        except OSError:
            self._close(conn)
            return
        if not data:
            self._close(conn)
            return
        node = self.node
        node.stats.total_net_input_bytes += len(data)
        proto = conn.proto
        proto.session.last_interaction_ms = node.now_ms
        out = proto.feed(data)
        if out or proto.close_after_flush:
            conn.queued = True
            self.pending_writes.append((conn, out))
        if proto.pending:
            self.paused.add(conn)

    def _write_pending(self) -> None:
        pending, self.pending_writes = self.pending_writes, []
        conns = self.conns
        for conn, out in pending:
            conn.queued = False
            if conn.fd not in conns:
                continue
            if out:
                self._write(conn, out)
            if conn.proto.close_after_flush and not conn.out and conn.fd in conns:
                self._close(conn)

    def _write(self, conn: _SocketConn, data: bytes) -> None:
        self.node.stats.total_net_output_bytes += len(data)
        if conn.out:
            conn.out += data
            return
        try:
            sent = conn.raw.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._close(conn)
            return
        if sent < len(data):
            conn.out += memoryview(data)[sent:]
            self.epoll.modify(conn.fd, select.EPOLLIN | select.EPOLLOUT)

    def _flush(self, conn: _SocketConn) -> None:
        try:
            sent = conn.raw.send(conn.out)
        except BlockingIOError:
            return
        except OSError:
            self._close(conn)
            return
        del conn.out[:sent]
        if not conn.out:
            if conn.proto.close_after_flush:
                self._close(conn)
            else:
                self.epoll.modify(conn.fd, select.EPOLLIN)

    def _notify_push(self, conn: _SocketConn) -> None:
        if not self.push_ready:
            os.eventfd_write(self.wake_fd, 1)
        self.push_ready.add(conn)

    def _send_pushes(self) -> None:
        ready, self.push_ready = self.push_ready, set()
        for conn in ready:
            queue = conn.proto.session.out_queue
            if queue and conn.fd in self.conns:
                data = b"".join(queue)
                queue.clear()
                self._write(conn, data)

    def unblocked(self, session: Session, reply: object) -> None:
        conn = self.by_session.get(session.id)
        if conn is not None:
            data = conn.proto.unblock(reply)
            if conn.proto.pending:
                self.paused.add(conn)
            if data or conn.proto.close_after_flush:
                conn.queued = True
                self.pending_writes.append((conn, data))

    def _close(self, conn: _SocketConn) -> None:
        if self.conns.pop(conn.fd, None) is None:
            return
        self.by_session.pop(conn.proto.session.id, None)
        self.paused.discard(conn)
        self.push_ready.discard(conn)
        try:
            self.epoll.unregister(conn.fd)
        except (OSError, ValueError):
            pass
        conn.raw.close()
        conn.proto.closed()
        repl = self.node.repl
        if repl.replicas or repl.handshakes:
            _replica_gone(self.node, conn.proto.session.id)

    def flush_pending(self) -> None:
        """Send replies and pushes produced outside this loop (``after_external_batch``)."""
        if self.pending_writes:
            self._write_pending()
        if self.push_ready:
            self._send_pushes()

    def kill(self, session: Session) -> None:
        """CLIENT KILL: close now, or right after replies still owed to it (killing oneself)."""
        conn = self.by_session.get(session.id)
        if conn is not None:
            conn.proto.close_after_flush = True
            if not conn.out and not conn.queued:
                self._close(conn)

    def periodic(self, now_ms: int) -> None:
        for session in _idle_clients(self.node, now_ms):
            conn = self.by_session.get(session.id)
            if conn is not None:
                self._close(conn)
        if self.paused and not self.node.paused_until_ms:
            for conn in list(self.paused):
                out = conn.proto.resume()
                if not conn.proto.pending:
                    self.paused.discard(conn)
                if out and conn.fd in self.conns:
                    self._write(conn, out)
                if conn.proto.close_after_flush and not conn.out:
                    self._close(conn)
        if self.pending_writes:
            # Replies released by the tick (blocking timeouts): no socket event will come to
            # flush them.
            self._write_pending()


class StreamClientServer:
    """One trio task per connection, for transports that give trio Streams (see module doc)."""

    def __init__(self, server: ClientServer) -> None:
        self.server = server
        self.node = server.node
        self.scopes: dict[int, trio.CancelScope] = {}
        self.protos: dict[int, ClientConnection] = {}

    async def run(self, listeners: list, task_status=trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            for listener in listeners:
                nursery.start_soon(self._accept_loop, listener, nursery)
            task_status.started()

    async def _accept_loop(self, listener, nursery: trio.Nursery) -> None:
        while True:
            stream = await listener.accept()
            nursery.start_soon(self._serve, stream)

    async def _serve(self, stream) -> None:
        async with stream:
            session = self.server.new_session("memory:0", "memory:0")
            if session is None:
                await stream.send_all(MAX_CLIENTS_REPLY)
                return
            proto = ClientConnection(self.node, session)
            self.protos[session.id] = proto
            wakeup = trio.Event()
            session.notify = wakeup.set
            scope = self.scopes[session.id] = trio.CancelScope()
            try:
                with scope:
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(self._pusher, stream, session)
                        await self._read_loop(stream, proto)
                        nursery.cancel_scope.cancel()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass
            finally:
                self.scopes.pop(session.id, None)
                self.protos.pop(session.id, None)
                proto.closed()
                if self.node.repl.replicas or self.node.repl.handshakes:
                    _replica_gone(self.node, session.id)

    async def _read_loop(self, stream, proto: ClientConnection) -> None:
        node = self.node
        while not proto.close_after_flush:
            data = await stream.receive_some(RECV_BYTES)
            if not data:
                return
            node.now_ms = self.server.runtime.wall_ms()
            proto.session.last_interaction_ms = node.now_ms
            out = proto.feed(data)
            while proto.pending and not proto.blocked and not proto.close_after_flush:
                if out:
                    await stream.send_all(out)
                await trio.sleep(0.01)
                node.now_ms = self.server.runtime.wall_ms()
                out = proto.resume()
            if node.events:
                await self.server.drain_events()
            if node.blocking.ready or node.blocking.released:
                self.server.release_blocked()
            if node.blocking.deadline_added is not None:
                self.server.note_new_deadlines()
            if out:
                await stream.send_all(out)

    async def _pusher(self, stream, session: Session) -> None:
        while True:
            event = trio.Event()
            session.notify = event.set
            if not session.out_queue:
                await event.wait()
            data = b"".join(session.out_queue)
            session.out_queue.clear()
            await stream.send_all(data)

    def unblocked(self, session: Session, reply: object) -> None:
        proto = self.protos.get(session.id)
        if proto is not None:
            data = proto.unblock(reply)
            if data:
                session.push_out_of_band(data)

    def flush_pending(self) -> None:
        """Replies here are sent by each connection's own task."""

    def kill(self, session: Session) -> None:
        scope = self.scopes.get(session.id)
        if scope is not None:
            scope.cancel()

    def periodic(self, now_ms: int) -> None:
        for session in _idle_clients(self.node, now_ms):
            self.kill(session)
