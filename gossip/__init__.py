"""Cluster bus state machines (pure): gossip, slot ownership, epochs, failure detection, elections.

Public surface (see ``gossip.state`` for the theory of operation):

- ``ClusterState`` (``gossip.state``), ``GossipConfig`` (``gossip.config``);
- messages (``gossip.messages``) and framing (``gossip.wire``: ``encode``, ``FrameDecoder``,
  ``BusProtocolError``, ``BUS_FRAME_MAX_BYTES``);
- outbox types (``gossip.outbox``);
- text and reply data: ``gossip.nodesconf`` (CLUSTER NODES, nodes.conf render/load) and
  ``gossip.views`` (CLUSTER INFO/SLOTS/SHARDS/REPLICAS/LINKS);
- ``ClusterCommandError`` / ``NodesConfError`` (``gossip.errors``).
"""

from gossip.config import GossipConfig
from gossip.errors import ClusterCommandError, NodesConfError
from gossip.state import ClusterState
from gossip.wire import BUS_FRAME_MAX_BYTES, BusProtocolError, FrameDecoder, encode

__all__ = [
    "BUS_FRAME_MAX_BYTES",
    "BusProtocolError",
    "ClusterCommandError",
    "ClusterState",
    "FrameDecoder",
    "GossipConfig",
    "NodesConfError",
    "encode",
]
