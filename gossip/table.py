"""The node table, slot table and links, with the primitives that keep them consistent.

``ClusterTable`` is Redis's ``clusterState`` plus the small clusterNode helpers (add/delete/
rename a node, bind/unbind a slot, attach a replica, open/free a link). It decides nothing
about the protocol: ``gossip.receive``, ``gossip.cron``, ``gossip.failure``, ``gossip.epochs``
and ``gossip.admin`` make decisions through these primitives, and ``ClusterState`` (the public
API) subclasses it. Invariants kept here:

- ``slots[s] == node.node_id`` exactly when bit ``s`` is set in ``node.slot_bitmap``, and
  ``node.num_slots`` counts those bits;
- ``node.master_id`` names a node whose ``replicas`` list contains ``node.node_id`` (or a
  master we do not know yet); deleting a master clears its replicas' ``master_id``;
- ``node.link`` / ``node.inbound_link`` name live entries of ``links``.

Work that Redis defers to ``clusterBeforeSleep`` (an election or manual failover step, recompute
the cluster state, save nodes.conf) is flagged here with ``todo_*`` and done once by
``gossip.before_sleep`` at the end of every public call of ``ClusterState``. This module is the
bottom of the rules: it imports no module that decides (election, health, manual failover...),
those modules call these primitives.
"""

from __future__ import annotations

import random

from gossip.config import GossipConfig
from gossip.failover_state import FailoverState
from gossip.messages import MESSAGE_TYPE_COUNT, Message, NodeFlag
from gossip.node import ClusterNode, Link, random_node_id
from gossip.outbox import (
    Connect,
    Disconnect,
    ManualFailoverPause,
    MyMasterChanged,
    NodeAdded,
    NodeRemoved,
    NodeRenamed,
    Output,
    PromotedToMaster,
    RoleChanged,
    SaveConfig,
    Send,
    SlotsChanged,
)
from gossip.slots import CLUSTER_SLOTS, bitmap_clear, bitmap_set, bitmap_slots

BLACKLIST_TTL_MS = 60_000  # CLUSTER_BLACKLIST_TTL: a forgotten node stays out for 60 s


class ClusterTable:
    def __init__(
        self,
        config: GossipConfig,
        rng: random.Random,
        now_ms: int,
        *,
        node_id: str | None = None,
    ) -> None:
        self.config = config
        self.rng = rng
        self.nodes: dict[str, ClusterNode] = {}
        self.current_epoch = 0
        self.last_vote_epoch = 0  # the epoch of my last vote (gossip.vote)
        self.slots: list[str | None] = [None] * CLUSTER_SLOTS
        self.migrating_to: dict[int, str] = {}
        self.importing_from: dict[int, str] = {}
        self.state_ok = False
        self.size = 1  # masters serving slots; Redis starts at 1 until the first state update
        self.repl_offset = 0  # myself's replication offset, set by the replication layer
        # ms since my master link was last usable (replicas; set by the replication layer)
        self.repl_data_age_ms = 0
        self.failover = FailoverState()  # my election and manual failover (gossip.election)
        self.todo_handle_failover = False
        self.todo_handle_manual_failover = False
        self.early_wake_for = 0  # the election request time an early tick was spent on
        self.blacklist: dict[str, int] = {}  # node id -> expiry unix ms
        self.links: dict[int, Link] = {}
        self.stats_sent = [0] * MESSAGE_TYPE_COUNT
        self.stats_received = [0] * MESSAGE_TYPE_COUNT
        self.cron_iteration = 0
        self.next_tick_ms = now_ms
        self.first_update_ms: int | None = None
        self.among_minority_ms = 0
        self.todo_update_state = True
        self.todo_save_config = True  # a fresh node saves its config at once, as Redis
        self.todo_fsync = True
        self._slots_dirty = False
        self._next_link_id = 1
        self._outbox: list[Output] = []
        me = ClusterNode(
            node_id or random_node_id(rng), NodeFlag.MYSELF | NodeFlag.MASTER, ctime_ms=now_ms
        )
        self.myself = me
        self.nodes[me.node_id] = me
        self.apply_config(config)

    def apply_config(self, config: GossipConfig) -> None:
        """Myself's announced port, bus port, hostname and (when announced) ip."""
        self.config = config
        me = self.myself
        me.port, me.cport, me.hostname = config.port, config.cport, config.hostname
        if config.announce_ip:
            me.ip = config.announce_ip
        if config.replica_no_failover:
            me.flags |= NodeFlag.NOFAILOVER
        else:
            me.flags &= ~NodeFlag.NOFAILOVER

    # ------------------------------------------------------------------------ outbox

    def emit(self, output: Output) -> None:
        self._outbox.append(output)

    def drain(self) -> list[Output]:
        """Everything the core produced since the last drain, in order."""
        out, self._outbox = self._outbox, []
        return out

    def send(self, link_id: int | None, message: Message) -> None:
        """Queue ``message`` on a link, counting it as Redis's clusterSendMessage does."""
        if link_id is None or link_id not in self.links:
            return
        self.stats_sent[message.TYPE] += 1
        self._outbox.append(Send(link_id, message))

    def mark_save(self, *, fsync: bool = False) -> None:
        self.todo_save_config = True
        self.todo_fsync = self.todo_fsync or fsync

    def mark_update_state(self) -> None:
        self.todo_update_state = True

    def emit_deferred(self) -> None:
        """Emit the ``SlotsChanged`` and ``SaveConfig`` that primitives flagged since the last
        call, once each (the tail of clusterBeforeSleep, see ``gossip.before_sleep``)."""
        if self._slots_dirty:
            self._slots_dirty = False
            self.emit(SlotsChanged())
        if self.todo_save_config:
            self.emit(SaveConfig(fsync=self.todo_fsync))
            self.todo_save_config = self.todo_fsync = False

    # ----------------------------------------------------------------------- lookups

    def lookup(self, node_id: str | None) -> ClusterNode | None:
        return None if node_id is None else self.nodes.get(node_id)

    def master_of(self, node: ClusterNode) -> ClusterNode | None:
        return self.nodes.get(node.master_id) if node.master_id else None

    def effective_config_epoch(self, node: ClusterNode) -> int:
        """A replica reports its master's config epoch (CLUSTER NODES, CLUSTER INFO)."""
        master = self.master_of(node) if node.is_replica else None
        return master.config_epoch if master is not None else node.config_epoch

    def max_epoch(self) -> int:
        """clusterGetMaxEpoch: the greatest config epoch known, or the current epoch."""
        return max(self.current_epoch, *(n.config_epoch for n in self.nodes.values()))

    # ------------------------------------------------------------------------- nodes

    def add_node(self, node: ClusterNode) -> None:
        self.nodes[node.node_id] = node
        self.emit(NodeAdded(node.node_id, node.in_handshake))

    def del_node(self, node: ClusterNode, reason: str) -> None:
        """clusterDelNode: unbind its slots, drop reports it made, free it and its links."""
        node_id = node.node_id
        for table in (self.importing_from, self.migrating_to):
            for slot in [s for s, owner in table.items() if owner == node_id]:
                del table[slot]
                self._slots_dirty = True
        self.del_node_slots(node)
        for other in self.nodes.values():
            other.failure_reports.pop(node_id, None)
        for link in [lk for lk in self.links.values() if lk.node_id == node_id]:
            self.free_link(link.link_id)
        master = self.master_of(node)
        if master is not None and node_id in master.replicas:
            master.replicas.remove(node_id)
        for replica_id in node.replicas:
            replica = self.nodes.get(replica_id)
            if replica is not None:
                replica.master_id = None
        del self.nodes[node_id]
        self.emit(NodeRemoved(node_id, reason))

    def rename_node(self, node: ClusterNode, new_id: str) -> None:
        """clusterRenameNode: a handshake node takes the id its first PONG announced."""
        old_id = node.node_id
        del self.nodes[old_id]
        node.node_id = new_id
        self.nodes[new_id] = node
        for link in self.links.values():
            if link.node_id == old_id:
                link.node_id = new_id
        self.emit(NodeRenamed(old_id, new_id))

    def add_replica(self, master: ClusterNode, replica: ClusterNode) -> None:
        if replica.node_id not in master.replicas:
            master.replicas.append(replica.node_id)
        if master.replicas:
            master.flags |= NodeFlag.MIGRATE_TO

    def remove_replica(self, master: ClusterNode, replica: ClusterNode) -> None:
        if replica.node_id in master.replicas:
            master.replicas.remove(replica.node_id)

    def set_node_as_master(self, node: ClusterNode) -> None:
        """clusterSetNodeAsMaster: ``node`` (a replica in my view) is now a master."""
        if node.is_master:
            return
        master = self.master_of(node)
        if master is not None:
            self.remove_replica(master, node)
            if node is not self.myself:
                node.flags |= NodeFlag.MIGRATE_TO
        node.flags = (node.flags & ~NodeFlag.REPLICA) | NodeFlag.MASTER
        node.master_id = None
        self.mark_save()
        self.mark_update_state()
        if node is self.myself:
            self.emit(RoleChanged(None))
            self.emit(PromotedToMaster())

    def set_my_master(self, master: ClusterNode) -> None:
        """clusterSetMaster: myself becomes a replica of ``master``."""
        me = self.myself
        if me.is_master:
            me.flags = (me.flags & ~(NodeFlag.MASTER | NodeFlag.MIGRATE_TO)) | NodeFlag.REPLICA
            self.close_all_slots()
        else:
            old = self.master_of(me)
            if old is not None:
                self.remove_replica(old, me)
        me.master_id = master.node_id
        self.add_replica(master, me)
        self.emit(RoleChanged(master.node_id))
        self.emit(MyMasterChanged(master.node_id, master.ip, master.port))
        self.reset_manual_failover()

    def reset_manual_failover(self) -> None:
        """resetManualFailover: forget any manual failover; a master that paused its clients
        for one lifts the pause, whatever the outcome."""
        mf = self.failover
        if mf.mf_replica is not None:
            self.emit(ManualFailoverPause(0))
        mf.mf_end_ms = 0
        mf.mf_can_start = False
        mf.mf_replica = None
        mf.mf_master_offset = -1

    # ------------------------------------------------------------------------- slots

    def add_slot(self, node: ClusterNode, slot: int) -> bool:
        if self.slots[slot] is not None:
            return False
        bitmap_set(node.slot_bitmap, slot)
        node.num_slots += 1
        self.slots[slot] = node.node_id
        self._slots_dirty = True
        return True

    def del_slot(self, slot: int) -> bool:
        owner = self.lookup(self.slots[slot])
        if owner is None:
            return False
        bitmap_clear(owner.slot_bitmap, slot)
        owner.num_slots -= 1
        self.slots[slot] = None
        self._slots_dirty = True
        return True

    def del_node_slots(self, node: ClusterNode) -> int:
        """clusterDelNodeSlots: unbind every slot ``node`` owns; returns how many."""
        owned = bitmap_slots(node.slot_bitmap)
        for slot in owned:
            self.del_slot(slot)
        return len(owned)

    def close_all_slots(self) -> None:
        """clusterCloseAllSlots: forget every MIGRATING/IMPORTING entry."""
        if self.migrating_to or self.importing_from:
            self._slots_dirty = True
        self.migrating_to.clear()
        self.importing_from.clear()

    def touch_slots(self) -> None:
        self._slots_dirty = True

    # ------------------------------------------------------------------------- links

    def _new_link(
        self, inbound: bool, node_id: str | None, peer_ip: str, local_ip: str, now_ms: int
    ) -> Link:
        link = Link(self._next_link_id, inbound, node_id, peer_ip, local_ip, now_ms)
        self._next_link_id += 1
        self.links[link.link_id] = link
        return link

    def open_link(self, node: ClusterNode, now_ms: int) -> None:
        link = self._new_link(False, node.node_id, node.ip, "", now_ms)
        node.link = link.link_id
        self.emit(Connect(link.link_id, node.node_id, node.ip, node.cport))

    def accept_link(self, peer_ip: str, local_ip: str, now_ms: int) -> int:
        link = self._new_link(True, None, peer_ip, local_ip, now_ms)
        link.up = True
        return link.link_id

    def attach_inbound(self, link: Link, node: ClusterNode) -> None:
        """setClusterNodeToInboundClusterLink: a known sender now owns this inbound link."""
        link.node_id = node.node_id
        node.inbound_link = link.link_id

    def forget_link(self, link_id: int) -> Link | None:
        """Remove a link from the tables (no effect emitted) and detach it from its node."""
        link = self.links.pop(link_id, None)
        if link is None:
            return None
        node = self.lookup(link.node_id)
        if node is not None:
            if node.link == link_id:
                node.link = None
            if node.inbound_link == link_id:
                node.inbound_link = None
        return link

    def free_link(self, link_id: int) -> None:
        """freeClusterLink: forget the link and tell the driver to close it."""
        if self.forget_link(link_id) is not None:
            self.emit(Disconnect(link_id))

    # --------------------------------------------------------------------- blacklist

    def _blacklist_cleanup(self, now_ms: int) -> None:
        for node_id in [n for n, expire in self.blacklist.items() if expire < now_ms]:
            del self.blacklist[node_id]

    def blacklist_add(self, node_id: str, now_ms: int) -> None:
        self._blacklist_cleanup(now_ms)
        self.blacklist[node_id] = now_ms + BLACKLIST_TTL_MS

    def blacklisted(self, node_id: str, now_ms: int) -> bool:
        self._blacklist_cleanup(now_ms)
        return node_id in self.blacklist
