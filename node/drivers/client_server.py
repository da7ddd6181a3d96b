"""One node's client side: picks the connection driver, runs the tick task, carries out events.

``ClientServer.serve`` runs ``EpollClientLoop`` over real TCP listeners (the default) or
``StreamClientServer`` over any other trio Listener (the in-memory network), plus a tick task
that calls the pure ``node.cron.server_cron`` ``hz`` times a second (sooner when a blocked
client's timeout is due) and does the driver's share afterwards: hand released clients their
replies, close idle clients and silent replicas, resume clients held by CLIENT PAUSE, cut
replication across a DEBUG BUS-ISOLATE partition. ``drain_events`` carries out what handlers
leave in ``node.events``.
"""

from __future__ import annotations

import logging
import select

import trio

from node.client_conn import retry_blocked
from node.commands.sentinel import FailoverRequest
from node.cron import server_cron, update_cached_time
from node.drivers.epoll_loop import EpollClientLoop
from node.drivers.sentinel_failover import sentinel_failover
from node.drivers.stream_server import StreamClientServer
from node.replication import ReplicateFrom, StopReplication
from node.runtime import Runtime
from node.session import Session
from node.state import BlockFor, CloseClient, NodeState, Shutdown

log = logging.getLogger("rcsim.node")


class ClientServer:
    """Serves RESP for one ``NodeState`` on the given listeners."""

    def __init__(self, node: NodeState, runtime: Runtime) -> None:
        self.node = node
        self.runtime = runtime
        self.clock = runtime.clock
        self.shutdown_requested = trio.Event()
        # The tick task's next wake-up, and the event that wakes it earlier for a blocked
        # client whose timeout comes first (Redis answers timeouts to the millisecond).
        self._tick_wake_ms = 0
        self._tick_wakeup = trio.Event()
        self._driver: EpollClientLoop | StreamClientServer | None = None
        self._nursery: trio.Nursery | None = None
        # Replication (node/drivers/repl_link.py): the replica-side link, created on the
        # first ReplicateFrom event.
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
        if len(node.clients) >= node.config.get_int("maxclients"):
            node.stats.rejected_connections += 1  # not a received connection, as in Redis
            return None
        node.stats.total_connections_received += 1
        session = Session(node, node.new_client_id(), addr=addr, laddr=laddr)
        session.created_ms = session.last_interaction_ms = self.clock.wall_ms()
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
                # DEBUG SLEEP blocks the whole node, exactly as it blocks Redis's event loop;
                # what runs after it runs at the time it ends.
                self.clock.block(event.ms / 1000)
                update_cached_time(node, self.clock.wall_ms())
            elif type(event) is Shutdown:
                self.shutdown_requested.set()
            elif type(event) is FailoverRequest:
                connect = self.runtime.transport.connect
                self._nursery.start_soon(sentinel_failover, connect, event)  # type: ignore[union-attr]

    def _replica_link(self):
        """The replica-side link driver, created on first use (standalone masters never pay)."""
        if self.repl_link is None:
            from node.drivers.repl_link import ReplicaLink

            self.repl_link = ReplicaLink(
                self.node,
                self.runtime.transport.connect,
                self.clock.wall_ms,
                self.after_external_batch,
                self._nursery,  # type: ignore[arg-type]
            )
            glue = self.node.cluster_glue
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

    def cut_partitioned_replication(self) -> None:
        """DEBUG BUS-ISOLATE is a partition: replication links across it drop as well (the
        replica's link to an isolated master, an isolated replica's connection here)."""
        node = self.node
        glue = node.cluster_glue
        link = self.repl_link
        if link is not None and glue.master_cut_off():
            link.drop_connection()  # its task waits for the heal before reconnecting
        self._kill(glue.replicas_cut_off(node))

    def _kill(self, client_ids: list[int]) -> None:
        for client_id in client_ids:
            session = self.node.clients.get(client_id)
            if session is not None:
                self._driver.kill(session)  # type: ignore[union-attr]

    async def _tick_loop(self) -> None:
        """Sleep until the next tick (``hz``, a blocked client's deadline, the end of CLIENT
        PAUSE), run ``server_cron`` at that time, then the driver's share of the work."""
        node = self.node
        wall_ms = self.clock.wall_ms
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
            now = wall_ms()
            timed_out_replicas = server_cron(node, now)
            if node.blocking.released or node.blocking.ready:
                self.release_blocked()
            self._driver.periodic(now)  # type: ignore[union-attr]
            if timed_out_replicas:
                self._kill(timed_out_replicas)
            if node.cluster_glue is not None and node.cluster_glue.isolated:
                self.cut_partitioned_replication()
            if node.events:
                await self.drain_events()
