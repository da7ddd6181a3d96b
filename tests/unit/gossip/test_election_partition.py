"""Partitions and their aftermath: the minority master goes fail (CLUSTERDOWN) within the node
timeout's bounds, the majority fails it over, and after healing the old master rejoins as a
replica of the winner; replica migration to an orphaned master (cluster-migration-barrier)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gossip.health import rejoin_delay_ms
from gossip.outbox import FailoverEvent, MyMasterChanged, StateChanged
from tests.unit.gossip.failover_sim import (
    converged_with_roles,
    make_replicated,
    owner_everywhere,
    watch_config_epochs,
)
from tests.unit.gossip.sim import Sim

T = 2000


@pytest.mark.parametrize("seed", range(10))
def test_minority_master_goes_down_then_rejoins_as_a_replica(seed: int) -> None:
    sim = Sim(seed=200 + seed, node_timeout_ms=T)
    masters, groups = make_replicated(sim, 3, 1)
    violations = watch_config_epochs(sim)
    sim.run_for(seed * 53)
    old, winner = masters[0], groups[0][0]
    cut = sim.now
    sim.isolate(old.name)  # alive, but cut off from every other node

    # The minority side: every peer PFAIL, no majority of masters reachable -> fail.
    sim.run_until_true(lambda: not old.state.state_ok, 2 * T)
    down_after = sim.now - cut
    assert T < down_after <= 1.5 * T + 200
    assert old.state.myself.is_master  # it still thinks it owns its slots, but refuses
    # The majority side elects the replica meanwhile.
    sim.run_until_true(lambda: winner.state.myself.is_master, 4 * T)
    assert not old.state.state_ok

    healed = sim.now
    sim.heal(old.name)
    sim.run_until_true(lambda: converged_with_roles(sim), 4 * T)
    assert old.state.myself.is_replica and old.state.myself.master_id == winner.id
    followed = [(t, e) for t, e in old.events if t >= healed and isinstance(e, MyMasterChanged)]
    assert followed and followed[0][1].master_id == winner.id
    assert old.state.myself.config_epoch < winner.state.myself.config_epoch
    assert owner_everywhere(sim, 0) == {winner.id} and old.state.slots[0] == winner.id
    assert old.state.state_ok  # a replica does not wait for the rejoin delay
    assert violations == []


def test_master_back_from_the_minority_waits_the_rejoin_delay() -> None:
    """No replicas, so no failover: the isolated master goes fail, then after healing waits
    the rejoin delay (node timeout clamped to 0.5..5 s) before it says ok again."""
    sim = Sim(seed=300, node_timeout_ms=T)
    masters, _ = make_replicated(sim, 3, 0)
    m = masters[1]
    sim.isolate(m.name)
    sim.run_until_true(lambda: not m.state.state_ok, 2 * T)
    healed = sim.now
    sim.heal(m.name)
    sim.run_until_true(lambda: m.state.state_ok, 4 * T)
    ok_at = max(t for t, e in m.events if isinstance(e, StateChanged) and e.ok)
    last_minority = m.state.among_minority_ms
    assert ok_at - last_minority >= rejoin_delay_ms(T)
    assert ok_at - healed <= rejoin_delay_ms(T) + 1000


def _migration_cluster(seed: int, barrier: int = 1):
    sim = Sim(seed=seed, node_timeout_ms=T)
    masters, groups = make_replicated(sim, 3, 2)
    if barrier != 1:
        for name, node in sim.nodes.items():
            cfg = replace(node.state.config, migration_barrier=barrier)
            sim.call(name, lambda st, c=cfg: st.set_config(c, sim.now))
    return sim, masters, groups


def test_replica_migrates_to_an_orphaned_master() -> None:
    sim, masters, groups = _migration_cluster(400)
    orphan = masters[1]
    for r in groups[1]:
        sim.kill(r.name)
    killed = sim.now
    movers = [r for i in (0, 2) for r in groups[i]]
    sim.run_until_true(lambda: any(r.state.myself.master_id == orphan.id for r in movers), 20_000)
    moved = [r for r in movers if r.state.myself.master_id == orphan.id]
    assert len(moved) == 1
    # The smallest id among the replicas of the masters with the most working replicas.
    assert moved[0].id == min(r.id for r in movers)
    (t, ev), = [
        (t, e) for t, e in moved[0].events
        if t >= killed and isinstance(e, FailoverEvent) and e.kind == "migrated"
    ]  # fmt: skip
    assert ev.node_id == orphan.id
    # FAIL of both replicas (<= 2.25 T), then orphaned for more than 5 s.
    assert 5000 < t - killed <= 2.25 * T + 5000 + 1000
    assert (MyMasterChanged(orphan.id, "127.0.0.1", orphan.port)) in [e for _, e in moved[0].events]
    sim.run_for(8000)
    assert sum(r.state.myself.master_id == orphan.id for r in movers) == 1  # only one moves


def test_migration_barrier_keeps_replicas_home() -> None:
    sim, masters, groups = _migration_cluster(401, barrier=2)
    for r in groups[1]:
        sim.kill(r.name)
    sim.run_for(20_000)
    movers = [r for i in (0, 2) for r in groups[i]]
    assert all(r.state.myself.master_id != masters[1].id for r in movers)
