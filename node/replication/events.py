"""Events the replication core appends to ``node.events`` for the driver (``node/drivers/repl_link.py``).

They live here (re-exported by ``node.state``) so ``node.state`` can import the replication
state without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReplicateFrom:
    """Event: (re)start the replica link towards ``host:port`` (REPLICAOF host port, CLUSTER
    REPLICATE, a failover that made this node a replica). Any previous link must be dropped."""

    host: str
    port: int


@dataclass(frozen=True, slots=True)
class StopReplication:
    """Event: drop the replica link, this node is a master now (REPLICAOF NO ONE, promotion)."""
