"""Cluster state ok/fail: coverage, the majority of slot-owning masters, and the two delays."""

from __future__ import annotations

import random

from gossip import ClusterState, GossipConfig
from gossip.health import rejoin_delay_ms, update_cluster_state
from gossip.messages import NodeFlag
from gossip.outbox import StateChanged
from tests.unit.gossip.helpers import T0, TIMEOUT, A, B, C, line, load


def alone(require_full_coverage: bool = True) -> ClusterState:
    config = GossipConfig(
        port=7000, cport=17000, node_timeout_ms=TIMEOUT, require_full_coverage=require_full_coverage
    )
    return ClusterState(config, random.Random(1), T0)


def test_a_master_waits_two_seconds_after_start_before_going_ok() -> None:
    st = alone()
    st.add_slot_ranges([(0, 16383)], T0)  # first evaluation of the state: T0
    st.on_tick(T0 + 1999)
    assert not st.state_ok
    st.drain()
    st.on_tick(T0 + 2000)
    assert st.state_ok and st.size == 1
    assert st.drain() == [StateChanged(True)]


def test_full_coverage_is_required_unless_configured_otherwise() -> None:
    strict = alone()
    strict.add_slot_ranges([(0, 100)], T0)
    strict.on_tick(T0 + 5000)
    assert not strict.state_ok
    lenient = alone(require_full_coverage=False)
    lenient.add_slot_ranges([(0, 100)], T0)
    lenient.on_tick(T0 + 5000)
    assert lenient.state_ok


def test_a_slot_owned_by_a_failed_node_is_not_covered() -> None:
    st = load([line(A, 7000, "myself,master", slots="0-8191"), line(B, 7001, slots="8192-16383")])
    update_cluster_state(st, T0)
    update_cluster_state(st, T0 + 2000)  # a loaded master waits 2 s as well
    assert st.state_ok
    st.nodes[B].flags |= NodeFlag.FAIL
    update_cluster_state(st, T0 + 2001)
    assert not st.state_ok


def test_a_minority_master_waits_the_rejoin_delay_after_the_partition_heals() -> None:
    lines = [
        line(A, 7000, "myself,master", slots="0-5000"),
        line(B, 7001, slots="5001-10000"),
        line(C, 7002, slots="10001-16383"),
    ]
    st = load(lines)
    update_cluster_state(st, T0 - 2000)
    update_cluster_state(st, T0)
    assert st.state_ok and st.size == 3
    for peer in (B, C):
        st.nodes[peer].flags |= NodeFlag.PFAIL
    update_cluster_state(st, T0 + 100)  # in the minority: one reachable master of three
    assert not st.state_ok and st.among_minority_ms == T0 + 100
    st.nodes[B].flags &= ~NodeFlag.PFAIL
    delay = rejoin_delay_ms(TIMEOUT)
    assert delay == TIMEOUT
    update_cluster_state(st, T0 + 100 + delay - 1)
    assert not st.state_ok
    update_cluster_state(st, T0 + 100 + delay)
    assert st.state_ok


def test_rejoin_delay_is_clamped() -> None:
    assert rejoin_delay_ms(100) == 500
    assert rejoin_delay_ms(15_000) == 5000
