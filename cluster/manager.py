"""The cluster as an admin tool sees it: every reachable node, its own slots and open slots.

This is redis-cli's cluster manager model (``clusterManagerLoadInfoFromNode``): ask the entry
node for CLUSTER NODES, then ask every friend for its own line, because MIGRATING/IMPORTING
entries (``[s->-id]`` / ``[s-<-id]``) only appear on a node's ``myself`` line. Friends the
entry node sees as ``noaddr``, ``disconnected`` or ``fail``, or that refuse a connection, are
left out, as redis-cli leaves them out. Only RESP is used: the tools work on real Redis too.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cluster.respclient import ReplyError, RespClient
from cluster.topology import CLUSTER_SLOTS, NodeLine, parse_nodes, resolve_node

# Seconds to wait for a reply; MIGRATE with redis-cli's 60 s timeout must fit under it.
READ_TIMEOUT_S = 75.0
CONNECT_TIMEOUT_S = 3.0
_UNREACHABLE = frozenset(("noaddr", "disconnected", "fail"))


class AdminError(Exception):
    """A tool-level failure, with a redis-cli-like message for the user."""


class Conn(RespClient):
    """RespClient with a longer read timeout and pipelining (many commands, one round trip)."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port, CONNECT_TIMEOUT_S)
        self.sock.settimeout(READ_TIMEOUT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def pipeline(self, commands: Sequence[Sequence[str | bytes | int]]) -> list[object]:
        """Send every command, then read every reply (errors are returned, not raised)."""
        self.send(*commands)
        return [self.read() for _ in commands]

    def send(self, *commands: Sequence[str | bytes | int]) -> None:
        """Write commands without waiting (``read`` collects the replies, in order)."""
        out = bytearray()
        for args in commands:
            parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
            out += b"*%d\r\n" % len(parts)
            for p in parts:
                out += b"$%d\r\n%s\r\n" % (len(p), p)
        self.sock.sendall(out)

    def read(self) -> object:
        return self._reply()


@dataclass
class Node:
    """One node as the tool knows it (redis-cli's clusterManagerNode)."""

    node_id: str
    host: str
    port: int
    flags: set[str]
    master_id: str | None
    config_epoch: int
    slots: set[int] = field(default_factory=set)
    migrating: dict[int, str] = field(default_factory=dict)  # slot -> target id
    importing: dict[int, str] = field(default_factory=dict)  # slot -> source id
    _conn: Conn | None = field(default=None, repr=False)

    @property
    def addr(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def is_master(self) -> bool:
        return "slave" not in self.flags

    def conn(self) -> Conn:
        if self._conn is None:
            self._conn = Conn(self.host, self.port)
        return self._conn

    def call(self, *args: str | bytes | int) -> object:
        """One command; connection errors are raised, error replies returned."""
        try:
            return self.conn().call(*args)
        except OSError:
            self.close()
            raise

    def check(self, *args: str | bytes | int) -> object:
        reply = self.call(*args)
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    def pipeline(self, commands: Sequence[Sequence[str | bytes | int]]) -> list[object]:
        try:
            return self.conn().pipeline(commands)
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def short(self) -> str:
        return f"{self.addr} ({self.node_id[:8]}...)"


def parse_open_slot(item: str) -> tuple[int, str, str] | None:
    """``[5->-id]`` -> (5, "migrating", id); ``[5-<-id]`` -> (5, "importing", id)."""
    body = item.strip("[]")
    for arrow, kind in (("->-", "migrating"), ("-<-", "importing")):
        if arrow in body:
            slot, other = body.split(arrow, 1)
            return int(slot), kind, other
    return None


def node_from_line(line: NodeLine) -> Node:
    host, _, port = line.addr.rpartition(":")
    node = Node(
        line.node_id,
        host or "127.0.0.1",
        int(port),
        set(line.flags),
        None if line.master_id == "-" else line.master_id,
        line.config_epoch,
    )
    for start, end in line.slots:
        node.slots.update(range(start, end + 1))
    for item in line.open_slots:
        parsed = parse_open_slot(item)
        if parsed is not None:
            slot, kind, other = parsed
            (node.migrating if kind == "migrating" else node.importing)[slot] = other
    return node


def parse_addr(addr: str) -> tuple[str, int]:
    """``host:port`` or a bare port (loopback)."""
    if ":" not in addr:
        return "127.0.0.1", int(addr)
    host, _, port = addr.rpartition(":")
    return host or "127.0.0.1", int(port)


class Cluster:
    """Every reachable node of a cluster, loaded from one entry node."""

    def __init__(
        self, nodes: list[Node], warnings: list[str], unreachable: list[Node] | None = None
    ) -> None:
        self.nodes = nodes
        self.warnings = warnings
        self.unreachable = unreachable or []  # known to the entry node, left out

    @classmethod
    def load(cls, entry: str) -> Cluster:
        host, port = parse_addr(entry)
        try:
            first_conn = Conn(host, port)
        except OSError as error:
            raise AdminError(f"[ERR] Could not connect to {host}:{port}: {error}")
        text = first_conn.call("CLUSTER", "NODES")
        if isinstance(text, ReplyError):
            first_conn.close()
            raise AdminError(f"[ERR] Node {host}:{port} {text}")
        lines = parse_nodes(text.decode() if isinstance(text, bytes) else str(text))
        nodes: list[Node] = []
        warnings: list[str] = []
        unreachable: list[Node] = []
        for line in lines:
            if "myself" in line.flags:
                me = node_from_line(line)
                me.host, me.port, me._conn = host, port, first_conn
                nodes.insert(0, me)
            elif "handshake" in line.flags:
                continue
            elif line.flags & _UNREACHABLE or line.link_state != "connected":
                warnings.append(f"*** {line.addr} ({line.node_id[:8]}...) is not reachable")
                unreachable.append(node_from_line(line))
            else:
                friend = _load_friend(line, warnings)
                if friend is not None:
                    nodes.append(friend)
                else:
                    unreachable.append(node_from_line(line))
        if not nodes or "myself" not in nodes[0].flags:
            raise AdminError(f"[ERR] Node {host}:{port} did not list itself in CLUSTER NODES")
        return cls(nodes, warnings, unreachable)

    def close(self) -> None:
        for node in self.nodes:
            node.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def masters(self) -> list[Node]:
        return [n for n in self.nodes if n.is_master]

    def by_id(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.node_id == node_id), None)

    def resolve(self, spec: str | int, masters_only: bool = True) -> Node:
        """A node from a port, an address or a node-id prefix (see topology.resolve_node)."""
        pool = self.masters if masters_only else self.nodes
        try:
            return resolve_node(pool, str(spec))
        except LookupError as error:
            raise AdminError(f"*** {error}")

    def owner(self, slot: int) -> Node | None:
        return next((n for n in self.masters if slot in n.slots), None)

    def open_slots(self) -> list[int]:
        found: set[int] = set()
        for n in self.masters:
            found.update(n.migrating)
            found.update(n.importing)
        return sorted(found)

    def covered(self) -> int:
        seen: set[int] = set()
        for n in self.masters:
            seen |= n.slots
        return len(seen)

    def agree(self) -> bool:
        """clusterManagerIsConfigConsistent: every node reports the same slot signature."""
        signatures = set()
        for n in self.nodes:
            reply = n.call("CLUSTER", "NODES")
            if isinstance(reply, ReplyError) or reply is None:
                return False
            signatures.add(_signature(parse_nodes(_text(reply))))
        return len(signatures) <= 1

    def errors(self, settle_s: float = 5.0) -> list[str]:
        """What makes redis-cli refuse to reshard or rebalance (clusterManagerCheckCluster).
        Disagreement is given ``settle_s`` to pass: replicas learn a slot move by gossip, a
        moment after the masters the tools told directly."""
        errors = []
        deadline = time.monotonic() + settle_s
        while not self.agree():
            if time.monotonic() > deadline:
                errors.append("[ERR] Nodes don't agree about configuration!")
                break
            time.sleep(0.1)
        for n in self.masters:
            if n.migrating:
                errors.append(
                    f"[WARNING] Node {n.addr} has slots in migrating state "
                    + ",".join(str(s) for s in sorted(n.migrating))
                    + "."
                )
            if n.importing:
                errors.append(
                    f"[WARNING] Node {n.addr} has slots in importing state "
                    + ",".join(str(s) for s in sorted(n.importing))
                    + "."
                )
        if self.covered() != CLUSTER_SLOTS:
            errors.append(f"[ERR] Not all {CLUSTER_SLOTS} slots are covered by nodes.")
        return errors


def _text(reply: object) -> str:
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def _signature(lines: Iterable[NodeLine]) -> tuple:
    return tuple(sorted((n.node_id, tuple(sorted(n.slots))) for n in lines if n.slots))


def _load_friend(line: NodeLine, warnings: list[str]) -> Node | None:
    """A friend's own CLUSTER NODES line (its open slots); None when it cannot be reached."""
    friend = node_from_line(line)
    try:
        reply = friend.call("CLUSTER", "NODES")
    except OSError:
        warnings.append(f"[ERR] Unable to load info for node {friend.addr}")
        return None
    if isinstance(reply, ReplyError):
        warnings.append(f"[ERR] Unable to load info for node {friend.addr}: {reply}")
        friend.close()
        return None
    own = next((n for n in parse_nodes(_text(reply)) if "myself" in n.flags), None)
    if own is None:
        friend.close()
        return None
    mine = node_from_line(own)
    friend.slots, friend.migrating, friend.importing = mine.slots, mine.migrating, mine.importing
    friend.flags = mine.flags - {"myself"}
    friend.master_id = mine.master_id
    return friend
