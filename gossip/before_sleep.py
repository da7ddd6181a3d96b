"""Deferred work at the end of every public call, as Redis's clusterBeforeSleep.

Rules flag work on the table (``todo_handle_failover``, ``todo_handle_manual_failover``,
``todo_update_state``, ``todo_save_config``, dirty slots) instead of doing it at once, so that a
burst of changes in one input is acted on once. ``gossip.state.ClusterState`` calls
``cluster_before_sleep`` at the end of each of its public calls. It lives above the table and
the rules it runs, so ``gossip.table`` stays a leaf of state and primitives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gossip import election, health, manual_failover

if TYPE_CHECKING:
    from gossip.table import ClusterTable

# A step may enable the next (offset reached -> election scheduled at once -> request sent):
# run them back to back, as Redis's clusterBeforeSleep would on the next loops.
_FAILOVER_STEPS = 3


def cluster_before_sleep(st: ClusterTable, now_ms: int) -> None:
    """Failover steps first, then the cluster state, then the outputs the primitives flagged
    (``SlotsChanged``, ``SaveConfig``): the order Redis's clusterBeforeSleep uses."""
    for _ in range(_FAILOVER_STEPS):
        if not (st.todo_handle_manual_failover or st.todo_handle_failover):
            break
        manual = st.todo_handle_manual_failover
        st.todo_handle_manual_failover = st.todo_handle_failover = False
        if st.myself.is_replica:
            if manual:
                manual_failover.handle_manual_failover(st, now_ms)
            election.handle_replica_failover(st, now_ms)
    if st.todo_update_state:
        health.update_cluster_state(st, now_ms)
    st.emit_deferred()
