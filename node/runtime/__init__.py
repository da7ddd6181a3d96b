"""The seams between node code and the outside world: transport, clocks, randomness.

``Runtime`` is handed to ``open_node``. Real processes use ``Runtime.real()`` (TCP on loopback,
the system clock); tests and simulations may pass their own transport and clock, and a seeded
``random.Random`` so that ids and samples are reproducible.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import trio


class TcpTransport:
    """Plain TCP: listeners for the client and bus ports, outgoing connections to peers."""

    async def listen(self, host: str, port: int, backlog: int = 511) -> list[trio.SocketListener]:
        return await trio.open_tcp_listeners(port, host=host, backlog=backlog)

    async def connect(self, host: str, port: int) -> trio.SocketStream:
        return await trio.open_tcp_stream(host, port)


@dataclass
class Runtime:
    transport: TcpTransport = field(default_factory=TcpTransport)
    rng: random.Random = field(default_factory=random.Random)
    # Wall-clock unix milliseconds: what EXPIREAT, TIME and CLUSTER NODES show clients.
    wall_ms: Callable[[], int] = field(default=lambda: time.time_ns() // 1_000_000)
    # Monotonic microseconds for SLOWLOG and LATENCY durations.
    monotonic_us: Callable[[], int] = field(default=lambda: time.perf_counter_ns() // 1000)
    monotonic_ns: Callable[[], int] = field(default=time.perf_counter_ns)

    @classmethod
    def real(cls, seed: int | None = None) -> Runtime:
        return cls(rng=random.Random(seed))
