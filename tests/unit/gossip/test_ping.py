"""What we send and when: gossip section contents, the 100 ms cron's ping cadence, links."""

from __future__ import annotations

import random

import pytest

from gossip import ClusterState, GossipConfig
from gossip.messages import Meet, NodeFlag, Ping, Publish, PublishShard
from gossip.outbox import Connect, Disconnect, PublishReceived
from gossip.ping import choose_gossip, gossip_entry
from tests.unit.gossip.helpers import (
    T0,
    TIMEOUT,
    A,
    B,
    C,
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


def _many(count: int) -> ClusterState:
    ids = [f"{i:040x}" for i in range(1, count)]
    lines = [line(A, 7000, "myself,master")] + [
        line(n, 8000 + i, slots=str(i)) for i, n in enumerate(ids)
    ]
    return load(lines)


def test_gossip_count_is_a_tenth_of_the_nodes_at_least_three() -> None:
    st = _many(40)
    for node in st.nodes.values():
        node.link = 1  # pretend connected
    assert len(choose_gossip(st)) == 4
    assert len(choose_gossip(_connected(_many(10)))) == 3
    assert len(choose_gossip(_connected(_many(4)))) == 2  # capped at N - 2


def _connected(st: ClusterState) -> ClusterState:
    for node in st.nodes.values():
        node.link = 1
    return st


def test_gossip_skips_handshake_noaddr_disconnected_slotless_and_appends_pfail() -> None:
    lines = [
        line(A, 7000, "myself,master"),
        line(B, 7001, slots="1"),
        line(C, 7002, "master,fail?", slots="2"),
        line("d" * 40, 7003, "master,noaddr", slots="3"),
        line("e" * 40, 7004, "slave", master=B),  # disconnected and slotless
        line("f" * 40, 7005, "master,fail", slots="4"),
    ]
    st = load(lines)
    st.nodes[B].link = 1
    st.meet("10.0.0.9", 9000, 19000, T0)
    for _ in range(20):
        chosen = [n.node_id for n in choose_gossip(st)]
        assert chosen[-1] == C and chosen.count(C) == 1  # PFAIL: always, and last
        assert set(chosen) <= {B, C, "f" * 40}


def test_gossip_times_are_whole_seconds_like_redis() -> None:
    st = load([line(A, 7000, "myself,master"), line(B, 7001)])
    st.nodes[B].pong_received_ms = T0 + 1999
    assert gossip_entry(st.nodes[B]).pong_received_ms == T0 + 1000


def test_my_own_pong_time_is_learned_from_gossip_about_me() -> None:
    st = load([line(A, 7000, "myself,master"), line(B, 7001)])
    link = inbound(st, T0)
    st.on_message(link, pong(header(B), entry(A, pong_ms=T0 + 400)), T0)
    assert st.myself.pong_received_ms == T0 + 400
    st.on_message(link, pong(header(B), entry(A, pong_ms=T0 + 2000)), T0 + 1)
    assert st.myself.pong_received_ms == T0 + 400  # more than 500 ms in my future: ignored


def _two_peers():  # type: ignore[no-untyped-def]
    st = load([line(A, 7000, "myself,master"), line(B, 7001, slots="1"), line(C, 7002, slots="2")])
    links = connect_all(st, T0)
    for peer, port in ((B, 7001), (C, 7002)):
        st.on_message(links[peer], pong(header(peer, port=port, slots=[port - 7000])), T0 + 1)
    st.drain()
    return st, links


def test_ping_when_the_last_pong_is_older_than_half_the_node_timeout() -> None:
    st, links = _two_peers()  # pongs at T0 + 1
    st.cron_iteration = 0  # keep clear of the once-a-second random ping (every 10th tick)
    for t in (T0 + 500, T0 + 1 + TIMEOUT // 2):
        st.on_tick(t)
        assert sends(st.drain(), Ping) == [], t
    st.on_tick(T0 + 2 + TIMEOUT // 2)  # now - pong > node_timeout / 2
    pinged = sends(st.drain(), Ping)
    assert {s.link_id for s in pinged} == {links[B], links[C]}
    assert st.nodes[B].ping_sent_ms == T0 + 2 + TIMEOUT // 2
    st.on_tick(T0 + 3 + TIMEOUT // 2)
    assert sends(st.drain(), Ping) == []  # one ping pending at a time


def test_once_a_second_the_oldest_pong_among_five_random_nodes_is_pinged() -> None:
    st = load([line(A, 7000, "myself,master"), line(B, 7001, slots="1"), line(C, 7002, slots="2")],
              timeout_ms=60_000)  # fmt: skip
    links = connect_all(st, T0)
    st.on_message(links[B], pong(header(B, port=7001, slots=[1])), T0 + 1)
    st.on_message(links[C], pong(header(C, port=7002, slots=[2])), T0 + 2)
    st.drain()
    st.cron_iteration = 0
    pings = []
    for i in range(1, 11):
        st.on_tick(T0 + 100 * i)
        pings.append(sends(st.drain(), Ping))
    assert pings[:9] == [[]] * 9
    assert [s.link_id for s in pings[9]] in ([links[B]], [links[C]])
    # B's pong is older: with 5 picks among 3 nodes it is almost always the one.
    assert pings[9][0].link_id == links[B]


def test_meet_is_sent_once_then_pings() -> None:
    st = ClusterState(GossipConfig(port=7000, cport=17000), random.Random(1), T0)
    st.meet("127.0.0.1", 7001, 17001, T0)
    st.on_tick(T0)
    (connect,) = of_type(st.drain(), Connect)
    assert (connect.ip, connect.cport) == ("127.0.0.1", 17001)
    st.on_link_connected(connect.link_id, T0 + 1)
    assert [type(s.message) for s in sends(st.drain())] == [Meet]
    node = st.nodes[connect.node_id]
    assert not node.flags & NodeFlag.MEET and node.ping_sent_ms == 0


def test_a_failed_connect_counts_as_a_pending_ping() -> None:
    st = load([line(A, 7000, "myself,master"), line(B, 7001, slots="1")])
    st.nodes[B].pong_received_ms = T0  # fresh: the tick opens a link but sends no ping
    st.on_tick(T0)
    (connect,) = of_type(st.drain(), Connect)
    assert st.nodes[B].ping_sent_ms == 0
    st.on_link_closed(connect.link_id, T0 + 5)
    assert st.nodes[B].ping_sent_ms == T0 + 5 and st.nodes[B].link is None
    st.on_tick(T0 + 100)
    (again,) = of_type(st.drain(), Connect)
    st.on_link_connected(again.link_id, T0 + 101)
    assert st.nodes[B].ping_sent_ms == T0 + 5  # the older pending ping is kept


def test_a_link_with_a_long_pending_ping_and_no_data_is_dropped() -> None:
    st = load([line(A, 7000, "myself,master"), line(B, 7001, slots="1")], timeout_ms=4000)
    links = connect_all(st, T0)  # ping pending since T0
    st.on_tick(T0 + 4000)
    assert of_type(st.drain(), Disconnect) == []  # the link is not older than the timeout
    st.on_tick(T0 + 4100)
    assert of_type(st.drain(), Disconnect) == [Disconnect(links[B])]
    st.on_tick(T0 + 4200)
    assert len(of_type(st.drain(), Connect)) == 1


def test_publish_goes_to_every_connected_node_and_spublish_to_my_shard() -> None:
    lines = [
        line(A, 7000, "myself,master", slots="0"),
        line(B, 7001, slots="1"),
        line(C, 7002, "slave", master=A),
    ]
    st = load(lines)
    links = connect_all(st, T0)
    st.publish(b"news", b"hello", T0)
    published = sends(st.drain(), Publish)
    assert {s.link_id for s in published} == {links[B], links[C]}
    assert (published[0].message.channel, published[0].message.message) == (b"news", b"hello")
    st.publish(b"news", b"shard", T0, shard=True)
    assert [s.link_id for s in sends(st.drain(), PublishShard)] == [links[C]]


def test_a_publish_from_a_known_node_is_handed_to_the_node() -> None:
    st = load([line(A, 7000, "myself,master"), line(B, 7001)])
    link = inbound(st, T0)
    st.on_message(link, Publish(header("f" * 40), b"c", b"m"), T0)
    assert of_type(st.drain(), PublishReceived) == []
    st.on_message(link, PublishShard(header(B), b"c", b"m"), T0)
    assert of_type(st.drain(), PublishReceived) == [PublishReceived(b"c", b"m", True)]


def test_config_values_are_validated() -> None:
    for bad in (
        dict(hostname="has space"),
        dict(hostname="x" * 256),
        dict(announce_ip="example.com"),
        dict(node_timeout_ms=0),
        dict(preferred_endpoint_type="dns"),
        dict(port=0),
    ):
        with pytest.raises(ValueError):
            GossipConfig(**bad)  # type: ignore[arg-type]
