"""CLUSTER NODES lines and nodes.conf: render a ClusterState as text, and load one back.

Line format (Redis 7.0's clusterGenNodeDescription)::

    <id> <ip>:<port>@<cport>[,<hostname>] <flags> <master-id|-> <ping-sent> <pong-recv>
    <config-epoch> <connected|disconnected> <slot ranges...> [<s>->-<id>] [<s>-<-<id>]

Flags in the fixed order ``myself,master,slave,fail?,fail,handshake,noaddr,nofailover`` (or
``noflags``); a replica shows its master's config epoch; slot ranges ascending; the migration
entries only on the myself line; every line ends in ``\\n``. nodes.conf is the same lines without
handshake nodes, then ``vars currentEpoch N lastVoteEpoch M``. Loading mirrors clusterLoadConfig:
non-zero ping/pong times become "now", FAIL nodes fail from "now", links start disconnected and
myself takes its ports and hostname from the config, not the file.
"""

from __future__ import annotations

import random

from gossip.config import CLUSTER_PORT_INCR, GossipConfig
from gossip.errors import NodesConfError
from gossip.messages import NO_FLAGS, NodeFlag, is_node_id
from gossip.node import ClusterNode
from gossip.slots import CLUSTER_SLOTS, bitmap_ranges, format_slot_range
from gossip.state import ClusterState
from gossip.table import ClusterTable

# representClusterNodeFlags' table, in its order.
FLAG_NAMES: tuple[tuple[NodeFlag, str], ...] = (
    (NodeFlag.MYSELF, "myself"),
    (NodeFlag.MASTER, "master"),
    (NodeFlag.REPLICA, "slave"),
    (NodeFlag.PFAIL, "fail?"),
    (NodeFlag.FAIL, "fail"),
    (NodeFlag.HANDSHAKE, "handshake"),
    (NodeFlag.NOADDR, "noaddr"),
    (NodeFlag.NOFAILOVER, "nofailover"),
)
_FLAG_BY_NAME = {name: flag for flag, name in FLAG_NAMES}


# Flags text by int value: NodeFlag's enum arithmetic cost ~17 us per line, on every CLUSTER
# NODES and every nodes.conf save (several per slot during a reshard).
_FLAGS_TEXT: dict[int, str] = {}


def format_flags(flags: NodeFlag) -> str:
    key = int(flags)
    text = _FLAGS_TEXT.get(key)
    if text is None:
        names = [name for flag, name in FLAG_NAMES if key & flag.value]
        text = _FLAGS_TEXT[key] = ",".join(names) if names else "noflags"
    return text


def slot_ranges_text(node: ClusterNode) -> str:
    """The node's slot ranges as CLUSTER NODES prints them ("0-5460 5462"), cached on the node
    until its bitmap changes: every nodes.conf save (each SETSLOT during a reshard, each PONG
    that moves a slot) prints every node."""
    bitmap = node.slot_bitmap
    cached_bitmap, text = node.ranges_cache
    if cached_bitmap != bitmap:
        text = " ".join(format_slot_range(a, b) for a, b in bitmap_ranges(bitmap))
        node.ranges_cache = (bytes(bitmap), text)
    return text


def format_node_line(st: ClusterTable, node: ClusterNode) -> str:
    """One CLUSTER NODES line, without its newline (CLUSTER REPLICAS uses it bare)."""
    addr = f"{node.ip}:{node.port}@{node.cport}"
    if node.hostname:
        addr += f",{node.hostname}"
    link = "connected" if node.link is not None or node.is_myself else "disconnected"
    parts = [
        node.node_id,
        addr,
        format_flags(node.flags),
        node.master_id if node.master_id and node.master_id in st.nodes else "-",
        str(node.ping_sent_ms),
        str(node.pong_received_ms),
        str(st.effective_config_epoch(node)),
        link,
    ]
    ranges = slot_ranges_text(node)
    if ranges:
        parts.append(ranges)
    if node.is_myself:
        for slot in sorted(set(st.migrating_to) | set(st.importing_from)):
            if slot in st.migrating_to:
                parts.append(f"[{slot}->-{st.migrating_to[slot]}]")
            else:
                parts.append(f"[{slot}-<-{st.importing_from[slot]}]")
    return " ".join(parts)


def nodes_text(st: ClusterTable, *, skip_handshake: bool = False) -> str:
    """CLUSTER NODES (bulk in RESP2, verbatim ``txt`` in RESP3): every line ends in "\\n"."""
    return "".join(
        format_node_line(st, node) + "\n"
        for node in st.nodes.values()
        if not (skip_handshake and node.in_handshake)
    )


def render_nodes_conf(st: ClusterTable) -> str:
    """The whole nodes.conf, as clusterSaveConfig writes it."""
    return nodes_text(st, skip_handshake=True) + (
        f"vars currentEpoch {st.current_epoch} lastVoteEpoch {st.last_vote_epoch}\n"
    )


# --------------------------------------------------------------------------------- load


def _int(text: str, what: str) -> int:
    if not text.isdigit():
        raise NodesConfError(f"bad {what}: {text!r}")
    return int(text)


def _find_myself(lines: list[list[str]]) -> str:
    for argv in lines:
        if len(argv) >= 8 and "myself" in argv[2].lower().split(","):
            return argv[0]
    raise NodesConfError("no myself line")


def _get_or_create(st: ClusterState, node_id: str, now_ms: int) -> ClusterNode:
    if not is_node_id(node_id):
        raise NodesConfError(f"bad node id: {node_id!r}")
    node = st.nodes.get(node_id)
    if node is None:
        node = ClusterNode(node_id, NO_FLAGS, ctime_ms=now_ms)
        st.nodes[node_id] = node
    return node


def _parse_address(node: ClusterNode, field: str) -> None:
    """``ip:port[@cport][,hostname]``; a missing @cport means port + 10000 (old files)."""
    address, _, node.hostname = field.partition(",")
    ip, sep, ports = address.rpartition(":")
    if not sep:
        raise NodesConfError(f"bad address: {field!r}")
    port, _, cport = ports.partition("@")
    node.ip = ip
    node.port = _int(port, "port")
    node.cport = _int(cport, "bus port") if cport else node.port + CLUSTER_PORT_INCR


def _parse_flags(field: str) -> NodeFlag:
    flags = NO_FLAGS
    for name in field.lower().split(","):
        if name != "noflags":
            if name not in _FLAG_BY_NAME:
                raise NodesConfError(f"unknown flag {name!r}")
            flags |= _FLAG_BY_NAME[name]
    return flags


def _parse_slot_field(st: ClusterState, node: ClusterNode, field: str, now_ms: int) -> None:
    if field.startswith("["):
        body = field[1:-1] if field.endswith("]") else ""
        for arrow, table in (("->-", st.migrating_to), ("-<-", st.importing_from)):
            slot_text, sep, other = body.partition(arrow)
            if sep:
                table[_slot(slot_text)] = _get_or_create(st, other, now_ms).node_id
                return
        raise NodesConfError(f"bad migration entry: {field!r}")
    start, _, end = field.partition("-")
    first = _slot(start)
    for slot in range(first, (_slot(end) if end else first) + 1):
        st.add_slot(node, slot)


def _slot(text: str) -> int:
    slot = _int(text, "slot")
    if slot >= CLUSTER_SLOTS:
        raise NodesConfError(f"slot out of range: {slot}")
    return slot


def _load_line(st: ClusterState, argv: list[str], now_ms: int) -> None:
    if len(argv) < 8:
        raise NodesConfError(f"line has {len(argv)} fields, expected at least 8")
    node = _get_or_create(st, argv[0], now_ms)
    _parse_address(node, argv[1])
    node.flags = _parse_flags(argv[2])
    if node.is_myself != (node is st.myself):
        raise NodesConfError("more than one myself line")
    if node.failed:
        node.fail_time_ms = now_ms
    if argv[3] != "-":
        master = _get_or_create(st, argv[3], now_ms)
        node.master_id = master.node_id
        st.add_replica(master, node)
    node.ping_sent_ms = now_ms if _int(argv[4], "ping time") else 0
    node.pong_received_ms = now_ms if _int(argv[5], "pong time") else 0
    node.config_epoch = _int(argv[6], "config epoch")
    for field in argv[8:]:
        _parse_slot_field(st, node, field, now_ms)


def _load_vars(st: ClusterState, argv: list[str]) -> None:
    for key, value in zip(argv[1::2], argv[2::2], strict=False):
        if key.lower() == "currentepoch":
            st.current_epoch = _int(value, "currentEpoch")
        elif key.lower() == "lastvoteepoch":
            st.last_vote_epoch = _int(value, "lastVoteEpoch")


def load_nodes_conf(
    text: str, config: GossipConfig, rng: random.Random, now_ms: int
) -> ClusterState:
    """A ClusterState from nodes.conf text; raises NodesConfError if it is corrupted."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    myself_id = _find_myself(lines)
    if not is_node_id(myself_id):
        raise NodesConfError(f"bad node id: {myself_id!r}")
    st = ClusterState(config, rng, now_ms, node_id=myself_id)
    for argv in lines:
        if argv[0].lower() == "vars":
            _load_vars(st, argv)
        else:
            _load_line(st, argv, now_ms)
    if not st.myself.is_myself:
        raise NodesConfError("myself lost its flag")
    st.current_epoch = max(st.current_epoch, st.max_epoch())
    st.apply_config(config)
    st.drain()
    st.todo_save_config = st.todo_fsync = False
    return st
