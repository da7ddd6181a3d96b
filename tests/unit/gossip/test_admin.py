"""CLUSTER subcommands on the core: Redis 7.0's checks, in its order, with its texts."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest

from gossip import ClusterCommandError, ClusterState, GossipConfig
from gossip.messages import NodeFlag, Pong
from gossip.outbox import FlushAllData, NodeRemoved, RoleChanged, SaveConfig, SlotsChanged
from tests.unit.gossip.helpers import T0, A, B, C, R, connect_all, line, load, sends
from tests.unit.gossip.sim import Sim, make_cluster


def fresh() -> ClusterState:
    return ClusterState(GossipConfig(port=7000, cport=17000), random.Random(1), T0)


def err(text: str):  # type: ignore[no-untyped-def]
    return pytest.raises(ClusterCommandError, match="^" + re.escape(text) + "$")


def cluster() -> ClusterState:
    return load(
        [
            line(A, 7000, "myself,master", epoch=1, slots="0-99"),
            line(B, 7001, epoch=2, slots="100-199"),
            line(R, 7004, "slave", master=B),
        ],
        current_epoch=2,
    )


def test_addslots_parses_every_argument_before_checking_any() -> None:
    st = fresh()
    st.add_slots([b"0", b"1"], T0)
    with err("ERR Invalid or out of range slot"):
        st.add_slots([b"0", b"abc"], T0)  # slot 0 is busy, but parsing comes first
    for bad in (b"-1", b"16384", b"01", b"+5", b" 5", b""):
        with err("ERR Invalid or out of range slot"):
            st.add_slots([bad], T0)
    with err("ERR Slot 1 is already busy"):
        st.add_slots([b"5", b"1"], T0)
    with err("ERR Slot 7 specified multiple times"):
        st.add_slots([7, 7], T0)
    assert st.myself.num_slots == 2  # refused commands change nothing
    with err("ERR Slot 9 is already unassigned"):
        st.del_slots([0, 9], T0)
    st.del_slots([0], T0)
    assert st.slots[0] is None and st.slots[1] == st.my_id


def test_slot_ranges_are_checked_pair_by_pair() -> None:
    st = fresh()
    st.add_slot_ranges([(0, 10)], T0)

    def argv() -> Iterator[tuple[bytes, bytes]]:
        yield b"5", b"6"
        raise AssertionError("the busy error must come before the next pair is read")

    with err("ERR Slot 5 is already busy"):
        st.add_slot_ranges(argv(), T0)
    with err("ERR start slot number 20 is greater than end slot number 19"):
        st.add_slot_ranges([(b"20", b"19")], T0)
    with err("ERR Slot 12 specified multiple times"):
        st.add_slot_ranges([(11, 12), (12, 13)], T0)
    st.del_slot_ranges([(0, 4), (6, 10)], T0)
    assert [s for s in range(20) if st.slots[s]] == [5]


def test_adding_slots_saves_the_config_and_reports_the_change() -> None:
    st = fresh()
    st.on_tick(T0)
    assert SaveConfig(fsync=True) in st.drain()  # a fresh node saves its new identity
    st.add_slots([1], T0)
    assert st.drain() == [SlotsChanged(), SaveConfig(fsync=False)]


def test_setslot_checks_in_redis_order() -> None:
    st = cluster()
    with err("ERR Invalid or out of range slot"):
        st.setslot([b"x", b"migrating", B], lambda s: 0, T0)
    with err("ERR I'm not the owner of hash slot 100"):
        st.setslot([b"100", b"migrating", B], lambda s: 0, T0)
    with err(f"ERR I don't know about node {C}"):
        st.setslot([b"5", b"migrating", C], lambda s: 0, T0)
    with err("ERR Target node is not a master"):
        st.setslot([b"5", b"migrating", R], lambda s: 0, T0)
    with err("ERR I'm already the owner of hash slot 5"):
        st.setslot([b"5", b"importing", B], lambda s: 0, T0)
    with err(f"ERR Unknown node {C}"):
        st.setslot([b"5", b"node", C], lambda s: 0, T0)
    with err("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP"):
        st.setslot([b"5", b"stable", B], lambda s: 0, T0)
    with err(
        "ERR Can't assign hashslot 5 to a different node while I still hold keys for this hash slot."
    ):
        st.setslot([b"5", b"NODE", B], lambda s: 3, T0)
    st.setslot([b"5", b"MIGRATING", B], lambda s: 0, T0)
    st.setslot([b"150", b"importing", B], lambda s: 0, T0)
    assert st.migrating_to == {5: B} and st.importing_from == {150: B}
    st.set_slot_stable(5, T0)
    assert st.migrating_to == {}


def test_setslot_on_a_replica_is_refused_before_the_slot_is_parsed() -> None:
    st = load([line(A, 7000, "myself,slave", master=B), line(B, 7001, epoch=2, slots="0")])
    with err("ERR Please use SETSLOT only with masters."):
        st.setslot([b"notaslot", b"stable"], lambda s: 0, T0)


def test_setslot_node_moves_the_slot_and_clears_migrating_without_keys() -> None:
    st = cluster()
    st.set_slot_migrating(5, B, T0)
    st.set_slot_node(5, B, 0, T0)
    assert st.slots[5] == B and st.migrating_to == {}


def test_closing_an_import_bumps_the_epoch_and_pongs_everyone() -> None:
    st = cluster()
    links = connect_all(st, T0)
    st.set_slot_importing(150, B, T0)
    st.set_slot_node(150, A, 0, T0 + 1)
    assert st.slots[150] == A and st.importing_from == {}
    assert st.myself.config_epoch == 3 == st.current_epoch
    pongs = sends(st.drain(), Pong)
    assert {s.link_id for s in pongs} == set(links.values())


def test_giving_away_the_last_slot_makes_me_a_replica_of_the_taker() -> None:
    st = load([line(A, 7000, "myself,master", epoch=1, slots="0"), line(B, 7001, epoch=2)])
    st.set_slot_node(0, B, 0, T0)
    assert st.myself.is_replica and st.myself.master_id == B
    assert RoleChanged(B) in st.drain()


def test_forget_errors_and_ban() -> None:
    st = cluster()
    with err(f"ERR Unknown node {C}"):
        st.forget(C, T0)
    with err("ERR I tried hard but I can't forget myself..."):
        st.forget(A, T0)
    st.forget(B, T0)
    assert B not in st.nodes and st.slots[100] is None and st.nodes[R].master_id is None
    assert NodeRemoved(B, "forget") in st.drain()
    with err(f"ERR Unknown node {B}"):  # Redis 7.0.15: even while banned
        st.forget(B, T0 + 1)
    replica = load([line(A, 7000, "myself,slave", master=B), line(B, 7001, epoch=2, slots="0")])
    with err("ERR Can't forget my master!"):
        replica.forget(B, T0)


def test_forgotten_node_stays_out_for_60_seconds_then_gossip_brings_it_back() -> None:
    sim = Sim(seed=13)
    n0, _n1, n2 = make_cluster(sim, 3)
    sim.run_until_true(sim.converged, 10_000)
    forgot_at = sim.now
    sim.call("n0", lambda st: st.forget(n2.id, sim.now))
    sim.run_until(forgot_at + 60_000)
    assert n2.id not in n0.state.nodes  # n1 keeps gossiping about n2 all along
    sim.run_until_true(lambda: n2.id in n0.state.nodes, 5_000)
    assert sim.now - forgot_at > 60_000
    sim.run_until_true(sim.converged, 10_000)


def test_reset_soft_and_hard() -> None:
    st = cluster()
    connect_all(st, T0)
    with err("ERR CLUSTER RESET can't be called with master nodes containing keys"):
        st.reset(False, T0, db_empty=False)
    old_id = st.my_id
    st.set_slot_importing(150, B, T0)
    st.reset(False, T0)
    assert list(st.nodes) == [old_id] and st.myself.num_slots == 0 and not st.importing_from
    assert st.links == {} and st.current_epoch == 2
    st.reset(True, T0)
    assert st.my_id != old_id and list(st.nodes) == [st.my_id]
    assert st.current_epoch == st.myself.config_epoch == st.last_vote_epoch == 0


def test_reset_of_a_replica_makes_it_an_empty_master() -> None:
    st = load([line(A, 7000, "myself,slave", master=B), line(B, 7001, epoch=2, slots="0")])
    st.drain()
    st.reset(False, T0, db_empty=False)  # a replica may hold keys: they are flushed
    out = st.drain()
    assert RoleChanged(None) in out and FlushAllData() in out
    assert st.myself.is_master and st.myself.flags & NodeFlag.MYSELF


def test_set_config_epoch_only_when_alone_and_zero() -> None:
    st = fresh()
    with err("ERR Invalid config epoch specified: -1"):
        st.set_config_epoch(-1, T0)
    st.set_config_epoch(5, T0)
    assert st.myself.config_epoch == 5 == st.current_epoch
    with err("ERR Node config epoch is already non-zero"):
        st.set_config_epoch(6, T0)
    st.meet("127.0.0.1", 7001, 17001, T0)
    with err(
        "ERR The user can assign a config epoch only when the node does not know any other node."
    ):
        st.set_config_epoch(6, T0)


def test_replicate_checks() -> None:
    st = cluster()
    with err(f"ERR Unknown node {C}"):
        st.replicate(C, True, T0)
    with err("ERR Can't replicate myself"):
        st.replicate(A, True, T0)
    with err("ERR I can only replicate a master, not a replica."):
        st.replicate(R, True, T0)
    with err("ERR To set a master the node must be empty and without assigned slots."):
        st.replicate(B, True, T0)
    st.flush_slots(True, T0)
    with err("ERR To set a master the node must be empty and without assigned slots."):
        st.replicate(B, False, T0)
    st.replicate(B, True, T0)
    assert st.myself.is_replica and st.nodes[B].replicas == [R, A]


def test_flushslots_needs_an_empty_db() -> None:
    st = cluster()
    with err("ERR DB must be empty to perform CLUSTER FLUSHSLOTS."):
        st.flush_slots(False, T0)
    st.flush_slots(True, T0)
    assert st.myself.num_slots == 0 and st.slots[0] is None


def test_count_failure_reports() -> None:
    st = cluster()
    with err(f"ERR Unknown node {C}"):
        st.count_failure_reports(C, T0)
    st.nodes[B].failure_reports[R] = T0
    assert st.count_failure_reports(B, T0) == 1
