"""The bus driver's sockets on loopback: outbound links keep Nagle's algorithm on, as Redis
7.0's do (checked on the oracle: ``connect``ed bus sockets have TCP_NODELAY 0, accepted ones 1).
It decides what other masters see during a reshard: the importing node's PONG after each
``SETSLOT NODE`` waits behind the previous unacknowledged one instead of reaching them ahead of
redis-cli's own ``SETSLOT NODE``."""

from __future__ import annotations

import random
import socket
from pathlib import Path

import trio

from node.cluster_glue import ClusterGlue
from node.config import Config
from node.drivers.bus import BusDriver
from node.runtime import Runtime, TcpTransport
from tests.support.nodes import make_node


class RecordingTransport(TcpTransport):
    def __init__(self) -> None:
        self.streams: list[trio.SocketStream] = []

    async def connect(self, host: str, port: int) -> trio.SocketStream:
        stream = await super().connect(host, port)
        self.streams.append(stream)
        return stream


async def test_outbound_bus_link_keeps_nagle_on(tmp_path: Path) -> None:
    config = Config()
    config.set("cluster-enabled", "yes", startup=True)
    transport = RecordingTransport()
    runtime = Runtime.real()
    runtime.transport = transport
    now = runtime.clock.wall_ms()  # the driver ticks on the wall clock: a handshake must be recent
    node = make_node(config, rng=random.Random(1), now_ms=now)
    glue = ClusterGlue.create(config, 7000, node.rng, now)
    glue.attach(node)
    driver = BusDriver(node, glue, runtime, tmp_path / "nodes.conf")
    (peer_listener,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
    peer_port = peer_listener.socket.getsockname()[1]
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(driver.run, [])
            glue.state.meet("127.0.0.1", peer_port, peer_port, now)
            driver.pump()
            accepted = await peer_listener.accept()
            assert await accepted.receive_some(65536)  # the MEET went out on the link
            (outbound,) = transport.streams
            assert outbound.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
            # trio's default, which the accepted side keeps (so does Redis's).
            assert accepted.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            nursery.cancel_scope.cancel()
    await peer_listener.aclose()
