"""CLUSTER NODES lines, nodes.conf render/load, and the CLUSTER INFO/SLOTS/SHARDS data."""

from __future__ import annotations

import random

import pytest

from gossip import ClusterCommandError, ClusterState, GossipConfig, NodesConfError
from gossip.messages import MessageType, NodeFlag
from gossip.nodesconf import (
    format_flags,
    format_node_line,
    load_nodes_conf,
    nodes_text,
    render_nodes_conf,
)
from gossip.views import (
    cluster_info_text,
    cluster_links,
    cluster_shards,
    cluster_slots,
    replica_lines,
)
from tests.unit.gossip.sim import T0, Sim, make_cluster

# The example lines of cluster-reference.md section 4 (observed on Redis 7.0.15).
REF_MASTER = (
    "1c878d6c9fa94b0a8a707cc7d4757d196c4d7bbf 127.0.0.1:30003@40003,node3.local master - 0 "
    "1795660156542 3 connected 12288-16383"
)
REF_MYSELF = (
    "d8e0791751806fc0d6067e9f5a7ff48749fa433f 127.0.0.1:30001@40001 myself,master - 0 "
    "1795659987000 1 connected 1365-5460 [4576->-375a7ee06c669c5ae28e85148cfef7edbb640683]"
)
REF_REPLICA = (
    "960ac65290ca1936a061f8558ea8b84f48e0583e 127.0.0.1:30004@40004 slave "
    "1c878d6c9fa94b0a8a707cc7d4757d196c4d7bbf 0 1795659927536 3 connected"
)
OTHER = "375a7ee06c669c5ae28e85148cfef7edbb640683"
CONFIG = GossipConfig(port=30001, cport=40001, node_timeout_ms=2000)


def reference_state() -> ClusterState:
    text = "\n".join(
        [
            REF_MASTER,
            REF_MYSELF,
            REF_REPLICA,
            f"{OTHER} 127.0.0.1:30002@40002 master - 0 0 2 connected 0-1364 5461-12287",
            "vars currentEpoch 3 lastVoteEpoch 0",
        ]
    )
    st = load_nodes_conf(text, CONFIG, random.Random(1), T0)
    times = {
        "1c878d6c9fa94b0a8a707cc7d4757d196c4d7bbf": 1795660156542,
        "d8e0791751806fc0d6067e9f5a7ff48749fa433f": 1795659987000,
        "960ac65290ca1936a061f8558ea8b84f48e0583e": 1795659927536,
    }
    for node_id, pong in times.items():
        node = st.nodes[node_id]
        node.pong_received_ms = pong
        node.link = None if node.is_myself else 1_000  # "connected" needs an outbound link
    st.nodes["960ac65290ca1936a061f8558ea8b84f48e0583e"].config_epoch = 0
    st.nodes["d8e0791751806fc0d6067e9f5a7ff48749fa433f"].hostname = ""
    return st


def test_cluster_nodes_lines_match_the_reference_examples() -> None:
    st = reference_state()
    assert format_node_line(st, st.nodes[REF_MASTER[:40]]) == REF_MASTER
    assert format_node_line(st, st.myself) == REF_MYSELF
    # A replica prints its master's config epoch (its own is 0 here).
    assert format_node_line(st, st.nodes[REF_REPLICA[:40]]) == REF_REPLICA


def test_every_line_ends_in_newline_and_has_no_carriage_return() -> None:
    text = nodes_text(reference_state())
    assert text.endswith("\n") and "\r" not in text
    assert len(text.splitlines()) == 4 == text.count("\n")


def test_flags_order_and_noflags() -> None:
    every = NodeFlag.MYSELF | NodeFlag.MASTER | NodeFlag.REPLICA | NodeFlag.PFAIL
    every |= NodeFlag.FAIL | NodeFlag.HANDSHAKE | NodeFlag.NOADDR | NodeFlag.NOFAILOVER
    assert format_flags(every) == "myself,master,slave,fail?,fail,handshake,noaddr,nofailover"
    assert format_flags(NodeFlag.MEET | NodeFlag.MIGRATE_TO) == "noflags"
    assert format_flags(NodeFlag.MASTER | NodeFlag.PFAIL) == "master,fail?"


def test_fresh_node_line_has_no_ip_and_single_slots_and_importing() -> None:
    st = ClusterState(CONFIG, random.Random(2), T0)
    st.add_slots([5, 7, 8, 9], T0)
    st.nodes[OTHER] = type(st.myself)(OTHER, NodeFlag.MASTER, ip="10.0.0.2", port=1, cport=2)
    st.setslot(["100", "importing", OTHER], lambda s: 0, T0)
    line = format_node_line(st, st.myself)
    assert line == f"{st.my_id} :30001@40001 myself,master - 0 0 0 connected 5 7-9 [100-<-{OTHER}]"
    assert format_node_line(st, st.nodes[OTHER]).endswith(" 0 0 0 disconnected")


def test_nodes_conf_has_no_handshake_nodes_and_ends_with_vars() -> None:
    st = reference_state()
    st.meet("10.9.9.9", 7000, 17000, T0)
    conf = render_nodes_conf(st)
    assert "handshake" in nodes_text(st) and "handshake" not in conf
    assert conf.endswith("\nvars currentEpoch 3 lastVoteEpoch 0\n")


def test_load_keeps_ids_epochs_slots_roles_and_migrations() -> None:
    st = reference_state()
    assert st.my_id == "d8e0791751806fc0d6067e9f5a7ff48749fa433f"
    assert st.current_epoch == 3 and st.myself.config_epoch == 1
    assert st.slots[1365] == st.my_id and st.slots[5460] == st.my_id and st.slots[5461] == OTHER
    assert st.migrating_to == {4576: OTHER}
    replica = st.nodes[REF_REPLICA[:40]]
    assert replica.is_replica and replica.master_id == REF_MASTER[:40]
    assert st.nodes[REF_MASTER[:40]].replicas == [REF_REPLICA[:40]]
    assert st.nodes[REF_MASTER[:40]].hostname == "node3.local"
    # myself takes its ports from the config, peers start disconnected, times become "now".
    loaded = load_nodes_conf(render_nodes_conf(st), CONFIG, random.Random(1), T0 + 5)
    peer = loaded.nodes[OTHER]
    assert peer.link is None and peer.pong_received_ms == 0
    assert loaded.nodes[REF_MASTER[:40]].pong_received_ms == T0 + 5
    assert loaded.drain() == []


def test_round_trip_of_a_converged_cluster() -> None:
    sim = Sim(seed=5)
    nodes = make_cluster(sim, 3)
    sim.run_until_true(sim.converged, 10_000)
    sim.call("n1", lambda st: st.setslot(["6000", "migrating", nodes[2].id], lambda s: 0, sim.now))
    original = nodes[1].state
    text = render_nodes_conf(original)
    loaded = load_nodes_conf(text, original.config, random.Random(9), sim.now)
    assert loaded.my_id == original.my_id
    assert loaded.current_epoch == original.current_epoch
    assert loaded.last_vote_epoch == original.last_vote_epoch
    assert loaded.slots == original.slots
    assert loaded.migrating_to == {6000: nodes[2].id}
    for node_id, node in original.nodes.items():
        twin = loaded.nodes[node_id]
        assert (twin.ip, twin.port, twin.cport, twin.flags, twin.config_epoch) == (
            node.ip,
            node.port,
            node.cport,
            node.flags,
            node.config_epoch,
        )
    # Same lines again once links and times are equalised (table order may differ).
    for node in loaded.nodes.values():
        twin = original.nodes[node.node_id]
        node.link, node.ping_sent_ms, node.pong_received_ms = (
            twin.link,
            twin.ping_sent_ms,
            twin.pong_received_ms,
        )
    assert sorted(render_nodes_conf(loaded).splitlines()) == sorted(text.splitlines())


@pytest.mark.parametrize(
    "text",
    [
        "",  # no myself
        "vars currentEpoch 1 lastVoteEpoch 0\n",
        f"{OTHER} 1.2.3.4:1@2 myself,master - 0 0 x connected\n",
        f"{OTHER} 1.2.3.4:1@2 myself,master - 0 0\n",
        f"{OTHER} nocolon myself,master - 0 0 1 connected\n",
        f"{OTHER} 1.2.3.4:1@2 myself,bogus - 0 0 1 connected\n",
        f"{OTHER} 1.2.3.4:1@2 myself,master - 0 0 1 connected 16384\n",
        f"{OTHER} 1.2.3.4:1@2 myself,master - 0 0 1 connected [5-?-abc]\n",
        f"{'Z' * 40} 1.2.3.4:1@2 myself,master - 0 0 1 connected\n",
        f"{OTHER} 1.2.3.4:1@2 myself,master - 0 0 1 connected\n"
        f"{'b' * 40} 1.2.3.4:3@4 myself,master - 0 0 1 connected\n",
    ],
)
def test_corrupted_nodes_conf_is_refused(text: str) -> None:
    with pytest.raises(NodesConfError):
        load_nodes_conf(text, CONFIG, random.Random(1), T0)


def test_old_nodes_conf_without_bus_port_and_blank_lines() -> None:
    text = f"\n{'b' * 40} 10.0.0.2:7001 master - 0 0 2 connected 0\n{OTHER} :7000 myself,master - 0 0 1 connected\n\n"
    st = load_nodes_conf(text, CONFIG, random.Random(1), T0)
    assert st.nodes["b" * 40].cport == 17001
    assert st.current_epoch == 2  # never below the largest config epoch in the file


def test_cluster_info_text_in_redis_order() -> None:
    st = reference_state()
    st.stats_sent[MessageType.PING] = 5
    st.stats_sent[MessageType.PUBLISHSHARD] = 1
    st.stats_received[MessageType.PONG] = 4
    st.nodes[OTHER].flags |= NodeFlag.PFAIL
    st.size = 3
    assert cluster_info_text(st) == (
        "cluster_state:fail\r\n"
        "cluster_slots_assigned:16384\r\n"
        "cluster_slots_ok:8192\r\n"
        "cluster_slots_pfail:8192\r\n"
        "cluster_slots_fail:0\r\n"
        "cluster_known_nodes:4\r\n"
        "cluster_size:3\r\n"
        "cluster_current_epoch:3\r\n"
        "cluster_my_epoch:1\r\n"
        "cluster_stats_messages_ping_sent:5\r\n"
        "cluster_stats_messages_publishshard_sent:1\r\n"
        "cluster_stats_messages_sent:6\r\n"
        "cluster_stats_messages_pong_received:4\r\n"
        "cluster_stats_messages_received:4\r\n"
        "total_cluster_links_buffer_limit_exceeded:0\r\n"
    )


def test_fresh_node_cluster_info_matches_redis() -> None:
    st = ClusterState(CONFIG, random.Random(3), T0)
    assert cluster_info_text(st).startswith(
        "cluster_state:fail\r\ncluster_slots_assigned:0\r\ncluster_slots_ok:0\r\n"
        "cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:1\r\n"
        "cluster_size:1\r\ncluster_current_epoch:0\r\ncluster_my_epoch:0\r\n"
        "cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n"
    )


def test_cluster_slots_runs_and_replicas() -> None:
    st = reference_state()
    replica = st.nodes[REF_REPLICA[:40]]
    assert cluster_slots(st)[-1] == [
        12288,
        16383,
        [b"127.0.0.1", 30003, REF_MASTER[:40].encode(), {b"hostname": b"node3.local"}],
    ]
    replica.repl_offset = 99  # listed only once it has replicated something
    assert cluster_slots(st)[-1][3] == [b"127.0.0.1", 30004, REF_REPLICA[:40].encode(), {}]
    assert [(e[0], e[1]) for e in cluster_slots(st)] == [
        (0, 1364),
        (1365, 5460),
        (5461, 12287),
        (12288, 16383),
    ]


def test_cluster_shards_shape() -> None:
    st = reference_state()
    shards = cluster_shards(st, my_repl_offset=7)
    assert len(shards) == 3  # one per master
    mine = next(s for s in shards if s[b"nodes"][0][b"id"] == st.my_id.encode())
    assert mine == {
        b"slots": [1365, 5460],
        b"nodes": [
            {
                b"id": st.my_id.encode(),
                b"port": 30001,
                b"ip": b"127.0.0.1",
                b"endpoint": b"127.0.0.1",
                b"role": b"master",
                b"replication-offset": 7,
                b"health": b"online",
            }
        ],
    }
    third = next(s for s in shards if s[b"nodes"][0][b"id"] == REF_MASTER[:40].encode())
    assert third[b"nodes"][1][b"role"] == b"replica" and third[b"nodes"][1][b"health"] == b"loading"


def test_replica_lines_and_links() -> None:
    st = reference_state()
    assert replica_lines(st, REF_MASTER[:40]) == [REF_REPLICA]
    with pytest.raises(ClusterCommandError, match=r"^ERR The specified node is not a master$"):
        replica_lines(st, REF_REPLICA[:40])
    with pytest.raises(ClusterCommandError, match=r"^ERR Unknown node nope$"):
        replica_lines(st, "nope")
    link_id = st.on_link_accepted("127.0.0.1", "127.0.0.1", T0)
    st.links[link_id].node_id = OTHER
    st.nodes[OTHER].inbound_link = link_id
    assert cluster_links(st) == [
        {
            b"direction": b"from",
            b"node": OTHER.encode(),
            b"create-time": T0,
            b"events": b"r",
            b"send-buffer-allocated": 0,
            b"send-buffer-used": 0,
        }
    ]
