"""The client driver for any trio Listener that is not a real socket (the in-memory network of
Tier T tests and simulations): one trio task per connection over ``receive_some``/``send_all``,
each read fed to ``ClientConnection.feed`` with the time it arrived at."""

from __future__ import annotations

from typing import TYPE_CHECKING

import trio

from node import replication
from node.client_conn import ClientConnection
from node.cron import idle_clients
from node.drivers.limits import MAX_CLIENTS_REPLY, RECV_BYTES
from node.runtime.transport import stream_addresses
from node.session import Session

if TYPE_CHECKING:
    from node.drivers.client_server import ClientServer

# How often a client held by CLIENT PAUSE looks whether it may go on.
PAUSE_POLL_S = 0.01


def _address(address: tuple[str, int] | None) -> str:
    return "%s:%d" % address if address else "memory:0"


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
            addresses = stream_addresses(stream)
            peer, local = addresses if addresses is not None else (None, None)
            session = self.server.new_session(_address(peer), _address(local))
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
                    replication.replica_disconnected(self.node, session.id)

    async def _read_loop(self, stream, proto: ClientConnection) -> None:
        node = self.node
        wall_ms = self.server.clock.wall_ms
        while not proto.close_after_flush:
            data = await stream.receive_some(RECV_BYTES)
            if not data:
                return
            out = proto.feed(data, wall_ms())
            while proto.pending and not proto.blocked and not proto.close_after_flush:
                if out:
                    await stream.send_all(out)
                await trio.sleep(PAUSE_POLL_S)
                out = proto.resume(wall_ms())
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
        for session in idle_clients(self.node, now_ms):
            self.kill(session)
