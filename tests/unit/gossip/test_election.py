"""A master dies: failure detection, the replica election and the takeover, in virtual time.

Timings for node timeout T (the simulator delivers in 1 ms, ticks every 100 ms):

- PFAIL: a node's ping pending more than T. The first unanswered ping goes out at most
  T/2 (+ one tick) after the death, so PFAIL falls in (T, 1.5 T + 200 ms].
- FAIL: a majority of masters' reports; reports travel in pings sent at least every T/2, so
  FAIL comes by 2.25 T.
- Election: the replica schedules as soon as it learns FAIL, with delay 500 + rand(0..499) +
  rank x 1000, asks exactly when the delay runs out (an early tick; Redis waits for its next
  100 ms cron, so we are up to 200 ms quicker), and wins on the masters' ACKs (2 ms).
- Safety, after every simulator step: no config epoch is ever held by two slot owners.
"""

from __future__ import annotations

import pytest

from gossip.outbox import (
    FailoverEvent,
    MyMasterChanged,
    NodeMarkedFail,
    NodeMarkedPfail,
    PromotedToMaster,
    StateChanged,
)
from tests.unit.gossip.failover_sim import (
    converged_with_roles,
    make_replicated,
    owner_everywhere,
    watch_config_epochs,
)
from tests.unit.gossip.sim import Sim, SimNode

T = 2000


def _events_after(
    node: SimNode, since: int, cls: type, **match: object
) -> list[tuple[int, object]]:
    return [
        (t - since, ev)
        for t, ev in node.events
        if t >= since and isinstance(ev, cls) and all(getattr(ev, k) == v for k, v in match.items())
    ]


def _failover_kinds(node: SimNode, since: int, kind: str) -> list[tuple[int, FailoverEvent]]:
    return _events_after(node, since, FailoverEvent, kind=kind)  # type: ignore[return-value]


def _kill_and_recover(sim: Sim, victim: str, limit_ms: int = 15_000) -> int:
    victim_id = sim.nodes[victim].id
    sim.kill(victim)
    killed = sim.now

    def recovered() -> bool:
        return converged_with_roles(sim) and victim_id not in owner_everywhere(sim, 0) | {
            owner for slot in range(0, 16384, 512) for owner in owner_everywhere(sim, slot)
        }

    sim.run_until_true(recovered, limit_ms)
    return killed


def _check_detection(sim: Sim, victim_id: str, killed: int) -> int:
    """PFAIL and FAIL bounds on every survivor; returns the earliest FAIL (ms after death)."""
    fails = []
    for name, node in sim.nodes.items():
        if name in sim.dead:
            continue
        for t, _ in _events_after(node, killed, NodeMarkedPfail, node_id=victim_id):
            assert T < t <= 1.5 * T + 200, (name, t)
        marked = _events_after(node, killed, NodeMarkedFail, node_id=victim_id)
        assert len(marked) == 1, name
        fails.append(marked[0][0])
    assert max(fails) <= 2.25 * T
    return min(fails)


@pytest.mark.parametrize("seed", range(50))
def test_six_nodes_a_master_dies_and_its_replica_takes_over(seed: int) -> None:
    sim = Sim(seed=seed, node_timeout_ms=T)
    masters, groups = make_replicated(sim, 3, 1)
    violations = watch_config_epochs(sim)
    sim.run_for(500 + seed * 37)
    victim, replica = masters[0], groups[0][0]
    old_slots = [s for s, owner in enumerate(victim.state.slots) if owner == victim.id]
    old_epoch = victim.state.current_epoch
    killed = _kill_and_recover(sim, "n0")

    first_fail = _check_detection(sim, victim.id, killed)
    ((seen_fail, _),) = _events_after(replica, killed, NodeMarkedFail, node_id=victim.id)
    ((scheduled, ev),) = _failover_kinds(replica, killed, "election-scheduled")
    rank, delay = (int(part.split("=")[1]) for part in ev.detail.split())
    assert rank == 0 and 500 <= delay <= 999
    assert scheduled == seen_fail  # at once (Redis: at its next cron tick)
    ((asked, req),) = _failover_kinds(replica, killed, "auth-requested")
    assert asked == scheduled + delay  # on time (Redis: at the first cron tick after it)
    ((won, elected),) = _failover_kinds(replica, killed, "elected")
    assert asked < won <= asked + 10
    assert req.epoch == elected.epoch == old_epoch + 1
    assert first_fail + 500 <= won <= 2.25 * T + 1200
    assert _events_after(replica, killed, PromotedToMaster)

    # The winner owns the slots with the election epoch, in every view.
    me = replica.state.myself
    assert me.is_master and me.config_epoch == elected.epoch
    for slot in (old_slots[0], old_slots[-1]):
        assert owner_everywhere(sim, slot) == {replica.id}
    for name, node in sim.nodes.items():
        if name not in sim.dead:
            assert node.state.nodes[replica.id].config_epoch == elected.epoch
            assert node.state.state_ok
            # every survivor went fail once (a master was down) and back to ok
            assert _events_after(node, killed, StateChanged, ok=True)
    # Both other masters voted, each once.
    for m in masters[1:]:
        assert [e.node_id for _, e in _failover_kinds(m, killed, "vote-granted")] == [replica.id]
    assert violations == []


@pytest.mark.parametrize("seed", range(3))
def test_thirty_nodes_the_most_up_to_date_replica_wins(seed: int) -> None:
    """10 masters x 2 replicas; r0_0 has the greater replication offset (rank 0), r0_1 is
    ranked 1 (1 s more delay) and ends up replicating the winner."""
    sim = Sim(seed=100 + seed, node_timeout_ms=T)
    masters, groups = make_replicated(sim, 10, 2)
    violations = watch_config_epochs(sim)
    sim.run_for(300 + seed * 111)
    victim = masters[0]
    best, other = groups[0]
    killed = _kill_and_recover(sim, "n0")

    _check_detection(sim, victim.id, killed)
    ((_, ev_best),) = _failover_kinds(best, killed, "election-scheduled")
    assert ev_best.detail.startswith("rank=0 ")
    assert 500 <= int(ev_best.detail.split("delay=")[1]) <= 999
    scheduled_other = _failover_kinds(other, killed, "election-scheduled")
    assert scheduled_other and scheduled_other[0][1].detail.startswith("rank=1 ")
    assert 1500 <= int(scheduled_other[0][1].detail.split("delay=")[1]) <= 1999
    ((won, _),) = _failover_kinds(best, killed, "elected")
    assert won <= 2.25 * T + 1200
    assert not _failover_kinds(other, killed, "auth-requested")  # it never had to ask
    assert other.state.myself.master_id == best.id
    assert _events_after(other, killed, MyMasterChanged, master_id=best.id)
    # 8 of the 9 surviving masters' votes were needed (size 10): count the ACKs granted.
    granted = sum(len(_failover_kinds(m, killed, "vote-granted")) for m in masters[1:])
    assert granted >= 10 // 2 + 1
    assert violations == []


def test_no_election_without_a_majority_of_masters() -> None:
    """3 masters x 1 replica; two masters die: the FAIL quorum and the vote quorum (2 of 3)
    are out of reach, so nobody is promoted and the cluster stays down."""
    sim = Sim(seed=7, node_timeout_ms=T)
    masters, groups = make_replicated(sim, 3, 1)
    violations = watch_config_epochs(sim)
    sim.kill("n0")
    sim.kill("n1")
    killed = sim.now
    sim.run_for(6 * T)
    for group in groups:
        assert group[0].state.myself.is_replica
        assert not _failover_kinds(group[0], killed, "elected")
    assert not masters[2].state.state_ok
    assert violations == []


def test_replica_no_failover_is_never_promoted() -> None:
    sim = Sim(seed=8, node_timeout_ms=T)
    _masters, groups = make_replicated(sim, 3, 1)
    replica = groups[0][0]
    cfg = replica.state.config
    from dataclasses import replace

    sim.call(
        replica.name, lambda st: st.set_config(replace(cfg, replica_no_failover=True), sim.now)
    )
    sim.run_for(500)
    sim.kill("n0")
    killed = sim.now
    sim.run_for(5 * T)
    assert replica.state.myself.is_replica
    assert not _failover_kinds(replica, killed, "election-scheduled")
    assert replica.state.failover.cant_failover_reason == ""


def test_stale_data_blocks_the_election() -> None:
    """data_age - node_timeout > repl-ping-replica-period*1000 + node_timeout*validity-factor."""
    sim = Sim(seed=9, node_timeout_ms=T)
    _masters, groups = make_replicated(sim, 3, 1)
    replica = groups[0][0]
    limit = 10_000 + T * 10
    sim.nodes[replica.name].state.set_replication(1000, T + limit + 1)
    sim.offsets.pop(replica.name)  # keep the stale age
    sim.kill("n0")
    killed = sim.now
    sim.run_for(5 * T)
    assert replica.state.failover.cant_failover_reason == "data-age"
    assert not _failover_kinds(replica, killed, "election-scheduled")


def test_an_election_that_gets_no_votes_expires_and_is_retried() -> None:
    """The masters are unreachable when the replica asks: the attempt expires after
    max(2T, 2 s) and a new one (new delay, new epoch) is scheduled 2 x that after the first
    request."""
    sim = Sim(seed=10, node_timeout_ms=T)
    _masters, groups = make_replicated(sim, 3, 1)
    replica = groups[0][0]
    sim.kill("n0")
    killed = sim.now
    sim.run_until_true(lambda: bool(_failover_kinds(replica, killed, "election-scheduled")), 3 * T)
    sim.isolate("n1")
    sim.isolate("n2")
    sim.run_for(5 * T)
    asks = _failover_kinds(replica, killed, "auth-requested")
    assert len(asks) >= 2 and asks[1][1].epoch > asks[0][1].epoch
    schedules = [t for t, _ in _failover_kinds(replica, killed, "election-scheduled")]
    timeout = max(T * 2, 2000)
    assert asks[0][0] + 2 * timeout - 100 < schedules[1] <= asks[0][0] + 2 * timeout + 100
    assert asks[1][0] - schedules[1] <= 1100 + 100
    assert _failover_kinds(replica, killed, "election-expired")
    assert replica.state.myself.is_replica
