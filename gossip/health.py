"""Cluster state ok/fail, as Redis's clusterUpdateState decides it.

OK needs (with cluster-require-full-coverage) every slot bound to a node that is not FAIL, and
a majority of the slot-owning masters (``size // 2 + 1``) reachable, i.e. neither PFAIL nor
FAIL. Two delays keep a master from serving too early: after start it stays FAIL for
``CLUSTER_WRITABLE_DELAY_MS`` (counted from the first evaluation), and after it was last seen in
a minority it waits the rejoin delay (node timeout clamped to 0.5-5 s) before going OK, so that
a partitioned-away master first hears about any failover.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gossip.messages import NodeFlag
from gossip.outbox import StateChanged
from gossip.slots import CLUSTER_SLOTS

if TYPE_CHECKING:
    from gossip.table import ClusterTable

CLUSTER_WRITABLE_DELAY_MS = 2000
CLUSTER_MIN_REJOIN_DELAY_MS = 500
CLUSTER_MAX_REJOIN_DELAY_MS = 5000
_UNREACHABLE = (NodeFlag.PFAIL | NodeFlag.FAIL).value  # an int: no enum arithmetic per node


def rejoin_delay_ms(node_timeout_ms: int) -> int:
    return min(max(node_timeout_ms, CLUSTER_MIN_REJOIN_DELAY_MS), CLUSTER_MAX_REJOIN_DELAY_MS)


def update_cluster_state(st: ClusterTable, now_ms: int) -> None:
    st.todo_update_state = False
    if st.first_update_ms is None:
        st.first_update_ms = now_ms
    me = st.myself
    if me.is_master and not st.state_ok and now_ms - st.first_update_ms < CLUSTER_WRITABLE_DELAY_MS:
        return

    size = reachable = covered = 0
    for node in st.nodes.values():
        if not node.failed:
            covered += node.num_slots  # slots bound to a node that is not FAIL
        if node.is_master and node.num_slots:
            size += 1
            if not int.__and__(node.flags, _UNREACHABLE):
                reachable += 1
    st.size = size

    new_ok = not (st.config.require_full_coverage and covered < CLUSTER_SLOTS)
    if reachable < size // 2 + 1:
        new_ok = False
        st.among_minority_ms = now_ms

    if new_ok == st.state_ok:
        return
    if (
        new_ok
        and me.is_master
        and now_ms - st.among_minority_ms < rejoin_delay_ms(st.config.node_timeout_ms)
    ):
        return
    st.state_ok = new_ok
    st.emit(StateChanged(new_ok))
