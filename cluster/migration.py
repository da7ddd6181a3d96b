"""Moving one hash slot between two masters, the way ``redis-cli --cluster`` does it.

redis-cli 7.0's clusterManagerMoveSlot, step by step (reference section 4):
1. target: ``CLUSTER SETSLOT s IMPORTING <source-id>``;
2. source: ``CLUSTER SETSLOT s MIGRATING <target-id>``;
3. source, until empty: ``CLUSTER GETKEYSINSLOT s <pipeline>`` then
   ``MIGRATE <ip> <port> "" 0 <timeout> [REPLACE] KEYS k ...``;
4. ``CLUSTER SETSLOT s NODE <target-id>`` on the target first (it bumps its epoch and
   broadcasts), then on the source (a source turned replica answers "Please use SETSLOT only
   with masters.", which is fine), then on every other master.

Between steps 2 and 4 clients see ASK for moved keys and TRYAGAIN for multi-key requests over
moved and unmoved keys; the keys live on exactly one side at every moment (MIGRATE is atomic per
key). If the tool dies anywhere in here, the slot stays MIGRATING/IMPORTING: ``rcsim check``
reports it and ``rcsim fix`` finishes the move (see cluster/fix.py).

``pause_at`` stops after a fraction of the slot's keys with the slot still open, for client
tests; ``resume`` and ``abort`` read the open state back from the nodes, so they can run in
another process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cluster.manager import AdminError, Cluster, Node
from cluster.respclient import ReplyError

DEFAULT_PIPELINE = 10  # keys per GETKEYSINSLOT/MIGRATE batch, redis-cli's --cluster-pipeline
DEFAULT_TIMEOUT_MS = 60000  # redis-cli's --cluster-timeout
NOT_A_MASTER = "Please use SETSLOT only with masters."

KeysCallback = Callable[[int], None]
Log = Callable[[str], None]


@dataclass
class MoveOptions:
    pipeline: int = DEFAULT_PIPELINE
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    replace: bool = False  # --cluster-replace: overwrite keys the target already has
    on_keys: KeysCallback | None = None
    log: Log | None = None


@dataclass
class MigrationState:
    """What ``migrate_slot`` / ``resume`` / ``abort`` did to a slot."""

    slot: int
    source: str  # node address
    target: str
    keys_moved: int
    keys_left: int
    state: str  # "paused" | "done" | "aborted"


def _fail(node: Node, what: str, error: object) -> AdminError:
    return AdminError(f"[ERR] {what} on {node.addr} failed: {error}")


def setslot(node: Node, slot: int, action: str, other: Node | None = None) -> None:
    args: list[str | int] = ["CLUSTER", "SETSLOT", slot, action]
    if other is not None:
        args.append(other.node_id)
    reply = node.call(*args)
    if isinstance(reply, ReplyError):
        raise _fail(node, " ".join(str(a) for a in args), reply)


def open_slot(source: Node, target: Node, slot: int) -> None:
    """Steps 1 and 2: IMPORTING on the target first, so that the source's ASKs always find
    a target ready to accept them."""
    setslot(target, slot, "IMPORTING", source)
    setslot(source, slot, "MIGRATING", target)
    target.importing[slot] = source.node_id
    source.migrating[slot] = target.node_id


def _migrate_batch(source: Node, target: Node, keys: list, opts: MoveOptions, replace: bool):
    args: list[str | bytes | int] = ["MIGRATE", target.host, target.port, "", 0, opts.timeout_ms]
    if replace:
        args.append("REPLACE")
    args.append("KEYS")
    args.extend(keys)
    return source.call(*args)


def _same_values(source: Node, target: Node, keys: list) -> bool:
    """redis-cli 7.0 on BUSYKEY: compare DEBUG DIGEST-VALUE on both sides; REPLACE is safe
    when they are equal (a previous, interrupted MIGRATE already copied the key)."""
    mine = source.call("DEBUG", "DIGEST-VALUE", *keys)
    theirs = target.call("DEBUG", "DIGEST-VALUE", *keys)
    return not isinstance(mine, ReplyError) and mine == theirs


def migrate_keys(
    source: Node, target: Node, slot: int, opts: MoveOptions, limit: int | None = None
) -> int:
    """Step 3 (clusterManagerMigrateKeysInSlot): batches of GETKEYSINSLOT + MIGRATE ... KEYS
    until the slot is empty on the source, or ``limit`` keys moved. Returns keys moved."""
    moved = 0
    previous: object = None
    while limit is None or moved < limit:
        count = opts.pipeline if limit is None else min(opts.pipeline, limit - moved)
        keys = source.call("CLUSTER", "GETKEYSINSLOT", slot, count)
        if isinstance(keys, ReplyError):
            raise _fail(source, f"CLUSTER GETKEYSINSLOT {slot}", keys)
        if not keys:
            break
        if keys == previous:  # MIGRATE said OK but the keys stayed: never loop forever
            raise AdminError(f"[ERR] Keys of slot {slot} do not leave {source.addr}: {keys[:3]}")
        previous = keys
        reply = _migrate_batch(source, target, keys, opts, opts.replace)
        if isinstance(reply, ReplyError) and "BUSYKEY" in str(reply) and not opts.replace:
            if _same_values(source, target, keys):
                if opts.log:
                    opts.log("*** Target key exists, with the same value: replacing it.")
                reply = _migrate_batch(source, target, keys, opts, True)
        if isinstance(reply, ReplyError):
            raise _fail(source, f"MIGRATE of slot {slot} to {target.addr}", reply)
        moved += len(keys)
        if opts.on_keys is not None:
            opts.on_keys(len(keys))
    return moved


def close_slot(cluster: Cluster, source: Node, target: Node, slot: int, log: Log | None) -> None:
    """Step 4: SETSLOT NODE on the target first; once it answered, on the source and then
    every other master. Those are written one after the other without waiting for each
    reply (they do not depend on each other), then the replies are collected: the nodes
    save their config in parallel instead of in turn."""
    setslot(target, slot, "NODE", target)
    command = ("CLUSTER", "SETSLOT", slot, "NODE", target.node_id)
    others = [source] + [n for n in cluster.masters if n is not source and n is not target]
    sent: list[Node] = []
    for node in others:
        try:
            node.conn().send(command)
            sent.append(node)
        except OSError as error:
            node.close()
            if node is source:
                raise
            if log:  # gossip will tell it: the target already owns the slot
                log(f"*** {node.addr} did not take SETSLOT {slot} NODE: {error}")
    failures = []
    for node in sent:
        try:
            reply = node.conn().read()
        except OSError as error:
            node.close()
            if node is source:
                raise
            if log:
                log(f"*** {node.addr} did not answer SETSLOT {slot} NODE: {error}")
            continue
        if isinstance(reply, ReplyError) and not (node is source and NOT_A_MASTER in str(reply)):
            failures.append(_fail(node, f"CLUSTER SETSLOT {slot} NODE", reply))
    if failures:
        raise failures[0]
    source.slots.discard(slot)
    target.slots.add(slot)
    source.migrating.pop(slot, None)
    target.importing.pop(slot, None)


def move_slot(
    cluster: Cluster, source: Node, target: Node, slot: int, opts: MoveOptions, cold: bool = False
) -> int:
    """clusterManagerMoveSlot: the whole move; ``cold`` only moves keys (fix uses it)."""
    if not cold:
        open_slot(source, target, slot)
    moved = migrate_keys(source, target, slot, opts)
    if not cold:
        close_slot(cluster, source, target, slot, opts.log)
    return moved


def wait_ready(node: Node, timeout_s: float = 10.0) -> bool:
    """Until ``node`` says ``cluster_state:ok`` (bounded). A master that just joined answers
    RESTORE-ASKING with CLUSTERDOWN until it has learnt the whole slot map."""
    deadline = time.monotonic() + timeout_s
    while True:
        reply = node.call("CLUSTER", "INFO")
        if isinstance(reply, bytes) and b"cluster_state:ok" in reply:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def count_keys(node: Node, slot: int) -> int:
    reply = node.call("CLUSTER", "COUNTKEYSINSLOT", slot)
    if isinstance(reply, ReplyError):
        raise _fail(node, f"CLUSTER COUNTKEYSINSLOT {slot}", reply)
    return int(reply)  # type: ignore[arg-type]


def parse_fraction(pause_at: str | float | None) -> float | None:
    """``"half"`` -> 0.5, ``"0.25"`` / ``0.25`` -> 0.25, None -> None (no pause)."""
    if pause_at is None:
        return None
    if isinstance(pause_at, str):
        if pause_at.lower() == "half":
            return 0.5
        try:
            pause_at = float(pause_at)
        except ValueError:
            raise AdminError(f"*** --pause-at takes 'half' or a fraction, not {pause_at!r}")
    if not 0.0 <= pause_at <= 1.0:
        raise AdminError(f"*** --pause-at must be between 0 and 1, not {pause_at}")
    return float(pause_at)


def migrate_slot(
    cluster: Cluster,
    slot: int,
    target: Node,
    opts: MoveOptions,
    pause_at: str | float | None = None,
) -> MigrationState:
    """Move one slot to ``target``; with ``pause_at``, stop after that fraction of its keys
    (rounded down) with the slot left MIGRATING on the owner and IMPORTING on the target."""
    fraction = parse_fraction(pause_at)
    source = cluster.owner(slot)
    if source is None:
        raise AdminError(f"*** Slot {slot} has no owner: run `rcsim fix` first")
    if source is target:
        raise AdminError(f"*** Slot {slot} is already served by {target.addr}")
    if slot in source.migrating or slot in target.importing:
        raise AdminError(f"*** Slot {slot} is already open: use --resume or --abort")
    if fraction is None or fraction >= 1.0:
        moved = move_slot(cluster, source, target, slot, opts)
        return MigrationState(slot, source.addr, target.addr, moved, 0, "done")
    total = count_keys(source, slot)
    open_slot(source, target, slot)
    moved = migrate_keys(source, target, slot, opts, limit=int(total * fraction))
    left = count_keys(source, slot)
    return MigrationState(slot, source.addr, target.addr, moved, left, "paused")


def open_pair(cluster: Cluster, slot: int) -> tuple[Node, Node]:
    """The (source, target) of an open slot, as the nodes themselves report it."""
    source = next((n for n in cluster.masters if slot in n.migrating), None)
    target = next((n for n in cluster.masters if slot in n.importing), None)
    if source is None or target is None:
        raise AdminError(
            f"*** Slot {slot} is not open between two reachable masters "
            "(MIGRATING on one, IMPORTING on the other): use `rcsim fix`"
        )
    if source.migrating[slot] != target.node_id or target.importing[slot] != source.node_id:
        raise AdminError(f"*** Slot {slot} is open between different nodes: use `rcsim fix`")
    return source, target


def resume(cluster: Cluster, slot: int, opts: MoveOptions) -> MigrationState:
    """Finish a paused (or interrupted) move: the remaining keys, then SETSLOT NODE."""
    source, target = open_pair(cluster, slot)
    moved = migrate_keys(source, target, slot, opts)
    close_slot(cluster, source, target, slot, opts.log)
    return MigrationState(slot, source.addr, target.addr, moved, 0, "done")


def abort(cluster: Cluster, slot: int, opts: MoveOptions) -> MigrationState:
    """Roll a paused move back: the slot ends owned by its old owner with every key.

    Keys cannot go back while the slot is open (the source, MIGRATING, would answer the
    target's RESTORE-ASKING with ASK), and closing the source first would show clients a
    missing key until it returns. So the move is finished, then the slot moved back with the
    same protocol: clients see only ASK/MOVED/TRYAGAIN, never a wrong answer."""
    source, target = open_pair(cluster, slot)
    migrate_keys(source, target, slot, opts)
    close_slot(cluster, source, target, slot, opts.log)
    back = move_slot(cluster, target, source, slot, opts)
    return MigrationState(slot, source.addr, target.addr, back, 0, "aborted")
