"""Epochs and slot ownership: who wins a slot, and how config epochs stay unique.

Theory of operation (cluster-spec "Epochs", Redis's cluster.c):

- ``current_epoch`` is a Lamport clock: any header with a larger one raises mine
  (``gossip.receive``). A node's ``config_epoch`` versions its slot claims; a larger advertised
  config epoch replaces my record of the sender's.
- ``update_slots_config_with`` is "last failover wins": when a master (or an UPDATE about one)
  claims slots that my table gives to someone else, I rebind each claimed slot that is unbound
  or whose owner has a *smaller* config epoch, never touching slots I am IMPORTING. If that took
  the last slot of my master (or of me), I follow the new owner as its replica; if I lost only
  some of my slots, their keys must go.
- Two masters with the same config epoch: the one with the lexicographically smaller id takes
  ``current_epoch + 1`` (``handle_config_epoch_collision``), so epochs end up unique.
- ``bump_config_epoch_without_consensus`` (BUMPEPOCH, SETSLOT NODE closing an import) takes a
  new epoch only if mine is 0 or not already the maximum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gossip.node import ClusterNode
from gossip.outbox import ConfigEpochChanged, DeleteKeysInSlots
from gossip.slots import bitmap_count, bitmap_slots_outside

if TYPE_CHECKING:
    from gossip.table import ClusterTable


def update_slots_config_with(
    st: ClusterTable, sender: ClusterNode, sender_config_epoch: int, claimed: bytes
) -> None:
    """clusterUpdateSlotsConfigWith: rebind the slots ``sender`` claims where it is newer."""
    me = st.myself
    if sender is me:
        return  # "Discarding UPDATE message about myself."
    curmaster = me if me.is_master else st.master_of(me)
    new_master: ClusterNode | None = None
    dirty: list[int] = []
    sender_slots = bitmap_count(claimed)
    migrated_ours = 0
    # The slots already bound to the sender change nothing: walk only the others.
    for slot in bitmap_slots_outside(claimed, sender.slot_bitmap):
        owner = st.lookup(st.slots[slot])
        if owner is sender or slot in st.importing_from:
            continue
        if owner is None or owner.config_epoch < sender_config_epoch:
            if owner is me:
                dirty.append(slot)
            if owner is not None and owner is curmaster:
                new_master = sender
                migrated_ours += 1
            st.del_slot(slot)
            st.add_slot(sender, slot)
            st.mark_save(fsync=True)
            st.mark_update_state()

    my_master = st.master_of(me)
    if (
        new_master is not None
        and curmaster is not None
        and curmaster.num_slots == 0
        and (st.config.allow_replica_migration or sender_slots == migrated_ours)
    ):
        # Failed over (or every slot moved away): follow the node that took them.
        st.set_my_master(new_master)
        st.mark_save(fsync=True)
        st.mark_update_state()
    elif my_master is not None and my_master.master_id and my_master.master_id != me.node_id:
        # My master became a replica: no sub-replicas, follow its master.
        grand = st.master_of(my_master)
        if grand is not None:
            st.set_my_master(grand)
            st.mark_save(fsync=True)
            st.mark_update_state()
    elif dirty:
        st.emit(DeleteKeysInSlots(tuple(dirty)))


def handle_config_epoch_collision(st: ClusterTable, sender: ClusterNode) -> None:
    """clusterHandleConfigEpochCollision: the smaller id moves to a fresh epoch."""
    me = st.myself
    if sender.config_epoch != me.config_epoch or not sender.is_master or not me.is_master:
        return
    if sender.node_id <= me.node_id:
        return  # the sender has the smaller id: it is the one to move
    st.current_epoch += 1
    me.config_epoch = st.current_epoch
    st.mark_save(fsync=True)
    st.emit(ConfigEpochChanged(me.config_epoch, "collision"))


def bump_config_epoch_without_consensus(st: ClusterTable) -> bool:
    """clusterBumpConfigEpochWithoutConsensus: True if myself took a new config epoch."""
    me = st.myself
    if me.config_epoch != 0 and me.config_epoch == st.max_epoch():
        return False
    st.current_epoch += 1
    me.config_epoch = st.current_epoch
    st.mark_save(fsync=True)
    st.emit(ConfigEpochChanged(me.config_epoch, "bump"))
    return True
