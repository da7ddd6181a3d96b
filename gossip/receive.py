"""Processing one bus message (Redis's clusterProcessPacket and clusterProcessGossipSection).

Theory of operation. A message is trusted only as far as its sender is known:

1. Any header from a known, non-handshake sender raises my current epoch to its current epoch,
   and my record of its config epoch to the one it advertises.
2. PING and MEET are always answered with a PONG on the same link. A MEET is the only message
   that adds an unknown sender: it becomes a handshake node (random id), and a MEET (or a PING
   while I have no address) teaches me my own IP from the link's local address.
3. A PONG on my outbound link to a handshake node completes the handshake: the node takes the
   id the PONG announces (or, if that id is already known, the handshake node is dropped and
   the known node's address updated). A PONG whose id does not match a normal node marks that
   node NOADDR. Any PONG on an outbound link clears the pending ping and PFAIL, and may clear
   FAIL (``gossip.failure``).
4. From a known sender: its role (master or replica of ``master_id``), its slot claims (via
   ``gossip.epochs``), an UPDATE back if it claims slots whose owner I know has a higher config
   epoch, config-epoch collision handling, then the gossip section: failure reports from
   masters, fresher pong times, new addresses for unreachable nodes, and nodes I do not know
   (added only from a known sender, never with NOADDR, never while FORGET bans the id).
5. FAIL (from a known sender) is applied; UPDATE rebinds slots if it is newer; PUBLISH is
   handed to the node; FAILOVER_AUTH_REQUEST goes to ``gossip.vote``, FAILOVER_AUTH_ACK to
   ``gossip.election``, MFSTART (and the PAUSED flag of my master's messages) to
   ``gossip.manual_failover``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gossip import election, epochs, failure, manual_failover, vote
from gossip.messages import (
    Fail,
    FailoverAuthAck,
    FailoverAuthRequest,
    Header,
    Meet,
    Message,
    MessageType,
    MfStart,
    NodeFlag,
    Ping,
    Pong,
    Publish,
    PublishShard,
    Update,
)
from gossip.node import ClusterNode, Link, random_node_id
from gossip.outbox import MyAddressChanged, MyMasterChanged, NodePfailCleared, PublishReceived
from gossip.ping import send_ping, send_update
from gossip.slots import bitmap_slots_outside

if TYPE_CHECKING:
    from gossip.table import ClusterTable

PONG_TIME_TOLERANCE_MS = 500  # accept gossiped pong times at most this far in my future
_FAILING = NodeFlag.PFAIL | NodeFlag.FAIL
_ROLE = NodeFlag.MASTER | NodeFlag.REPLICA
_NEVER_FROM_GOSSIP = NodeFlag.MYSELF | NodeFlag.MEET | NodeFlag.HANDSHAKE


def process_message(st: ClusterTable, link_id: int, msg: Message, now_ms: int) -> None:
    link = st.links.get(link_id)
    if link is None:
        return  # the core already dropped this link; late data
    st.stats_received[msg.TYPE] += 1
    hdr = msg.header
    sender = st.nodes.get(hdr.sender)
    if sender is not None:
        if link.inbound and link.node_id is None:
            st.attach_inbound(link, sender)
        sender.data_received_ms = now_ms
        if not sender.in_handshake:
            _update_epochs(st, sender, hdr)
            manual_failover.note_master_paused(st, sender, hdr)

    if isinstance(msg, Ping | Meet):
        _answer_ping(st, link, msg, sender, now_ms)
    if isinstance(msg, Ping | Pong | Meet):
        _process_config(st, link, msg, sender, now_ms)
    elif sender is None:
        return  # every other type needs a known sender
    elif isinstance(msg, Fail):
        failing = st.nodes.get(msg.node_id)
        if failing is not None:
            failure.apply_fail_message(st, failing, sender.node_id, now_ms)
    elif isinstance(msg, Update):
        _process_update(st, msg)
    elif isinstance(msg, Publish | PublishShard):
        shard = msg.TYPE is MessageType.PUBLISHSHARD
        st.emit(PublishReceived(msg.channel, msg.message, shard))
    elif isinstance(msg, FailoverAuthRequest):
        vote.handle_auth_request(st, sender, hdr, now_ms)
    elif isinstance(msg, FailoverAuthAck):
        election.handle_auth_ack(st, sender.node_id, hdr.current_epoch)
    elif isinstance(msg, MfStart):
        manual_failover.handle_mfstart(st, sender, link, now_ms)
    # MODULE: counted and ignored (no modules).


def _update_epochs(st: ClusterTable, sender: ClusterNode, hdr: Header) -> None:
    if hdr.current_epoch > st.current_epoch:
        st.current_epoch = hdr.current_epoch
    if hdr.config_epoch > sender.config_epoch:
        sender.config_epoch = hdr.config_epoch
        st.mark_save(fsync=True)
    sender.repl_offset = hdr.repl_offset


def _answer_ping(
    st: ClusterTable, link: Link, msg: Ping | Meet, sender: ClusterNode | None, now_ms: int
) -> None:
    me = st.myself
    is_meet = isinstance(msg, Meet)
    if (is_meet or not me.ip) and not st.config.announce_ip and link.local_ip:
        if link.local_ip != me.ip:
            me.ip = link.local_ip
            st.emit(MyAddressChanged(me.ip))
            st.mark_save()
    if sender is None and is_meet:
        hdr = msg.header
        node = ClusterNode(random_node_id(st.rng), NodeFlag.HANDSHAKE, ctime_ms=now_ms)
        node.ip, node.port, node.cport = hdr.ip or link.peer_ip, hdr.port, hdr.cport
        st.add_node(node)
        st.mark_save()
        _process_gossip(st, link, msg, now_ms)  # MEET's gossip is trusted by its type
    send_ping(st, link, MessageType.PONG, now_ms)


def _process_config(
    st: ClusterTable, link: Link, msg: Ping | Pong | Meet, sender: ClusterNode | None, now_ms: int
) -> None:
    hdr = msg.header
    if not link.inbound and not _check_outbound_identity(st, link, hdr, sender):
        return
    if sender is not None:
        sender.flags = (sender.flags & ~NodeFlag.NOFAILOVER) | (hdr.flags & NodeFlag.NOFAILOVER)
        if sender.hostname != hdr.hostname:
            sender.hostname = hdr.hostname
            st.mark_save()
        if isinstance(msg, Ping) and not sender.in_handshake:
            if update_address_if_needed(st, sender, link, hdr):
                st.mark_save()
                st.mark_update_state()
    if not link.inbound and isinstance(msg, Pong):
        _pong_received(st, link, now_ms)
    if sender is None:
        return
    _update_role(st, sender, hdr)
    _update_slots(st, sender, hdr)
    me = st.myself
    if me.is_master and sender.is_master and hdr.config_epoch == me.config_epoch:
        epochs.handle_config_epoch_collision(st, sender)
    _process_gossip(st, link, msg, now_ms)


def _check_outbound_identity(
    st: ClusterTable, link: Link, hdr: Header, sender: ClusterNode | None
) -> bool:
    """Handshake completion or id mismatch on my outbound link; False stops processing."""
    node = st.lookup(link.node_id)
    if node is None:
        return True
    if node.in_handshake:
        if sender is not None:
            # Already known under its real id: keep that one, refresh its address.
            if update_address_if_needed(st, sender, link, hdr):
                st.mark_save()
                st.mark_update_state()
            st.del_node(node, "duplicate")
            return False
        st.rename_node(node, hdr.sender)
        node.flags = (node.flags & ~NodeFlag.HANDSHAKE) | (hdr.flags & _ROLE)
        st.mark_save()
    elif node.node_id != hdr.sender:
        # Someone else answers at this address now: we no longer know where the node is.
        node.flags |= NodeFlag.NOADDR
        node.ip, node.port, node.cport = "", 0, 0
        st.free_link(link.link_id)
        st.mark_save()
        return False
    return True


def _pong_received(st: ClusterTable, link: Link, now_ms: int) -> None:
    node = st.lookup(link.node_id)
    if node is None:
        return
    node.pong_received_ms = now_ms
    node.ping_sent_ms = 0
    if node.timed_out:
        node.flags &= ~NodeFlag.PFAIL
        st.emit(NodePfailCleared(node.node_id))
        st.mark_save()
        st.mark_update_state()
    elif node.failed:
        failure.clear_node_failure_if_needed(st, node, now_ms)


def update_address_if_needed(st: ClusterTable, node: ClusterNode, link: Link, hdr: Header) -> bool:
    """nodeUpdateAddressIfNeeded: a node reachable at a new address; reconnect to it."""
    if link.link_id == node.link or node is st.myself:
        return False
    ip = hdr.ip or link.peer_ip
    if (node.ip, node.port, node.cport) == (ip, hdr.port, hdr.cport):
        return False
    node.ip, node.port, node.cport = ip, hdr.port, hdr.cport
    if node.link is not None:
        st.free_link(node.link)
    node.flags &= ~NodeFlag.NOADDR
    if st.myself.master_id == node.node_id:
        st.emit(MyMasterChanged(node.node_id, node.ip, node.port))  # replicate from there now
    return True


def _update_role(st: ClusterTable, sender: ClusterNode, hdr: Header) -> None:
    if hdr.master_id is None:
        st.set_node_as_master(sender)
        return
    master = st.nodes.get(hdr.master_id)
    if sender.is_master:
        # A master turned into a replica: it no longer serves slots.
        st.del_node_slots(sender)
        sender.flags = (sender.flags & ~(NodeFlag.MASTER | NodeFlag.MIGRATE_TO)) | NodeFlag.REPLICA
        st.mark_save()
        st.mark_update_state()
    if master is not None and sender.master_id != master.node_id:
        old = st.master_of(sender)
        if old is not None:
            st.remove_replica(old, sender)
        st.add_replica(master, sender)
        sender.master_id = master.node_id
        st.mark_save()


def _update_slots(st: ClusterTable, sender: ClusterNode, hdr: Header) -> None:
    sender_master = sender if sender.is_master else st.master_of(sender)
    if sender_master is None or bytes(sender_master.slot_bitmap) == hdr.slots:
        return
    if sender.is_master:
        epochs.update_slots_config_with(st, sender, hdr.config_epoch, hdr.slots)
    # The reverse: it claims slots I know belong to a node with a newer config. Tell it.
    for slot in bitmap_slots_outside(hdr.slots, sender.slot_bitmap):
        owner = st.lookup(st.slots[slot])
        if owner is None or owner is sender:
            continue
        if owner.config_epoch > hdr.config_epoch:
            send_update(st, sender.link, owner)
            break


def _process_update(st: ClusterTable, msg: Update) -> None:
    node = st.nodes.get(msg.node_id)
    if node is None or node.config_epoch >= msg.config_epoch:
        return
    if node.is_replica:
        st.set_node_as_master(node)
    node.config_epoch = msg.config_epoch
    st.mark_save(fsync=True)
    epochs.update_slots_config_with(st, node, msg.config_epoch, msg.slots)


def _process_gossip(st: ClusterTable, link: Link, msg: Ping | Pong | Meet, now_ms: int) -> None:
    sender = st.lookup(link.node_id) or st.nodes.get(msg.header.sender)
    for g in msg.gossip:
        node = st.nodes.get(g.node_id)
        if node is None:
            if (
                sender is not None
                and not g.flags & NodeFlag.NOADDR
                and not st.blacklisted(g.node_id, now_ms)
            ):
                new = ClusterNode(g.node_id, g.flags & ~_NEVER_FROM_GOSSIP, ctime_ms=now_ms)
                new.ip, new.port, new.cport = g.ip, g.port, g.cport
                st.add_node(new)
                st.mark_save()
            continue
        if sender is not None and sender.is_master and node is not st.myself:
            if g.flags & _FAILING:
                failure.add_failure_report(node, sender, now_ms)
                failure.mark_node_as_failing_if_needed(st, node, now_ms)
            else:
                failure.remove_failure_report(st, node, sender, now_ms)
        if (
            not g.flags & _FAILING
            and node.ping_sent_ms == 0
            and failure.failure_reports_count(st, node, now_ms) == 0
            and node.pong_received_ms < g.pong_received_ms <= now_ms + PONG_TIME_TOLERANCE_MS
        ):
            node.pong_received_ms = g.pong_received_ms
        if (
            node.flags & _FAILING
            and not g.flags & (NodeFlag.NOADDR | _FAILING)
            and (node.ip, node.port, node.cport) != (g.ip, g.port, g.cport)
        ):
            # Others reach it at another address: try that one.
            if node.link is not None:
                st.free_link(node.link)
            node.ip, node.port, node.cport = g.ip, g.port, g.cport
            node.flags &= ~NodeFlag.NOADDR
