"""The node side of failover (node.cluster_glue): the core's MyMasterChanged /
PromotedToMaster / ManualFailoverPause events reach node.replication and the client pause,
the replication offset reaches the core, a replica by nodes.conf starts replicating, and the
CLUSTER FAILOVER / REPLICATE / DEBUG BUS-ISOLATE handlers; no sockets."""

from __future__ import annotations

import random

from gossip.outbox import ManualFailoverPause, MyMasterChanged, PromotedToMaster
from node.cluster_glue import ClusterGlue
from node.config import Config
from node.core import execute as _execute
from node.protocol.resp import encode
from node.replication import ReplicateFrom, StopReplication
from node.session import Session
from node.state import NodeState
from tests.support.nodes import make_node

NOW = 1_700_000_000_000
A = "a" * 40
B = "b" * 40
R = "e" * 40


def execute(session: Session, argv: list[bytes]) -> bytes:
    return encode(_execute(session, argv), False)


def _node(conf: str | None = None, *, debug: bool = False) -> tuple[NodeState, ClusterGlue]:
    config = Config()
    config.set("cluster-enabled", "yes", startup=True)
    config.set("cluster-node-timeout", "2000", startup=True)
    if debug:
        config.set("enable-debug-command", "yes", startup=True)
    node = make_node(config, rng=random.Random(1), now_ms=NOW)
    glue = ClusterGlue.create(config, 7000, node.rng, NOW, conf)
    glue.attach(node)
    return node, glue


def _replica_conf() -> str:
    return "\n".join(
        [
            f"{R} 127.0.0.1:7002@17002 myself,slave {A} 0 0 1 connected",
            f"{A} 127.0.0.1:7000@17000 master - 0 0 1 connected 0-8191",
            f"{B} 127.0.0.1:7001@17001 master - 0 0 2 connected 8192-16383",
            "vars currentEpoch 2 lastVoteEpoch 0",
        ]
    )


def test_a_replica_by_nodes_conf_follows_its_master_on_the_first_tick() -> None:
    node, glue = _node(_replica_conf())
    assert node.repl.role == "master"
    glue.feed_replication(node, tick=True)
    assert node.repl.role == "slave"
    assert (node.repl.master_host, node.repl.master_port) == ("127.0.0.1", 7000)
    assert node.events == [ReplicateFrom("127.0.0.1", 7000)]
    node.events.clear()
    glue.feed_replication(node, tick=True)  # already following: nothing new
    assert node.events == []


def test_events_drive_replication_and_the_pause() -> None:
    node, glue = _node()
    glue.apply(node, [MyMasterChanged(A, "127.0.0.1", 7000)])
    assert node.repl.role == "slave" and node.events == [ReplicateFrom("127.0.0.1", 7000)]
    glue.apply(node, [MyMasterChanged(A, "127.0.0.1", 7000)])  # same address: no restart
    assert len(node.events) == 1
    glue.apply(node, [PromotedToMaster()])
    assert node.repl.role == "master" and node.events[-1] == StopReplication()
    glue.apply(node, [ManualFailoverPause(NOW + 10_000)])
    assert node.paused_until_ms == NOW + 10_000 and node.pause_writes_only
    node.now_ms = NOW + 100
    glue.apply(node, [ManualFailoverPause(0)])
    assert node.paused_until_ms == NOW + 100  # ends at the driver's next tick


def test_the_core_gets_the_replication_offset() -> None:
    node, glue = _node()
    node.repl.master_repl_offset = 4242
    glue.feed_replication(node)
    assert glue.state.repl_offset == 4242
    assert glue.my_repl_offset(node) == 4242


def test_cluster_replicate_makes_the_node_replicate() -> None:
    node, glue = _node(
        "\n".join(
            [
                f"{R} 127.0.0.1:7002@17002 myself,master - 0 0 0 connected",
                f"{A} 127.0.0.1:7000@17000 master - 0 0 1 connected 0-16383",
                "vars currentEpoch 1 lastVoteEpoch 0",
            ]
        )
    )
    session = Session(node, 1)
    assert execute(session, [b"CLUSTER", b"REPLICATE", A.encode()]) == b"+OK\r\n"
    glue.drain(node)
    assert node.repl.role == "slave" and node.events[-1] == ReplicateFrom("127.0.0.1", 7000)
    assert glue.state.myself.master_id == A


def test_cluster_failover_errors_and_takeover() -> None:
    node, glue = _node()
    session = Session(node, 1)
    assert execute(session, [b"CLUSTER", b"FAILOVER"]) == (
        b"-ERR You should send CLUSTER FAILOVER to a replica\r\n"
    )
    assert execute(session, [b"CLUSTER", b"FAILOVER", b"bogus"]) == b"-ERR syntax error\r\n"
    assert execute(session, [b"CLUSTER", b"FAILOVER", b"a", b"b"]) == (
        b"-ERR unknown subcommand or wrong number of arguments for 'FAILOVER'. "
        b"Try CLUSTER HELP.\r\n"
    )
    node, glue = _node(_replica_conf())
    session = Session(node, 1)
    # The master has no link yet: the default mode refuses, as Redis does.
    assert execute(session, [b"CLUSTER", b"FAILOVER"]) == (
        b"-ERR Master is down or failed, please use CLUSTER FAILOVER FORCE\r\n"
    )
    assert execute(session, [b"CLUSTER", b"FAILOVER", b"TAKEOVER"]) == b"+OK\r\n"
    glue.drain(node)
    assert glue.state.myself.is_master and glue.state.slot_owner(0) is glue.state.myself
    assert glue.state.myself.config_epoch == 3
    assert [kind for _, ev in glue.failover_log for kind in [ev.kind]][-1] == "takeover"


def test_debug_bus_isolate_and_heal() -> None:
    node, glue = _node(debug=True)
    session = Session(node, 1)
    assert execute(session, [b"DEBUG", b"BUS-ISOLATE", A.encode(), B.encode()]) == b"+OK\r\n"
    assert glue.isolated == {A, B}
    assert execute(session, [b"DEBUG", b"bus-heal"]) == b"+OK\r\n"
    assert glue.isolated == set()
    assert execute(session, [b"DEBUG", b"BUS-ISOLATE"]).startswith(
        b"-ERR unknown subcommand or wrong number of arguments for 'BUS-ISOLATE'"
    )
    standalone = make_node(_debug_config(), rng=random.Random(1), now_ms=NOW)
    assert execute(Session(standalone, 1), [b"DEBUG", b"BUS-HEAL"]) == (
        b"-ERR This instance has cluster support disabled\r\n"
    )


def _debug_config() -> Config:
    config = Config()
    config.set("enable-debug-command", "yes", startup=True)
    return config


def test_cluster_slots_and_shards_list_a_replica_once_it_has_synced() -> None:
    node, glue = _node(
        "\n".join(
            [
                f"{A} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-16383",
                f"{R} 127.0.0.1:7002@17002 slave {A} 0 0 1 connected",
                "vars currentEpoch 1 lastVoteEpoch 0",
            ]
        )
    )
    session = Session(node, 1)

    def slots_entry() -> list:
        return _execute(session, [b"CLUSTER", b"SLOTS"])[0]

    def shard_health() -> bytes:
        shard = dict(_execute(session, [b"CLUSTER", b"SHARDS"])[0].items)
        replica = dict(shard[b"nodes"].__getitem__(1).items)
        return replica[b"health"]

    assert len(slots_entry()) == 3 and shard_health() == b"loading"
    glue.state.nodes[R].repl_offset = 15  # learned from its bus header
    assert len(slots_entry()) == 4 and slots_entry()[3][2] == R.encode()
    assert shard_health() == b"online"


def test_config_set_of_cluster_directives_reaches_the_core() -> None:
    node, glue = _node()
    session = Session(node, 1)
    assert execute(session, [b"CONFIG", b"SET", b"cluster-replica-no-failover", b"yes"]) == (
        b"+OK\r\n"
    )
    assert glue.state.config.replica_no_failover
    assert execute(session, [b"CONFIG", b"SET", b"cluster-migration-barrier", b"3"]) == b"+OK\r\n"
    assert execute(session, [b"CONFIG", b"SET", b"cluster-node-timeout", b"1500"]) == b"+OK\r\n"
    assert glue.state.config.migration_barrier == 3
    assert glue.state.config.node_timeout_ms == 1500


def _master_conf() -> str:
    return "\n".join(
        [
            f"{A} 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-8191",
            f"{B} 127.0.0.1:7001@17001 master - 0 0 2 connected 8192-16383",
            f"{R} 127.0.0.1:7002@17002 slave {A} 0 0 1 connected",
            "vars currentEpoch 2 lastVoteEpoch 0",
        ]
    )


def test_bus_isolate_also_cuts_replication_across_the_partition() -> None:
    """A replica's link to an isolated master drops, and a master drops the replica
    connections of isolated nodes (matched by the REPLCONF listening-port address)."""
    from node.replication.state import ReplicaInfo

    _replica, rglue = _node(_replica_conf())
    assert not rglue.master_cut_off()
    rglue.isolated.add(B)
    assert not rglue.master_cut_off()  # another node: my link stays
    rglue.isolated.add(A)
    assert rglue.master_cut_off()
    rglue.isolated.clear()
    rglue.isolated.add(R)  # my own id: cut off from everyone
    assert rglue.master_cut_off()

    master, mglue = _node(_master_conf())
    master.repl.replicas[42] = ReplicaInfo(42, "127.0.0.1", 7002, "online")
    master.repl.replicas[43] = ReplicaInfo(43, "127.0.0.1", 9999, "online")  # not in the cluster
    assert mglue.replicas_cut_off(master) == []
    mglue.isolated.add(B)
    assert mglue.replicas_cut_off(master) == []
    mglue.isolated.add(R)
    assert mglue.replicas_cut_off(master) == [42]
    mglue.isolated = {A}  # myself: every replica connection is across
    assert mglue.replicas_cut_off(master) == [42, 43]
