"""Replica side of a failover: the election (Redis's clusterHandleSlaveFailover).

Theory of operation. A replica runs ``handle_replica_failover`` on every cron tick (and right
after an ACK or a manual-failover step). It acts only when all hold: I am a replica, my master
is FAIL (or a manual failover is ready), ``cluster-replica-no-failover`` is off (unless manual),
my master owns slots, and my data is not too old: ``data_age - node_timeout`` must not exceed
``repl-ping-replica-period * 1000 + node_timeout * cluster-replica-validity-factor`` (a factor
of 0 disables the check; a manual failover ignores it).

1. Schedule: ``auth_time = now + 500 + rand(0..499) + rank * 1000`` where the rank counts
   sibling replicas (without NOFAILOVER) whose gossiped replication offset is greater than
   mine; a manual failover starts at once with rank 0. The siblings get a PONG so they learn
   my offset. Until the request is sent, a rank that worsens adds 1000 ms per step.
2. At ``auth_time`` (unless the attempt is older than ``auth_timeout`` =
   max(2 x node_timeout, 2 s)): ``current_epoch += 1``; that is the election epoch; broadcast
   FAILOVER_AUTH_REQUEST (FORCEACK during a manual failover).
3. ACKs count only from slot-owning masters whose current epoch is >= the election epoch
   (``handle_auth_ack``). With ``size // 2 + 1`` of them I win: my config epoch becomes the
   election epoch, I become a master, take every slot of my old master, and PONG everyone
   (``replace_my_master``). The old master and its other replicas follow me when they see a
   newer config epoch claiming those slots (``gossip.epochs``).
4. An attempt that did not win is retried after ``2 x auth_timeout`` from its start, with a
   new delay and a new epoch.

Timing beyond Redis: the step runs as soon as my master is FAIL (not at the next cron tick),
and ``ClusterState.next_deadline_ms`` wakes the node when the delay runs out, so the request
leaves on time rather than at the next 100 ms tick. The delays themselves are Redis's.

The master side (votes) is ``gossip.vote``; CLUSTER FAILOVER is ``gossip.manual_failover``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from gossip.messages import FailoverAuthRequest, Header, MessageFlag, MessageType, NodeFlag
from gossip.outbox import FailoverEvent
from gossip.ping import broadcast, broadcast_pong, build_header, send_ping

if TYPE_CHECKING:
    from gossip.table import ClusterTable

ELECTION_BASE_DELAY_MS = 500
ELECTION_RANDOM_DELAY_MS = 500
RANK_DELAY_MS = 1000
AUTH_TIMEOUT_MIN_MS = 2000


def auth_timeout_ms(st: ClusterTable) -> int:
    return max(st.config.node_timeout_ms * 2, AUTH_TIMEOUT_MIN_MS)


def replica_rank(st: ClusterTable) -> int:
    """clusterGetSlaveRank: siblings that can fail over and have a greater offset than mine."""
    master = st.master_of(st.myself)
    if master is None:
        return 0
    rank = 0
    for replica_id in master.replicas:
        replica = st.lookup(replica_id)
        if (
            replica is not None
            and replica is not st.myself
            and not replica.flags & NodeFlag.NOFAILOVER
            and replica.repl_offset > st.repl_offset
        ):
            rank += 1
    return rank


def _data_too_old(st: ClusterTable) -> bool:
    cfg = st.config
    data_age = st.repl_data_age_ms
    if data_age > cfg.node_timeout_ms:
        data_age -= cfg.node_timeout_ms
    limit = (
        cfg.repl_ping_replica_period_s * 1000 + cfg.node_timeout_ms * cfg.replica_validity_factor
    )
    return cfg.replica_validity_factor > 0 and data_age > limit


def _cant(st: ClusterTable, reason: str) -> None:
    st.failover.cant_failover_reason = reason


def handle_replica_failover(st: ClusterTable, now_ms: int) -> None:
    """clusterHandleSlaveFailover, step by step as the module docstring."""
    fo = st.failover
    me = st.myself
    master = st.master_of(me)
    manual = fo.mf_end_ms != 0 and fo.mf_can_start
    if (
        me.is_master
        or master is None
        or (not master.failed and not manual)
        or (st.config.replica_no_failover and not manual)
        or master.num_slots == 0
    ):
        _cant(st, "")
        return
    if _data_too_old(st) and not manual:
        _cant(st, "data-age")
        return

    timeout = auth_timeout_ms(st)
    auth_age = now_ms - fo.auth_time_ms
    if auth_age > timeout * 2:
        _schedule(st, now_ms)
        return
    if not fo.auth_sent and fo.mf_end_ms == 0:
        rank = replica_rank(st)
        if rank > fo.auth_rank:
            fo.auth_time_ms += (rank - fo.auth_rank) * RANK_DELAY_MS
            fo.auth_rank = rank
    if now_ms < fo.auth_time_ms:
        _cant(st, "waiting-delay")
        return
    if auth_age > timeout:
        if fo.cant_failover_reason != "expired":
            st.emit(FailoverEvent("election-expired", fo.auth_epoch))
        _cant(st, "expired")
        return
    if not fo.auth_sent:
        _request_votes(st)
        return
    if fo.auth_count >= st.size // 2 + 1:
        if me.config_epoch < fo.auth_epoch:
            me.config_epoch = fo.auth_epoch
        st.emit(FailoverEvent("elected", fo.auth_epoch, me.node_id))
        replace_my_master(st, now_ms)
    else:
        _cant(st, "waiting-votes")


def _schedule(st: ClusterTable, now_ms: int) -> None:
    fo = st.failover
    fo.auth_time_ms = now_ms + ELECTION_BASE_DELAY_MS + st.rng.randrange(ELECTION_RANDOM_DELAY_MS)
    fo.auth_count = 0
    fo.auth_sent = False
    fo.auth_rank = replica_rank(st)
    fo.auth_time_ms += fo.auth_rank * RANK_DELAY_MS
    if fo.mf_end_ms:
        fo.auth_time_ms = now_ms
        fo.auth_rank = 0
        st.todo_handle_failover = True
    delay = fo.auth_time_ms - now_ms
    st.emit(FailoverEvent("election-scheduled", detail=f"rank={fo.auth_rank} delay={delay}"))
    _pong_siblings(st, now_ms)


def _pong_siblings(st: ClusterTable, now_ms: int) -> None:
    """clusterBroadcastPong(CLUSTER_BROADCAST_LOCAL_SLAVES): my offset, to rank fairly."""
    me = st.myself
    for node in list(st.nodes.values()):
        if node is me or node.link is None or node.in_handshake or not node.is_replica:
            continue
        if node.master_id in (me.node_id, me.master_id):
            send_ping(st, st.links[node.link], MessageType.PONG, now_ms)


def _request_votes(st: ClusterTable) -> None:
    """clusterRequestFailoverAuth: a new epoch, then the request to every node."""
    fo = st.failover
    st.current_epoch += 1
    fo.auth_epoch = st.current_epoch
    header = build_header(st)
    if fo.mf_end_ms:
        header = _with_mflags(header, MessageFlag.FORCEACK)
    broadcast(st, FailoverAuthRequest(header))
    fo.auth_sent = True
    st.emit(FailoverEvent("auth-requested", fo.auth_epoch))
    st.mark_save(fsync=True)
    st.mark_update_state()


def _with_mflags(header: Header, flags: MessageFlag) -> Header:
    return replace(header, mflags=header.mflags | flags)


def handle_auth_ack(st: ClusterTable, sender_id: str, sender_current_epoch: int) -> None:
    """FAILOVER_AUTH_ACK: count it if it comes from a slot-owning master of this epoch."""
    sender = st.lookup(sender_id)
    fo = st.failover
    if (
        sender is not None
        and sender.is_master
        and sender.num_slots > 0
        and sender_current_epoch >= fo.auth_epoch
    ):
        fo.auth_count += 1
        st.todo_handle_failover = True


def replace_my_master(st: ClusterTable, now_ms: int) -> None:
    """clusterFailoverReplaceYourMaster: become a master with my old master's slots, then
    tell everyone at once."""
    me = st.myself
    old = st.master_of(me)
    if me.is_master or old is None:
        return
    st.set_node_as_master(me)
    for slot in [s for s, owner in enumerate(st.slots) if owner == old.node_id]:
        st.del_slot(slot)
        st.add_slot(me, slot)
    st.mark_update_state()
    st.mark_save(fsync=True)
    broadcast_pong(st, now_ms)
    st.reset_manual_failover()
