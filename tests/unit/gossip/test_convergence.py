"""Joining: MEET handshakes, gossip spreading, convergence of 3 and 10 nodes in virtual time,
and determinism (same seed, same trace)."""

from __future__ import annotations

import pytest

from gossip import ClusterCommandError
from gossip.messages import Meet, NodeFlag
from gossip.outbox import MyAddressChanged, NodeAdded, NodeRemoved, NodeRenamed
from gossip.slots import CLUSTER_SLOTS
from tests.unit.gossip.helpers import T0, A, B, C, entry, header, inbound, line, load, ping
from tests.unit.gossip.sim import IP, Sim, make_cluster


@pytest.mark.parametrize("count", [3, 10])
def test_cluster_converges_after_meets(count: int) -> None:
    sim = Sim(seed=count)
    nodes = make_cluster(sim, count)
    elapsed = sim.run_until_true(sim.converged, 15_000)
    # A master waits 2 s after start before it reports ok (CLUSTER_WRITABLE_DELAY).
    assert 2000 <= elapsed <= 5000
    ids = {n.id for n in nodes}
    for node in nodes:
        st = node.state
        assert set(st.nodes) == ids and not any(n.in_handshake for n in st.nodes.values())
        assert st.size == count and st.current_epoch == count
        assert sum(n.num_slots for n in st.nodes.values()) == CLUSTER_SLOTS
        for peer in nodes:
            view = st.nodes[peer.id]
            assert (view.ip, view.port, view.config_epoch) == (
                IP,
                peer.port,
                peer.state.myself.config_epoch,
            )


def test_handshake_renames_the_random_id_on_the_first_pong() -> None:
    sim = Sim(seed=4)
    a = sim.add_node("a", 30001)
    b = sim.add_node("b", 30002)
    sim.call("b", lambda st: st.meet(IP, 30001, 40001, sim.now))
    handshake = next(n for n in b.state.nodes.values() if n.in_handshake)
    random_id = handshake.node_id
    assert handshake.flags & NodeFlag.MEET and random_id != a.id
    sim.run_for(500)
    assert b.first_event(NodeRenamed, old_id=random_id, new_id=a.id) is not None
    assert not b.state.nodes[a.id].in_handshake and b.state.nodes[a.id].is_master
    first_meet = next(d.message for d in sim.deliveries if isinstance(d.message, Meet))
    assert first_meet.header.sender == b.id
    # The met node learns its own IP from the MEET; the other from a PING (it had none).
    assert a.first_event(MyAddressChanged, ip=IP) is not None
    assert b.state.myself.ip == IP
    assert set(a.state.nodes) == set(b.state.nodes) == {a.id, b.id}


def test_handshake_to_nobody_expires_after_the_node_timeout() -> None:
    sim = Sim(seed=5, node_timeout_ms=1500)
    b = sim.add_node("b", 30002)
    created = sim.now
    sim.call("b", lambda st: st.meet(IP, 30009, 40009, sim.now))
    handshake_id = next(n.node_id for n in b.state.nodes.values() if n.in_handshake)
    sim.run_for(3000)
    removed = b.first_event(NodeRemoved, node_id=handshake_id, reason="handshake-timeout")
    assert removed == min(t for t in b.ticks if t - created > 1500)


def test_meet_validates_the_address_and_does_not_repeat_a_handshake() -> None:
    st = load([line(A, 7000, "myself,master")])
    with pytest.raises(
        ClusterCommandError, match=r"^ERR Invalid node address specified: nope:7001$"
    ):
        st.meet("nope", 7001, 17001, T0)
    with pytest.raises(
        ClusterCommandError, match=r"^ERR Invalid node address specified: 1.2.3.4:0$"
    ):
        st.meet("1.2.3.4", 0, 10000, T0)
    st.meet("1.2.3.4", 7001, 17001, T0)
    st.meet("1.2.3.4", 7001, 17001, T0)
    assert sum(n.in_handshake for n in st.nodes.values()) == 1


def test_gossip_adds_nodes_only_from_known_senders() -> None:
    st = load([line(A, 7000, "myself,master"), line(B, 7001)])
    link = inbound(st, T0)
    st.on_message(link, ping(header("f" * 40), entry(C)), T0)  # unknown sender
    assert C not in st.nodes
    st.on_message(link, ping(header(B), entry(C, NodeFlag.MASTER | NodeFlag.NOADDR)), T0)
    assert C not in st.nodes  # never a node without an address
    st.on_message(link, ping(header(B), entry(C)), T0)
    assert C in st.nodes and NodeAdded(C, False) in st.drain()


def test_unknown_ping_gets_a_pong_but_no_entry() -> None:
    st = load([line(A, 7000, "myself,master")])
    link = inbound(st, T0)
    st.on_message(link, ping(header(B)), T0)
    out = st.drain()
    assert [type(o.message).__name__ for o in out if hasattr(o, "message")] == ["Pong"]
    assert B not in st.nodes


def test_same_seed_same_trace() -> None:
    def trace(seed: int) -> list[tuple[int, str, str, str]]:
        sim = Sim(seed=seed)
        make_cluster(sim, 5)
        sim.run_for(4000)
        return [(d.time, d.src, d.dst, repr(d.message)) for d in sim.deliveries]

    assert trace(8) == trace(8)
    assert trace(8) != trace(9)
