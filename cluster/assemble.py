"""``rcsim up``: spawn the nodes, then assemble them with the commands ``redis-cli --cluster
create`` sends (ADDSLOTSRANGE, SET-CONFIG-EPOCH, MEET), and wait until they all agree.

Only RESP is used to talk to nodes: the CLI learns the topology like any client would.
"""

from __future__ import annotations

import time
from pathlib import Path

from cluster import supervisor
from cluster.respclient import RespClient
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


def assemble(ports: list[int]) -> list[str]:
    """Slots, distinct config epochs, then MEET from the first node; returns the node ids."""
    ids = []
    for port, (first, last), epoch in zip(
        ports, slot_ranges_for(len(ports)), range(1, len(ports) + 1), strict=True
    ):
        with RespClient(HOST, port) as client:
            ids.append(client.text("CLUSTER", "MYID"))
            client.check("CLUSTER", "ADDSLOTSRANGE", first, last)
            client.check("CLUSTER", "SET-CONFIG-EPOCH", epoch)
    with RespClient(HOST, ports[0]) as first_node:
        for port in ports[1:]:
            first_node.check("CLUSTER", "MEET", HOST, port)
    return ids


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


def wait_converged(ports: list[int], timeout_s: float) -> list[NodeView]:
    deadline = time.monotonic() + timeout_s
    views: list[NodeView] = []
    while time.monotonic() < deadline:
        try:
            views = [query(HOST, p) for p in ports]
        except (OSError, ConnectionError, StopIteration):
            views = []
        if converged(views, len(ports)):
            return views
        time.sleep(0.1)
    raise TimeoutError(f"the cluster did not converge within {timeout_s:.0f}s")


def up(
    run_dir: Path, masters: int, port: int, node_timeout_ms: int, wait_s: float
) -> list[NodeView]:
    """Start ``masters`` nodes on consecutive ports and assemble them; stops them on failure."""
    ports = list(range(port, port + masters))
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
        assemble(ports)
        return wait_converged(ports, wait_s)
    except BaseException:
        for nd in started:
            supervisor.stop(nd)
        raise


def _clear_state(path: Path) -> None:
    """A fresh ``up`` starts fresh nodes: forget a previous run's nodes.conf and dumps."""
    for name in ("nodes.conf", "dump.rdb", "node.log", "stdout.log", "node.pid"):
        (path / name).unlink(missing_ok=True)
