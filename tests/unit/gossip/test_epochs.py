"""Epoch rules: current epoch is the max seen, config-epoch collisions (the smaller id bumps),
a higher config epoch's slot claim wins, UPDATE repairs stale nodes, IMPORTING slots are left
alone, and a master that loses its last slot follows the new owner."""

from __future__ import annotations

from gossip.messages import NodeFlag, Update
from gossip.outbox import ConfigEpochChanged, DeleteKeysInSlots, RoleChanged
from gossip.slots import CLUSTER_SLOTS, slots_to_bitmap
from tests.unit.gossip.helpers import (
    T0,
    A,
    B,
    C,
    D,
    connect_all,
    header,
    inbound,
    line,
    load,
    ping,
    sends,
)
from tests.unit.gossip.sim import Sim, make_cluster


def test_current_epoch_is_the_max_seen_and_config_epochs_only_grow() -> None:
    st = load([line(A, 7000, "myself,master", epoch=1), line(B, 7001, epoch=3)], current_epoch=3)
    link = inbound(st, T0)
    st.on_message(link, ping(header(B, config_epoch=5, current_epoch=9)), T0)
    assert st.current_epoch == 9 and st.nodes[B].config_epoch == 5
    st.on_message(link, ping(header(B, config_epoch=4, current_epoch=2)), T0 + 1)
    assert st.current_epoch == 9 and st.nodes[B].config_epoch == 5


def _collide(me: str, other: str):  # type: ignore[no-untyped-def]
    st = load(
        [
            line(me, 7000, "myself,master", epoch=5, slots="0"),
            line(other, 7001, epoch=5, slots="1"),
        ],
        current_epoch=7,
    )
    st.on_message(
        inbound(st, T0), ping(header(other, config_epoch=5, current_epoch=7, slots=[1])), T0
    )
    return st


def test_config_epoch_collision_the_smaller_id_bumps() -> None:
    smaller = _collide(A, B)
    assert smaller.myself.config_epoch == 8 and smaller.current_epoch == 8
    assert ConfigEpochChanged(8, "collision") in smaller.drain()
    larger = _collide(B, A)
    assert larger.myself.config_epoch == 5 and larger.current_epoch == 7


def test_fresh_nodes_with_epoch_zero_end_with_unique_config_epochs() -> None:
    sim = Sim(seed=3)
    nodes = make_cluster(sim, 5, epochs=False)
    sim.run_until_true(sim.converged, 20_000)
    sim.run_until_true(lambda: len({n.state.myself.config_epoch for n in nodes}) == 5, 20_000)
    epochs = sorted(n.state.myself.config_epoch for n in nodes)
    assert epochs[0] >= 0 and len(set(epochs)) == 5
    sim.run_for(3000)
    assert len({n.state.current_epoch for n in nodes}) == 1


def _three_masters():  # type: ignore[no-untyped-def]
    st = load(
        [
            line(A, 7000, "myself,master", epoch=1, slots="0-99"),
            line(B, 7001, epoch=2, slots="100-199"),
            line(C, 7002, epoch=3, slots="200-299"),
            line(D, 7003, epoch=1),
        ],
        current_epoch=3,
    )
    return st, connect_all(st, T0)


def test_a_higher_config_epoch_claim_wins_the_slot() -> None:
    st, _links = _three_masters()
    claim = [*range(200, 300), 150]  # C (epoch 3 > B's 2) also claims 150
    st.on_message(inbound(st, T0), ping(header(C, port=7002, config_epoch=3, slots=claim)), T0 + 1)
    assert st.slots[150] == C and st.slots[149] == B
    assert st.nodes[B].num_slots == 99 and st.nodes[C].num_slots == 101


def test_a_stale_claim_does_not_win_and_gets_an_update() -> None:
    st, links = _three_masters()
    st.drain()
    stale = [*range(100, 120)]  # D (epoch 1) claims slots B holds with epoch 2
    st.on_message(inbound(st, T0), ping(header(D, port=7003, config_epoch=1, slots=stale)), T0 + 1)
    assert st.slots[100] == B
    updates = sends(st.drain(), Update)
    assert len(updates) == 1 and updates[0].link_id == links[D]
    about = updates[0].message
    assert (about.node_id, about.config_epoch) == (B, 2)
    assert about.slots == slots_to_bitmap(range(100, 200))


def test_update_repairs_a_stale_node_that_keeps_some_slots() -> None:
    st, _ = _three_masters()
    st.drain()
    update = Update(header(C, port=7002, config_epoch=3), 6, B, slots_to_bitmap(range(50, 200)))
    st.on_message(inbound(st, T0), update, T0 + 1)
    assert st.nodes[B].config_epoch == 6
    assert st.slots[50] == B and st.slots[49] == A and st.myself.num_slots == 50
    out = st.drain()
    assert DeleteKeysInSlots(tuple(range(50, 100))) in out
    assert st.myself.is_master
    # An UPDATE that is not newer changes nothing.
    old = Update(header(C, port=7002, config_epoch=3), 6, B, slots_to_bitmap(range(0, 50)))
    st.on_message(inbound(st, T0), old, T0 + 2)
    assert st.slots[0] == A


def test_losing_the_last_slot_makes_a_master_follow_the_new_owner() -> None:
    st, _ = _three_masters()
    st.drain()
    update = Update(header(C, port=7002, config_epoch=3), 6, B, slots_to_bitmap(range(0, 200)))
    st.on_message(inbound(st, T0), update, T0 + 1)
    assert st.myself.is_replica and st.myself.master_id == B
    assert st.nodes[B].replicas == [A]
    assert RoleChanged(B) in st.drain()


def test_importing_slots_are_not_rebound_by_gossip() -> None:
    st, _ = _three_masters()
    st.setslot(["150", "importing", B], lambda s: 0, T0)
    claim = [*range(200, 300), 150, 151]
    st.on_message(inbound(st, T0), ping(header(C, port=7002, config_epoch=3, slots=claim)), T0 + 1)
    assert st.slots[150] == B and st.slots[151] == C


def test_bump_without_consensus_only_when_not_already_the_max() -> None:
    st, _ = _three_masters()
    assert st.bump_epoch(T0) == ("BUMPED", 4)
    assert st.bump_epoch(T0) == ("STILL", 4)


def test_partitioned_master_learns_the_newer_owner_when_it_returns() -> None:
    sim = Sim(seed=21)
    n0, n1, n2 = make_cluster(sim, 3)
    sim.run_until_true(sim.converged, 10_000)
    sim.isolate("n0")
    sim.call("n1", lambda st: st.set_slot_node(0, n1.id, 0, sim.now))
    assert sim.call("n1", lambda st: st.bump_epoch(sim.now)) == ("BUMPED", 4)
    sim.run_until_true(lambda: n2.state.slots[0] == n1.id, 5000)
    assert n0.state.slots[0] == n0.id
    healed_at = sim.now
    sim.heal("n0")
    sim.run_until_true(sim.converged, 10_000)
    # n0's first PING carried its stale claim; the peer answered with an UPDATE about n1.
    repair = next(d for d in sim.deliveries if d.dst == "n0" and isinstance(d.message, Update))
    assert repair.time > healed_at and repair.message.node_id == n1.id
    assert n0.state.slots[0] == n1.id and n0.state.slots[1] == n0.id
    assert n0.first_event(DeleteKeysInSlots, slots=(0,)) is not None
    assert sum(n0.state.nodes[n].num_slots for n in n0.state.nodes) == CLUSTER_SLOTS
    assert n0.state.myself.flags & NodeFlag.MASTER
