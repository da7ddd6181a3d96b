"""The node's periodic work (Redis's ``serverCron`` subset), pure: it takes the time it runs at.

``server_cron(node, now_ms)`` is what the client driver's tick task calls ``hz`` times a second
(and earlier when a blocked client's timeout is due): active expiry, the timeouts of blocked
clients, clients blocked on a slot that moved or a cluster that went down (Redis's
clusterRedirectBlockedClientIfNeeded, from clientsCron), the end of CLIENT PAUSE, and the master
side of ``replicationCron``. The driver then carries out what is left for it: replies of the
clients this released (``node.blocking.released``), the connections to close
(``server_cron``'s answer, ``idle_clients``) and ``node.events``.
"""

from __future__ import annotations

import logging

from node import replication
from node.routing import redirect_blocked_clients
from node.session import Session
from node.state import NodeState

log = logging.getLogger("rcsim.node")


def server_cron(node: NodeState, now_ms: int) -> list[int]:
    """One tick at ``now_ms``; returns the client ids of replicas silent for ``repl-timeout``
    (the driver closes their connections)."""
    node.now_ms = now_ms  # Redis's updateCachedTime at the start of serverCron
    node.active_expire()
    blocking = node.blocking
    if blocking.by_session:
        blocking.expire(now_ms)
        if node.cluster is not None:  # slot moved away / cluster down: -MOVED & co
            redirect_blocked_clients(node)
    if node.paused_until_ms and node.paused_until_ms <= now_ms:
        node.paused_until_ms = 0
    return replication_cron(node, now_ms) if node.repl.replicas else []


def update_cached_time(node: NodeState, now_ms: int) -> None:
    """The node was blocked (DEBUG SLEEP) until ``now_ms``: what runs next (clients the batch
    released) runs at that time, as after Redis's updateCachedTime."""
    node.now_ms = now_ms


def replication_cron(node: NodeState, now_ms: int) -> list[int]:
    """The master side of Redis's ``replicationCron``: PING the replicas every
    ``repl-ping-replica-period`` through the stream (so it counts in the offsets); the ids of
    replicas silent for ``repl-timeout``, to be disconnected."""
    repl = node.repl
    if not node.paused_until_ms:
        replication.cron(node, now_ms)
    limit = now_ms - node.config.get_int("repl-timeout") * 1000
    timed_out = []
    for client_id, replica in list(repl.replicas.items()):
        if replica.state == "online" and replica.ack_ms and replica.ack_ms < limit:
            log.warning("Disconnecting timedout replica (streaming sync): %s", replica.ip)
            timed_out.append(client_id)
    return timed_out


def idle_clients(node: NodeState, now_ms: int) -> list[Session]:
    """Clients idle for longer than ``timeout`` (none when it is 0), to be closed; as in
    Redis, not clients blocked in BLPOP & co, replicas, or MONITOR."""
    timeout_s = node.client_idle_timeout_s
    if timeout_s <= 0:
        return []
    limit = now_ms - timeout_s * 1000
    blocked = node.blocking.by_session
    replicas = node.repl.replicas
    return [
        s
        for s in node.clients.values()
        if s.last_interaction_ms < limit  # type: ignore[attr-defined]
        and not s.monitor  # type: ignore[attr-defined]
        and s.id not in blocked  # type: ignore[attr-defined]
        and s.id not in replicas  # type: ignore[attr-defined]
    ]
