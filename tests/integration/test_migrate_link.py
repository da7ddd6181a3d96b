"""The MIGRATE driver (node.drivers.migrate_link) on real loopback sockets: line reads across chunks,
timeouts (ETIMEDOUT: no retry) against a closed peer (retry), Redis's view of a refused connect
(a link whose first write fails), the per-target cache and the idle close."""

from __future__ import annotations

import random
import socket
import threading
import time

from node.drivers.migrate_link import (
    CACHE_TTL_S,
    BlockingLink,
    BlockingMigrateTransport,
    _atoi,
)

# The real clock, as a node's runtime gives it.
MONOTONIC = time.monotonic


def test_read_line_across_chunks_and_pipelined_replies() -> None:
    ours, peer = socket.socketpair()
    link = BlockingLink(ours, MONOTONIC)
    try:
        peer.sendall(b"+O")
        threading.Timer(0.05, lambda: peer.sendall(b"K\r\n-BUSYKEY Target\r\n+OK\r\n")).start()
        assert link.read_line(2000) == b"+OK"
        assert link.read_line(2000) == b"-BUSYKEY Target"
        assert link.read_line(2000) == b"+OK"
        assert link.write(b"PING\r\n", 1000)
        assert peer.recv(100) == b"PING\r\n"
    finally:
        link.close()
        peer.close()


def test_timeout_and_closed_peer() -> None:
    ours, peer = socket.socketpair()
    link = BlockingLink(ours, MONOTONIC)
    try:
        assert link.read_line(50) is None and link.timed_out
        peer.close()
        assert link.read_line(1000) is None and not link.timed_out
    finally:
        link.close()


def test_write_times_out_when_the_target_stops_reading() -> None:
    """A target that reads nothing fills the socket buffers: the write gives up at its
    deadline with ``timed_out`` (MIGRATE then answers IOERR without a retry), and a write
    that fits goes through."""
    ours, peer = socket.socketpair()
    link = BlockingLink(ours, MONOTONIC)
    try:
        assert link.write(b"x" * 1000, 1000) and not link.timed_out
        assert peer.recv(2000) == b"x" * 1000
        started = time.monotonic()
        assert not link.write(b"y" * 50_000_000, 200)
        assert link.timed_out and 0.15 < time.monotonic() - started < 5
    finally:
        link.close()
        peer.close()


def test_refused_connect_gives_a_link_that_cannot_write() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens once closed
    transport = BlockingMigrateTransport(random.Random(1), MONOTONIC)
    link = transport.get(b"127.0.0.1", b"%d" % port, 500)
    assert link is not None and link.sock is None
    assert not link.write(b"x", 100) and not link.timed_out
    assert transport.get(b"no-such-host.invalid", b"1", 200) is None


def test_cache_reuse_close_and_idle_close() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = b"%d" % listener.getsockname()[1]
    transport = BlockingMigrateTransport(random.Random(1), MONOTONIC)
    try:
        first = transport.get(b"127.0.0.1", port, 1000)
        assert first is not None and first.sock is not None
        assert transport.get(b"127.0.0.1", port, 1000) is first
        transport.close(b"127.0.0.1", port)
        assert first.sock is None and not transport.links
        second = transport.get(b"127.0.0.1", port, 1000)
        assert second is not first
        assert transport.close_idle(second.last_use_s + CACHE_TTL_S) == 0
        assert transport.close_idle(second.last_use_s + CACHE_TTL_S + 0.1) == 1
        assert not transport.links and second.sock is None
    finally:
        transport.close_all()
        listener.close()


def test_port_is_parsed_like_atoi() -> None:
    assert _atoi(b"6379") == 6379
    assert _atoi(b"63x") == 63
    assert _atoi(b"x") == 0
    assert _atoi(b" -5") == -5
