"""Glue between a node (``NodeState``) and its cluster core (``gossip.ClusterState``).

``NodeCluster`` lives in ``NodeState.cluster_node`` (and its core in ``NodeState.cluster``)
when the node runs with ``cluster-enabled yes``; both are None otherwise, so standalone code
paths never see them. It is pure like the rest of the node's
state: it builds the core's config from the node's directives, and turns the core's outbox into
node actions. Events that only concern the node's data (``DeleteKeysInSlots``, ``FlushAllData``,
``PublishReceived``) are applied here, to the node; effects that need sockets or the disk
(``Send``, ``Connect``, ``Disconnect``, ``SaveConfig``) are returned to the driver
(``node.bus.BusDriver``), which is the only place doing I/O.

CLUSTER subcommand handlers call the core's methods with ``node.now_ms`` and then ``poke()``,
which tells the driver that the outbox has work (a plain callback: no awaiting here).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from gossip import ClusterState, GossipConfig
from gossip.config import CLUSTER_PORT_INCR
from gossip.nodesconf import load_nodes_conf
from gossip.outbox import (
    Connect,
    DeleteKeysInSlots,
    Disconnect,
    Effect,
    FlushAllData,
    Output,
    PublishReceived,
    SaveConfig,
    Send,
    StateChanged,
)

if TYPE_CHECKING:
    from node.config import Config
    from node.state import NodeState

_EFFECT_TYPES = (Send, Connect, Disconnect, SaveConfig)


def bus_port(config: Config, tcp_port: int) -> int:
    """The port the bus listens on: ``cluster-port``, else the client port + 10000 (Redis)."""
    return config.get_int("cluster-port") or tcp_port + CLUSTER_PORT_INCR


def gossip_config(config: Config, tcp_port: int) -> GossipConfig:
    """The core's view of the cluster-* directives. Announced ports win over the listening
    ones, as in Redis's clusterUpdateMyselfAnnouncedPorts."""
    port = config.get_int("cluster-announce-port") or tcp_port
    cport = config.get_int("cluster-announce-bus-port") or bus_port(config, tcp_port)
    return GossipConfig(
        port=port,
        cport=cport,
        announce_ip=config.get("cluster-announce-ip"),
        hostname=config.get("cluster-announce-hostname"),
        node_timeout_ms=max(1, config.get_int("cluster-node-timeout")),
        require_full_coverage=config.get_bool("cluster-require-full-coverage"),
        allow_replica_migration=config.get_bool("cluster-allow-replica-migration"),
        replica_no_failover=config.get_bool("cluster-replica-no-failover"),
        preferred_endpoint_type=config.get("cluster-preferred-endpoint-type"),
    )


class NodeCluster:
    """The node's cluster side: the core ``state`` plus what only the node tracks."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state
        self.state_ok = state.state_ok
        self.bus_protocol_errors = 0  # frames that failed to decode (links closed for it)
        # Set by the driver: called after a command changed the core, so it drains the outbox.
        self.poke: Callable[[], None] = lambda: None

    @classmethod
    def create(
        cls,
        config: Config,
        tcp_port: int,
        rng: random.Random,
        now_ms: int,
        nodes_conf_text: str | None = None,
    ) -> NodeCluster:
        """A fresh node (random id, saves nodes.conf on the first drain), or the one described
        by ``nodes_conf_text`` (raises ``gossip.NodesConfError`` if it is corrupted)."""
        gconf = gossip_config(config, tcp_port)
        if nodes_conf_text is not None and nodes_conf_text.strip():
            state = load_nodes_conf(nodes_conf_text, gconf, rng, now_ms)
        else:
            state = ClusterState(gconf, rng, now_ms)
        return cls(state)

    def apply(self, node: NodeState, outputs: list[Output]) -> list[Effect]:
        """Carry out the node-side events of ``outputs``; return the driver's effects in order."""
        effects: list[Effect] = []
        for out in outputs:
            if isinstance(out, _EFFECT_TYPES):
                effects.append(out)  # type: ignore[arg-type]
            elif type(out) is DeleteKeysInSlots:
                delete_keys_in_slots(node, out.slots)
            elif type(out) is FlushAllData:
                for db in node.dbs:
                    db.flush()
            elif type(out) is PublishReceived:
                from node.types.pubsub import deliver

                deliver(node, out.channel, out.message, out.shard)
            elif type(out) is StateChanged:
                self.state_ok = out.ok
        return effects

    def drain(self, node: NodeState) -> list[Effect]:
        return self.apply(node, self.state.drain())


def delete_keys_in_slots(node: NodeState, slots: tuple[int, ...]) -> int:
    """Redis's delKeysInSlot for the "dirty slots" lost to a newer config (db 0 only)."""
    db = node.dbs[0]
    deleted = 0
    for slot in slots:
        for key in list(db.keys_in_slot(slot)):
            if db.delete(key):
                deleted += 1
    return deleted


def propagate_publish(node: NodeState, channel: bytes, message: bytes, shard: bool) -> None:
    """PUBLISH (SPUBLISH with ``shard``) on this node also goes over the bus, as Redis's
    clusterPropagatePublish; a no-op outside cluster mode. For node.types.pubsub's PUBLISH."""
    glue = node.cluster_node
    if glue is not None:
        glue.state.publish(channel, message, node.now_ms, shard=shard)
        glue.poke()
