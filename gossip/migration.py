"""Replica migration to orphaned masters (Redis's clusterHandleSlaveMigration).

Each tick a replica counts, over the masters that are not FAIL, the working (not FAIL)
replicas: ``max_replicas`` (the most any master has), mine, and the orphaned masters (slots,
no working replica, and MIGRATE_TO: they used to have one). When there is an orphan, the
biggest group has at least 2 working replicas, mine is one of the biggest and
``cluster-allow-replica-migration`` is on, the migration step runs: only if the cluster is OK
and my master keeps more than ``cluster-migration-barrier`` working replicas, the replica with
the smallest id among the biggest groups moves to the first orphan that has been orphaned for
more than 5 s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gossip.messages import NodeFlag
from gossip.node import ClusterNode
from gossip.outbox import FailoverEvent

if TYPE_CHECKING:
    from gossip.table import ClusterTable

MIGRATION_DELAY_MS = 5000  # CLUSTER_SLAVE_MIGRATION_DELAY
_MIGRATE_TO = NodeFlag.MIGRATE_TO


def working_replicas(st: ClusterTable, master: ClusterNode) -> int:
    """clusterCountNonFailingSlaves."""
    count = 0
    for replica_id in master.replicas:
        replica = st.lookup(replica_id)
        if replica is not None and not replica.failed:
            count += 1
    return count


def maybe_migrate(st: ClusterTable, now_ms: int) -> None:
    """The part of clusterCron that decides whether to run the migration step."""
    me = st.myself
    if not me.is_replica or not st.config.allow_replica_migration:
        return
    orphaned = max_replicas = mine = 0
    for node in st.nodes.values():
        if node.is_master and not node.failed:
            ok = working_replicas(st, node)
            if ok == 0 and node.num_slots > 0 and node.flags & _MIGRATE_TO:
                orphaned += 1
            max_replicas = max(max_replicas, ok)
            if me.master_id == node.node_id:
                mine = ok
    if orphaned and max_replicas >= 2 and mine == max_replicas:
        handle_replica_migration(st, max_replicas, now_ms)


def handle_replica_migration(st: ClusterTable, max_replicas: int, now_ms: int) -> None:
    me = st.myself
    my_master = st.master_of(me)
    if not st.state_ok or my_master is None:
        return
    ok = sum(
        1
        for r in map(st.lookup, my_master.replicas)
        if r is not None and not r.failed and not r.timed_out
    )
    if ok <= st.config.migration_barrier:
        return
    candidate = me
    target: ClusterNode | None = None
    for node in st.nodes.values():
        ok_replicas = working_replicas(st, node) if node.is_master else 0
        orphaned = (
            not node.is_replica
            and not node.failed
            and bool(node.flags & _MIGRATE_TO)
            and ok_replicas == 0
        )
        if orphaned:
            if target is None and node.num_slots > 0:
                target = node
            if not node.orphaned_time_ms:
                node.orphaned_time_ms = now_ms
        else:
            node.orphaned_time_ms = 0
        if ok_replicas == max_replicas:
            for replica_id in node.replicas:
                if replica_id < candidate.node_id:
                    replica = st.lookup(replica_id)
                    if replica is not None:
                        candidate = replica
    if (
        target is not None
        and candidate is me
        and now_ms - target.orphaned_time_ms > MIGRATION_DELAY_MS
    ):
        st.emit(FailoverEvent("migrated", node_id=target.node_id))
        st.set_my_master(target)
        st.mark_save(fsync=True)
        st.mark_update_state()
