"""trio driver for the cluster bus: sockets, the clock and nodes.conf for ``gossip.ClusterState``.

The core decides everything; this driver only carries inputs in and effects out, like Redis's
cluster.c event handlers around clusterProcessPacket/clusterCron:

- a listener on the bus port: every accepted connection is ``on_link_accepted`` and gets a
  reader task;
- ``Connect`` effects open outbound links (``Send`` effects queue on the link until it is up,
  then a writer task flushes them); ``Disconnect`` cancels the link's tasks;
- each reader feeds a ``gossip.wire.FrameDecoder`` and hands every message to ``on_message``. A
  ``BusProtocolError`` closes that link, logs one line and is counted: nothing a peer sends can
  stop the node. A peer that stops mid-frame just leaves the decoder waiting; the core's node
  timeout drops the link;
- a timer calls ``on_tick`` at ``next_deadline_ms()``; commands that changed the core ``poke``
  the driver, which drains the outbox at once;
- ``SaveConfig`` rewrites nodes.conf in place (fsync when asked), as Redis 7.0 does, the only
  file I/O of the cluster layer, through the runtime's storage;
- the time comes from the runtime's clock; before every message and tick the glue feeds the
  node that time and the core the node's replication offset (``ClusterGlue.feed_replication``);
- fault injection (DEBUG BUS-ISOLATE, ``ClusterGlue.isolated``): links to or from an isolated
  node are closed, connects to it fail (after the connect timeout a dead host would cost, so
  the core sees an unreachable node, not a busy loop), and its messages are dropped. With
  myself's id in the set every link is cut. ``apply_isolation`` runs after the command.
"""

from __future__ import annotations

import logging
import math
import socket
from dataclasses import dataclass, field
from pathlib import Path

import trio

from gossip.nodesconf import render_nodes_conf
from gossip.outbox import Connect, Disconnect, SaveConfig, Send
from gossip.wire import BusProtocolError, FrameDecoder, encode
from node.cluster_glue import ClusterGlue
from node.runtime import Runtime
from node.runtime.transport import stream_addresses
from node.state import NodeState

log = logging.getLogger("rcsim.node")

RECV_BYTES = 65536


@dataclass(eq=False)
class _Link:
    link_id: int
    send: trio.MemorySendChannel
    receive: trio.MemoryReceiveChannel
    scope: trio.CancelScope = field(default_factory=trio.CancelScope)
    # True once the core forgot the link (Disconnect): no on_link_closed for it then.
    dropped_by_core: bool = False


class BusDriver:
    def __init__(
        self, node: NodeState, cluster: ClusterGlue, runtime: Runtime, config_path: Path
    ) -> None:
        self.node = node
        self.cluster = cluster
        self.state = cluster.state
        self.runtime = runtime
        self.config_path = config_path
        self.conf_file = runtime.storage.open_in_place(config_path)
        self.links: dict[int, _Link] = {}
        self._nursery: trio.Nursery | None = None
        self._wakeup = trio.Event()
        self._closing = False
        cluster.poke = self._poke
        cluster.flush = self._flush_poke
        cluster.on_failover_event = _log_failover

    # ------------------------------------------------------------------------ lifecycle

    async def run(self, listeners: list, task_status=trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for listener in listeners:
                    nursery.start_soon(self._accept_loop, listener)
                self.pump()  # the first tick (due at once) saves a fresh node's nodes.conf
                nursery.start_soon(self._tick_loop)
                task_status.started()
        finally:
            self._closing = True
            self.conf_file.close()

    def _poke(self) -> None:
        self.cluster.poke_pending = True
        if not self.cluster.batch_open:
            self._wakeup.set()

    def _flush_poke(self) -> None:
        """Carry out what pokes asked for (isolation changes, then the outbox)."""
        if self.cluster.poke_pending:
            self.cluster.poke_pending = False
            if self.cluster.isolated:
                self.apply_isolation()
            self.pump()

    # --------------------------------------------------------------------------- outbox

    def pump(self) -> None:
        """Drain the core's outbox and carry out its effects in order, nodes.conf last."""
        if self._closing:
            return
        save = fsync = False
        for effect in self.cluster.drain(self.node):
            kind = type(effect)
            if kind is Send:
                link = self.links.get(effect.link_id)
                if link is not None:
                    try:
                        link.send.send_nowait(encode(effect.message))
                    except (trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
                        pass
            elif kind is Connect:
                self._start_link(effect.link_id, None, effect)
            elif kind is Disconnect:
                link = self.links.pop(effect.link_id, None)
                if link is not None:
                    link.dropped_by_core = True
                    link.scope.cancel()
            elif kind is SaveConfig:
                save, fsync = True, fsync or effect.fsync
        if save:
            # Once per drain, however many inputs asked (Redis saves once in beforeSleep). Still
            # before any frame queued above reaches a socket (the writer tasks run after this
            # returns), so a vote is on disk before it is sent.
            self._save(fsync)

    def _save(self, fsync: bool) -> None:
        try:
            self.conf_file.save(render_nodes_conf(self.state), fsync)
        except OSError as error:
            log.warning("Could not save the cluster config file %s: %s", self.config_path, error)

    def _now(self) -> int:
        return self.runtime.clock.wall_ms()

    # ---------------------------------------------------------------------------- timer

    async def _tick_loop(self) -> None:
        while True:
            now = self._now()
            if now >= self.state.next_deadline_ms():
                self.cluster.feed_replication(self.node, tick=True, now_ms=now)
                self.state.on_tick(now)
                self.pump()
                continue
            delay = (self.state.next_deadline_ms() - now) / 1000
            with trio.move_on_after(max(0.0, delay)):
                await self._wakeup.wait()
            if self._wakeup.is_set():
                self._wakeup = trio.Event()
            self._flush_poke()

    # ---------------------------------------------------------------------------- links

    async def _accept_loop(self, listener: trio.SocketListener) -> None:
        while True:
            try:
                stream = await listener.accept()
            except OSError as error:  # EMFILE and friends: keep serving
                log.warning("Error accepting cluster node: %s", error)
                await trio.sleep(0.1)
                continue
            peer_ip, local_ip = _addresses(stream)
            link_id = self.state.on_link_accepted(peer_ip, local_ip, self._now())
            self._start_link(link_id, stream, None)
            self.pump()

    def _start_link(self, link_id: int, stream, connect: Connect | None) -> None:
        send, receive = trio.open_memory_channel(math.inf)
        link = _Link(link_id, send, receive)
        self.links[link_id] = link
        assert self._nursery is not None
        self._nursery.start_soon(self._run_link, link, stream, connect)

    async def _run_link(self, link: _Link, stream, connect: Connect | None) -> None:
        try:
            with link.scope:
                if connect is not None:
                    timeout = max(0.1, self.state.config.node_timeout_ms / 1000)
                    if self.cluster.cut_off(connect.node_id) and not await self._wait_heal(
                        connect.node_id, timeout
                    ):
                        return
                    with trio.move_on_after(timeout):
                        stream = await self.runtime.transport.connect(connect.ip, connect.cport)
                    if stream is None:
                        return
                    _nagle_on(stream)
                    self.state.on_link_connected(link.link_id, self._now())
                    self.pump()
                async with stream, trio.open_nursery() as nursery:
                    nursery.start_soon(self._writer, link, stream, nursery.cancel_scope)
                    await self._reader(link, stream)
                    nursery.cancel_scope.cancel()
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            link.send.close()
            shutting_down = trio.current_effective_deadline() == -math.inf
            if not link.dropped_by_core and not self._closing and not shutting_down:
                self.links.pop(link.link_id, None)
                self.state.on_link_closed(link.link_id, self._now())
                self.pump()

    async def _writer(self, link: _Link, stream, scope: trio.CancelScope) -> None:
        """Flush queued frames; a broken socket ends the link (the reader is cancelled)."""
        try:
            async for frame in link.receive:
                chunks = [frame]
                while True:
                    try:
                        chunks.append(link.receive.receive_nowait())
                    except trio.WouldBlock:
                        break
                await stream.send_all(b"".join(chunks))
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
            scope.cancel()

    async def _reader(self, link: _Link, stream) -> None:
        """Feed the decoder until EOF, a socket error or a bad frame (closed, counted, logged
        once: Redis frees a link that sends a malformed packet)."""
        decoder = FrameDecoder()
        while True:
            try:
                data = await stream.receive_some(RECV_BYTES)
            except (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                return
            if not data:
                return
            try:
                messages = decoder.feed(data)
            except BusProtocolError as error:
                self._deliver(link, error.messages)
                self.cluster.bus_protocol_errors += 1
                log.warning("Closing cluster bus link %d: %s", link.link_id, error.reason)
                return
            self._deliver(link, messages)

    def _deliver(self, link: _Link, messages) -> None:
        """Hand a read's messages to the core, then carry out its effects once (Redis reads
        every whole message in the buffer, then saves nodes.conf once in beforeSleep)."""
        try:
            for message in messages:
                if link.dropped_by_core:
                    return
                if self.cluster.isolated and self.cluster.cut_off(message.header.sender):
                    link.scope.cancel()  # fault injection: this peer is cut off
                    return
                now = self._now()
                self.cluster.feed_replication(self.node, now_ms=now)
                self.state.on_message(link.link_id, message, now)
        finally:
            if messages:
                self.pump()

    # ------------------------------------------------------------------ fault injection

    async def _wait_heal(self, node_id: str, timeout: float) -> bool:
        """A connect to an isolated node: fail after ``timeout`` unless healed before."""
        with trio.move_on_after(timeout):
            while self.cluster.cut_off(node_id):
                await trio.sleep(0.05)
            return True
        return False

    def apply_isolation(self) -> None:
        """Close every link whose peer is isolated (DEBUG BUS-ISOLATE just ran)."""
        for link_id, link in list(self.links.items()):
            core_link = self.state.links.get(link_id)
            if core_link is not None and self.cluster.cut_off(core_link.node_id):
                link.scope.cancel()


_FAILOVER_LOG_LINES = {
    "election-scheduled": "Start of election delayed ({detail}).",
    "auth-requested": "Starting a failover election for epoch {epoch}.",
    "elected": "Failover election won: I'm the new master (configEpoch {epoch}).",
    "election-expired": "Currently unable to failover: Failover attempt expired.",
    "vote-granted": "Failover auth granted to {node_id} for epoch {epoch}",
    "vote-refused": "Failover auth denied to {node_id} for epoch {epoch}: {detail}",
    "manual-started": "Manual failover user request accepted ({detail}).",
    "manual-ready": "All master replication stream processed, manual failover can start.",
    "manual-aborted": "Manual failover timed out.",
    "manual-requested": "Manual failover requested by replica {node_id}.",
    "takeover": "Taking over the master (user request), configEpoch {epoch}.",
    "migrated": "Migrating to orphaned master {node_id}",
}


def _log_failover(event) -> None:  # type: ignore[no-untyped-def]
    """One log line per failover step, worded after Redis's serverLog calls in cluster.c."""
    template = _FAILOVER_LOG_LINES.get(event.kind)
    if template is not None:
        log.warning(template.format(epoch=event.epoch, node_id=event.node_id, detail=event.detail))


def _addresses(stream) -> tuple[str, str]:
    addresses = stream_addresses(stream)
    if addresses is None:
        return "127.0.0.1", "127.0.0.1"
    peer, local = addresses
    return str(peer[0]), str(local[0])


def _nagle_on(stream) -> None:
    """Outbound bus links keep Nagle's algorithm on, as Redis 7.0's do (it sets TCP_NODELAY
    only on the links it accepts; trio sets it on every stream it opens). It shapes timing that
    clients can see: during a reshard the importing node's PONG broadcast after each
    ``SETSLOT NODE`` waits behind the previous unacknowledged one, so the other masters take
    the new owner from redis-cli's own ``SETSLOT NODE`` first, as with Redis, instead of
    rewriting (and fsyncing) nodes.conf for every slot from the PONG."""
    try:
        stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, False)
    except (AttributeError, OSError):
        pass  # not a TCP stream (the simulated transport)
