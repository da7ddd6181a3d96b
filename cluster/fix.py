"""``rcsim fix``: close open slots and cover unowned slots, as ``redis-cli --cluster fix``.

Open slots follow clusterManagerFixOpenSlot (redis-cli 7.0):
- owners: masters that own the slot, plus non-owners that hold keys of it;
- migrating / importing: masters with the slot open that way; a non-owner with keys that is
  neither counts as importing;
- no single owner: the master with most keys in the slot becomes it (STABLE, DELSLOTS,
  ADDSLOTS, BUMPEPOCH); other owners give the slot up and turn importing;
- Case 1, one migrating and one importing: finish the move (clusterManagerMoveSlot);
- Case 2, only importing nodes: move their keys "cold" to the owner, STABLE them, then
  SETSLOT NODE <owner> on every other master;
- Case 3, only a migrating node with no keys left (or that is the owner): SETSLOT STABLE.
Slots with keys on a master that does not own them (and no open state) are repaired the same
way, which is how redis-cli handles such keys once it finds them.

Uncovered slots follow clusterManagerFixSlotsCoverage: no keys anywhere, a random master takes
the slot; keys on one master, that master takes it; keys on several, the one with most keys
takes it and the others' keys are moved there.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from cluster.manager import AdminError, Cluster, Node, node_from_line
from cluster.migration import MoveOptions, count_keys, move_slot, setslot
from cluster.respclient import ReplyError
from cluster.topology import CLUSTER_SLOTS, format_ranges

Log = Callable[[str], None]
_COUNT_BATCH = 2048  # COUNTKEYSINSLOT commands per pipelined round trip


def misplaced_keys(cluster: Cluster) -> dict[int, list[Node]]:
    """Slots with keys on a master that neither owns them nor has them open: {slot: nodes}.
    One pipelined COUNTKEYSINSLOT per slot the node does not own, skipped for empty nodes."""
    found: dict[int, list[Node]] = {}
    for node in cluster.masters:
        size = node.call("DBSIZE")
        if isinstance(size, ReplyError) or not size:
            continue
        for slot in _stray_slots(node):
            found.setdefault(slot, []).append(node)
    return found


def misplaced_key_lines(views: list) -> list[str]:
    """``rcsim check``'s report of keys on masters that neither own nor have open their slot,
    from ``topology.NodeView``s (one connection per master that holds keys)."""
    lines = []
    for view in views:
        me = view.myself
        if not me.is_master or not view.keys:
            continue
        node = node_from_line(me)
        node.host, node.port = view.host, view.port
        try:
            slots = sorted(_stray_slots(node))
        except OSError:
            continue
        finally:
            node.close()
        if slots:
            lines.append(
                f"[WARNING] Node {node.addr} has keys in slots it does not own: "
                + format_ranges(_runs(slots))
                + " (rcsim fix moves them to their owner)."
            )
    return lines


def _runs(slots: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for s in slots:
        if runs and runs[-1][1] == s - 1:
            runs[-1] = (runs[-1][0], s)
        else:
            runs.append((s, s))
    return runs


def _stray_slots(node: Node) -> list[int]:
    slots = [
        s
        for s in range(CLUSTER_SLOTS)
        if s not in node.slots and s not in node.migrating and s not in node.importing
    ]
    found = []
    for i in range(0, len(slots), _COUNT_BATCH):
        chunk = slots[i : i + _COUNT_BATCH]
        replies = node.pipeline([("CLUSTER", "COUNTKEYSINSLOT", s) for s in chunk])
        found += [s for s, r in zip(chunk, replies, strict=True) if isinstance(r, int) and r > 0]
    return found


def check_lines(cluster: Cluster) -> list[str]:
    """Warnings about open slots and misplaced keys, in redis-cli's wording."""
    lines = []
    for n in cluster.masters:
        if n.migrating:
            slots = ",".join(str(s) for s in sorted(n.migrating))
            lines.append(f"[WARNING] Node {n.addr} has slots in migrating state {slots}.")
        if n.importing:
            slots = ",".join(str(s) for s in sorted(n.importing))
            lines.append(f"[WARNING] Node {n.addr} has slots in importing state {slots}.")
    open_slots = cluster.open_slots()
    if open_slots:
        lines.append(
            "[WARNING] The following slots are open: " + ",".join(map(str, open_slots)) + "."
        )
    for slot, nodes in sorted(misplaced_keys(cluster).items()):
        where = ", ".join(n.addr for n in nodes)
        lines.append(f"[WARNING] Keys of slot {slot} found in non-owner node(s) {where}.")
    return lines


def _most_keys(nodes: list[Node], slot: int) -> Node | None:
    """clusterManagerGetNodeWithMostKeysInSlot: the first master with strictly most keys."""
    best, best_count = None, 0
    for n in nodes:
        if not n.is_master:
            continue
        count = count_keys(n, slot)
        if best is None or count > best_count:
            best, best_count = n, count
    return best


def _ignore_unassigned(node: Node, *args: str | int) -> None:
    reply = node.call(*args)
    if isinstance(reply, ReplyError) and "already unassigned" not in str(reply):
        raise AdminError(f"[ERR] {' '.join(map(str, args))} on {node.addr} failed: {reply}")


def _check(node: Node, *args: str | int) -> None:
    reply = node.call(*args)
    if isinstance(reply, ReplyError):
        raise AdminError(f"[ERR] {' '.join(map(str, args))} on {node.addr} failed: {reply}")


def fix_open_slot(cluster: Cluster, slot: int, opts: MoveOptions, log: Log) -> None:
    """clusterManagerFixOpenSlot for one slot (see the module docstring)."""
    log(f">>> Fixing open slot {slot}")
    masters = cluster.masters
    owners: list[Node] = []
    for n in masters:
        if slot in n.slots:
            owners.append(n)
        elif count_keys(n, slot) > 0:
            log(f"*** Found keys about slot {slot} in non-owner node {n.addr}!")
            owners.append(n)
    owner = owners[0] if len(owners) == 1 else None
    migrating: list[Node] = []
    importing: list[Node] = []
    for n in masters:
        if slot in n.migrating:
            migrating.append(n)
        elif slot in n.importing:
            importing.append(n)
        elif n is not owner and count_keys(n, slot) > 0:
            log(f"*** Found keys about slot {slot} in node {n.addr}!")
            importing.append(n)
    if migrating:
        log("Set as migrating in: " + ",".join(n.addr for n in migrating))
    if importing:
        log("Set as importing in: " + ",".join(n.addr for n in importing))
    if owner is None:
        if owners:
            log(">>> No single clear owner for the slot, selecting an owner by # of keys...")
        else:
            log(">>> Nobody claims ownership, selecting an owner...")
        owner = _most_keys(cluster.nodes, slot)
        if owner is None:
            raise AdminError("[ERR] Can't select a slot owner. Impossible to fix.")
        log(f"*** Configuring {owner.addr} as the slot owner")
        _check(owner, "CLUSTER", "SETSLOT", slot, "STABLE")
        _ignore_unassigned(owner, "CLUSTER", "DELSLOTS", slot)
        _check(owner, "CLUSTER", "ADDSLOTS", slot)
        owner.slots.add(slot)
        owner.migrating.pop(slot, None)
        owner.importing.pop(slot, None)
        _check(owner, "CLUSTER", "BUMPEPOCH")
        migrating = [n for n in migrating if n is not owner]
        importing = [n for n in importing if n is not owner]
    if len(owners) > 1:
        for n in owners:
            if n is owner:
                continue
            _ignore_unassigned(n, "CLUSTER", "DELSLOTS", slot)
            n.slots.discard(slot)
            setslot(n, slot, "NODE", owner)
            setslot(n, slot, "IMPORTING", owner)
            n.migrating.pop(slot, None)
            n.importing[slot] = owner.node_id
            importing = [m for m in importing if m is not n] + [n]
            migrating = [m for m in migrating if m is not n]
    _fix_cases(cluster, slot, owner, migrating, importing, opts, log)


def _fix_cases(
    cluster: Cluster,
    slot: int,
    owner: Node,
    migrating: list[Node],
    importing: list[Node],
    opts: MoveOptions,
    log: Log,
) -> None:
    if len(migrating) == 1 and len(importing) == 1:
        src, dst = migrating[0], importing[0]
        log(f">>> Case 1: Moving slot {slot} from {src.addr} to {dst.addr}")
        move_slot(cluster, src, dst, slot, _fixing(opts))
    elif not migrating and importing:
        log(f">>> Case 2: Moving all the {slot} slot keys to its owner {owner.addr}")
        for n in importing:
            if n is owner:
                continue
            move_slot(cluster, n, owner, slot, _fixing(opts), cold=True)
            log(f">>> Setting {slot} as STABLE in {n.addr}")
            setslot(n, slot, "STABLE")
            n.importing.pop(slot, None)
        for n in cluster.masters:
            if n is not owner:
                setslot(n, slot, "NODE", owner)
                n.slots.discard(slot)
    else:
        close = not importing and len(migrating) == 1
        if close and migrating[0] is not owner:
            keys = migrating[0].call("CLUSTER", "GETKEYSINSLOT", slot, 10)
            close = isinstance(keys, list) and not keys
        if not close:
            raise AdminError(
                f"[ERR] Sorry, can't fix this slot yet. Slot {slot} is set as migrating in "
                f"{','.join(n.addr for n in migrating)}, as importing in "
                f"{','.join(n.addr for n in importing)}, owner is {owner.addr}"
            )
        n = migrating[0]
        log(f">>> Case 3: Closing slot {slot} on {n.addr}")
        setslot(n, slot, "STABLE")
        n.migrating.pop(slot, None)


def _fixing(opts: MoveOptions) -> MoveOptions:
    """redis-cli's fix migrates with REPLACE on BUSYKEY (CLUSTER_MANAGER_CMD_FLAG_FIX)."""
    return MoveOptions(opts.pipeline, opts.timeout_ms, True, opts.on_keys, opts.log)


def fix_coverage(cluster: Cluster, opts: MoveOptions, log: Log, rng: random.Random) -> int:
    """clusterManagerFixSlotsCoverage; returns the number of slots covered."""
    covered: set[int] = set()
    for n in cluster.masters:
        covered |= n.slots
    for n in cluster.unreachable:  # unlike redis-cli: never hand a down node's slots away
        if n.is_master and n.slots - covered:
            log(
                f"*** {len(n.slots - covered)} slots of unreachable node {n.addr} left alone: "
                "restart it or fail it over first"
            )
            covered |= n.slots
    uncovered = [s for s in range(CLUSTER_SLOTS) if s not in covered]
    if not uncovered:
        return 0
    log(">>> Fixing slots coverage...")
    fixed = 0
    for slot in uncovered:
        holders = [n for n in cluster.masters if _has_keys(n, slot)]
        if not holders:
            owner = rng.choice(cluster.masters)
        elif len(holders) == 1:
            owner = holders[0]
        else:
            owner = _most_keys(holders, slot) or holders[0]
        log(f">>> Covering slot {slot} with {owner.addr}")
        owner.call("CLUSTER", "DELSLOTS", slot)  # "already unassigned" is expected
        _check(owner, "CLUSTER", "ADDSLOTS", slot)
        if len(holders) > 1:
            _check(owner, "CLUSTER", "SETSLOT", slot, "STABLE")
        _check(owner, "CLUSTER", "BUMPEPOCH")
        owner.slots.add(slot)
        for src in holders:
            if src is owner:
                continue
            setslot(src, slot, "NODE", owner)
            setslot(src, slot, "IMPORTING", owner)
            move_slot(cluster, src, owner, slot, _fixing(opts), cold=True)
            setslot(src, slot, "STABLE")
        fixed += 1
    return fixed


def _has_keys(node: Node, slot: int) -> bool:
    reply = node.call("CLUSTER", "GETKEYSINSLOT", slot, 1)
    return isinstance(reply, list) and bool(reply)


def fix(cluster: Cluster, opts: MoveOptions, log: Log, rng: random.Random | None = None) -> bool:
    """Repair open slots, misplaced keys and coverage; True when nothing is left to fix."""
    slots = set(cluster.open_slots()) | set(misplaced_keys(cluster))
    for slot in sorted(slots):
        fix_open_slot(cluster, slot, opts, log)
    fix_coverage(cluster, opts, log, rng or random.Random())
    return True
