"""Building and sending messages: the header about myself, PING/PONG/MEET with gossip entries,
broadcasts, UPDATE and PUBLISH (Redis's clusterBuildMessageHdr, clusterSendPing,
clusterBroadcastMessage, clusterSendUpdate, clusterPropagatePublish).

Gossip per ping: ``wanted = max(3, N // 10)`` capped at ``N - 2`` random nodes (N counts every
node in the table, myself included), skipping myself, PFAIL nodes (added after), nodes in
handshake or without an address, and disconnected nodes that own no slots; then every PFAIL
node, so failure reports reach the masters quickly. Redis 7.0.15 does not skip the receiver:
gossip about itself is how a node's own CLUSTER NODES line gets its pong time (observed on the
oracle: ``myself,master - 0 1795667250000``), so neither do we.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gossip.messages import (
    NO_MESSAGE_FLAGS,
    GossipEntry,
    Header,
    Meet,
    Message,
    MessageFlag,
    MessageType,
    NodeFlag,
    Ping,
    Pong,
    Publish,
    PublishShard,
    Update,
)
from gossip.node import ClusterNode, Link

if TYPE_CHECKING:
    from gossip.table import ClusterTable

_NOT_GOSSIPED = NodeFlag.HANDSHAKE | NodeFlag.NOADDR
_PING_CLASSES: dict[MessageType, type[Ping | Pong | Meet]] = {
    MessageType.PING: Ping,
    MessageType.PONG: Pong,
    MessageType.MEET: Meet,
}


def build_header(st: ClusterTable) -> Header:
    """What every message says about myself; a replica advertises its master's slots and
    config epoch, as Redis does, so that stale claims are detected through replicas too."""
    me = st.myself
    master = st.master_of(me) if me.is_replica else None
    owner = master if master is not None else me
    return Header(
        sender=me.node_id,
        current_epoch=st.current_epoch,
        config_epoch=owner.config_epoch,
        flags=me.flags,
        slots=bytes(owner.slot_bitmap),
        master_id=me.master_id,
        repl_offset=st.repl_offset,
        ip=st.config.announce_ip,
        port=st.config.port,
        cport=st.config.cport,
        hostname=me.hostname,
        cluster_ok=st.state_ok,
        # A master serving a manual failover says so on every message (clusterBuildMessageHdr).
        mflags=MessageFlag.PAUSED if me.is_master and st.failover.mf_end_ms else NO_MESSAGE_FLAGS,
    )


def gossip_entry(node: ClusterNode) -> GossipEntry:
    """clusterSetGossipEntry. Redis sends the times in whole seconds; we keep milliseconds on
    the wire but round down the same way, so what peers learn (and print) matches."""
    return GossipEntry(
        node_id=node.node_id,
        ping_sent_ms=node.ping_sent_ms // 1000 * 1000,
        pong_received_ms=node.pong_received_ms // 1000 * 1000,
        ip=node.ip,
        port=node.port,
        cport=node.cport,
        flags=node.flags,
    )


def choose_gossip(st: ClusterTable) -> list[ClusterNode]:
    total = len(st.nodes)
    wanted = min(max(3, total // 10), total - 2)
    chosen: list[ClusterNode] = []
    if wanted > 0:
        candidates = [
            n
            for n in st.nodes.values()
            if n is not st.myself
            and not n.flags & (_NOT_GOSSIPED | NodeFlag.PFAIL)
            and not (n.link is None and n.num_slots == 0)
        ]
        chosen = st.rng.sample(candidates, min(wanted, len(candidates)))
    chosen.extend(
        n for n in st.nodes.values() if n.flags & NodeFlag.PFAIL and not n.flags & _NOT_GOSSIPED
    )
    return chosen


def send_ping(st: ClusterTable, link: Link, mtype: MessageType, now_ms: int) -> None:
    """clusterSendPing: a PING on an outbound link starts the node's pending-ping clock."""
    target = st.lookup(link.node_id)
    if not link.inbound and mtype is MessageType.PING and target is not None:
        target.ping_sent_ms = now_ms
    entries = tuple(gossip_entry(n) for n in choose_gossip(st))
    st.send(link.link_id, _PING_CLASSES[mtype](build_header(st), entries))


def _broadcast_targets(st: ClusterTable) -> list[ClusterNode]:
    return [
        n
        for n in st.nodes.values()
        if n.link is not None and n is not st.myself and not n.in_handshake
    ]


def broadcast(st: ClusterTable, message: Message) -> None:
    """clusterBroadcastMessage: on every outbound link, skipping handshake nodes."""
    for node in _broadcast_targets(st):
        st.send(node.link, message)


def broadcast_pong(st: ClusterTable, now_ms: int) -> None:
    """clusterBroadcastPong(CLUSTER_BROADCAST_ALL): tell everyone my new config at once."""
    for node in _broadcast_targets(st):
        send_ping(st, st.links[node.link], MessageType.PONG, now_ms)  # type: ignore[index]


def send_update(st: ClusterTable, link_id: int | None, about: ClusterNode) -> None:
    """clusterSendUpdate: tell a stale node the config of the rightful owner ``about``."""
    if link_id is None:
        return
    message = Update(build_header(st), about.config_epoch, about.node_id, bytes(about.slot_bitmap))
    st.send(link_id, message)


def publish(st: ClusterTable, channel: bytes, message: bytes, *, shard: bool) -> None:
    """PUBLISH goes to every node; SPUBLISH only to the other nodes of my shard."""
    if not shard:
        broadcast(st, Publish(build_header(st), channel, message))
        return
    me = st.myself
    master = st.master_of(me) if me.is_replica else me
    if master is None:
        return
    shard_ids = [master.node_id, *master.replicas]
    frame = PublishShard(build_header(st), channel, message)
    for node_id in shard_ids:
        node = st.lookup(node_id)
        if node is not None and node is not me:
            st.send(node.link, frame)
