"""Adding and removing nodes, with the commands ``redis-cli --cluster add-node`` / ``del-node``
send (reference section 4):

add-node: the new node must be a cluster node (INFO ``cluster_enabled:1``), empty (no ``db0:``
in INFO) and alone (``cluster_known_nodes:1``); a new master gets the entry node's functions
(FUNCTION DUMP / FUNCTION RESTORE, skipped when the entry cannot dump); then the new node
MEETs the entry node, and a new replica, once the cluster agrees, gets CLUSTER REPLICATE.

del-node: refused while the node owns slots; its replicas are given to the master with the
fewest replicas; every other node gets CLUSTER FORGET <id>; the node itself CLUSTER RESET SOFT.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cluster.manager import AdminError, Cluster, Conn, Node, parse_addr
from cluster.migration import wait_ready
from cluster.respclient import ReplyError
from cluster.topology import parse_info, parse_nodes, resolve_node

Log = Callable[[str], None]


def _text(reply: object) -> str:
    if isinstance(reply, ReplyError):
        raise reply
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def check_new_node(conn: Conn, addr: str) -> str:
    """clusterManagerNodeIsCluster + clusterManagerNodeIsEmpty; returns the new node's id."""
    if "cluster_enabled:1" not in _text(conn.call("INFO")):
        raise AdminError(f"[ERR] Node {addr} is not configured as a cluster node.")
    me = next(n for n in parse_nodes(_text(conn.call("CLUSTER", "NODES"))) if "myself" in n.flags)
    info = _text(conn.call("INFO"))
    known = parse_info(_text(conn.call("CLUSTER", "INFO"))).get("cluster_known_nodes")
    if "db0:" in info or known != "1":
        raise AdminError(
            f"[ERR] Node {addr} is not empty. Either the node already knows other nodes "
            "(check with CLUSTER NODES) or contains some key in database 0."
        )
    return me.node_id


def _copy_functions(entry: Node, conn: Conn, log: Log) -> None:
    dump = entry.call("FUNCTION", "DUMP")
    if isinstance(dump, ReplyError) or dump is None:
        return
    listed = conn.call("FUNCTION", "LIST")
    if listed:
        raise AdminError("[ERR] The new node already has functions (FUNCTION LIST is not empty)")
    log(">>> Copying functions from the entry node")
    reply = conn.call("FUNCTION", "RESTORE", dump)
    if isinstance(reply, ReplyError):
        raise AdminError(f"[ERR] FUNCTION RESTORE on the new node failed: {reply}")


def least_replicated_master(cluster: Cluster, exclude: Node | None = None) -> Node:
    """clusterManagerNodeWithLeastReplicas (the first of the least replicated masters)."""
    counts = {n.node_id: 0 for n in cluster.masters if n is not exclude}
    for n in cluster.nodes:
        if n.master_id in counts:
            counts[n.master_id] += 1
    best = min(counts, key=lambda nid: counts[nid])
    node = cluster.by_id(best)
    assert node is not None
    return node


def wait_agreement(addrs: list[str], timeout_s: float) -> None:
    """Until every node lists the same nodes and slot map (clusterManagerWaitForClusterJoin,
    bounded)."""
    deadline = time.monotonic() + timeout_s
    while True:
        views = []
        try:
            for addr in addrs:
                with Conn(*parse_addr(addr)) as conn:
                    lines = parse_nodes(_text(conn.call("CLUSTER", "NODES")))
                views.append(
                    (
                        tuple(sorted(n.node_id for n in lines if "handshake" not in n.flags)),
                        tuple(sorted((n.node_id, tuple(n.slots)) for n in lines if n.slots)),
                        any("handshake" in n.flags for n in lines),
                    )
                )
        except (OSError, ReplyError):
            views = []
        if views and len(set(views)) == 1 and not views[0][2] and len(views[0][0]) == len(addrs):
            return
        if time.monotonic() > deadline:
            raise AdminError(f"*** The cluster did not agree within {timeout_s:.0f} s")
        time.sleep(0.2)


def add_node(
    cluster: Cluster,
    new_addr: str,
    replica_of: str | None,
    log: Log,
    as_replica: bool = False,
    timeout_s: float = 30.0,
) -> str:
    """Join ``new_addr`` to the cluster; with ``replica_of`` (a node spec, or "" for the
    master with fewest replicas) or ``as_replica``, make it a replica. Returns its id."""
    entry = cluster.nodes[0]
    host, port = parse_addr(new_addr)
    master = None
    if replica_of or as_replica:
        master = cluster.resolve(replica_of) if replica_of else least_replicated_master(cluster)
    log(f">>> Adding node {host}:{port} to cluster {entry.addr}")
    with Conn(host, port) as conn:
        new_id = check_new_node(conn, f"{host}:{port}")
        if master is None:
            _copy_functions(entry, conn, log)
        log(f">>> Send CLUSTER MEET to node {host}:{port} to make it join the cluster.")
        reply = conn.call("CLUSTER", "MEET", entry.host, entry.port)
        if isinstance(reply, ReplyError):
            raise AdminError(f"[ERR] CLUSTER MEET failed: {reply}")
        log("Waiting for the cluster to join")
        wait_agreement([n.addr for n in cluster.nodes] + [f"{host}:{port}"], timeout_s)
        if master is not None:
            log(f">>> Configure node as replica of {master.addr}.")
            reply = conn.call("CLUSTER", "REPLICATE", master.node_id)
            if isinstance(reply, ReplyError):
                raise AdminError(f"[ERR] CLUSTER REPLICATE failed: {reply}")
    with Cluster.load(f"{host}:{port}") as joined:
        wait_ready(joined.nodes[0], timeout_s)
    log("[OK] New node added correctly.")
    return new_id


def del_node(cluster: Cluster, spec: str, log: Log) -> None:
    """redis-cli's del-node; a node that cannot be reached (killed) is forgotten by every
    other node and not reset (redis-cli cannot remove such a node)."""
    try:
        node = cluster.resolve(spec, masters_only=False)
    except AdminError:
        try:
            dead = resolve_node(cluster.unreachable, spec)
        except LookupError:
            raise AdminError(f"[ERR] No such node ID {spec}")
        _forget_unreachable(cluster, dead, log)
        return
    log(f">>> Removing node {node.node_id} from cluster {cluster.nodes[0].addr}")
    if node.slots:
        raise AdminError(f"[ERR] Node {node.addr} is not empty! Reshard data away and try again.")
    log(">>> Sending CLUSTER FORGET messages to the cluster...")
    for n in cluster.nodes:
        if n is node:
            continue
        if n.master_id == node.node_id:
            master = least_replicated_master(cluster, exclude=node)
            log(f">>> {n.addr} as replica of {master.addr}")
            reply = n.call("CLUSTER", "REPLICATE", master.node_id)
            if isinstance(reply, ReplyError):
                raise AdminError(f"[ERR] CLUSTER REPLICATE on {n.addr} failed: {reply}")
            n.master_id = master.node_id
        reply = n.call("CLUSTER", "FORGET", node.node_id)
        if isinstance(reply, ReplyError):
            raise AdminError(f"[ERR] CLUSTER FORGET on {n.addr} failed: {reply}")
    log(">>> Sending CLUSTER RESET SOFT to the deleted node.")
    reply = node.call("CLUSTER", "RESET", "SOFT")
    if isinstance(reply, ReplyError):
        raise AdminError(f"[ERR] CLUSTER RESET SOFT on {node.addr} failed: {reply}")
    cluster.nodes.remove(node)
    node.close()


def _forget_unreachable(cluster: Cluster, node: Node, log: Log) -> None:
    log(f">>> Removing unreachable node {node.node_id} ({node.addr}) from the cluster")
    if node.slots:
        raise AdminError(
            f"[ERR] Node {node.addr} still owns slots: fail it over or move them first "
            "(rcsim fix covers slots nobody serves)."
        )
    log(">>> Sending CLUSTER FORGET messages to the cluster...")
    for n in cluster.nodes:
        if n.master_id == node.node_id:  # "Can't forget my master!": follow another first
            master = least_replicated_master(cluster, exclude=node)
            log(f">>> {n.addr} as replica of {master.addr}")
            reply = n.call("CLUSTER", "REPLICATE", master.node_id)
            if isinstance(reply, ReplyError):
                raise AdminError(f"[ERR] CLUSTER REPLICATE on {n.addr} failed: {reply}")
        reply = n.call("CLUSTER", "FORGET", node.node_id)
        if isinstance(reply, ReplyError):
            raise AdminError(f"[ERR] CLUSTER FORGET on {n.addr} failed: {reply}")
    log("*** The node is not reachable: it was not reset; do not restart it as it is.")
