"""Failure detection: PFAIL -> FAIL by failure reports, and clearing FAIL.

Theory of operation. My own detector (``gossip.cron``) flags a node PFAIL when its ping has been
pending longer than the node timeout. Masters gossip the nodes they see as PFAIL or FAIL; each
such entry from a *master* is a failure report, kept with its time and valid for
``FAIL_REPORT_VALIDITY_MULT`` x node timeout (a report from a replica counts for nothing, a clean
entry from the same master withdraws its report). When a node I see as PFAIL has reports
(+1 for myself if I am a master) from ``size // 2 + 1`` masters, I flag it FAIL and broadcast
FAIL; receivers apply FAIL unconditionally. FAIL is undone when the node answers again:
at once for replicas and slotless masters; for a master still owning slots only once
``FAIL_UNDO_TIME_MULT`` x node timeout has passed since the FAIL (nobody failed it over).
Mirrors Redis's markNodeAsFailingIfNeeded / clearNodeFailureIfNeeded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gossip.messages import Fail, NodeFlag
from gossip.node import ClusterNode
from gossip.outbox import NodeFailCleared, NodeMarkedFail
from gossip.ping import broadcast, build_header

if TYPE_CHECKING:
    from gossip.table import ClusterTable

FAIL_REPORT_VALIDITY_MULT = 2
FAIL_UNDO_TIME_MULT = 2


def add_failure_report(node: ClusterNode, reporter: ClusterNode, now_ms: int) -> bool:
    """clusterNodeAddFailureReport: True if this reporter had no report yet."""
    new = reporter.node_id not in node.failure_reports
    node.failure_reports[reporter.node_id] = now_ms
    return new


def remove_failure_report(
    st: ClusterTable, node: ClusterNode, reporter: ClusterNode, now_ms: int
) -> bool:
    cleanup_failure_reports(st, node, now_ms)
    return node.failure_reports.pop(reporter.node_id, None) is not None


def cleanup_failure_reports(st: ClusterTable, node: ClusterNode, now_ms: int) -> None:
    max_age = st.config.node_timeout_ms * FAIL_REPORT_VALIDITY_MULT
    reports = node.failure_reports
    for reporter in [r for r, t in reports.items() if now_ms - t > max_age]:
        del reports[reporter]


def failure_reports_count(st: ClusterTable, node: ClusterNode, now_ms: int) -> int:
    cleanup_failure_reports(st, node, now_ms)
    return len(node.failure_reports)


def mark_node_as_failing_if_needed(st: ClusterTable, node: ClusterNode, now_ms: int) -> None:
    if not node.timed_out or node.failed:
        return
    failures = failure_reports_count(st, node, now_ms)
    if st.myself.is_master:
        failures += 1
    if failures < st.size // 2 + 1:
        return
    node.flags = (node.flags & ~NodeFlag.PFAIL) | NodeFlag.FAIL
    node.fail_time_ms = now_ms
    # Replicas broadcast too: the quorum came from masters, they only help propagate it.
    broadcast(st, Fail(build_header(st), node.node_id))
    st.emit(NodeMarkedFail(node.node_id, None))
    _failed(st, node)


def _failed(st: ClusterTable, node: ClusterNode) -> None:
    st.mark_update_state()
    st.mark_save()
    if st.myself.master_id == node.node_id:
        # My master failed: consider the election now rather than at the next cron tick.
        st.todo_handle_failover = True


def apply_fail_message(st: ClusterTable, failing: ClusterNode, reporter: str, now_ms: int) -> None:
    """A FAIL broadcast from a known node: trust it."""
    if failing.flags & (NodeFlag.FAIL | NodeFlag.MYSELF):
        return
    failing.flags = (failing.flags & ~NodeFlag.PFAIL) | NodeFlag.FAIL
    failing.fail_time_ms = now_ms
    st.emit(NodeMarkedFail(failing.node_id, reporter))
    _failed(st, failing)


def clear_node_failure_if_needed(st: ClusterTable, node: ClusterNode, now_ms: int) -> None:
    """Called when a FAIL node answers a ping."""
    undo_after = st.config.node_timeout_ms * FAIL_UNDO_TIME_MULT
    if (node.is_replica or node.num_slots == 0) or (
        node.is_master and now_ms - node.fail_time_ms > undo_after
    ):
        node.flags &= ~NodeFlag.FAIL
        st.emit(NodeFailCleared(node.node_id))
        st.mark_update_state()
        st.mark_save()
