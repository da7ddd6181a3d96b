"""CLUSTER subcommands that change the table: MEET, ADDSLOTS/DELSLOTS(RANGE), FLUSHSLOTS,
SETSLOT, FORGET, RESET, SET-CONFIG-EPOCH, BUMPEPOCH, REPLICATE.

Each function checks in Redis 7.0's order and raises ``ClusterCommandError`` with Redis's
exact text before changing anything, so a refused command leaves the table untouched. What only
the node knows (keys in a slot, an empty keyspace) comes in as arguments.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from gossip import errors as E
from gossip.epochs import bump_config_epoch_without_consensus
from gossip.failure import failure_reports_count
from gossip.messages import NodeFlag
from gossip.node import ClusterNode, random_node_id
from gossip.outbox import ConfigEpochChanged, FlushAllData, NodeRenamed
from gossip.ping import broadcast_pong
from gossip.slots import CLUSTER_SLOTS, parse_slot

if TYPE_CHECKING:
    from gossip.table import ClusterTable

SlotArg = int | str | bytes


def _err(template: str, **fields: object) -> E.ClusterCommandError:
    return E.ClusterCommandError(template.format(**fields))


def node_arg(node_id: str | bytes) -> str:
    return node_id.decode("utf-8", "surrogateescape") if isinstance(node_id, bytes) else node_id


def meet(st: ClusterTable, ip: str, port: int, cport: int, now_ms: int) -> None:
    """clusterStartHandshake: a handshake node that will MEET ``ip:cport`` on the next tick."""
    try:
        norm = str(ipaddress.ip_address(ip))
    except ValueError:
        norm = ""
    if not norm or not 0 < port <= 65535 or not 0 < cport <= 65535:
        raise _err(E.INVALID_NODE_ADDRESS, ip=ip, port=port)
    for node in st.nodes.values():
        if node.in_handshake and (node.ip, node.port, node.cport) == (norm, port, cport):
            return  # already in progress: Redis replies OK
    node = ClusterNode(random_node_id(st.rng), NodeFlag.HANDSHAKE | NodeFlag.MEET, ctime_ms=now_ms)
    node.ip, node.port, node.cport = norm, port, cport
    st.add_node(node)


def _check_assignment(
    st: ClusterTable, seen: bytearray, delete: bool, start: int, end: int
) -> None:
    """checkSlotAssignmentsOrReply, for one range."""
    for slot in range(start, end + 1):
        if delete and st.slots[slot] is None:
            raise _err(E.SLOT_UNASSIGNED, slot=slot)
        if not delete and st.slots[slot] is not None:
            raise _err(E.SLOT_BUSY, slot=slot)
        if seen[slot]:
            raise _err(E.SLOT_TWICE, slot=slot)
        seen[slot] = 1


def _apply_assignment(st: ClusterTable, seen: bytearray, delete: bool) -> None:
    """clusterUpdateSlots: taking or dropping a slot also ends any import of it."""
    for slot in range(CLUSTER_SLOTS):
        if seen[slot]:
            st.importing_from.pop(slot, None)
            if delete:
                st.del_slot(slot)
            else:
                st.add_slot(st.myself, slot)
    st.mark_update_state()
    st.mark_save()


def assign_slots(st: ClusterTable, slots: Iterable[SlotArg], delete: bool) -> None:
    """ADDSLOTS / DELSLOTS: every argument is parsed before any is checked, as Redis."""
    parsed = [parse_slot(s) for s in slots]
    seen = bytearray(CLUSTER_SLOTS)
    for slot in parsed:
        _check_assignment(st, seen, delete, slot, slot)
    _apply_assignment(st, seen, delete)


def assign_slot_ranges(
    st: ClusterTable, pairs: Iterable[tuple[SlotArg, SlotArg]], delete: bool
) -> None:
    """ADDSLOTSRANGE / DELSLOTSRANGE: each pair is parsed and checked before the next, so the
    first error in argument order wins (``pairs`` may be a lazy iterator over argv)."""
    seen = bytearray(CLUSTER_SLOTS)
    for start_arg, end_arg in pairs:
        start, end = parse_slot(start_arg), parse_slot(end_arg)
        if start > end:
            raise _err(E.SLOT_RANGE_REVERSED, start=start, end=end)
        _check_assignment(st, seen, delete, start, end)
    _apply_assignment(st, seen, delete)


def flush_slots(st: ClusterTable, db_empty: bool) -> None:
    if not db_empty:
        raise E.ClusterCommandError(E.FLUSHSLOTS_NOT_EMPTY)
    st.del_node_slots(st.myself)
    st.mark_update_state()
    st.mark_save()


def _setslot_target(st: ClusterTable, node_id: str | bytes, unknown: str) -> ClusterNode:
    node_id = node_arg(node_id)
    node = st.nodes.get(node_id)
    if node is None:
        raise _err(unknown, node_id=node_id)
    if node.is_replica:
        raise E.ClusterCommandError(E.TARGET_NOT_MASTER)
    return node


def setslot(
    st: ClusterTable, args: Sequence[str | bytes], keys_in_slot: Callable[[int], int], now_ms: int
) -> None:
    """CLUSTER SETSLOT <slot> IMPORTING|MIGRATING <id> | STABLE | NODE <id>; ``args`` is argv
    after SETSLOT. Order of checks as Redis: role, slot, action and arity, then the action's."""
    if st.myself.is_replica:
        raise E.ClusterCommandError(E.SETSLOT_ON_REPLICA)
    slot = parse_slot(args[0])
    action = node_arg(args[1]).lower() if len(args) > 1 else ""
    me = st.myself
    if action == "migrating" and len(args) == 3:
        if st.slots[slot] != me.node_id:
            raise _err(E.NOT_SLOT_OWNER, slot=slot)
        st.migrating_to[slot] = _setslot_target(st, args[2], E.DONT_KNOW_NODE).node_id
    elif action == "importing" and len(args) == 3:
        if st.slots[slot] == me.node_id:
            raise _err(E.ALREADY_SLOT_OWNER, slot=slot)
        st.importing_from[slot] = _setslot_target(st, args[2], E.DONT_KNOW_NODE).node_id
    elif action == "stable" and len(args) == 2:
        st.importing_from.pop(slot, None)
        st.migrating_to.pop(slot, None)
    elif action == "node" and len(args) == 3:
        _setslot_node(st, slot, _setslot_target(st, args[2], E.UNKNOWN_NODE), keys_in_slot, now_ms)
    else:
        raise E.ClusterCommandError(E.SETSLOT_SYNTAX)
    st.touch_slots()
    st.mark_save()
    st.mark_update_state()


def _setslot_node(
    st: ClusterTable,
    slot: int,
    node: ClusterNode,
    keys_in_slot: Callable[[int], int],
    now_ms: int,
) -> None:
    me = st.myself
    if st.slots[slot] == me.node_id and node is not me and keys_in_slot(slot) != 0:
        raise _err(E.SLOT_HAS_KEYS, slot=slot)
    if slot in st.migrating_to and keys_in_slot(slot) == 0:
        del st.migrating_to[slot]
    was_mine = st.slots[slot] == me.node_id
    st.del_slot(slot)
    st.add_slot(node, slot)
    if was_mine and node is not me and me.num_slots == 0 and st.config.allow_replica_migration:
        st.set_my_master(node)  # a master left without slots follows the new owner
        st.mark_save(fsync=True)
    if node is me and slot in st.importing_from:
        # Closing an import: a new epoch (no consensus needed) so the move propagates.
        bump_config_epoch_without_consensus(st)
        del st.importing_from[slot]
        broadcast_pong(st, now_ms)


def forget(st: ClusterTable, node_id: str | bytes, now_ms: int) -> None:
    node_id = node_arg(node_id)
    node = st.nodes.get(node_id)
    if node is None:
        raise _err(E.UNKNOWN_NODE, node_id=node_id)
    if node is st.myself:
        raise E.ClusterCommandError(E.FORGET_MYSELF)
    if st.myself.is_replica and st.myself.master_id == node_id:
        raise E.ClusterCommandError(E.FORGET_MY_MASTER)
    st.blacklist_add(node_id, now_ms)
    st.del_node(node, "forget")
    st.mark_update_state()
    st.mark_save()


def reset(st: ClusterTable, hard: bool, db_empty: bool) -> None:
    """clusterReset: forget everyone, drop slots; HARD also zeroes epochs and takes a new id."""
    me = st.myself
    if me.is_master and not db_empty:
        raise E.ClusterCommandError(E.RESET_WITH_KEYS)
    if me.is_replica:
        st.set_node_as_master(me)
        st.emit(FlushAllData())
    st.close_all_slots()
    for slot in range(CLUSTER_SLOTS):
        st.del_slot(slot)
    for node in [n for n in st.nodes.values() if n is not me]:
        st.del_node(node, "reset")
    if hard:
        st.current_epoch = st.last_vote_epoch = me.config_epoch = 0
        old_id = me.node_id
        del st.nodes[old_id]
        me.node_id = random_node_id(st.rng)
        st.nodes[me.node_id] = me
        st.emit(NodeRenamed(old_id, me.node_id))
    st.mark_save(fsync=True)
    st.mark_update_state()


def set_config_epoch(st: ClusterTable, epoch: int) -> None:
    if epoch < 0:
        raise _err(E.INVALID_CONFIG_EPOCH, epoch=epoch)
    if len(st.nodes) > 1:
        raise E.ClusterCommandError(E.CONFIG_EPOCH_NOT_ALONE)
    if st.myself.config_epoch != 0:
        raise E.ClusterCommandError(E.CONFIG_EPOCH_NONZERO)
    st.myself.config_epoch = epoch
    st.current_epoch = max(st.current_epoch, epoch)
    st.emit(ConfigEpochChanged(epoch, "set"))
    st.mark_update_state()
    st.mark_save()


def bump_epoch(st: ClusterTable) -> tuple[str, int]:
    """CLUSTER BUMPEPOCH: ("BUMPED"|"STILL", config epoch), for the reply ``+BUMPED 5``."""
    bumped = bump_config_epoch_without_consensus(st)
    return ("BUMPED" if bumped else "STILL", st.myself.config_epoch)


def replicate(st: ClusterTable, node_id: str | bytes, db_empty: bool) -> None:
    node_id = node_arg(node_id)
    node = st.nodes.get(node_id)
    if node is None:
        raise _err(E.UNKNOWN_NODE, node_id=node_id)
    me = st.myself
    if node is me:
        raise E.ClusterCommandError(E.REPLICATE_MYSELF)
    if node.is_replica:
        raise E.ClusterCommandError(E.REPLICATE_REPLICA)
    if me.is_master and (me.num_slots != 0 or not db_empty):
        raise E.ClusterCommandError(E.REPLICATE_NOT_EMPTY)
    st.set_my_master(node)
    st.mark_update_state()
    st.mark_save()


def count_failure_reports(st: ClusterTable, node_id: str | bytes, now_ms: int) -> int:
    node_id = node_arg(node_id)
    node = st.nodes.get(node_id)
    if node is None:
        raise _err(E.UNKNOWN_NODE, node_id=node_id)
    return failure_reports_count(st, node, now_ms)
