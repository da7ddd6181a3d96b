"""MIGRATE's connections to target instances, with blocking sockets (a driver: it does I/O).

``BlockingMigrateTransport`` is the ``node.commands.migrate.MigrateTransport`` a real node uses
(``open_node`` installs it as ``NodeState.migrate_transport``, with the runtime's random source
and monotonic clock: the waits are real, blocking the node as in Redis). It mirrors Redis 7.0's
``migrateGetSocket`` and friends (cluster.c):

* one cached connection per ``host:port`` (as given by the client), at most 64, a random one
  dropped when full (``MIGRATE_SOCKET_CACHE_ITEMS``);
* connections idle for more than 10 s are closed by ``close_idle_loop``, once a second, as
  ``migrateCloseTimedoutSockets`` does from ``serverCron`` (``MIGRATE_SOCKET_CACHE_TTL``);
* blocking I/O with the command's timeout (``connSyncWrite`` / ``connSyncReadLine``): the node
  blocks while MIGRATE runs, as Redis's event loop does, which keeps MIGRATE atomic per key.

Redis connects without blocking and then waits until the socket is writable, so a refused
connection looks connected and the error shows at the first write ("error or timeout writing to
target instance"); only a name that does not resolve or a connect timeout gives "connecting to the
client". ``get`` reproduces that with a link whose writes fail.
"""

from __future__ import annotations

import math
import random
import select
import socket
from collections.abc import Callable

import trio

CACHE_ITEMS = 64
CACHE_TTL_S = 10
READ_CHUNK = 16384


class BlockingLink:
    """One connection to a target (``migrateCachedSocket``).

    The socket stays non-blocking and waits go through ``poll`` with what is left of the
    timeout: a MIGRATE costs send, poll, recv. (A socket in timeout mode pays an ioctl per
    ``settimeout`` and a poll before every send too: twice the system calls, on the path every
    reshard takes several times per slot.)"""

    __slots__ = ("_buf", "_poller", "last_dbid", "last_use_s", "monotonic", "sock", "timed_out")

    def __init__(self, sock: socket.socket | None, monotonic: Callable[[], float]) -> None:
        self.sock = sock  # None: the connect failed at once (refused), every write fails
        self.monotonic = monotonic  # the runtime clock's, in seconds
        self.last_dbid = -1
        self.last_use_s = monotonic()
        self.timed_out = False
        self._buf = bytearray()
        self._poller = select.poll()
        if sock is not None:
            sock.setblocking(False)
            self._poller.register(sock, select.POLLIN)

    def _wait(self, events: int, deadline: float) -> bool:
        """Until the socket is ready for ``events`` (or has an error to report): False, with
        ``timed_out`` set, once ``deadline`` passes."""
        self._poller.modify(self.sock, events)  # type: ignore[arg-type]
        while True:
            remaining_ms = math.ceil((deadline - self.monotonic()) * 1000)
            if remaining_ms <= 0:
                self.timed_out = True
                return False
            if self._poller.poll(remaining_ms):
                return True

    def write(self, data: bytes, timeout_ms: int) -> bool:
        self.timed_out = False
        sock = self.sock
        if sock is None:
            return False
        deadline = self.monotonic() + timeout_ms / 1000
        view = memoryview(data)
        try:
            while view:
                try:
                    view = view[sock.send(view) :]
                except BlockingIOError:
                    if not self._wait(select.POLLOUT, deadline):
                        return False
        except OSError:
            return False
        return True

    def read_line(self, timeout_ms: int) -> bytes | None:
        """One line without CRLF within ``timeout_ms`` (from the start of this read)."""
        self.timed_out = False
        buf = self._buf
        deadline = self.monotonic() + timeout_ms / 1000
        while True:
            end = buf.find(b"\n")
            if end >= 0:
                line = bytes(buf[:end]).rstrip(b"\r")
                del buf[: end + 1]
                return line
            sock = self.sock
            if sock is None or not self._wait(select.POLLIN, deadline):
                return None
            try:
                chunk = sock.recv(READ_CHUNK)
            except BlockingIOError:
                continue
            except OSError:
                return None
            if not chunk:
                return None
            buf += chunk

    def close(self) -> None:
        if self.sock is not None:
            self._poller.unregister(self.sock)
            self.sock.close()
            self.sock = None


class BlockingMigrateTransport:
    """The node's cache of MIGRATE links (``server.migrate_cached_sockets``)."""

    def __init__(self, rng: random.Random, monotonic: Callable[[], float]) -> None:
        self.links: dict[bytes, BlockingLink] = {}
        self.rng = rng  # picks the link dropped when the cache is full
        self.monotonic = monotonic

    def get(self, host: bytes, port: bytes, timeout_ms: int) -> BlockingLink | None:
        name = host + b":" + port
        link = self.links.get(name)
        if link is not None:
            link.last_use_s = self.monotonic()
            return link
        if len(self.links) >= CACHE_ITEMS:
            victim = self.rng.choice(list(self.links))
            self.links.pop(victim).close()
        link = _connect(host, port, timeout_ms, self.monotonic)
        if link is not None:
            self.links[name] = link
        return link

    def close(self, host: bytes, port: bytes) -> None:
        link = self.links.pop(host + b":" + port, None)
        if link is not None:
            link.close()

    def close_idle(self, now_s: float) -> int:
        """Close the links unused for more than ``CACHE_TTL_S``; returns how many."""
        idle = [name for name, link in self.links.items() if now_s - link.last_use_s > CACHE_TTL_S]
        for name in idle:
            self.links.pop(name).close()
        return len(idle)

    def close_all(self) -> None:
        for link in self.links.values():
            link.close()
        self.links.clear()


def _atoi(raw: bytes) -> int:
    """C's atoi, as Redis parses MIGRATE's port: leading digits, else 0."""
    digits = b""
    text = raw.strip()
    sign = 1
    if text[:1] in (b"-", b"+"):
        sign = -1 if text[:1] == b"-" else 1
        text = text[1:]
    for byte in text:
        if not 48 <= byte <= 57:
            break
        digits += bytes((byte,))
    return sign * int(digits) if digits else 0


def _connect(
    host: bytes, port: bytes, timeout_ms: int, monotonic: Callable[[], float]
) -> BlockingLink | None:
    """A connected link, a dead link (refused: fails at the first write, as in Redis), or None
    (the name does not resolve, or the connect timed out)."""
    try:
        infos = socket.getaddrinfo(host.decode("latin-1"), _atoi(port), type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, OverflowError):
        return None
    family, kind, proto, _name, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.settimeout(timeout_ms / 1000)
    try:
        sock.connect(address)
    except TimeoutError:
        sock.close()
        return None
    except OSError:
        sock.close()
        return BlockingLink(None, monotonic)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return BlockingLink(sock, monotonic)


async def close_idle_loop(transport: BlockingMigrateTransport) -> None:
    """Once a second, close idle links (Redis does it from serverCron). Runs until cancelled."""
    try:
        while True:
            await trio.sleep(1)
            if transport.links:
                transport.close_idle(transport.monotonic())
    finally:
        transport.close_all()
