"""The 100 ms cluster cron (Redis's clusterCron): links, pings, and PFAIL.

Theory of operation. Every tick:

1. Handshake nodes older than max(node_timeout, 1 s) are dropped; every other node with an
   address and no outbound link gets one (``Connect``).
2. Every 10th tick (once a second) I ping the node with the oldest pong among 5 random picks
   that are connected, not in handshake and have no ping pending.
3. For each node: an outbound link that is older than node_timeout, whose ping has been pending
   more than node_timeout/2 with no data from the node in that time, is dropped (it reconnects
   next tick: maybe only the connection is broken). A connected node with no ping pending whose
   last pong is older than node_timeout/2 gets a ping. A node whose ping has been pending (and
   no data seen) longer than node_timeout becomes PFAIL.
4. The cluster state is re-evaluated when something changed or while it is FAIL (the start
   and rejoin delays are measured in time, so they need the tick).
5. Manual failover timeout; on a replica: the manual failover and election steps
   (``gossip.manual_failover``, ``gossip.election``) and replica migration
   (``gossip.migration``). A master serving a manual failover pings that replica every tick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gossip import election, health, manual_failover, migration
from gossip.messages import MessageType, NodeFlag
from gossip.node import ClusterNode
from gossip.outbox import NodeMarkedPfail
from gossip.ping import send_ping

if TYPE_CHECKING:
    from gossip.table import ClusterTable

CRON_PERIOD_MS = 100
RANDOM_PING_EVERY_TICKS = 10
RANDOM_PING_CANDIDATES = 5
HANDSHAKE_TIMEOUT_MIN_MS = 1000
_SKIP_TIMEOUT_CHECK = NodeFlag.MYSELF | NodeFlag.NOADDR | NodeFlag.HANDSHAKE


def cluster_cron(st: ClusterTable, now_ms: int) -> None:
    st.cron_iteration += 1
    _reconnect(st, now_ms)
    if st.cron_iteration % RANDOM_PING_EVERY_TICKS == 0:
        _ping_random_node(st, now_ms)
    if _check_timeouts(st, now_ms) or not st.state_ok:
        health.update_cluster_state(st, now_ms)
    manual_failover.check_timeout(st, now_ms)
    if st.myself.is_replica:
        manual_failover.handle_manual_failover(st, now_ms)
        election.handle_replica_failover(st, now_ms)
        migration.maybe_migrate(st, now_ms)
    st.next_tick_ms = now_ms + CRON_PERIOD_MS


def _reconnect(st: ClusterTable, now_ms: int) -> None:
    handshake_timeout = max(st.config.node_timeout_ms, HANDSHAKE_TIMEOUT_MIN_MS)
    for node in list(st.nodes.values()):
        if node.flags & (NodeFlag.MYSELF | NodeFlag.NOADDR):
            continue
        if node.in_handshake and now_ms - node.ctime_ms > handshake_timeout:
            st.del_node(node, "handshake-timeout")
            continue
        if node.link is None and node.ip:
            st.open_link(node, now_ms)


def _ping_random_node(st: ClusterTable, now_ms: int) -> None:
    nodes = list(st.nodes.values())
    best: ClusterNode | None = None
    for _ in range(RANDOM_PING_CANDIDATES):
        node = st.rng.choice(nodes)
        if node.link is None or node.ping_sent_ms != 0:
            continue
        if node.flags & (NodeFlag.MYSELF | NodeFlag.HANDSHAKE):
            continue
        if best is None or node.pong_received_ms < best.pong_received_ms:
            best = node
    if best is not None and best.link is not None:
        send_ping(st, st.links[best.link], MessageType.PING, now_ms)


def _check_timeouts(st: ClusterTable, now_ms: int) -> bool:
    """Steps 3 of the theory; True if some node became PFAIL."""
    timeout = st.config.node_timeout_ms
    changed = False
    for node in list(st.nodes.values()):
        if node.flags & _SKIP_TIMEOUT_CHECK:
            continue
        ping_delay = now_ms - node.ping_sent_ms
        data_delay = now_ms - node.data_received_ms
        link = st.links.get(node.link) if node.link is not None else None
        if link is not None and manual_failover.ping_paused_replica(st, node, now_ms):
            continue
        if (
            link is not None
            and now_ms - link.ctime_ms > timeout
            and node.ping_sent_ms
            and ping_delay > timeout // 2
            and data_delay > timeout // 2
        ):
            st.free_link(link.link_id)
            link = None
        if link is not None and node.ping_sent_ms == 0:
            if now_ms - node.pong_received_ms > timeout // 2:
                send_ping(st, link, MessageType.PING, now_ms)
            continue
        if node.ping_sent_ms == 0:
            continue
        if min(ping_delay, data_delay) > timeout and not node.flags & (
            NodeFlag.PFAIL | NodeFlag.FAIL
        ):
            node.flags |= NodeFlag.PFAIL
            st.emit(NodeMarkedPfail(node.node_id))
            changed = True
    return changed
