"""Transports: how drivers listen and connect. Both hand out trio Listeners and Streams.

``TcpTransport`` is plain TCP (what a node process uses). ``MemoryNetwork`` is a network inside
one ``trio.run``, for many nodes in one process (Tier T tests, simulations): each node gets a
``MemoryTransport`` bound to its own host name (``network.transport("127.0.10.1")``), so the
network knows which side of a partition every connection is on.

What the memory network models, per direction of each link (a pair of host names):

* **delay**: every write arrives ``delay_s`` after it was sent (in trio time, so virtual under
  ``MockClock``), in order, like bytes over TCP;
* **loss**: TCP never loses bytes a connection delivers; a lost segment is retransmitted and
  everything behind it waits. So ``loss`` is the probability that a write is "lost" once more
  and arrives one retransmission timeout later (``retransmit_s``, doubling per repeated loss),
  holding back the writes after it. Nothing is dropped or reordered, so every protocol (RESP,
  the replication stream, the bus) stays intact, as over a lossy real network;
* **partition** (``partition(a, b)`` / ``heal()``): nothing flows between ``a`` and ``b``.
  Bytes in flight wait (TCP retransmits until it gives up, which the protocols' own timeouts
  decide first), a connection attempt fails after ``unreachable_s`` like one to an unreachable
  host, an EOF (close) does not arrive either. After ``heal`` what waited arrives.

A connection to an address nobody listens on is refused at once (``ConnectionRefusedError``).
All randomness comes from the network's seeded ``random.Random``.
"""

from __future__ import annotations

import errno
import math
import random
import weakref
from collections import deque
from dataclasses import dataclass

import trio

Address = tuple[str, int]


class TcpTransport:
    """Plain TCP: listeners for the client and bus ports, outgoing connections to peers."""

    async def listen(self, host: str, port: int, backlog: int = 511) -> list[trio.SocketListener]:
        return await trio.open_tcp_listeners(port, host=host, backlog=backlog)

    async def connect(self, host: str, port: int) -> trio.SocketStream:
        return await trio.open_tcp_stream(host, port)


def listener_port(listener: object) -> int:
    """The port a listener is bound to (what ``port 0`` became)."""
    address = getattr(listener, "address", None)
    if address is not None:
        return address[1]
    return listener.socket.getsockname()[1]  # type: ignore[attr-defined]


def stream_addresses(stream: object) -> tuple[Address, Address] | None:
    """(peer, local) addresses of a connected stream, or None when unknown."""
    peer = getattr(stream, "peer", None)
    if peer is not None:
        return peer, stream.local  # type: ignore[attr-defined]
    sock = getattr(stream, "socket", None)
    if sock is None:
        return None
    try:
        return tuple(sock.getpeername()[:2]), tuple(sock.getsockname()[:2])  # type: ignore[return-value]
    except OSError:
        return None


@dataclass
class LinkConditions:
    delay_s: float = 0.0
    loss: float = 0.0


class _Pipe:
    """One direction of a connection: writes queued with the time they may be read."""

    def __init__(self, network: MemoryNetwork, src: str, dst: str) -> None:
        self.network = network
        self.src = src
        self.dst = dst
        self.queue: deque[tuple[float, bytes | None]] = deque()  # None: EOF
        self.last_ready = 0.0
        self.reader_closed = False
        self.changed = trio.Event()
        network._pipes.add(self)

    def wake(self) -> None:
        self.changed.set()

    def put(self, data: bytes | None) -> None:
        network = self.network
        conditions = network.conditions(self.src, self.dst)
        ready = trio.current_time() + conditions.delay_s
        rto = network.retransmit_s
        while conditions.loss and network.rng.random() < conditions.loss:
            ready += rto
            rto = min(rto * 2, 60.0)
        self.last_ready = ready = max(ready, self.last_ready)
        self.queue.append((ready, data))
        self.wake()

    async def get(self) -> bytes | None:
        while True:
            if self.reader_closed:
                raise trio.ClosedResourceError("stream closed")
            queue = self.queue
            deadline = math.inf
            if queue and not self.network.cut(self.src, self.dst):
                ready, data = queue[0]
                if ready <= trio.current_time():
                    queue.popleft()
                    return data
                deadline = ready
            self.changed = trio.Event()
            with trio.move_on_at(deadline):
                await self.changed.wait()


class MemoryStream(trio.abc.Stream):
    """One end of an in-memory connection. ``peer`` and ``local`` are (host, port)."""

    def __init__(self, send: _Pipe, receive: _Pipe, local: Address, peer: Address) -> None:
        self._send = send
        self._receive = receive
        self.local = local
        self.peer = peer
        self._closed = False
        self._eof = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await trio.lowlevel.checkpoint()
        if self._closed:
            raise trio.ClosedResourceError("stream closed")
        if self._send.reader_closed:
            raise trio.BrokenResourceError("connection reset by peer")
        if data:
            self._send.put(bytes(data))

    async def wait_send_all_might_not_block(self) -> None:
        await trio.lowlevel.checkpoint()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._closed:
            raise trio.ClosedResourceError("stream closed")
        if self._eof:
            await trio.lowlevel.checkpoint()
            return b""
        data = await self._receive.get()
        if data is None:
            self._eof = True
            return b""
        if max_bytes is not None and len(data) > max_bytes:
            self._receive.queue.appendleft((trio.current_time(), data[max_bytes:]))
            data = data[:max_bytes]
        return data

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._send.put(None)
            self._receive.reader_closed = True
            self._receive.wake()
        await trio.lowlevel.checkpoint()


class MemoryListener(trio.abc.Listener[MemoryStream]):
    def __init__(self, network: MemoryNetwork, address: Address) -> None:
        self.network = network
        self.address = address
        self._send, self._receive = trio.open_memory_channel[MemoryStream](math.inf)

    async def accept(self) -> MemoryStream:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise trio.ClosedResourceError("listener closed") from None

    async def aclose(self) -> None:
        if self.network._listeners.get(self.address) is self:
            del self.network._listeners[self.address]
        self._send.close()
        await trio.lowlevel.checkpoint()


class MemoryNetwork:
    """An in-memory network for many nodes in one ``trio.run`` (see the module docstring)."""

    def __init__(
        self,
        seed: int = 0,
        delay_s: float = 0.0,
        loss: float = 0.0,
        retransmit_s: float = 0.2,
        unreachable_s: float = 1.0,
    ) -> None:
        self.rng = random.Random(seed)
        self.default = LinkConditions(delay_s, loss)
        self.retransmit_s = retransmit_s
        self.unreachable_s = unreachable_s
        self._links: dict[tuple[str, str], LinkConditions] = {}
        self._cut: set[frozenset[str]] = set()
        self._listeners: dict[Address, MemoryListener] = {}
        self._pipes: weakref.WeakSet[_Pipe] = weakref.WeakSet()
        self._next_port: dict[str, int] = {}

    def transport(self, host: str) -> MemoryTransport:
        """The network as the node on ``host`` sees it."""
        return MemoryTransport(self, host)

    # -- conditions ------------------------------------------------------------------------

    def set_link(
        self, a: str, b: str, delay_s: float | None = None, loss: float | None = None
    ) -> None:
        """Delay and loss between hosts ``a`` and ``b`` (both directions)."""
        for pair in ((a, b), (b, a)):
            old = self._links.get(pair, self.default)
            self._links[pair] = LinkConditions(
                old.delay_s if delay_s is None else delay_s, old.loss if loss is None else loss
            )

    def conditions(self, src: str, dst: str) -> LinkConditions:
        return self._links.get((src, dst), self.default)

    def partition(self, a: str, b: str) -> None:
        """Cut every connection between hosts ``a`` and ``b`` until ``heal``."""
        self._cut.add(frozenset((a, b)))

    def heal(self, a: str | None = None, b: str | None = None) -> None:
        """End the partition between ``a`` and ``b`` (every partition without arguments);
        what waited in flight arrives."""
        if a is None or b is None:
            self._cut.clear()
        else:
            self._cut.discard(frozenset((a, b)))
        for pipe in list(self._pipes):
            pipe.wake()

    def cut(self, a: str, b: str) -> bool:
        return bool(self._cut) and frozenset((a, b)) in self._cut

    # -- endpoints -------------------------------------------------------------------------

    def _ephemeral_port(self, host: str) -> int:
        port = self._next_port.get(host, 40000)
        self._next_port[host] = port + 1
        return port

    def listen(self, host: str, port: int) -> MemoryListener:
        if port == 0:
            port = self._ephemeral_port(host)
        address = (host, port)
        if address in self._listeners:
            raise OSError(errno.EADDRINUSE, f"address already in use: {host}:{port}")
        listener = self._listeners[address] = MemoryListener(self, address)
        return listener

    async def connect(self, src: str, host: str, port: int) -> MemoryStream:
        if self.cut(src, host):
            await trio.sleep(self.unreachable_s)
            raise OSError(errno.EHOSTUNREACH, f"no route to host {host}")
        delay = self.conditions(src, host).delay_s
        if delay:
            await trio.sleep(delay)  # the SYN's way there (its answer is the first write)
        listener = self._listeners.get((host, port))
        if listener is None or self.cut(src, host):
            await trio.lowlevel.checkpoint()
            raise ConnectionRefusedError(errno.ECONNREFUSED, f"connection refused: {host}:{port}")
        local = (src, self._ephemeral_port(src))
        outbound, inbound = _Pipe(self, src, host), _Pipe(self, host, src)
        client = MemoryStream(outbound, inbound, local, (host, port))
        server = MemoryStream(inbound, outbound, (host, port), local)
        listener._send.send_nowait(server)
        return client


class MemoryTransport:
    """``MemoryNetwork`` from one host: the transport a node's ``Runtime`` carries."""

    def __init__(self, network: MemoryNetwork, host: str) -> None:
        self.network = network
        self.host = host

    async def listen(self, host: str, port: int, backlog: int = 511) -> list[MemoryListener]:
        await trio.lowlevel.checkpoint()
        return [self.network.listen(host, port)]

    async def connect(self, host: str, port: int) -> MemoryStream:
        return await self.network.connect(self.host, host, port)
