"""Role changes, PSYNC decisions, the replica side of the stream, acks and WAIT.

Pure functions over ``node.repl`` (a ``ReplicationState``) that mirror Redis 7.0's
``replication.c``: ``follow`` is ``replicationSetMaster``, ``promote`` is
``replicationUnsetMaster``, ``psync_decision`` is ``masterTryPartialResynchronization`` plus
``syncCommand``'s full-resync path, ``apply_stream`` is the master client's command loop on a
replica. The drivers (``node/drivers/repl_link.py``, ``node/drivers/client_server.py``) do the I/O and call these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from node.blocking import Block
from node.protocol.errors import RespError
from node.protocol.resp import encode_command

from .events import ReplicateFrom, StopReplication
from .state import Backlog, ReplicaInfo, WaitingClient, new_replid
from .stream import flush, write_stream

if TYPE_CHECKING:
    from node.session import Session
    from node.state import NodeState

UNBLOCKED_ROLE_CHANGE = (
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
)


def refresh_flags(node: NodeState) -> None:
    """Recompute what the dispatcher's hot path reads after a role or config change (see
    ``NodeState.refresh_replication_flags``)."""
    node.refresh_replication_flags()


def _close_replicas(node: NodeState) -> None:
    """Disconnect every replica (Redis's ``disconnectSlaves``): they must resync with us."""
    from node.state import CloseClient

    for client_id in list(node.repl.replicas):
        node.events.append(CloseClient(client_id))
    node.repl.replicas.clear()


def _unblock_all(node: NodeState) -> None:
    """Redis's ``disconnectAllBlockedClients`` when a master becomes a replica."""
    blocking = node.blocking
    for blocked in blocking.blocked_sessions():
        blocking.unblock(blocked.session, RespError(UNBLOCKED_ROLE_CHANGE))
    node.repl.waiting.clear()


# -- role changes -------------------------------------------------------------------------------


def follow(node: NodeState, host: str, port: int) -> None:
    """Become a replica of ``host:port`` (REPLICAOF host port, CLUSTER REPLICATE, a failover
    loser), keeping our replid/offset so the link can try a partial resync first (Redis's
    ``replicationCacheMasterUsingMyself``). The driver gets ``ReplicateFrom``."""
    repl = node.repl
    if repl.role == "slave" and repl.master_host == host and repl.master_port == port:
        return  # already following it: the link reconnects by itself (clusterSetMaster's check)
    _unblock_all(node)  # Redis's disconnectAllBlockedClients
    repl.role = "slave"
    repl.master_host = host
    repl.master_port = port
    repl.state = "connect"
    repl.link_status = "down"
    repl.has_master_data = False
    repl.sync_in_progress = False
    repl.pending.clear()
    refresh_flags(node)
    node.events.append(ReplicateFrom(host, port))


def promote(node: NodeState) -> None:
    """Become a master keeping the data (REPLICAOF NO ONE, failover winner): the master's
    replid becomes replid2 valid up to our offset, a new replid starts a new history, our own
    replicas are disconnected to learn it (Redis's ``shiftReplicationId`` +
    ``disconnectSlaves``). The driver gets ``StopReplication``."""
    repl = node.repl
    if repl.role != "slave":
        return
    repl.replid2 = repl.replid
    repl.second_replid_offset = repl.master_repl_offset + 1
    repl.replid = new_replid(node.rng)
    _close_replicas(node)
    repl.role = "master"
    repl.master_host = None
    repl.master_port = 0
    repl.state = "none"
    repl.link_status = "down"
    repl.link_down_since_ms = 0
    repl.has_master_data = False
    repl.sync_in_progress = False
    repl.master_session = None
    repl.stream_db = -1
    refresh_flags(node)
    node.events.append(StopReplication())


def change_replid(node: NodeState) -> None:
    """A new history (Redis's ``changeReplicationId`` + ``clearReplicationId2``)."""
    repl = node.repl
    repl.replid = new_replid(node.rng)
    repl.replid2 = "0" * 40
    repl.second_replid_offset = -1


def replica_offset(node: NodeState) -> int:
    """The offset that ranks replicas and checks a manual failover's catch-up (Redis's
    ``replicationGetSlaveOffset`` on a replica, ``master_repl_offset`` on a master)."""
    return max(0, node.repl.master_repl_offset)


def data_age_ms(node: NodeState, now_ms: int) -> int:
    """Milliseconds since the master link was last usable (``clusterHandleSlaveFailover``'s
    data_age): since the last interaction while connected, else since the link went down."""
    repl = node.repl
    if repl.role != "slave":
        return 0
    if repl.link_status == "up":
        return max(0, now_ms - repl.last_interaction_ms)
    if repl.link_down_since_ms:
        return max(0, now_ms - repl.link_down_since_ms)
    return now_ms  # never connected: as old as it gets


# -- master side ---------------------------------------------------------------------------------


def ensure_backlog(node: NodeState, new_history: bool) -> None:
    """Create the backlog if there is none; ``new_history`` also takes a new replid (Redis
    does both when the first replica connects to a master without one)."""
    repl = node.repl
    if repl.backlog is None:
        if new_history:
            change_replid(node)
        repl.backlog = Backlog(node.config.get_int("repl-backlog-size"), repl.master_repl_offset)
        refresh_flags(node)


def psync_decision(node: NodeState, replid: str, offset: int) -> tuple[bool, bytes]:
    """Redis's ``masterTryPartialResynchronization``: (True, backlog bytes) when the replica
    can continue from ``offset`` (its history is our replid, or our previous one up to
    ``second_replid_offset``, and the backlog still holds ``offset``), else (False, b"")."""
    repl = node.repl
    if replid != repl.replid and (replid != repl.replid2 or offset > repl.second_replid_offset):
        return False, b""
    backlog = repl.backlog
    if backlog is None or offset < backlog.offset or offset > backlog.offset + backlog.histlen:
        return False, b""
    return True, backlog.read_from(offset)


def add_replica(node: NodeState, session: Session, state: str = "online") -> ReplicaInfo:
    """Register ``session``'s connection as a replica with what its REPLCONFs said; the first
    replica creates the backlog (with a new replid, as Redis's ``syncCommand``)."""
    repl = node.repl
    hs = repl.handshakes.pop(session.id, {})
    ip = hs.get("ip") or session.addr.rsplit(":", 1)[0]
    replica = ReplicaInfo(
        session.id,
        ip,
        hs.get("port", 0),
        state,
        0,
        node.now_ms,
        frozenset(hs.get("capa", ())),
        session,
    )
    repl.replicas[session.id] = replica
    if "S" not in session.flags:  # CLIENT LIST flags=S, type=replica; CLIENT KILL TYPE replica
        session.flags += "S"
    return replica


def replica_disconnected(node: NodeState, client_id: int) -> None:
    """The connection of a replica (or of a client half-way through REPLCONF) closed."""
    repl = node.repl
    gone = repl.replicas.pop(client_id, None)
    if gone is not None and gone.session is not None:
        gone.session.flags = gone.session.flags.replace("S", "")
    repl.handshakes.pop(client_id, None)
    repl.client_woff.pop(client_id, None)
    if gone is not None and repl.waiting:
        release_waiters(node)  # WAITs time out with the count of replicas still there


def process_ack(node: NodeState, client_id: int, offset: int) -> None:
    """REPLCONF ACK from a replica: record it and release the WAITs it satisfies (Redis's
    ``replconfCommand`` + ``processClientsWaitingReplicas``)."""
    replica = node.repl.replicas.get(client_id)
    if replica is None:
        return
    if offset > replica.ack_offset:
        replica.ack_offset = offset
    replica.ack_ms = node.now_ms
    if replica.state != "online":
        replica.state = "online"
    if node.repl.waiting:
        release_waiters(node)


def good_replicas(node: NodeState) -> int:
    """Online replicas whose last ack is at most min-replicas-max-lag seconds old (Redis's
    ``refreshGoodSlavesCount``)."""
    return node.repl.good_replica_count(node.now_ms // 1000, node.repl_max_lag_s)


def count_acks(node: NodeState, offset: int) -> int:
    """Online replicas that acknowledged ``offset`` (``replicationCountAcksByOffset``)."""
    return sum(
        1 for r in node.repl.replicas.values() if r.state == "online" and r.ack_offset >= offset
    )


def release_waiters(node: NodeState) -> None:
    """Unblock the WAIT clients now satisfied; keep the others' timeout reply current."""
    blocking = node.blocking
    still: list[WaitingClient] = []
    for waiter in node.repl.waiting:
        if not blocking.is_blocked(waiter.session):
            continue  # timed out, unblocked or gone
        acked = count_acks(node, waiter.offset)
        waiter.block.timeout_reply = acked  # type: ignore[attr-defined]
        if acked >= waiter.numreplicas:
            blocking.unblock(waiter.session, acked)
        else:
            still.append(waiter)
    node.repl.waiting = still


def request_acks(node: NodeState) -> None:
    """Ask every replica for its offset (``replicationRequestAckFromSlaves``): a
    ``REPLCONF GETACK *`` in the stream, with no SELECT. Redis sends one per event-loop
    iteration (beforeSleep) for all the WAITs of that iteration; here WAITs of the same batch
    (same ``now_ms``) with nothing written in between share one."""
    repl = node.repl
    if repl.backlog is None or repl.role != "master":
        return
    flush(node)
    if repl.getack_sent and repl.getack_ms == node.now_ms:
        return
    write_stream(node, encode_command([b"REPLCONF", b"GETACK", b"*"]))
    repl.getack_sent = True
    repl.getack_ms = node.now_ms


def wait(session: Session, numreplicas: int, timeout_ms: int, deny_blocking: bool) -> object:
    """WAIT: the count of replicas that acked this client's last write, at once when enough
    did (or blocking is denied), else a ``Block`` released by ``process_ack`` or the
    timeout (``timeout_ms`` 0 waits forever)."""
    node = session.node
    repl = node.repl
    flush(node, session)  # what this batch fed so far (a fast-path read's expiry DEL...)
    offset = repl.client_woff.get(session.id, 0)
    acked = count_acks(node, offset)
    if acked >= numreplicas or deny_blocking:
        return acked
    deadline = node.now_ms + timeout_ms if timeout_ms > 0 else None
    block = Block([], deadline, acked)
    blocking = node.blocking
    repl.waiting = [w for w in repl.waiting if blocking.is_blocked(w.session)]
    repl.waiting.append(WaitingClient(session, offset, numreplicas, block))
    request_acks(node)
    return block


# -- replica side ---------------------------------------------------------------------------------


def set_link_state(node: NodeState, state: str) -> None:
    """The link's progress as ROLE shows it: connect | connecting | handshake | sync |
    connected."""
    repl = node.repl
    repl.state = state
    if state == "sync":
        repl.sync_in_progress = True
    elif state == "connected":
        repl.sync_in_progress = False


def master_credentials(node: NodeState) -> tuple[str | None, str | None]:
    """(masteruser, masterauth) for the link's ``AUTH`` (None when unset): ``AUTH <pass>``
    with only masterauth, ``AUTH <user> <pass>`` with both, as Redis's syncWithMaster."""
    config = node.config
    user = config.get("masteruser") or None
    password = config.get("masterauth") or None
    return user, password


def psync_args(node: NodeState) -> tuple[str, int]:
    """What the link sends as ``PSYNC <replid> <offset>``: our history and the next byte we
    need (we always have one: a fresh node's own, as ``replicationCacheMasterUsingMyself``)."""
    repl = node.repl
    return repl.replid, repl.master_repl_offset + 1


def link_up(node: NodeState, now_ms: int) -> None:
    repl = node.repl
    repl.link_status = "up"
    repl.state = "connected"
    repl.sync_in_progress = False
    repl.last_interaction_ms = now_ms
    repl.link_down_since_ms = 0


def link_down(node: NodeState, now_ms: int) -> None:
    """The link with the master broke (Redis's ``replicationHandleMasterDisconnection``)."""
    repl = node.repl
    if repl.link_status == "up" or not repl.link_down_since_ms:
        repl.link_down_since_ms = now_ms
    repl.link_status = "down"
    repl.state = "connect"
    repl.has_master_data = False
    repl.sync_in_progress = False
    if repl.master_session is not None:
        repl.master_session.multi = None  # a transaction cut by the link is discarded...
    repl.txn_data.clear()  # ...and our offset stays before it, so PSYNC resends it whole
    repl.txn_nbytes = 0


def full_sync_done(node: NodeState, replid: str, offset: int, now_ms: int | None = None) -> None:
    """The master's RDB is loaded: take its history (``readSyncBulkPayload``): its replid,
    the offset of the snapshot, no replid2, a fresh backlog; our own replicas must resync.
    ``now_ms``: when the link's input arrived (the node's time from then on)."""
    if now_ms is not None:
        node.now_ms = now_ms
    repl = node.repl
    repl.replid = replid
    repl.replid2 = "0" * 40
    repl.second_replid_offset = -1
    repl.master_repl_offset = offset
    repl.backlog = Backlog(node.config.get_int("repl-backlog-size"), offset)
    repl.has_master_data = True
    repl.stream_db = -1
    _close_replicas(node)
    link_up(node, node.now_ms)
    refresh_flags(node)


def continue_sync(node: NodeState, new_replid: str | None, now_ms: int | None = None) -> None:
    """``+CONTINUE [<replid>]``: keep our data and offset; a new master replid becomes ours,
    the old one replid2 up to our offset (``replicationResurrectCachedMaster`` and the
    PSYNC reply handling); our replicas are disconnected to learn the new id. ``now_ms``:
    when the reply arrived (the node's time from then on)."""
    if now_ms is not None:
        node.now_ms = now_ms
    repl = node.repl
    if new_replid and new_replid != repl.replid:
        repl.replid2 = repl.replid
        repl.second_replid_offset = repl.master_repl_offset + 1
        repl.replid = new_replid
        _close_replicas(node)
    if repl.backlog is None:
        repl.backlog = Backlog(node.config.get_int("repl-backlog-size"), repl.master_repl_offset)
    repl.has_master_data = True
    link_up(node, node.now_ms)
    refresh_flags(node)


def ack_command(node: NodeState) -> bytes:
    """``REPLCONF ACK <offset>`` as the replica sends it every second and on GETACK."""
    return encode_command([b"REPLCONF", b"ACK", b"%d" % node.repl.master_repl_offset])


def apply_stream(
    node: NodeState, session: Session, argv: list[bytes], nbytes: int, now_ms: int | None = None
) -> bytes | None:
    """Run one command of the master's stream on this replica (no reply, except the ACK a
    ``REPLCONF GETACK`` asks for: it reports the offset *before* the GETACK, as Redis updates
    the master client's offset only after the command), advance the offset by ``nbytes``
    and pass the command on to our own replicas and backlog (chained replication).
    ``now_ms``: when the link read the command (the node's time from then on)."""
    from node import core

    if now_ms is not None:
        node.now_ms = now_ms
    repl = node.repl
    out = None
    name = argv[0].lower()
    if name == b"replconf":
        if len(argv) >= 2 and argv[1].lower() == b"getack":
            out = ack_command(node)
    elif name != b"ping":
        if not session.authenticated:
            session.authenticated = True  # the master client needs no AUTH (requirepass)
        repl.applying = True
        try:
            core.execute(session, argv)
        finally:
            repl.applying = False
            repl.pending.clear()
    repl.last_interaction_ms = node.now_ms
    data = encode_command(argv)
    if session.multi is not None:  # inside the master's MULTI: applied at its EXEC
        repl.txn_data.append(data)
        repl.txn_nbytes += nbytes
        return out
    if repl.txn_data:
        data = b"".join(repl.txn_data) + data
        nbytes += repl.txn_nbytes
        repl.txn_data.clear()
        repl.txn_nbytes = 0
    repl.master_repl_offset += nbytes - len(data)  # write_stream adds len(data)
    write_stream(node, data)
    return out


def cron(node: NodeState, now_ms: int) -> None:
    """Once a second from the driver (Redis's ``replicationCron`` master part): a PING into
    the stream every ``repl-ping-replica-period`` seconds while replicas are connected."""
    repl = node.repl
    if repl.role != "master" or not repl.replicas:
        return
    period_ms = node.config.get_int("repl-ping-replica-period") * 1000
    if now_ms - repl.last_ping_ms >= period_ms:
        repl.last_ping_ms = now_ms
        flush(node)
        write_stream(node, encode_command([b"ping"]))  # lowercase, as Redis sends it
