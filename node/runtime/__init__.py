"""The one seam between node cores and the world: clock, transport, storage, host facts and a
seeded random source, bundled in a ``Runtime`` that ``open_node`` receives.

Drivers (``node.drivers``) take every one of them from here and hand cores what they need as
arguments; cores never read a clock, open a socket or a file, or create a random source.

* ``Runtime.real(seed)``: a node process (TCP, the system clocks, files on disk, this
  process's facts);
* ``Runtime.virtual(network, host, seed)``: one node of many in one ``trio.run`` (in-memory
  network and files, trio's clock, virtual under ``trio.testing.MockClock``).

Modules: ``clock`` (RealClock, TrioClock), ``transport`` (TcpTransport, MemoryNetwork),
``storage`` (DiskStorage, MemoryStorage), ``host`` (real_host, virtual_host).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from node.host import Host
from node.runtime.clock import VIRTUAL_EPOCH_MS, Clock, RealClock, TrioClock
from node.runtime.host import real_host, virtual_host
from node.runtime.storage import DiskStorage, MemoryStorage
from node.runtime.transport import MemoryNetwork, MemoryTransport, TcpTransport

__all__ = [
    "Clock",
    "DiskStorage",
    "MemoryNetwork",
    "MemoryStorage",
    "MemoryTransport",
    "RealClock",
    "Runtime",
    "TcpTransport",
    "TrioClock",
]


@dataclass
class Runtime:
    """Everything a node's drivers get from the world (see the module docstring)."""

    clock: Clock = field(default_factory=RealClock)
    transport: TcpTransport | MemoryTransport = field(default_factory=TcpTransport)
    storage: DiskStorage | MemoryStorage = field(default_factory=DiskStorage)
    rng: random.Random = field(default_factory=random.Random)
    host: Host | None = None

    def __post_init__(self) -> None:
        if self.host is None:
            self.host = real_host(self.storage)

    @classmethod
    def real(cls, seed: int | None = None) -> Runtime:
        storage = DiskStorage()
        return cls(RealClock(), TcpTransport(), storage, random.Random(seed), real_host(storage))

    @classmethod
    def virtual(
        cls,
        network: MemoryNetwork,
        host: str,
        seed: int,
        storage: MemoryStorage | None = None,
        mock_clock: object | None = None,
        epoch_ms: int = VIRTUAL_EPOCH_MS,
        pid: int = 1,
    ) -> Runtime:
        """One node on ``network`` at address ``host``; its files in ``storage`` (kept by the
        caller across a simulated restart or crash)."""
        files = storage if storage is not None else MemoryStorage()
        return cls(
            TrioClock(epoch_ms, mock_clock),
            network.transport(host),
            files,
            random.Random(seed),
            virtual_host(files, pid),
        )
