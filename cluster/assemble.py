"""``rcsim up``: spawn the nodes, then assemble them with the commands ``redis-cli --cluster
create`` sends (ADDSLOTSRANGE, SET-CONFIG-EPOCH, MEET), and wait until they all agree.

Only RESP is used to talk to nodes: the CLI learns the topology like any client would.
"""

from __future__ import annotations

import time
from pathlib import Path

from cluster import supervisor
from cluster.respclient import ReplyError, RespClient
from cluster.topology import CLUSTER_SLOTS, NodeView, query, slot_map

HOST = "127.0.0.1"


def slot_ranges_for(masters: int) -> list[tuple[int, int]]:
    """Even split of the 16384 slots, as redis-cli's clusterManagerCommandCreate does it."""
    per_node = CLUSTER_SLOTS / masters
    ranges, first, cursor = [], 0, 0.0
    for i in range(masters):
        last = round(cursor + per_node - 1)
        if last > CLUSTER_SLOTS - 1 or i == masters - 1:
            last = CLUSTER_SLOTS - 1
        if last < first:
            last = first
        ranges.append((first, last))
        first = last + 1
        cursor += per_node
    return ranges


def assemble(ports: list[int], replica_ports: list[int] | None = None) -> list[str]:
    """Slots, distinct config epochs, then MEET from the first node; returns the master ids.

    Replica ports, if any, are met too (without slots) and attached with ``attach_replicas``
    once every node knows every other, as ``redis-cli --cluster create`` does."""
    ids = []
    for port, (first, last), epoch in zip(
        ports, slot_ranges_for(len(ports)), range(1, len(ports) + 1), strict=True
    ):
        with RespClient(HOST, port) as client:
            ids.append(client.text("CLUSTER", "MYID"))
            client.check("CLUSTER", "ADDSLOTSRANGE", first, last)
            client.check("CLUSTER", "SET-CONFIG-EPOCH", epoch)
    with RespClient(HOST, ports[0]) as first_node:
        for port in ports[1:] + (replica_ports or []):
            first_node.check("CLUSTER", "MEET", HOST, port)
    return ids


def replica_plan(master_ports: list[int], replica_ports: list[int]) -> list[tuple[int, int]]:
    """(replica port, master port) pairs: replicas go round-robin over the masters, so each
    master gets ``len(replica_ports) // len(master_ports)`` of them."""
    return [(r, master_ports[i % len(master_ports)]) for i, r in enumerate(replica_ports)]


def attach_replicas(
    plan: list[tuple[int, int]], master_ids: dict[int, str], timeout_s: float
) -> None:
    """CLUSTER REPLICATE on each replica, retried until it knows its master (gossip spreads
    the MEETs in a few hundred ms), as redis-cli's clusterManagerWaitForClusterJoin."""
    deadline = time.monotonic() + timeout_s
    for replica_port, master_port in plan:
        while True:
            with RespClient(HOST, replica_port) as client:
                reply = client.call("CLUSTER", "REPLICATE", master_ids[master_port])
            if not isinstance(reply, ReplyError):
                break
            if "Unknown node" not in str(reply) or time.monotonic() > deadline:
                raise RuntimeError(f"CLUSTER REPLICATE on port {replica_port}: {reply}")
            time.sleep(0.05)


def replicas_ready(views: list[NodeView], plan: list[tuple[int, int]]) -> bool:
    """Every replica is a replica of its planned master in every node's table and its link
    with the master is up (so CLUSTER SLOTS lists it and a failover can promote it)."""
    by_port = {v.port: v for v in views}
    for replica_port, master_port in plan:
        replica, master = by_port.get(replica_port), by_port.get(master_port)
        if replica is None or master is None:
            return False
        master_id = master.myself.node_id
        for v in views:
            line = next((n for n in v.nodes if n.node_id == replica.myself.node_id), None)
            if line is None or "slave" not in line.flags or line.master_id != master_id:
                return False
        if replica.repl.get("master_link_status") != "up":
            return False
    return True


def converged(views: list[NodeView], count: int) -> bool:
    """Every node is ok, knows every node, and reports the same full slot map."""
    if len(views) != count:
        return False
    maps = {slot_map(v.nodes) for v in views}
    return (
        all(v.info.get("cluster_state") == "ok" and len(v.nodes) == count for v in views)
        and len(maps) == 1
        and all(
            not any(n.flags & {"handshake", "fail", "fail?", "noaddr"} for n in v.nodes)
            for v in views
        )
    )


def wait_converged(
    ports: list[int], timeout_s: float, plan: list[tuple[int, int]] | None = None
) -> list[NodeView]:
    """Poll every node until they agree (and the planned replicas are attached and synced)."""
    deadline = time.monotonic() + timeout_s
    views: list[NodeView] = []
    while time.monotonic() < deadline:
        try:
            views = [query(HOST, p, with_repl=bool(plan)) for p in ports]
        except (OSError, ConnectionError, StopIteration):
            views = []
        if converged(views, len(ports)) and (not plan or replicas_ready(views, plan)):
            return views
        time.sleep(0.1)
    what = "the cluster did not converge"
    if plan and views and converged(views, len(ports)):
        what = "the replicas did not attach and sync"
    raise TimeoutError(f"{what} within {timeout_s:.0f}s")


def up(
    run_dir: Path,
    masters: int,
    port: int,
    node_timeout_ms: int,
    wait_s: float,
    replicas: int = 0,
) -> list[NodeView]:
    """Start ``masters`` x (1 + ``replicas``) nodes on consecutive ports (masters first),
    assemble them, attach the replicas; stops them all on failure."""
    ports = list(range(port, port + masters * (1 + replicas)))
    master_ports, replica_ports = ports[:masters], ports[masters:]
    running = [nd.port for nd in supervisor.node_dirs(run_dir) if nd.pid() is not None]
    if running:
        raise RuntimeError(
            f"nodes of {run_dir} are still running on ports {running}: run `rcsim down` first"
        )
    started: list[supervisor.NodeDir] = []
    try:
        for p in ports:
            nd = supervisor.NodeDir(p, run_dir.resolve() / str(p))
            if nd.path.exists():
                _clear_state(nd.path)
            supervisor.spawn(run_dir, p, node_timeout_ms)
            started.append(nd)
        ids = assemble(master_ports, replica_ports)
        plan = replica_plan(master_ports, replica_ports)
        if plan:
            attach_replicas(plan, dict(zip(master_ports, ids, strict=True)), wait_s)
        return wait_converged(ports, wait_s, plan)
    except BaseException:
        for nd in started:
            supervisor.stop(nd)
        raise


def _clear_state(path: Path) -> None:
    """A fresh ``up`` starts fresh nodes: forget a previous run's nodes.conf and dumps."""
    for name in ("nodes.conf", "dump.rdb", "node.log", "stdout.log", "node.pid"):
        (path / name).unlink(missing_ok=True)
