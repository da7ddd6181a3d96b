"""Failure detection with exact timings: PFAIL after node_timeout without a pong, FAIL by a
majority of masters' reports (valid 2 x node_timeout), the FAIL broadcast, and clearing."""

from __future__ import annotations

from gossip.messages import Fail, NodeFlag
from gossip.outbox import (
    Disconnect,
    NodeFailCleared,
    NodeMarkedFail,
    NodeMarkedPfail,
    NodePfailCleared,
    StateChanged,
)
from tests.unit.gossip.helpers import (
    T0,
    TIMEOUT,
    A,
    B,
    C,
    D,
    R,
    connect_all,
    entry,
    header,
    inbound,
    line,
    load,
    of_type,
    pong,
    sends,
)
from tests.unit.gossip.sim import Sim, make_cluster

FOUR_MASTERS = [
    line(A, 7000, "myself,master", epoch=1, slots="0-4095"),
    line(B, 7001, epoch=2, slots="4096-8191"),
    line(C, 7002, epoch=3, slots="8192-12287"),
    line(D, 7003, epoch=4, slots="12288-16383"),
    line(R, 7004, "slave", master=B),
]


def pfail_d_at_a():  # type: ignore[no-untyped-def]
    """A sees D as PFAIL: D never answered the ping sent when the link came up at T0."""
    st = load(FOUR_MASTERS)
    links = connect_all(st, T0)
    t = T0
    while not st.nodes[D].timed_out:
        t += 100
        for peer in (B, C, R):
            st.on_message(links[peer], pong(header(peer, port=7001)), t)
        st.on_tick(t)
    st.drain()
    return st, links, t


def test_pfail_at_the_first_tick_after_node_timeout() -> None:
    st = load(FOUR_MASTERS)
    links = connect_all(st, T0)  # PINGs sent at T0 on each new link
    assert st.nodes[D].ping_sent_ms == T0
    for t in range(T0 + 100, T0 + TIMEOUT + 1, 100):
        st.on_tick(t)
        assert not of_type(st.drain(), NodeMarkedPfail), t
    st.on_tick(T0 + TIMEOUT + 100)
    out = st.drain()
    # Every silent node: PFAIL, and the stale links (older than node_timeout) are dropped.
    assert {o.node_id for o in of_type(out, NodeMarkedPfail)} == {B, C, D, R}
    assert len(of_type(out, Disconnect)) == 4
    assert st.nodes[D].flags & NodeFlag.PFAIL
    assert links


def test_a_pong_clears_pfail() -> None:
    st, links, t = pfail_d_at_a()
    link = connect_all(st, t + 100).get(D, links[D])
    st.on_message(link, pong(header(D, port=7003, config_epoch=4)), t + 150)
    assert of_type(st.drain(), NodePfailCleared) == [NodePfailCleared(D)]
    assert not st.nodes[D].timed_out and st.nodes[D].ping_sent_ms == 0


def test_fail_needs_reports_from_a_majority_of_masters() -> None:
    st, links, t = pfail_d_at_a()
    assert st.size == 4  # quorum 3: myself plus two other masters
    report = entry(D, NodeFlag.MASTER | NodeFlag.PFAIL, port=7003)
    st.on_message(links[B], pong(header(B, port=7001), report), t + 1)
    st.on_message(
        links[R], pong(header(R, port=7004, flags=NodeFlag.REPLICA, master_id=B), report), t + 2
    )
    assert not st.nodes[D].failed  # the replica's report does not count
    assert st.count_failure_reports(D, t + 2) == 1
    st.on_message(links[C], pong(header(C, port=7002), report), t + 3)
    out = st.drain()
    assert st.nodes[D].failed and not st.nodes[D].timed_out
    assert st.nodes[D].fail_time_ms == t + 3
    assert of_type(out, NodeMarkedFail) == [NodeMarkedFail(D, None)]
    # FAIL is broadcast on every outbound link that is up (D's was dropped).
    fails = sends(out, Fail)
    assert {s.link_id for s in fails} == {links[B], links[C], links[R]}
    assert all(s.message.node_id == D for s in fails)


def test_failure_reports_expire_after_twice_the_node_timeout() -> None:
    st, links, t = pfail_d_at_a()
    report = entry(D, NodeFlag.MASTER | NodeFlag.FAIL, port=7003)
    st.on_message(links[B], pong(header(B, port=7001), report), t)
    later = t + 2 * TIMEOUT + 1
    st.on_message(links[C], pong(header(C, port=7002), report), later)
    assert not st.nodes[D].failed
    assert st.count_failure_reports(D, later) == 1


def test_a_clean_entry_withdraws_the_masters_report() -> None:
    st, links, t = pfail_d_at_a()
    st.on_message(
        links[B], pong(header(B, port=7001), entry(D, NodeFlag.MASTER | NodeFlag.PFAIL)), t
    )
    st.on_message(links[B], pong(header(B, port=7001), entry(D, NodeFlag.MASTER, port=7003)), t + 1)
    assert st.count_failure_reports(D, t + 1) == 0


def test_fail_message_is_applied_only_from_a_known_sender() -> None:
    st = load(FOUR_MASTERS)
    link = inbound(st, T0)
    st.on_message(link, Fail(header("f" * 40), D), T0)
    assert not st.nodes[D].failed
    st.on_message(link, Fail(header(C, port=7002), D), T0 + 1)
    assert st.nodes[D].failed and st.nodes[D].fail_time_ms == T0 + 1
    assert of_type(st.drain(), NodeMarkedFail) == [NodeMarkedFail(D, C)]
    st.on_message(link, Fail(header(C, port=7002), A), T0 + 2)
    assert not st.myself.failed  # never myself


def _failed(flags_of_d: str, slots: str):  # type: ignore[no-untyped-def]
    lines = [*FOUR_MASTERS[:3], line(D, 7003, flags_of_d, epoch=4, slots=slots)]
    st = load(lines)
    links = connect_all(st, T0)
    assert st.nodes[D].failed and st.nodes[D].fail_time_ms == T0
    return st, links


def test_fail_of_a_master_with_slots_clears_only_after_twice_the_node_timeout() -> None:
    st, links = _failed("master,fail", "12288-16383")
    st.on_message(links[D], pong(header(D, port=7003, config_epoch=4)), T0 + 2 * TIMEOUT)
    assert st.nodes[D].failed  # answering is not enough: someone may be failing it over
    st.on_message(links[D], pong(header(D, port=7003, config_epoch=4)), T0 + 2 * TIMEOUT + 1)
    assert not st.nodes[D].failed
    assert NodeFailCleared(D) in st.drain()


def test_fail_of_a_slotless_master_clears_at_once() -> None:
    st, links = _failed("master,fail", "")
    st.on_message(links[D], pong(header(D, port=7003, config_epoch=4)), T0 + 1)
    assert not st.nodes[D].failed


def test_silent_node_pfail_then_fail_with_exact_timings_then_back() -> None:
    sim = Sim(seed=11, node_timeout_ms=TIMEOUT)
    nodes = make_cluster(sim, 3)
    sim.run_until_true(sim.converged, 10_000)
    sim.run_for(5000)
    silent = nodes[2]
    isolated_at = sim.now
    sim.isolate(silent.name)
    sim.run_for(2 * TIMEOUT + 1000)

    for node in nodes[:2]:
        view = node.state.nodes[silent.id]
        # PFAIL at the first tick after both the pending ping and the last data from the node
        # are older than node_timeout.
        since = max(view.ping_sent_ms, view.data_received_ms)
        expected = min(t for t in node.ticks if t > since + TIMEOUT)
        assert node.first_event(NodeMarkedPfail, node_id=silent.id) == expected
        assert view.failed
    # The first FAIL comes from a quorum: the first message from the other master carrying the
    # silent node as PFAIL after this node's own PFAIL. The other node hears the broadcast.
    first = min(nodes[:2], key=lambda n: n.first_event(NodeMarkedFail, node_id=silent.id))
    other = nodes[1] if first is nodes[0] else nodes[0]
    t_fail = first.first_event(NodeMarkedFail, node_id=silent.id)
    t_pfail = first.first_event(NodeMarkedPfail, node_id=silent.id)
    trigger = next(
        d
        for d in sim.deliveries
        if d.dst == first.name
        and d.src == other.name
        and d.time >= t_pfail
        and any(
            g.node_id == silent.id and g.flags & NodeFlag.PFAIL
            for g in getattr(d.message, "gossip", ())
        )
    )
    assert t_fail == trigger.time
    assert other.first_event(NodeMarkedFail, node_id=silent.id) <= t_fail + sim.delay_ms
    assert first.first_event(StateChanged, ok=False) == t_fail
    assert isolated_at < t_pfail

    # It comes back: FAIL stays until 2 x node_timeout after the FAIL, then clears on a pong.
    sim.heal(silent.name)
    sim.run_until_true(sim.converged, 10_000)
    for node in nodes[:2]:
        cleared = node.first_event(NodeFailCleared, node_id=silent.id)
        assert cleared is not None
        assert cleared - node.state.nodes[silent.id].fail_time_ms > 2 * TIMEOUT
