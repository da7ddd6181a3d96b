"""Resharding: which slots move (a pure plan), then moving them slot by slot.

The plan is redis-cli's clusterManagerComputeReshardTable, float for float: sources sorted by
slot count (most first), each giving ``numslots / total * its_slots`` of its lowest slots,
rounded up for the first source and down for the others, until ``numslots`` are taken.
redis-cli computes in C ``float``; ``f32`` rounds the same way so plans match slot for slot.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from cluster.manager import AdminError, Cluster, Node
from cluster.migration import MoveOptions, move_slot, wait_ready


def f32(x: float) -> float:
    """Round to IEEE single precision, as a C ``float`` variable holds it."""
    return struct.unpack("f", struct.pack("f", x))[0]


@dataclass(frozen=True)
class SlotMove:
    slot: int
    source: str  # node id
    target: str  # node id


def plan_reshard(
    sources: Sequence[tuple[str, Collection[int]]], target: str, numslots: int
) -> list[SlotMove]:
    """clusterManagerComputeReshardTable: ``sources`` is (node id, its slots) in cluster order."""
    total = sum(len(slots) for _, slots in sources)
    if total == 0 or numslots <= 0:
        return []
    ordered = sorted(sources, key=lambda s: -len(s[1]))  # stable: ties keep cluster order
    ratio = f32(f32(numslots) / f32(total))
    moves: list[SlotMove] = []
    for i, (node_id, slots) in enumerate(ordered):
        share = f32(ratio * len(slots))
        limit = int(math.ceil(share) if i == 0 else math.floor(share))
        for count, slot in enumerate(sorted(slots)):
            if count >= limit or len(moves) >= numslots:
                break
            moves.append(SlotMove(slot, node_id, target))
    return moves


def describe_plan(moves: Sequence[SlotMove], cluster: Cluster | None = None) -> list[str]:
    """The plan as lines: one per run of consecutive slots from one source."""
    lines = []
    for first, last, source in _runs(moves):
        name = source
        if cluster is not None and (node := cluster.by_id(source)) is not None:
            name = f"{node.addr} ({source[:8]}...)"
        span = f"slot {first}" if first == last else f"slots {first}-{last}"
        lines.append(f"    Moving {span} from {name}")
    return lines


def _runs(moves: Sequence[SlotMove]) -> list[tuple[int, int, str]]:
    runs: list[tuple[int, int, str]] = []
    for m in moves:
        if runs and runs[-1][2] == m.source and runs[-1][1] == m.slot - 1:
            runs[-1] = (runs[-1][0], m.slot, m.source)
        else:
            runs.append((m.slot, m.slot, m.source))
    return runs


def reshard_sources(cluster: Cluster, target: Node, from_specs: Sequence[str]) -> list[Node]:
    """``--from`` nodes (or every other master for ``all``), checked as redis-cli's
    clusterNodeForResharding checks them."""
    if not from_specs or any(spec == "all" for spec in from_specs):
        return [n for n in cluster.masters if n is not target and n.slots]
    sources = []
    for spec in from_specs:
        node = cluster.resolve(spec)
        if node is target:
            raise AdminError("*** It is not possible to use the target node as source node.")
        if node not in sources:
            sources.append(node)
    return sources


def plan_for(cluster: Cluster, target: Node, sources: Sequence[Node], numslots: int):
    return plan_reshard([(n.node_id, n.slots) for n in sources], target.node_id, numslots)


def execute(cluster: Cluster, moves: Sequence[SlotMove], opts: MoveOptions, on_slot=None) -> int:
    """Move every slot of the plan in order; returns keys moved. Raises on the first error,
    leaving that one slot open for ``rcsim fix``."""
    total = 0
    ready: set[str] = set()
    for move in moves:
        source, target = cluster.by_id(move.source), cluster.by_id(move.target)
        if source is None or target is None:
            raise AdminError(f"*** Node of slot {move.slot} is gone")
        if target.node_id not in ready:
            wait_ready(target)
            ready.add(target.node_id)
        total += move_slot(cluster, source, target, move.slot, opts)
        if on_slot is not None:
            on_slot(move.slot)
    return total
