"""SENTINEL on a node, pure: a 3 masters x 1 replica cluster loaded from a nodes.conf, viewed
from a master and from a replica, before and after a failover, in RESP2 and RESP3.

Field names and order are those a real Sentinel 7.0.15 replied (``redis-server --sentinel``
over a real master and replica, 2026-11-26), copied below."""

from __future__ import annotations

import random

import pytest

from gossip.messages import NodeFlag
from gossip.nodesconf import load_nodes_conf
from node.cluster_glue import ClusterGlue, gossip_config
from node.commands.sentinel import FailoverRequest
from node.config import Config
from node.core import execute
from node.protocol.resp import encode
from node.session import Session
from node.state import NodeState
from tests.support.nodes import make_node

NOW = 1_700_000_000_000

# SENTINEL MASTERS / REPLICAS / SENTINELS keys from a real Sentinel 7.0.15, in reply order.
MASTER_KEYS = [
    "name", "ip", "port", "runid", "flags", "link-pending-commands", "link-refcount",
    "last-ping-sent", "last-ok-ping-reply", "last-ping-reply", "down-after-milliseconds",
    "info-refresh", "role-reported", "role-reported-time", "config-epoch", "num-slaves",
    "num-other-sentinels", "quorum", "failover-timeout", "parallel-syncs",
]  # fmt: skip
REPLICA_KEYS = [
    "name", "ip", "port", "runid", "flags", "link-pending-commands", "link-refcount",
    "last-ping-sent", "last-ok-ping-reply", "last-ping-reply", "down-after-milliseconds",
    "info-refresh", "role-reported", "role-reported-time", "master-link-down-time",
    "master-link-status", "master-host", "master-port", "slave-priority", "slave-repl-offset",
    "replica-announced",
]  # fmt: skip
SENTINEL_KEYS = [
    "name", "ip", "port", "runid", "flags", "link-pending-commands", "link-refcount",
    "last-ping-sent", "last-ok-ping-reply", "last-ping-reply", "down-after-milliseconds",
    "last-hello-message", "voted-leader", "voted-leader-epoch",
]  # fmt: skip

M = ["a" * 40, "b" * 40, "c" * 40]  # masters: slots 0-5460, 5461-10922, 10923-16383
R = ["d" * 40, "e" * 40, "f" * 40]  # their replicas, on ports 7003..7005
# Listed in an order different from the slot order, to check that names follow the slots.
NODES_CONF = f"""\
{M[1]} 127.0.0.1:7001@17001 master - 0 0 2 connected 5461-10922
{M[0]} 127.0.0.1:7000@17000 master - 0 0 1 connected 0-5460
{M[2]} 127.0.0.1:7002@17002 master - 0 0 3 connected 10923-16383
{R[0]} 127.0.0.1:7003@17003 slave {M[0]} 0 0 1 connected
{R[1]} 127.0.0.1:7004@17004 slave {M[1]} 0 0 2 connected
{R[2]} 127.0.0.1:7005@17005 slave {M[2]} 0 0 3 connected
vars currentEpoch 3 lastVoteEpoch 0
"""


def _node(myself: str) -> NodeState:
    """The cluster as node ``myself`` loaded it (its line gets the ``myself`` flag)."""
    config = Config()
    config.set("cluster-enabled", "yes", startup=True)
    config.set("cluster-node-timeout", "1000", startup=True)
    port = 7000 + (M + R).index(myself)
    config.set("port", str(port), startup=True)
    text = NODES_CONF.replace(
        f"{myself} 127.0.0.1:{port}@{port + 10000} ",
        f"{myself} 127.0.0.1:{port}@{port + 10000} myself,",
    )
    node = make_node(config, rng=random.Random(1), now_ms=NOW)
    state = load_nodes_conf(text, gossip_config(config, port), node.rng, NOW)
    glue = ClusterGlue(state)
    glue.attach(node)
    for n in state.nodes.values():
        n.repl_offset = 1000  # every replica synced (gossiped offset > 0)
        n.pong_received_ms = NOW - 200
    return node


def _session(node: NodeState, resp3: bool = False) -> Session:
    s = Session(node, node.new_client_id(), addr="127.0.0.1:50000", laddr="127.0.0.1:7000")
    s.resp3 = resp3
    return s


def run(node: NodeState, *args: str, resp3: bool = False) -> bytes:
    session = _session(node, resp3)
    return encode(execute(session, [a.encode() for a in args]), resp3)


def pairs(entry: list) -> dict[str, str]:
    return {entry[i].decode(): entry[i + 1].decode() for i in range(0, len(entry), 2)}


def call(node: NodeState, *args: str) -> object:
    return execute(_session(node), [a.encode() for a in args])


def flat(reply: object) -> list:
    """A Map reply as RESP2 sees it: a flat list of keys and values."""
    return [x for kv in reply.items for x in kv]  # type: ignore[attr-defined]


def test_masters_are_shards_named_by_lowest_slot_with_sentinel_fields():
    node = _node(M[0])
    reply = call(node, "SENTINEL", "MASTERS")
    assert isinstance(reply, list) and len(reply) == 3
    entries = [pairs(flat(e)) for e in reply]
    assert [list(e) for e in entries] == [MASTER_KEYS] * 3
    assert [(e["name"], e["port"], e["runid"]) for e in entries] == [
        ("shard-0", "7000", M[0]),
        ("shard-1", "7001", M[1]),
        ("shard-2", "7002", M[2]),
    ]
    first = entries[0]
    assert first["flags"] == "master"
    assert first["ip"] == "127.0.0.1"
    assert (first["num-slaves"], first["num-other-sentinels"], first["quorum"]) == ("1", "2", "2")
    assert first["down-after-milliseconds"] == "1000"
    assert first["failover-timeout"] == "2000"
    assert first["config-epoch"] == "1"
    assert entries[1]["last-ok-ping-reply"] == "200"


def test_master_and_replicas_wire_format_resp2_and_resp3():
    node = _node(R[0])
    raw2 = run(node, "SENTINEL", "MASTER", "shard-0")
    assert raw2.startswith(b"*40\r\n$4\r\nname\r\n$7\r\nshard-0\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n")
    raw3 = run(node, "SENTINEL", "MASTER", "shard-0", resp3=True)
    assert raw3.startswith(b"%20\r\n$4\r\nname\r\n$7\r\nshard-0\r\n")
    replicas = run(node, "SENTINEL", "REPLICAS", "shard-2", resp3=True)
    assert replicas.startswith(b"*1\r\n%21\r\n$4\r\nname\r\n$14\r\n127.0.0.1:7005\r\n")
    assert run(node, "SENTINEL", "SLAVES", "shard-2") == run(
        node, "SENTINEL", "REPLICAS", "shard-2"
    )


def test_replica_entries_show_link_and_offset():
    node = _node(M[1])
    node.cluster.nodes[R[2]].repl_offset = 4242
    (entry,) = call(node, "SENTINEL", "REPLICAS", "shard-2")
    fields = pairs(flat(entry))
    assert list(fields) == REPLICA_KEYS
    assert fields["name"] == "127.0.0.1:7005"
    assert fields["flags"] == "slave"
    assert (fields["master-host"], fields["master-port"]) == ("127.0.0.1", "7002")
    assert (fields["master-link-status"], fields["slave-repl-offset"]) == ("ok", "4242")
    assert fields["slave-priority"] == "100"


def test_unsynced_or_failed_replica_is_down_so_clients_skip_it():
    node = _node(M[0])
    node.cluster.nodes[R[0]].repl_offset = 0
    node.cluster.nodes[R[1]].flags |= NodeFlag.PFAIL
    node.cluster.nodes[R[1]].ping_sent_ms = NOW - 1500
    (unsynced,) = call(node, "SENTINEL", "REPLICAS", "shard-0")
    fields = pairs(flat(unsynced))
    assert fields["flags"] == "s_down,slave"
    assert fields["master-link-status"] == "err"
    (failed,) = call(node, "SENTINEL", "REPLICAS", "shard-1")
    fields = pairs(flat(failed))
    assert fields["flags"] == "s_down,slave,disconnected"
    assert list(fields) == REPLICA_KEYS[:10] + ["s-down-time"] + REPLICA_KEYS[10:]
    assert fields["s-down-time"] == "500"  # ping sent 1500 ms ago, node timeout 1000 ms


def test_failed_master_is_objectively_down():
    node = _node(R[0])
    dead = node.cluster.nodes[M[0]]
    dead.flags |= NodeFlag.FAIL
    dead.ping_sent_ms, dead.fail_time_ms = NOW - 3000, NOW - 1200
    fields = pairs(flat(call(node, "SENTINEL", "MASTER", "shard-0")))
    assert fields["flags"] == "s_down,o_down,master,disconnected"
    keys = list(fields)
    assert keys[10:13] == ["s-down-time", "o-down-time", "down-after-milliseconds"]
    assert (fields["s-down-time"], fields["o-down-time"]) == ("2000", "1200")
    # The other voters still reach the majority: 2 of 3 masters are usable.
    ok = run(node, "SENTINEL", "CKQUORUM", "shard-0")
    assert ok == b"+OK 2 usable Sentinels. Quorum and failover authorization can be reached\r\n"
    node.cluster.nodes[M[1]].flags |= NodeFlag.PFAIL
    refused = run(node, "SENTINEL", "CKQUORUM", "shard-0")
    assert refused == (
        b"-NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified"
        b" quorum for this master. Not enough available Sentinels to reach the majority and"
        b" authorize a failover\r\n"
    )


def test_names_survive_a_failover_and_agree_across_nodes():
    views = {n: _node(n) for n in (M[1], R[0], R[2])}
    for node in views.values():
        st = node.cluster
        old, new = st.nodes[M[0]], st.nodes[R[0]]
        # The replica took every slot of its master and the old master follows it.
        for slot in range(0, 5461):
            st.del_slot(slot)
            st.add_slot(new, slot)
        st.set_node_as_master(new)
        new.flags &= ~NodeFlag.REPLICA
        old.flags = (old.flags & ~NodeFlag.MASTER) | NodeFlag.REPLICA
        old.master_id = new.node_id
        new.replicas.append(old.node_id)
    replies = {
        run(node, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "shard-0") for node in views.values()
    }
    assert replies == {b"*2\r\n$9\r\n127.0.0.1\r\n$4\r\n7003\r\n"}
    for node in views.values():
        names = [pairs(flat(e))["name"] for e in call(node, "SENTINEL", "MASTERS")]
        assert names == ["shard-0", "shard-1", "shard-2"]
        (replica,) = call(node, "SENTINEL", "REPLICAS", "shard-0")
        assert pairs(flat(replica))["port"] == "7000"


def test_get_master_addr_by_name_and_unknown_names():
    node = _node(M[2])
    assert run(node, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "shard-1") == (
        b"*2\r\n$9\r\n127.0.0.1\r\n$4\r\n7001\r\n"
    )
    assert run(node, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nope") == b"*-1\r\n"
    assert run(node, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nope", resp3=True) == b"_\r\n"
    for sub in ("MASTER", "REPLICAS", "SLAVES", "SENTINELS", "CKQUORUM", "FAILOVER"):
        assert run(node, "SENTINEL", sub, "nope") == b"-ERR No such master with that name\r\n"


def test_sentinels_are_the_other_voting_masters():
    node = _node(M[0])
    entries = [pairs(flat(e)) for e in call(node, "SENTINEL", "SENTINELS", "shard-1")]
    assert [list(e) for e in entries] == [SENTINEL_KEYS, SENTINEL_KEYS]
    assert [(e["name"], e["port"], e["flags"]) for e in entries] == [
        (M[1], "7001", "sentinel"),
        (M[2], "7002", "sentinel"),
    ]
    assert run(node, "SENTINEL", "MYID") == b"$40\r\n" + M[0].encode() + b"\r\n"


def test_failover_asks_the_driver_to_run_cluster_failover_on_the_replica():
    node = _node(M[1])
    assert run(node, "SENTINEL", "FAILOVER", "shard-0") == b"+OK\r\n"
    assert node.events == [
        FailoverRequest("127.0.0.1", 7003, (b"CLUSTER", b"FAILOVER"), "127.0.0.1", 7000)
    ]
    node.events.clear()
    node.cluster.nodes[M[0]].flags |= NodeFlag.FAIL
    assert run(node, "SENTINEL", "FAILOVER", "shard-0") == b"+OK\r\n"
    assert node.events[0].argv == (b"CLUSTER", b"FAILOVER", b"FORCE")
    node.events.clear()
    node.cluster.nodes[R[0]].flags |= NodeFlag.FAIL
    assert run(node, "SENTINEL", "FAILOVER", "shard-0") == (
        b"-NOGOODSLAVE No suitable replica to promote\r\n"
    )
    assert node.events == []


def test_failover_on_the_replica_itself_goes_through_the_driver_too():
    node = _node(R[1])
    node.repl.link_status = "down"  # its own link is down: not a replica to promote
    assert run(node, "SENTINEL", "FAILOVER", "shard-1") == (
        b"-NOGOODSLAVE No suitable replica to promote\r\n"
    )
    node.repl.link_status = "up"
    assert run(node, "SENTINEL", "FAILOVER", "shard-1") == b"+OK\r\n"
    assert [(e.port, e.old_port) for e in node.events] == [(7004, 7001)]


async def test_the_drivers_request_waits_for_whole_replies():
    """SENTINEL FAILOVER's driver reads each reply whole, however the bytes arrive (hiredis)."""
    import trio
    import trio.testing

    from node.drivers.sentinel_failover import _request

    role = b"*3\r\n$6\r\nmaster\r\n:10\r\n*0\r\n"
    for cut in range(len(role)):
        mine, peer = trio.testing.memory_stream_pair()
        async with trio.open_nursery() as nursery:

            async def answer(cut: int = cut, peer=peer) -> None:  # type: ignore[no-untyped-def]
                assert await peer.receive_some(100) == b"*1\r\n$4\r\nROLE\r\n"
                await peer.send_all(role[:cut])
                await trio.sleep(0)
                await peer.send_all(role[cut:] + b"+OK\r\n")

            nursery.start_soon(answer)
            assert await _request(mine, (b"ROLE",)) == [b"master", 10, []]
    for raw, parsed in ((b"+OK\r\n", b"OK"), (b"$-1\r\n", None), (b"*-1\r\n", None)):
        mine, peer = trio.testing.memory_stream_pair()
        await peer.send_all(raw)
        assert await _request(mine, (b"PING",)) == parsed


def test_best_replica_prefers_offset_and_skips_nofailover():
    node = _node(M[0])
    st = node.cluster
    extra = st.nodes[R[1]]
    st.remove_replica(st.nodes[M[1]], extra)
    extra.master_id = M[0]
    st.add_replica(st.nodes[M[0]], extra)
    extra.repl_offset = 5000
    call(node, "SENTINEL", "FAILOVER", "shard-0")
    assert node.events[-1].port == 7004
    extra.flags |= NodeFlag.NOFAILOVER
    call(node, "SENTINEL", "FAILOVER", "shard-0")
    assert node.events[-1].port == 7003


def test_standalone_node_is_shard_0():
    node = make_node(Config(), rng=random.Random(2), now_ms=NOW)
    fields = pairs(flat(call(node, "SENTINEL", "MASTER", "shard-0")))
    assert (fields["ip"], fields["port"], fields["flags"]) == ("127.0.0.1", "6379", "master")
    assert fields["runid"] == node.run_id
    assert run(node, "SENTINEL", "MYID") == b"$40\r\n" + node.run_id.encode() + b"\r\n"
    assert run(node, "SENTINEL", "SENTINELS", "shard-0") == b"*0\r\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("SENTINEL",), b"-ERR wrong number of arguments for 'sentinel' command\r\n"),
        (("SENTINEL", "MASTERS", "x"), b"-ERR wrong number of arguments for 'sentinel|masters' command\r\n"),
        (("SENTINEL", "MASTER"), b"-ERR wrong number of arguments for 'sentinel|master' command\r\n"),
        (("SENTINEL", "MYID", "x"), b"-ERR wrong number of arguments for 'sentinel|myid' command\r\n"),
        (("SENTINEL", "foo"), b"-ERR unknown subcommand 'foo'. Try SENTINEL HELP.\r\n"),
    ],
)  # fmt: skip
def test_errors_as_sentinel(args, expected):
    assert run(_node(M[0]), *args) == expected


def test_command_hides_sentinel_as_redis_server_does():
    node = _node(M[0])
    listed = call(node, "COMMAND", "LIST")
    assert b"sentinel" not in listed and b"get" in listed  # type: ignore[operator]
    help_lines = call(node, "SENTINEL", "HELP")
    assert help_lines[0] == b"SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"  # type: ignore[index]


def test_standalone_master_lists_its_online_replicas():
    from node.replication import ReplicaInfo

    node = make_node(Config(), rng=random.Random(2), now_ms=NOW)
    node.repl.master_repl_offset = 77
    node.repl.replicas[5] = ReplicaInfo(5, "127.0.0.1", 6380, "online", 70, NOW - 300)
    node.repl.replicas[6] = ReplicaInfo(6, "127.0.0.1", 6381, "send_bulk", 0, 0)
    entries = [pairs(flat(e)) for e in call(node, "SENTINEL", "REPLICAS", "shard-0")]
    assert [list(e) for e in entries[:1]] == [REPLICA_KEYS]
    assert [(e["port"], e["flags"], e["slave-repl-offset"]) for e in entries] == [
        ("6380", "slave", "70"),
        ("6381", "s_down,slave", "0"),
    ]
    assert entries[0]["last-ok-ping-reply"] == "300"
    assert pairs(flat(call(node, "SENTINEL", "MASTER", "shard-0")))["num-slaves"] == "2"


def test_standalone_replica_names_its_master_and_promotes_itself_on_failover():
    node = make_node(Config(), rng=random.Random(2), now_ms=NOW)
    node.repl.role, node.repl.master_host, node.repl.master_port = "slave", "127.0.0.1", 6390
    node.repl.link_status = "up"
    assert run(node, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "shard-0") == (
        b"*2\r\n$9\r\n127.0.0.1\r\n$4\r\n6390\r\n"
    )
    (me,) = call(node, "SENTINEL", "REPLICAS", "shard-0")
    fields = pairs(flat(me))
    assert (fields["port"], fields["flags"], fields["master-port"]) == ("6379", "slave", "6390")
    assert run(node, "SENTINEL", "FAILOVER", "shard-0") == b"+OK\r\n"
    assert node.repl.role == "master"


def test_my_own_replica_entry_reads_the_replication_link():
    node = _node(R[0])
    node.repl.link_status, node.repl.master_repl_offset = "up", 321
    fields = pairs(flat(call(node, "SENTINEL", "REPLICAS", "shard-0")[0]))
    assert (fields["flags"], fields["master-link-status"], fields["slave-repl-offset"]) == (
        "slave",
        "ok",
        "321",
    )
    node.repl.link_status, node.repl.link_down_since_ms = "down", NOW - 2500
    fields = pairs(flat(call(node, "SENTINEL", "REPLICAS", "shard-0")[0]))
    assert (fields["flags"], fields["master-link-down-time"]) == ("s_down,slave", "2500")
