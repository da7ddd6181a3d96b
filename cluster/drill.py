"""Failover drills on a running cluster: kill a master with SIGKILL and time what follows.

``kill_master`` measures, from the SIGKILL, three moments seen from the outside (RESP only,
polling every surviving node):

- **detect**: the first node whose CLUSTER NODES flags the dead master ``fail`` (FAIL agreed
  by a majority of masters, not the local ``fail?`` suspicion);
- **elect**: one of its replicas reports itself ``master`` (it won the election);
- **recover**: every surviving node says ``cluster_state:ok``, they all give the dead
  master's slots to the new master, and a client write to one of those slots succeeds.

Then it restarts the killed node (same port, directory and nodes.conf) and waits until it has
rejoined as a replica with its link up, so the next run starts from a whole cluster. The next
run kills the shard's current master (the replica promoted by the previous run).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cluster import supervisor
from cluster.respclient import ReplyError, RespClient
from cluster.topology import NodeLine, parse_info, parse_nodes, query, shard_names
from node.protocol.keyslot import key_slot

HOST = "127.0.0.1"
POLL_S = 0.01


@dataclass
class DrillRun:
    killed: str  # address of the killed master
    shard: str
    detect_s: float
    elect_s: float
    recover_s: float
    rejoin_s: float
    new_master: str

    def line(self, index: int) -> str:
        return (
            f"run {index}: killed {self.killed} ({self.shard} master); "
            f"detect {self.detect_s:.2f}s, elect {self.elect_s:.2f}s, "
            f"recover {self.recover_s:.2f}s; new master {self.new_master}; "
            f"restarted node rejoined as a replica in {self.rejoin_s:.2f}s"
        )


def key_for_slots(slots: list[tuple[int, int]]) -> bytes:
    """A key whose slot is in ``slots`` (the drill's probe write goes to the failed shard)."""
    for i in range(100_000):
        key = b"drill:%d" % i
        slot = key_slot(key)
        if any(a <= slot <= b for a, b in slots):
            return key
    raise RuntimeError("no key found for the shard's slots")


def _live_ports(run_dir: Path) -> list[int]:
    return [nd.port for nd in supervisor.node_dirs(run_dir) if nd.pid() is not None]


def _shard_master(run_dir: Path, shard: str) -> tuple[NodeLine, list[NodeLine], list[int]]:
    ports = _live_ports(run_dir)
    if not ports:
        raise RuntimeError(f"no node of {run_dir} is running")
    view = query(HOST, ports[0])
    names = shard_names(view.nodes)
    masters = [n for n in view.nodes if n.is_master and names.get(n.node_id) == shard]
    if not masters:
        raise RuntimeError(f"no master for {shard} (shards: {sorted(set(names.values()))})")
    master = masters[0]
    replicas = [
        n for n in view.nodes if n.master_id == master.node_id and not n.flags & {"fail", "fail?"}
    ]
    if not replicas:
        raise RuntimeError(f"{shard}'s master {master.addr} has no working replica to promote")
    return master, replicas, ports


class _Poller:
    """Persistent connections to the surviving nodes (reconnected on error)."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.clients: dict[int, RespClient] = {}

    def ask(self, port: int, *args: str | bytes) -> object:
        client = self.clients.get(port)
        try:
            if client is None:
                client = self.clients[port] = RespClient(HOST, port, timeout=1.0)
            return client.call(*args)
        except (OSError, ConnectionError):
            self.clients.pop(port, None)
            return None

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def kill_master(run_dir: Path, shard: str = "shard-0", timeout_s: float = 30.0) -> DrillRun:
    """One drill run (see the module docstring); raises TimeoutError if a step never comes."""
    master, replicas, ports = _shard_master(run_dir, shard)
    replica_ids = {r.node_id for r in replicas}
    key = key_for_slots(master.slots)
    victim = supervisor.NodeDir(
        int(master.addr.rsplit(":", 1)[1]), run_dir / master.addr.rsplit(":", 1)[1]
    )
    survivors = [p for p in ports if p != victim.port]
    poller = _Poller(survivors)
    detect = elect = recover = None
    new_master = ""
    t0 = time.monotonic()
    supervisor.kill(victim)
    try:
        while recover is None:
            now = time.monotonic() - t0
            if now > timeout_s:
                step = "detect" if detect is None else "elect" if elect is None else "recover"
                raise TimeoutError(f"no {step} within {timeout_s:.0f}s of the kill")
            states, owners = [], set()
            for port in survivors:
                text = poller.ask(port, "CLUSTER", "NODES")
                info = poller.ask(port, "CLUSTER", "INFO")
                if not isinstance(text, bytes) or not isinstance(info, bytes):
                    states.append("?")
                    continue
                nodes = parse_nodes(text.decode())
                seen = time.monotonic() - t0
                dead = next((n for n in nodes if n.node_id == master.node_id), None)
                if detect is None and dead is not None and "fail" in dead.flags:
                    detect = seen
                me = next(n for n in nodes if "myself" in n.flags)
                if elect is None and me.node_id in replica_ids and me.is_master:
                    elect, new_master = seen, f"{HOST}:{port}"
                states.append(parse_info(info.decode()).get("cluster_state", "?"))
                owners.add(next((n.node_id for n in nodes if n.slots == master.slots), ""))
            if elect is not None and set(states) == {"ok"} and len(owners) == 1:
                owner_port = int(new_master.rsplit(":", 1)[1])
                reply = poller.ask(owner_port, "SET", key, b"%d" % time.time_ns())
                if reply == "OK":
                    recover = time.monotonic() - t0
                    detect = detect if detect is not None else recover
            if recover is None:
                time.sleep(POLL_S)
    finally:
        poller.close()
    rejoin = rejoin_as_replica(victim, master.node_id, ports, timeout_s)
    return DrillRun(master.addr, shard, detect or 0.0, elect or 0.0, recover, rejoin, new_master)


def rejoin_as_replica(
    victim: supervisor.NodeDir, node_id: str, ports: list[int], timeout_s: float
) -> float:
    """Restart the killed node and wait until it is a replica with its link up, and every node
    is ok and has cleared its FAIL flag; the seconds that took."""
    t0 = time.monotonic()
    supervisor.restart(victim)
    deadline = t0 + timeout_s
    while time.monotonic() < deadline:
        if _rejoined(victim.port, node_id, ports):
            return time.monotonic() - t0
        time.sleep(0.05)
    raise TimeoutError(f"the restarted node {node_id[:8]} did not rejoin as a replica")


def _rejoined(port: int, node_id: str, ports: list[int]) -> bool:
    try:
        view = query(HOST, port, with_repl=True)
        others = [query(HOST, p) for p in ports if p != port]
    except (OSError, ConnectionError, StopIteration, ReplyError):
        return False
    if view.myself.role != "replica" or view.repl.get("master_link_status") != "up":
        return False
    for v in [view, *others]:
        line = next((n for n in v.nodes if n.node_id == node_id), None)
        if v.info.get("cluster_state") != "ok" or line is None:
            return False
        if line.flags & {"fail", "fail?"} or "slave" not in line.flags:
            return False
    return True


def summary(runs: list[DrillRun]) -> str:
    def med(values: list[float]) -> str:
        return f"{statistics.median(values):.2f}s"

    return (
        f"median over {len(runs)} runs: detect {med([r.detect_s for r in runs])}, "
        f"elect {med([r.elect_s for r in runs])}, recover {med([r.recover_s for r in runs])}, "
        f"rejoin {med([r.rejoin_s for r in runs])}"
    )


def kill_master_drill(
    run_dir: Path, runs: int, shard: str, timeout_s: float, out: Callable[[str], None]
) -> list[DrillRun]:
    results = []
    for index in range(1, runs + 1):
        run = kill_master(run_dir, shard, timeout_s)
        results.append(run)
        out(run.line(index))
    out(summary(results))
    return results
