"""What a node says about the cluster, parsed from its CLUSTER NODES and CLUSTER INFO text.

These are the public formats (reference section 4), read as ``redis-cli --cluster`` reads
them; nothing here imports the node or gossip packages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cluster.respclient import RespClient

CLUSTER_SLOTS = 16384


@dataclass
class NodeLine:
    """One line of CLUSTER NODES."""

    node_id: str
    addr: str  # ip:port (without @cport and ,hostname)
    flags: set[str]
    master_id: str
    config_epoch: int
    link_state: str
    slots: list[tuple[int, int]] = field(default_factory=list)
    open_slots: list[str] = field(default_factory=list)  # [slot->-id] / [slot-<-id]

    @property
    def is_master(self) -> bool:
        return "master" in self.flags

    @property
    def role(self) -> str:
        return "master" if self.is_master else "replica" if "slave" in self.flags else "?"

    @property
    def slot_count(self) -> int:
        return sum(end - start + 1 for start, end in self.slots)


def parse_nodes(text: str) -> list[NodeLine]:
    nodes = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        addr = fields[1].split("@", 1)[0].split(",", 1)[0]
        node = NodeLine(
            fields[0],
            addr,
            set(fields[2].split(",")),
            fields[3],
            int(fields[6]),
            fields[7],
        )
        for item in fields[8:]:
            if item.startswith("["):
                node.open_slots.append(item)
            elif "-" in item:
                start, end = item.split("-", 1)
                node.slots.append((int(start), int(end)))
            else:
                node.slots.append((int(item), int(item)))
        nodes.append(node)
    return nodes


def parse_info(text: str) -> dict[str, str]:
    info = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            key, value = line.split(":", 1)
            info[key] = value.strip()
    return info


def slot_map(nodes: list[NodeLine]) -> tuple[tuple[str, tuple[tuple[int, int], ...]], ...]:
    """The slot map as one comparable value: (owner id, ranges) for every owner, sorted."""
    return tuple(sorted((n.node_id, tuple(sorted(n.slots))) for n in nodes if n.slots))


def format_ranges(ranges: list[tuple[int, int]]) -> str:
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in sorted(ranges)) or "-"


@dataclass
class NodeView:
    """One node's answers: its own line, its whole table, its CLUSTER INFO and key count."""

    host: str
    port: int
    myself: NodeLine
    nodes: list[NodeLine]
    info: dict[str, str]
    keys: int
    repl: dict[str, str] = field(default_factory=dict)  # INFO replication (if ``with_repl``)


def query(host: str, port: int, timeout: float = 2.0, with_repl: bool = False) -> NodeView:
    with RespClient(host, port, timeout) as client:
        nodes = parse_nodes(client.text("CLUSTER", "NODES"))
        info = parse_info(client.text("CLUSTER", "INFO"))
        keys = client.check("DBSIZE")
        repl = client.call("INFO", "replication") if with_repl else None
    myself = next(n for n in nodes if "myself" in n.flags)
    view = NodeView(host, port, myself, nodes, info, int(keys))  # type: ignore[arg-type]
    if isinstance(repl, bytes):
        view.repl = parse_info(repl.decode())
    return view


def shard_names(nodes: list[NodeLine]) -> dict[str, str]:
    """Node id -> shard name (``shard-<i>``, i ordering slot-owning masters by their lowest
    slot; a replica belongs to its master's shard): the names SENTINEL answers with."""
    masters = sorted((min(n.slots)[0], n.node_id) for n in nodes if n.is_master and n.slots)
    names = {node_id: f"shard-{i}" for i, (_, node_id) in enumerate(masters)}
    for n in nodes:
        if n.node_id not in names and n.master_id in names:
            names[n.node_id] = names[n.master_id]
    return names


def resolve_node(nodes: list, spec: str):  # type: ignore[no-untyped-def]
    """The one node of ``nodes`` that ``spec`` names: a port (``7001``), an address
    (``127.0.0.1:7001``) or a unique node-id prefix (at least 4 characters, or the whole id).
    Works on anything with ``node_id`` and ``addr`` (``NodeLine``, the admin tools' nodes).
    Raises LookupError with a message fit for the user."""
    spec = spec.strip()
    if spec.isdigit() and len(spec) <= 5:
        found = [n for n in nodes if n.addr.rpartition(":")[2] == spec]
    elif ":" in spec:
        host, _, port = spec.rpartition(":")
        found = [n for n in nodes if n.addr == spec] or [
            n
            for n in nodes
            if n.addr.rpartition(":")[2] == port
            and host in ("localhost", "127.0.0.1", n.addr.rpartition(":")[0])
        ]
    else:
        found = [n for n in nodes if n.node_id == spec]
        if not found and len(spec) >= 4:
            found = [n for n in nodes if n.node_id.startswith(spec.lower())]
    if len(found) == 1:
        return found[0]
    if not found:
        raise LookupError(f"The specified node ({spec}) is not known or not a master")
    raise LookupError(f"The node name {spec} is ambiguous: it matches {len(found)} nodes")
