"""One entry of the node table (Redis's clusterNode) and one bus link (clusterLink).

These are the core's private records: mutable, owned by ``ClusterState``, never shared with
the driver. Relations are by id (``master_id``, ``replicas``, ``link``) rather than pointers so
that a handshake node renamed on its first PONG needs one re-key in the table.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from gossip.messages import NO_FLAGS, NodeFlag
from gossip.slots import SLOT_BITMAP_BYTES

_int_and = int.__and__
_MASTER = NodeFlag.MASTER.value
_REPLICA = NodeFlag.REPLICA.value
_MYSELF = NodeFlag.MYSELF.value
_HANDSHAKE = NodeFlag.HANDSHAKE.value
_PFAIL = NodeFlag.PFAIL.value
_FAIL = NodeFlag.FAIL.value


def random_node_id(rng: random.Random) -> str:
    """40 random lowercase hex characters, as Redis's getRandomHexChars for a node name."""
    return f"{rng.getrandbits(160):040x}"


@dataclass(slots=True, eq=False)
class ClusterNode:
    node_id: str
    flags: NodeFlag = NO_FLAGS
    ctime_ms: int = 0
    ip: str = ""
    port: int = 0
    cport: int = 0
    hostname: str = ""
    master_id: str | None = None  # replica_of: the master this node replicates
    replicas: list[str] = field(default_factory=list)
    config_epoch: int = 0
    ping_sent_ms: int = 0  # 0: no ping pending
    pong_received_ms: int = 0
    data_received_ms: int = 0  # last message from this node on any link
    fail_time_ms: int = 0
    link: int | None = None  # our outbound link to it
    inbound_link: int | None = None  # its link to us, once it identified itself
    slot_bitmap: bytearray = field(default_factory=lambda: bytearray(SLOT_BITMAP_BYTES))
    # (copy of slot_bitmap, its CLUSTER NODES ranges text): gossip.nodesconf re-prints the
    # ranges only when the bitmap changed (a 2 KB compare instead of a 16384-bit walk).
    ranges_cache: tuple[bytes, str] = (b"", "")
    num_slots: int = 0
    failure_reports: dict[str, int] = field(default_factory=dict)  # reporter id -> time ms
    repl_offset: int = 0
    # The last vote for a replica of this master (gossip.vote); orphaned since (migration).
    voted_time_ms: int = 0
    orphaned_time_ms: int = 0

    # The role and state tests below run for every node on every CLUSTER NODES line, nodes.conf
    # save and gossip message: plain int masks, because ``IntFlag.__and__`` builds an enum
    # member per test (about 1 us each, a tenth of a reshard's gossip CPU).
    @property
    def is_master(self) -> bool:
        return bool(_int_and(self.flags, _MASTER))

    @property
    def is_replica(self) -> bool:
        return bool(_int_and(self.flags, _REPLICA))

    @property
    def is_myself(self) -> bool:
        return bool(_int_and(self.flags, _MYSELF))

    @property
    def in_handshake(self) -> bool:
        return bool(_int_and(self.flags, _HANDSHAKE))

    @property
    def timed_out(self) -> bool:
        """PFAIL: my own failure detector suspects it (Redis's nodeTimedOut)."""
        return bool(_int_and(self.flags, _PFAIL))

    @property
    def failed(self) -> bool:
        """FAIL: agreed by a majority of masters (Redis's nodeFailed)."""
        return bool(_int_and(self.flags, _FAIL))


@dataclass(slots=True, eq=False)
class Link:
    """A bus connection. Outbound links are ours to one node (``node_id`` is the target);
    inbound links are a peer's to us (``node_id`` set once a known sender used it)."""

    link_id: int
    inbound: bool
    node_id: str | None
    peer_ip: str
    local_ip: str
    ctime_ms: int
    up: bool = False
