"""CLUSTER FAILOVER in virtual time: default (MFSTART, paused master, offset catch-up,
FORCEACK election), FORCE, TAKEOVER, the 5 s abort and the refusals."""

from __future__ import annotations

import pytest

from gossip import ClusterCommandError
from gossip.messages import FailoverAuthRequest, MessageFlag, MfStart, Ping
from gossip.outbox import FailoverEvent, ManualFailoverPause, MyMasterChanged, PromotedToMaster
from tests.unit.gossip.failover_sim import (
    converged_with_roles,
    make_replicated,
    owner_everywhere,
    watch_config_epochs,
)
from tests.unit.gossip.sim import Sim, SimNode

T = 2000


def _kinds(node: SimNode, since: int, kind: str) -> list[tuple[int, FailoverEvent]]:
    return [
        (t - since, ev)
        for t, ev in node.events
        if t >= since and isinstance(ev, FailoverEvent) and ev.kind == kind
    ]


def _setup(seed: int = 1):
    sim = Sim(seed=seed, node_timeout_ms=T)
    masters, groups = make_replicated(sim, 3, 1)
    return sim, masters[0], groups[0][0], watch_config_epochs(sim)


def test_default_waits_for_the_offset_then_switches_without_the_master_failing() -> None:
    sim, master, replica, violations = _setup()
    sim.offsets[replica.name] = 900  # behind the master (1000)
    start = sim.now
    sim.call(replica.name, lambda st: st.start_failover("", sim.now))
    sim.run_for(300)
    # The master paused writes for 10 s and says PAUSED with its offset.
    pauses = [(t, e) for t, e in master.events if t >= start and isinstance(e, ManualFailoverPause)]
    assert pauses and pauses[0][1].until_ms == pauses[0][0] + 10_000
    assert any(isinstance(d.message, MfStart) and d.dst == master.name for d in sim.deliveries)
    paused = [
        d.message for d in sim.deliveries
        if d.src == master.name and d.dst == replica.name and d.time >= start
        and d.message.header.mflags & MessageFlag.PAUSED
    ]  # fmt: skip
    assert paused and all(isinstance(m, Ping) for m in paused[:1])
    assert replica.state.failover.mf_master_offset == 1000
    assert replica.state.myself.is_replica and not _kinds(replica, start, "manual-ready")

    sim.offsets[replica.name] = 1000  # caught up
    caught_up = sim.now
    sim.run_until_true(lambda: replica.state.myself.is_master, 1000)
    ((ready, _),) = _kinds(replica, caught_up, "manual-ready")
    ((asked, _req),) = _kinds(replica, caught_up, "auth-requested")
    ((won, _),) = _kinds(replica, caught_up, "elected")
    assert ready <= 100 and asked == ready and won <= asked + 5  # undelayed
    requests = [d.message for d in sim.deliveries if isinstance(d.message, FailoverAuthRequest)]
    assert requests and all(m.header.mflags & MessageFlag.FORCEACK for m in requests)
    # The old master never failed; it follows the winner and lifts its pause.
    sim.run_until_true(lambda: converged_with_roles(sim), 5000)
    assert master.state.myself.master_id == replica.id
    assert (MyMasterChanged(replica.id, "127.0.0.1", replica.port)) in [e for _, e in master.events]
    assert ManualFailoverPause(0) in [e for t, e in master.events if t >= caught_up]
    assert not any(n.state.nodes[master.id].failed for n in sim.nodes.values())
    assert owner_everywhere(sim, 0) == {replica.id}
    assert violations == []


def test_default_aborts_after_five_seconds_and_the_master_resumes() -> None:
    sim, master, replica, violations = _setup(2)
    sim.offsets[replica.name] = 500  # never catches up
    start = sim.now
    sim.call(replica.name, lambda st: st.start_failover("", sim.now))
    sim.run_for(6000)
    ((aborted, _),) = _kinds(replica, start, "manual-aborted")
    assert 5000 < aborted <= 5100
    assert replica.state.myself.is_replica and master.state.myself.is_master
    unpause = [t - start for t, e in master.events if t >= start and e == ManualFailoverPause(0)]
    assert unpause and 5000 < unpause[0] <= 5200  # the master's own 5 s, not the 10 s pause
    assert replica.state.failover.mf_end_ms == 0
    assert violations == []


def test_force_needs_no_master_but_still_needs_votes() -> None:
    sim, master, replica, violations = _setup(3)
    sim.kill(master.name)
    sim.run_for(200)  # not even PFAIL yet
    start = sim.now
    sim.call(replica.name, lambda st: st.start_failover("force", sim.now))
    sim.run_until_true(lambda: replica.state.myself.is_master, 500)
    assert sim.now - start <= 200
    assert len(_kinds(replica, start, "auth-requested")) == 1
    granted = [m for m in sim.nodes.values() if _kinds(m, start, "vote-granted")]
    assert len(granted) == 2
    assert violations == []


def test_force_without_a_majority_does_not_win() -> None:
    sim, master, replica, _violations = _setup(4)
    sim.kill(master.name)
    sim.isolate("n1")
    start = sim.now
    sim.call(replica.name, lambda st: st.start_failover("force", sim.now))
    sim.run_for(4000)
    assert replica.state.myself.is_replica
    assert _kinds(replica, start, "auth-requested")


def test_takeover_needs_no_votes() -> None:
    sim, master, replica, violations = _setup(5)
    sim.isolate("n1")
    sim.isolate("n2")  # no master can vote
    start = sim.now
    before = replica.state.current_epoch
    sim.call(replica.name, lambda st: st.start_failover("takeover", sim.now))
    assert replica.state.myself.is_master
    assert replica.state.myself.config_epoch == before + 1
    assert not _kinds(replica, start, "auth-requested") and _kinds(replica, start, "takeover")
    assert [e for t, e in replica.events if t >= start and isinstance(e, PromotedToMaster)]
    sim.heal("n1")
    sim.heal("n2")
    sim.run_until_true(lambda: converged_with_roles(sim), 10_000)
    assert master.state.myself.master_id == replica.id
    assert owner_everywhere(sim, 0) == {replica.id}
    assert violations == []


def test_refusals() -> None:
    sim, master, replica, _ = _setup(6)
    with pytest.raises(
        ClusterCommandError, match=r"^ERR You should send CLUSTER FAILOVER to a replica$"
    ):
        master.state.start_failover("", sim.now)
    sim.kill(master.name)
    sim.run_until_true(lambda: replica.state.nodes[master.id].failed, 3 * T)
    with pytest.raises(
        ClusterCommandError,
        match=r"^ERR Master is down or failed, please use CLUSTER FAILOVER FORCE$",
    ):
        replica.state.start_failover("", sim.now)
