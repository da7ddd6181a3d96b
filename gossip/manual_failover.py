"""CLUSTER FAILOVER [FORCE|TAKEOVER] (Redis's manual failover, both sides).

Theory of operation (cluster.c: clusterCommand "failover", clusterHandleManualFailover,
manualFailoverCheckTimeout, the MFSTART and PAUSED handling in clusterProcessPacket):

- Default, on a replica: ``mf_end = now + 5 s`` and MFSTART to my master. The master, on
  MFSTART from one of its replicas, pauses client writes for 10 s (``ManualFailoverPause``),
  remembers that replica and pings it every tick; every message it sends while ``mf_end`` is
  set carries the PAUSED flag and its (now frozen) replication offset. The replica records the
  first PAUSED offset it sees from its master and, once its own offset equals it, may start:
  an undelayed election whose request carries FORCEACK (masters vote though the master is not
  FAIL). No acknowledged write is lost: the master stopped taking writes before the offset the
  replica waited for.
- FORCE: no handshake with the master (it may be down): the election starts at once, still
  needing the masters' votes.
- TAKEOVER: no votes at all: a config epoch without consensus, then take the slots and PONG
  everyone (the old master follows when it sees the newer epoch).
- Either side gives up when ``mf_end`` passes (5 s): the master lifts its pause.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gossip import errors as E
from gossip.election import replace_my_master
from gossip.epochs import bump_config_epoch_without_consensus
from gossip.messages import Header, MessageFlag, MessageType, MfStart
from gossip.node import ClusterNode, Link
from gossip.outbox import FailoverEvent, ManualFailoverPause
from gossip.ping import build_header, send_ping

if TYPE_CHECKING:
    from gossip.table import ClusterTable

MF_TIMEOUT_MS = 5000  # CLUSTER_MF_TIMEOUT
MF_PAUSE_MULT = 2  # CLUSTER_MF_PAUSE_MULT: the master pauses writes for 10 s


def start(st: ClusterTable, mode: str, now_ms: int) -> None:
    """``mode`` is "", "force" or "takeover" (already validated by the handler)."""
    me = st.myself
    if me.is_master:
        raise E.ClusterCommandError(E.FAILOVER_ON_MASTER)
    master = st.master_of(me)
    if master is None:
        raise E.ClusterCommandError(E.FAILOVER_MASTER_UNKNOWN)
    if not mode and (master.failed or master.link is None):
        raise E.ClusterCommandError(E.FAILOVER_MASTER_DOWN)
    st.reset_manual_failover()
    fo = st.failover
    fo.mf_end_ms = now_ms + MF_TIMEOUT_MS
    st.emit(FailoverEvent("manual-started", detail=mode or "default"))
    if mode == "takeover":
        bump_config_epoch_without_consensus(st)
        st.emit(FailoverEvent("takeover", me.config_epoch, me.node_id))
        replace_my_master(st, now_ms)
    elif mode == "force":
        fo.mf_can_start = True
        st.todo_handle_failover = True
    else:
        st.send(master.link, MfStart(build_header(st)))


def handle_mfstart(st: ClusterTable, sender: ClusterNode, link: Link, now_ms: int) -> None:
    """Master side: one of my replicas asks me to pause so it can catch up."""
    if sender.master_id != st.myself.node_id:
        return
    st.reset_manual_failover()
    fo = st.failover
    fo.mf_end_ms = now_ms + MF_TIMEOUT_MS
    fo.mf_replica = sender.node_id
    st.emit(ManualFailoverPause(now_ms + MF_TIMEOUT_MS * MF_PAUSE_MULT))
    st.emit(FailoverEvent("manual-requested", node_id=sender.node_id))
    send_ping(st, link, MessageType.PING, now_ms)


def paused_header_flags(st: ClusterTable) -> MessageFlag:
    """PAUSED while I am a master serving a manual failover (clusterBuildMessageHdr)."""
    if st.myself.is_master and st.failover.mf_end_ms:
        return MessageFlag.PAUSED
    return MessageFlag(0)


def note_master_paused(st: ClusterTable, sender: ClusterNode, hdr: Header) -> None:
    """Replica side: the first PAUSED message from my master gives the offset to reach."""
    fo = st.failover
    me = st.myself
    if (
        fo.mf_end_ms
        and me.is_replica
        and me.master_id == sender.node_id
        and hdr.mflags & MessageFlag.PAUSED
        and fo.mf_master_offset == -1
    ):
        fo.mf_master_offset = hdr.repl_offset
        st.todo_handle_manual_failover = True


def handle_manual_failover(st: ClusterTable, now_ms: int) -> None:
    """clusterHandleManualFailover: start once my offset reached the paused master's."""
    fo = st.failover
    if fo.mf_end_ms == 0 or fo.mf_can_start or fo.mf_master_offset == -1:
        return
    if fo.mf_master_offset == st.repl_offset:
        fo.mf_can_start = True
        st.emit(FailoverEvent("manual-ready", detail=f"offset={st.repl_offset}"))
        st.todo_handle_failover = True


def check_timeout(st: ClusterTable, now_ms: int) -> None:
    """manualFailoverCheckTimeout, every tick."""
    fo = st.failover
    if fo.mf_end_ms and fo.mf_end_ms < now_ms:
        st.emit(FailoverEvent("manual-aborted"))
        st.reset_manual_failover()


def ping_paused_replica(st: ClusterTable, node: ClusterNode, now_ms: int) -> bool:
    """A master in a manual failover pings the replica every tick (True if it did)."""
    fo = st.failover
    if fo.mf_end_ms and st.myself.is_master and fo.mf_replica == node.node_id and node.link:
        send_ping(st, st.links[node.link], MessageType.PING, now_ms)
        return True
    return False
