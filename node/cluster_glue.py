"""Glue between a node (``NodeState``) and its cluster core (``gossip.ClusterState``).

``ClusterGlue`` lives in ``NodeState.cluster_glue`` (and its core in ``NodeState.cluster``)
when the node runs with ``cluster-enabled yes``; both are None otherwise, so standalone code
paths never see them. It is pure like the rest of the node's
state: it builds the core's config from the node's directives, and turns the core's outbox into
node actions. Events that only concern the node's data (``DeleteKeysInSlots``, ``FlushAllData``,
``PublishReceived``) are applied here, to the node; effects that need sockets or the disk
(``Send``, ``Connect``, ``Disconnect``, ``SaveConfig``) are returned to the driver
(``node.drivers.bus.BusDriver``), which is the only place doing I/O.

CLUSTER subcommand handlers call the core's methods with ``node.now_ms`` and then ``poke()``,
which tells the driver that the outbox has work (a plain callback: no awaiting here).

Failover glue (issue #5). The core decides elections; the node replicates:

- before each input the driver calls ``feed_replication``: the core gets the node's replication
  offset and data age (``node.replication.replica_offset`` / ``data_age_ms``), which go into
  every bus header and rank the replicas; on ticks it also re-asserts the role, as Redis's
  clusterCron does (a replica by nodes.conf whose replication is not set up follows its master,
  which is how a restarted replica, or a restarted old master, starts replicating);
- ``MyMasterChanged`` -> ``node.replication.follow(ip, port)`` (unless already following that
  address); ``PromotedToMaster`` -> ``node.replication.promote``; ``ManualFailoverPause`` pauses
  client writes like CLIENT PAUSE WRITE (or lifts it); ``FailoverEvent`` is kept in
  ``failover_log`` (bounded) for drills and logs.
- ``isolated``: node ids whose bus traffic the driver drops (DEBUG BUS-ISOLATE, for drills);
  myself's id in it cuts me off from every node.
"""

from __future__ import annotations

import random
from collections import deque
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
    FailoverEvent,
    FlushAllData,
    ManualFailoverPause,
    MyMasterChanged,
    Output,
    PromotedToMaster,
    PublishReceived,
    SaveConfig,
    Send,
    StateChanged,
)
from node import replication
from node.pubsub import deliver

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
        migration_barrier=config.get_int("cluster-migration-barrier"),
        replica_validity_factor=config.get_int("cluster-replica-validity-factor"),
        repl_ping_replica_period_s=config.get_int("repl-ping-replica-period"),
    )


class ClusterGlue:
    """The node's cluster side: the core ``state`` plus what only the node tracks."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state
        self.state_ok = state.state_ok
        self.bus_protocol_errors = 0  # frames that failed to decode (links closed for it)
        # Set by the driver: called after a command changed the core, so it drains the outbox.
        self.poke: Callable[[], None] = lambda: None
        # While the client loop serves a batch (``batch_open``) a poke only marks the outbox
        # (``poke_pending``); the loop calls ``flush`` once its replies are out, so the saves
        # and bus messages of a command run in the same task, right after the reply, instead of
        # waking the driver's timer task for each (a trio task switch and cancel scope per
        # SETSLOT, five per slot moved during a reshard).
        self.batch_open = False
        self.poke_pending = False
        self.flush: Callable[[], None] = lambda: None
        # DEBUG BUS-ISOLATE: node ids whose bus traffic the driver drops (empty: no faults).
        self.isolated: set[str] = set()
        # (unix ms, FailoverEvent) of the recent failover steps, for drills and logs.
        self.failover_log: deque[tuple[int, FailoverEvent]] = deque(maxlen=256)
        # Set by the driver to log each failover step (Redis logs them at WARNING level).
        self.on_failover_event: Callable[[FailoverEvent], None] = lambda _event: None

    @classmethod
    def create(
        cls,
        config: Config,
        tcp_port: int,
        rng: random.Random,
        now_ms: int,
        nodes_conf_text: str | None = None,
    ) -> ClusterGlue:
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
                deliver(node, out.channel, out.message, out.shard)
            elif type(out) is StateChanged:
                self.state_ok = out.ok
            elif type(out) is MyMasterChanged:
                follow_master(node, out.ip, out.port)
            elif type(out) is PromotedToMaster:
                promote(node)
            elif type(out) is ManualFailoverPause:
                pause_for_failover(node, out.until_ms)
            elif type(out) is FailoverEvent:
                self.failover_log.append((node.now_ms, out))
                self.on_failover_event(out)
        return effects

    def attach(self, node: NodeState) -> None:
        """Make this the node's cluster side: routing and CLUSTER read ``node.cluster``, and a
        PUBLISH on this node is carried over the bus (``NodeState.on_publish``)."""
        node.cluster = self.state
        node.cluster_glue = self
        node.on_publish = lambda channel, message, shard: propagate_publish(
            node, channel, message, shard
        )

    def cut_off(self, node_id: str | None) -> bool:
        """True while DEBUG BUS-ISOLATE separates this node from ``node_id`` (or from all)."""
        isolated = self.isolated
        return bool(isolated) and (node_id in isolated or self.state.my_id in isolated)

    def master_cut_off(self) -> bool:
        """A replica whose master is on the other side of a BUS-ISOLATE partition: its
        replication link must drop too, as in a real network partition."""
        me = self.state.myself
        return bool(self.isolated) and me.is_replica and self.cut_off(me.master_id)

    def replicas_cut_off(self, node: NodeState) -> list[int]:
        """Client ids of the replica connections whose node (found by the address it announced
        with REPLCONF listening-port) is on the other side of a BUS-ISOLATE partition."""
        if not self.isolated:
            return []
        by_address = {(n.ip, n.port): n.node_id for n in self.state.nodes.values()}
        return [
            client_id
            for client_id, replica in node.repl.replicas.items()
            if self.cut_off(by_address.get((replica.ip, replica.port)))
        ]

    def reconfigure(self, node: NodeState) -> None:
        """CONFIG SET of a cluster directive (node timeout, cluster-replica-no-failover,
        cluster-migration-barrier...): the core takes the new values from its next tick."""
        new = gossip_config(node.config, node.tcp_port)
        if new != self.state.config:
            self.state.set_config(new, node.now_ms)
            self.poke()

    def feed_replication(
        self, node: NodeState, tick: bool = False, now_ms: int | None = None
    ) -> None:
        """Give the core the node's replication offset and data age (before every input);
        on ticks also make sure a replica in the cluster's view replicates (clusterCron's
        replicationSetMaster when ``masterhost`` is unset). ``now_ms``: the time of the bus
        input that follows, which becomes the node's (Redis's updateCachedTime)."""
        if now_ms is not None:
            node.now_ms = now_ms
        repl = getattr(node, "repl", None)
        if repl is None:
            return
        self.state.set_replication(
            replication.replica_offset(node), replication.data_age_ms(node, node.now_ms)
        )
        if tick and repl.role == "master":
            me = self.state.myself
            master = self.state.master_of(me) if me.is_replica else None
            if master is not None and master.ip and master.port:
                follow_master(node, master.ip, master.port)

    def my_repl_offset(self, node: NodeState) -> int:
        """Myself's offset for CLUSTER SLOTS/SHARDS (fresh, not the last fed value)."""
        if getattr(node, "repl", None) is None:
            return self.state.repl_offset
        return replication.replica_offset(node)

    def drain(self, node: NodeState) -> list[Effect]:
        return self.apply(node, self.state.drain())


def follow_master(node: NodeState, ip: str, port: int) -> None:
    """Replicate from ``ip:port`` (clusterSetMaster's replicationSetMaster), unless that is
    already my master: an address re-announced must not restart a working link."""
    repl = getattr(node, "repl", None)
    if repl is None or not ip or not port:
        return
    if repl.role == "slave" and repl.master_host == ip and repl.master_port == port:
        return
    replication.follow(node, ip, port)


def promote(node: NodeState) -> None:
    """An election won (or TAKEOVER, or CLUSTER RESET on a replica): keep the data, stop
    replicating (Redis's replicationUnsetMaster)."""
    repl = getattr(node, "repl", None)
    if repl is None or repl.role != "slave":
        return
    replication.promote(node)


def pause_for_failover(node: NodeState, until_ms: int) -> None:
    """Master side of CLUSTER FAILOVER: pause writes as CLIENT PAUSE WRITE does, or lift the
    pause (``until_ms`` 0: it ends at the driver's next tick, which resumes the clients)."""
    if until_ms:
        if node.paused_until_ms <= node.now_ms:
            node.pause_writes_only = True  # a CLIENT PAUSE ALL in force stays ALL
        node.paused_until_ms = max(node.paused_until_ms, until_ms)
    elif node.paused_until_ms > node.now_ms:
        node.paused_until_ms = node.now_ms or 1


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
    clusterPropagatePublish; a no-op outside cluster mode (``NodeState.on_publish``)."""
    glue = node.cluster_glue
    if glue is not None:
        glue.state.publish(channel, message, node.now_ms, shard=shard)
        glue.poke()
