"""Data for the CLUSTER INFO, SLOTS, SHARDS, REPLICAS and LINKS replies, so handlers stay thin.

Structures are reply-ready: bulk strings are ``bytes``, integers ``int``, null ``None``, arrays
``list`` and maps ``dict`` (in Redis's key order; the handler wraps each dict in the RESP map
type). Texts are ``str``. What only other layers know (my replication offset, link buffers)
comes in as arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gossip.admin import node_arg
from gossip.errors import NOT_A_MASTER, UNKNOWN_NODE, ClusterCommandError
from gossip.messages import MESSAGE_TYPE_NAMES, MessageType
from gossip.node import ClusterNode
from gossip.nodesconf import format_node_line
from gossip.slots import bitmap_ranges
from gossip.table import ClusterTable


def cluster_info_text(st: ClusterTable, links_buffer_limit_exceeded: int = 0) -> str:
    """CLUSTER INFO, "\\r\\n" lines in genClusterInfoString's order; message counters only for
    types with a non-zero count."""
    assigned = ok = pfail = fail = 0
    for node in st.nodes.values():
        assigned += node.num_slots
        if node.failed:
            fail += node.num_slots
        elif node.timed_out:
            pfail += node.num_slots
        else:
            ok += node.num_slots
    lines = [
        f"cluster_state:{'ok' if st.state_ok else 'fail'}",
        f"cluster_slots_assigned:{assigned}",
        f"cluster_slots_ok:{ok}",
        f"cluster_slots_pfail:{pfail}",
        f"cluster_slots_fail:{fail}",
        f"cluster_known_nodes:{len(st.nodes)}",
        f"cluster_size:{st.size}",
        f"cluster_current_epoch:{st.current_epoch}",
        f"cluster_my_epoch:{st.effective_config_epoch(st.myself)}",
    ]
    for direction, counts in (("sent", st.stats_sent), ("received", st.stats_received)):
        for mtype in MessageType:
            if counts[mtype]:
                lines.append(
                    f"cluster_stats_messages_{MESSAGE_TYPE_NAMES[mtype]}_{direction}:{counts[mtype]}"
                )
        lines.append(f"cluster_stats_messages_{direction}:{sum(counts)}")
    lines.append(f"total_cluster_links_buffer_limit_exceeded:{links_buffer_limit_exceeded}")
    return "".join(line + "\r\n" for line in lines)


def _endpoint(st: ClusterTable, node: ClusterNode) -> str:
    """getPreferredEndpoint."""
    kind = st.config.preferred_endpoint_type
    if kind == "ip":
        return node.ip
    if kind == "hostname":
        return node.hostname or "?"
    return "?"


def _slots_node_entry(st: ClusterTable, node: ClusterNode) -> list[Any]:
    """addNodeToNodeReply: [endpoint, port, id, {other endpoints}]."""
    kind = st.config.preferred_endpoint_type
    if kind == "ip":
        first: bytes | None = node.ip.encode()
    elif kind == "hostname":
        first = (node.hostname or "?").encode()
    else:
        first = None
    extra: dict[bytes, bytes] = {}
    if kind != "ip":
        extra[b"ip"] = node.ip.encode()
    if kind != "hostname" and node.hostname:
        extra[b"hostname"] = node.hostname.encode()
    return [first, node.port, node.node_id.encode(), extra]


def _offset(st: ClusterTable, node: ClusterNode, my_repl_offset: int) -> int:
    return my_repl_offset if node is st.myself else node.repl_offset


def cluster_slots(st: ClusterTable, my_repl_offset: int = 0) -> list[list[Any]]:
    """CLUSTER SLOTS: maximal runs of one owner, in slot order; replicas that are not FAIL and
    have a non-zero replication offset follow the master."""
    out: list[list[Any]] = []
    owners = st.slots
    slot = 0
    while slot < len(owners):
        owner_id = owners[slot]
        start = slot
        while slot < len(owners) and owners[slot] == owner_id:
            slot += 1
        owner = st.lookup(owner_id)
        if owner is None:
            continue
        entry: list[Any] = [start, slot - 1, _slots_node_entry(st, owner)]
        for replica_id in owner.replicas:
            replica = st.lookup(replica_id)
            if replica is not None and not replica.failed and _offset(st, replica, my_repl_offset):
                entry.append(_slots_node_entry(st, replica))
        out.append(entry)
    return out


def _shard_node(st: ClusterTable, node: ClusterNode, my_repl_offset: int) -> dict[bytes, Any]:
    """addNodeDetailsToShardReply."""
    details: dict[bytes, Any] = {b"id": node.node_id.encode(), b"port": node.port}
    details[b"ip"] = node.ip.encode()
    details[b"endpoint"] = _endpoint(st, node).encode()
    if node.hostname:
        details[b"hostname"] = node.hostname.encode()
    details[b"role"] = b"replica" if node.is_replica else b"master"
    details[b"replication-offset"] = _offset(st, node, my_repl_offset)
    if node.failed:
        health = b"fail"
    elif node.is_replica and node.repl_offset == 0:
        health = b"loading"
    else:
        health = b"online"
    details[b"health"] = health
    return details


def cluster_shards(st: ClusterTable, my_repl_offset: int = 0) -> list[dict[bytes, Any]]:
    """CLUSTER SHARDS (7.0): one shard per non-replica node in table order, slots as flat
    [start, end, ...] integers, then the master and its replicas."""
    shards: list[dict[bytes, Any]] = []
    for node in st.nodes.values():
        if node.is_replica:
            continue
        flat = [x for pair in bitmap_ranges(node.slot_bitmap) for x in pair]
        members = [node] + [r for r in map(st.lookup, node.replicas) if r is not None]
        shards.append(
            {
                b"slots": flat,
                b"nodes": [_shard_node(st, m, my_repl_offset) for m in members],
            }
        )
    return shards


def replica_lines(st: ClusterTable, node_id: str | bytes) -> list[str]:
    """CLUSTER REPLICAS/SLAVES: the replicas' CLUSTER NODES lines, without newlines."""
    node = st.lookup(node_arg(node_id))
    if node is None:
        raise ClusterCommandError(UNKNOWN_NODE.format(node_id=node_arg(node_id)))
    if node.is_replica:
        raise ClusterCommandError(NOT_A_MASTER)
    return [format_node_line(st, r) for r in map(st.lookup, node.replicas) if r is not None]


LinkInfo = Callable[[int], tuple[str, int, int]]


def cluster_links(st: ClusterTable, link_info: LinkInfo | None = None) -> list[dict[bytes, Any]]:
    """CLUSTER LINKS: per node its outbound then inbound link. ``link_info(link_id)`` gives
    the driver's (events, send-buffer-allocated, send-buffer-used); default ("r", 0, 0)."""
    out: list[dict[bytes, Any]] = []
    for node in st.nodes.values():
        for link_id in (node.link, node.inbound_link):
            link = st.links.get(link_id) if link_id is not None else None
            if link is None:
                continue
            events, allocated, used = link_info(link.link_id) if link_info else ("r", 0, 0)
            out.append(
                {
                    b"direction": b"from" if link.inbound else b"to",
                    b"node": node.node_id.encode(),
                    b"create-time": link.ctime_ms,
                    b"events": events.encode(),
                    b"send-buffer-allocated": allocated,
                    b"send-buffer-used": used,
                }
            )
    return out
