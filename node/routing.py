"""Cluster routing: may this node serve a keyed request, or which redirect does the client get?

``route`` is Redis 7.0's ``getNodeByQuery`` (src/cluster.c) as a pure function over the
session, the resolved command, its arguments and the node's cluster view (a
``gossip.ClusterState``, or anything with the same few attributes: ``slots``, ``myself``,
``lookup``, ``migrating_to``, ``importing_from``, ``state_ok``, ``config``). It returns None
(serve here) or the ``RespError`` to answer, in Redis's decision order:

1. keys in different slots (over every queued command for EXEC): CROSSSLOT;
2. slot unowned: ``CLUSTERDOWN Hash slot not served``;
3. cluster down: ``CLUSTERDOWN The cluster is down`` (with cluster-allow-reads-when-down,
   reads are served and writes get the read-only variant);
4. MIGRATE runs locally while the slot is open;
5. my slot is MIGRATING: all keys here, serve; none, ASK to the target; some, TRYAGAIN;
6. slot IMPORTING with ASKING (or a command flagged ``asking``): serve, unless several keys
   with some missing (TRYAGAIN); without ASKING it falls through to MOVED to the owner;
7. a READONLY client on a replica reads its master's slots;
8. another node owns the slot: MOVED.

Keyless commands are never routed (the caller checks ``Command.needs_routing`` first).
"""

from __future__ import annotations

from typing import Any

from node.protocol.errors import (
    CLUSTER_DOWN,
    CLUSTER_DOWN_READ_ONLY,
    CLUSTER_DOWN_UNBOUND,
    CROSSSLOT,
    TRYAGAIN,
    RespError,
)
from node.protocol.keyslot import key_slot


def route(session: Any, command: Any, argv: list[bytes], cluster: Any) -> RespError | None:
    """None to serve the request here, else the redirect or error (Redis's getNodeByQuery
    followed by clusterRedirectClient)."""
    name = command.spec.name
    if name == "exec":
        if session.multi is None:
            return None  # EXEC without MULTI answers its own error
        requests = session.multi
        is_write = any(queued.is_write for queued, _argv in requests)
    else:
        requests = ((command, argv),)
        is_write = command.is_write
    pubsub_shard = bool(command.shard_channels)
    firstkey: bytes | None = None
    slot = 0
    multiple_keys = migrating = importing = False
    missing = 0
    db = session.node.dbs[0]
    now_ms = session.node.now_ms
    for queued, queued_argv in requests:
        for key in queued.request_keys(queued_argv):
            if firstkey is None:
                firstkey = key
                slot = key_slot(key)
                owner_id = cluster.slots[slot]
                if owner_id is None:
                    return RespError(CLUSTER_DOWN_UNBOUND)
                if owner_id == cluster.myself.node_id and slot in cluster.migrating_to:
                    migrating = True
                elif slot in cluster.importing_from:
                    importing = True
            elif key != firstkey:
                if key_slot(key) != slot:
                    return RespError(CROSSSLOT)
                multiple_keys = True
            if (migrating or importing) and not pubsub_shard and db.peek(key, now_ms) is None:
                missing += 1
    if firstkey is None:
        return None
    if not cluster.state_ok:
        down = _cluster_down(session, is_write, pubsub_shard)
        if down is not None:
            return down
    if (migrating or importing) and name == "migrate":
        return None
    if migrating and missing:
        if missing < _key_count(requests):
            return RespError(TRYAGAIN)  # some keys here, some gone: Redis 7.0's existing_keys
        target = cluster.lookup(cluster.migrating_to[slot])
        return _redirect("ASK", slot, target, cluster)
    if importing and (session.asking or "asking" in command.spec.flags):
        if multiple_keys and missing:
            return RespError(TRYAGAIN)
        return None
    owner = cluster.lookup(cluster.slots[slot])
    myself = cluster.myself
    if (
        (session.readonly or pubsub_shard)
        and not is_write
        and myself.is_replica
        and owner is not None
        and myself.master_id == owner.node_id
    ):
        return None
    if owner is myself:
        return None
    return _redirect("MOVED", slot, owner, cluster)


def _key_count(requests: Any) -> int:
    return sum(len(queued.request_keys(queued_argv)) for queued, queued_argv in requests)


def _cluster_down(session: Any, is_write: bool, pubsub_shard: bool) -> RespError | None:
    """Redis's cluster-down branch: shard Pub/Sub and (optionally) reads carry on."""
    config = session.node.config
    if pubsub_shard:
        allowed = config.get_bool("cluster-allow-pubsubshard-when-down")
        return None if allowed else RespError(CLUSTER_DOWN)
    if not config.get_bool("cluster-allow-reads-when-down"):
        return RespError(CLUSTER_DOWN)
    if is_write:
        return RespError(CLUSTER_DOWN_READ_ONLY)
    return None


def _redirect(kind: str, slot: int, node: Any, cluster: Any) -> RespError:
    """``-MOVED <slot> <endpoint>:<port>`` with the preferred endpoint (getPreferredEndpoint):
    the ip, the hostname (``?`` when unset) or ``?`` for unknown-endpoint."""
    if node is None:
        return RespError(CLUSTER_DOWN_UNBOUND)
    kind_of_endpoint = cluster.config.preferred_endpoint_type
    if kind_of_endpoint == "ip":
        endpoint = node.ip
    elif kind_of_endpoint == "hostname":
        endpoint = node.hostname or "?"
    else:
        endpoint = "?"
    return RespError(f"{kind} {slot} {endpoint}:{node.port}")


def redirect_blocked_clients(node: Any) -> int:
    """Redis 7.0's ``clusterRedirectBlockedClientIfNeeded``, run from the periodic tick as
    Redis runs it from clientsCron: a client blocked on keys (BLPOP, BZPOPMIN, BLMOVE...) is
    released with ``-CLUSTERDOWN The cluster is down`` when the cluster fails, with
    ``-CLUSTERDOWN Hash slot not served`` when its slot became unassigned, and with
    ``-MOVED <slot> <addr>`` when another node owns it (unless this node imports it, or a
    READONLY client reads it on a replica of the owner). Returns how many were released."""
    cluster = node.cluster
    blocking = node.blocking
    released = 0
    for blocked in blocking.blocked_sessions():
        error = _blocked_redirect(blocked, cluster, node)
        if error is not None:
            blocking.unblock(blocked.session, error)
            released += 1
    return released


def _blocked_redirect(blocked: Any, cluster: Any, node: Any) -> RespError | None:
    if not cluster.state_ok:
        return RespError(CLUSTER_DOWN)
    if not blocked.keys:
        return None
    slot = key_slot(blocked.keys[0])  # all keys of one request share a slot
    owner = cluster.lookup(cluster.slots[slot])
    myself = cluster.myself
    if owner is myself or slot in cluster.importing_from:
        return None
    command = node.commands.get(blocked.argv[0].lower())
    is_write = command is None or command.is_write
    session = blocked.session
    if (
        session.readonly
        and not is_write
        and myself.is_replica
        and owner is not None
        and myself.master_id == owner.node_id
    ):
        return None
    if owner is None:
        return RespError(CLUSTER_DOWN_UNBOUND)
    return _redirect("MOVED", slot, owner, cluster)
