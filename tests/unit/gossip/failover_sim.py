"""Clusters with replicas in the virtual-time simulator, and the failover invariants.

``make_replicated(sim, masters, replicas)`` builds what ``redis-cli --cluster create
--cluster-replicas N`` builds: masters with the slots spread evenly and config
epochs 1..M (named n0..), and replicas r{i}_{j} that CLUSTER REPLICATE master i once they know it, then
runs until every node agrees. Replication offsets are fed through ``sim.offsets``.

``watch_config_epochs(sim)`` installs the safety invariant checked after every simulator step:
a config epoch, once held by a slot owner in any node's view, is never held by another slot
owner in any view at any later time (so no slot can ever have two owners with the same config
epoch). Only the views that took an input in the step are rescanned.
"""

from __future__ import annotations

from gossip.node import ClusterNode
from tests.unit.gossip.sim import IP, Sim, SimNode, make_cluster


def make_replicated(
    sim: Sim, masters: int, replicas: int, *, base_port: int = 30001, offset: int = 1000
) -> tuple[list[SimNode], list[list[SimNode]]]:
    ms = make_cluster(sim, masters, base_port=base_port)
    groups: list[list[SimNode]] = []
    port = base_port + masters
    for i in range(masters):
        group = []
        for j in range(replicas):
            node = sim.add_node(f"r{i}_{j}", port)
            port += 1
            sim.call(node.name, lambda st: st.meet(IP, base_port, base_port + 10000, sim.now))
            group.append(node)
        groups.append(group)
    for m in ms:
        sim.offsets[m.name] = offset
    for group in groups:
        for j, r in enumerate(group):
            sim.offsets[r.name] = offset - j  # r{i}_0 is the most up to date
    all_ids = {n.id for n in sim.nodes.values()}
    sim.run_until_true(lambda: all(sim.known_ids(n) == all_ids for n in sim.nodes), 20_000)
    for i, group in enumerate(groups):
        for r in group:
            sim.call(r.name, lambda st, mid=ms[i].id: st.replicate(mid, True, sim.now))
    sim.run_until_true(lambda: converged_with_roles(sim), 20_000)
    return ms, groups


def converged_with_roles(sim: Sim) -> bool:
    """Every node agrees on the slot map, on who replicates whom, and says ok."""
    alive = [n for n in sim.nodes if n not in sim.dead]
    first = sim.nodes[alive[0]].state.slots
    if not all(sim.nodes[n].state.slots == first and sim.nodes[n].state.state_ok for n in alive):
        return False
    truth = {
        n.id: n.state.myself.master_id for name, n in sim.nodes.items() if name not in sim.dead
    }
    for name, node in sim.nodes.items():
        if name in sim.dead:
            continue
        for node_id, master_id in truth.items():
            if node.state.nodes[node_id].master_id != master_id:
                return False
    return True


def watch_config_epochs(sim: Sim) -> list[str]:
    """Check after every step; violations are collected (and asserted by the caller)."""
    violations: list[str] = []

    holder: dict[int, str] = {}

    def check() -> None:
        for name in sim.touched:
            node = sim.nodes[name]
            for other in node.state.nodes.values():
                if other.num_slots == 0 or not other.is_master:
                    continue
                seen = holder.setdefault(other.config_epoch, other.node_id)
                if seen != other.node_id:
                    violations.append(
                        f"t={sim.now} view {name}: epoch {other.config_epoch} owned by "
                        f"{seen[:8]} and {other.node_id[:8]}"
                    )

    sim.after_step.append(check)
    return violations


def owner_everywhere(sim: Sim, slot: int) -> set[str]:
    return {n.state.slots[slot] or "" for name, n in sim.nodes.items() if name not in sim.dead}


def node_in(sim: Sim, viewer: str, node_id: str) -> ClusterNode:
    return sim.nodes[viewer].state.nodes[node_id]
