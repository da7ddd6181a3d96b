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
- ``SaveConfig`` writes nodes.conf atomically (temp file in the same directory, fsync, rename),
  the only file I/O of the cluster layer.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import trio

from gossip.nodesconf import render_nodes_conf
from gossip.outbox import Connect, Disconnect, SaveConfig, Send
from gossip.wire import BusProtocolError, FrameDecoder, encode
from node.cluster_node import NodeCluster
from node.runtime import Runtime
from node.state import NodeState

log = logging.getLogger("rcsim.node")

RECV_BYTES = 65536


def write_nodes_conf(path: Path, text: str, fsync: bool = True) -> None:
    """Replace ``path`` atomically, as Redis's clusterSaveConfig: a reader (or a crash) sees
    the old file or the new one, never half of one."""
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        if fsync:
            os.fsync(out.fileno())
    os.replace(tmp, path)
    if fsync:
        try:
            dir_fd = os.open(path.parent, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


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
        self, node: NodeState, cluster: NodeCluster, runtime: Runtime, config_path: Path
    ) -> None:
        self.node = node
        self.cluster = cluster
        self.state = cluster.state
        self.runtime = runtime
        self.config_path = config_path
        self.links: dict[int, _Link] = {}
        self._nursery: trio.Nursery | None = None
        self._wakeup = trio.Event()
        self._closing = False
        cluster.poke = self._poke

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

    def _poke(self) -> None:
        self._wakeup.set()

    # --------------------------------------------------------------------------- outbox

    def pump(self) -> None:
        """Drain the core's outbox and carry out its effects, in order."""
        if self._closing:
            return
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
                self._save(effect.fsync)

    def _save(self, fsync: bool) -> None:
        try:
            write_nodes_conf(self.config_path, render_nodes_conf(self.state), fsync)
        except OSError as error:
            log.warning("Could not save the cluster config file %s: %s", self.config_path, error)

    def _now(self) -> int:
        now = self.runtime.wall_ms()
        self.node.now_ms = now
        return now

    # ---------------------------------------------------------------------------- timer

    async def _tick_loop(self) -> None:
        while True:
            now = self._now()
            if now >= self.state.next_deadline_ms():
                self.state.on_tick(now)
                self.pump()
                continue
            delay = (self.state.next_deadline_ms() - now) / 1000
            with trio.move_on_after(max(0.0, delay)):
                await self._wakeup.wait()
            if self._wakeup.is_set():
                self._wakeup = trio.Event()
                self.pump()

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
                    with trio.move_on_after(timeout):
                        stream = await self.runtime.transport.connect(connect.ip, connect.cport)
                    if stream is None:
                        return
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
        for message in messages:
            if link.dropped_by_core:
                return
            self.state.on_message(link.link_id, message, self._now())
            self.pump()


def _addresses(stream) -> tuple[str, str]:
    try:
        peer = stream.socket.getpeername()[0]
        local = stream.socket.getsockname()[0]
    except (AttributeError, OSError):
        return "127.0.0.1", "127.0.0.1"
    return str(peer), str(local)
