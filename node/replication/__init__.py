"""Replication core (pure): master/replica roles, the replication stream, backlog, PSYNC, WAIT.

See ``state`` (the data), ``stream`` (what a master propagates and how) and ``roles`` (role
changes, PSYNC decisions, the replica side, acks and WAIT). The drivers
(``node/drivers/repl_link.py``) do the I/O and call the functions re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .events import ReplicateFrom, StopReplication
from .roles import (
    ack_command,
    add_replica,
    apply_stream,
    change_replid,
    continue_sync,
    count_acks,
    cron,
    data_age_ms,
    ensure_backlog,
    follow,
    full_sync_done,
    good_replicas,
    link_down,
    link_up,
    master_credentials,
    process_ack,
    promote,
    psync_args,
    psync_decision,
    refresh_flags,
    release_waiters,
    replica_disconnected,
    replica_offset,
    request_acks,
    set_link_state,
    wait,
)
from .state import Backlog, ReplicaInfo, ReplicationState, WaitingClient, new_replid
from .stream import after_write, feed, flush, key_expired, write_stream

if TYPE_CHECKING:
    from node.state import NodeState


def propagate(node: NodeState, db_index: int, argv: list[bytes]) -> None:
    """Write ``argv`` (already deterministic) to the stream now, after whatever the current
    call had queued: offset, backlog, every replica. ``db_index`` -1 (or the stream's current
    db) emits no SELECT. For drivers and glue outside command execution (the replication
    cron's PING...); commands are fed through ``core.call`` instead."""
    if not node.repl_feed:
        return
    flush(node)
    node.repl.pending.append((db_index, argv))
    flush(node)


__all__ = [
    "Backlog",
    "ReplicaInfo",
    "ReplicateFrom",
    "ReplicationState",
    "StopReplication",
    "WaitingClient",
    "ack_command",
    "add_replica",
    "after_write",
    "apply_stream",
    "change_replid",
    "continue_sync",
    "count_acks",
    "cron",
    "data_age_ms",
    "ensure_backlog",
    "feed",
    "flush",
    "follow",
    "full_sync_done",
    "good_replicas",
    "key_expired",
    "link_down",
    "link_up",
    "master_credentials",
    "new_replid",
    "process_ack",
    "promote",
    "propagate",
    "psync_args",
    "psync_decision",
    "refresh_flags",
    "release_waiters",
    "replica_disconnected",
    "replica_offset",
    "request_acks",
    "set_link_state",
    "wait",
    "write_stream",
]
