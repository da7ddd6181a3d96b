"""Master side of a failover: whether to vote for a replica (Redis's
clusterSendFailoverAuthIfNeeded).

A master grants its vote to a FAILOVER_AUTH_REQUEST only if all six rules hold, checked in
Redis's order (the first that fails is the reason logged in a "vote-refused" event):

1. I am a master and I own slots ("not-a-voter");
2. the request's current epoch is >= mine ("old-epoch"; my current epoch was already raised
   to the request's by the header, so an equal one passes);
3. I have not voted in my current epoch yet ("already-voted": ``last_vote_epoch``);
4. the requester is a replica, its master is known and FAIL in my view ("master-not-failed";
   a FORCEACK request from a manual failover skips the FAIL part; "not-a-replica");
5. I did not vote for a replica of the same master within 2 x node timeout
   ("voted-recently": ``voted_time_ms`` on that master);
6. no slot the request claims is owned, in my view, by a node with a greater config epoch than
   the request's ("stale-slots": the requester's master config is out of date).

Granting records ``last_vote_epoch = current_epoch`` and the master's ``voted_time_ms``, asks
for an fsynced nodes.conf save (a vote must survive a restart), and sends FAILOVER_AUTH_ACK on
my link to the requester.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gossip.messages import FailoverAuthAck, Header, MessageFlag
from gossip.node import ClusterNode
from gossip.outbox import FailoverEvent
from gossip.ping import build_header
from gossip.slots import bitmap_slots

if TYPE_CHECKING:
    from gossip.table import ClusterTable

VOTE_AGAIN_MULT = 2  # node timeouts before voting again for a replica of the same master


def refusal(st: ClusterTable, requester: ClusterNode, hdr: Header, now_ms: int) -> str:
    """Which rule refuses the vote ("" when it is granted)."""
    me = st.myself
    if me.is_replica or me.num_slots == 0:
        return "not-a-voter"
    if hdr.current_epoch < st.current_epoch:
        return "old-epoch"
    if st.last_vote_epoch == st.current_epoch:
        return "already-voted"
    master = st.master_of(requester)
    if requester.is_master or master is None:
        return "not-a-replica"
    if not master.failed and not hdr.mflags & MessageFlag.FORCEACK:
        return "master-not-failed"
    if now_ms - master.voted_time_ms < st.config.node_timeout_ms * VOTE_AGAIN_MULT:
        return "voted-recently"
    for slot in bitmap_slots(hdr.slots):
        owner = st.lookup(st.slots[slot])
        if owner is not None and owner.config_epoch > hdr.config_epoch:
            return "stale-slots"
    return ""


def handle_auth_request(st: ClusterTable, requester: ClusterNode, hdr: Header, now_ms: int) -> None:
    reason = refusal(st, requester, hdr, now_ms)
    if reason == "not-a-voter":
        return  # replicas and slotless masters ignore requests silently, as Redis
    if reason:
        st.emit(FailoverEvent("vote-refused", st.current_epoch, requester.node_id, reason))
        return
    master = st.master_of(requester)
    assert master is not None
    st.last_vote_epoch = st.current_epoch
    master.voted_time_ms = now_ms
    st.mark_save(fsync=True)
    st.send(requester.link, FailoverAuthAck(build_header(st)))
    st.emit(FailoverEvent("vote-granted", st.current_epoch, requester.node_id))
