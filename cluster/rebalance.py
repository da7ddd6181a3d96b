"""Rebalancing: a pure plan of (source, target, slots) moves, as redis-cli's
clusterManagerCommandRebalance computes it, then moving them with the reshard machinery.

Each involved master should own ``16384 / total_weight * weight`` slots; its balance is what
it owns minus that (positive: gives, negative: takes). Nothing moves unless some master is off
by more than ``threshold`` percent (default 2; a threshold of 0 means never, as in redis-cli).
Masters without slots take part only with ``use_empty_masters``; a weight of 0 drains a master.
Rounding leftovers are absorbed by the takers, nodes are sorted by balance, and the biggest
taker is paired with the biggest giver until every balance is 0. C ``float`` arithmetic is
reproduced with ``f32`` so that plans match redis-cli's.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from cluster.reshard import SlotMove, f32, plan_reshard
from cluster.topology import CLUSTER_SLOTS

DEFAULT_THRESHOLD = 2.0  # CLUSTER_MANAGER_REBALANCE_THRESHOLD


@dataclass
class RebalancePlan:
    moves: list[SlotMove] = field(default_factory=list)
    steps: list[tuple[str, str, int]] = field(default_factory=list)  # (source, target, count)
    balances: dict[str, int] = field(default_factory=dict)  # before moving
    total_weight: float = 0.0
    needed: bool = False


def plan_rebalance(
    masters: Sequence[tuple[str, Collection[int]]],
    weights: Mapping[str, float] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    use_empty_masters: bool = False,
) -> RebalancePlan:
    """``masters`` are (node id, its slots) in cluster order; ``weights`` by node id."""
    weights = weights or {}
    plan = RebalancePlan()
    involved = [(nid, set(slots)) for nid, slots in masters if use_empty_masters or slots]
    total_weight = 0.0
    for nid, _ in involved:
        total_weight = f32(total_weight + f32(weights.get(nid, 1.0)))
    plan.total_weight = total_weight
    if not involved or total_weight <= 0:
        return plan
    per_weight = f32(f32(CLUSTER_SLOTS) / total_weight)
    balance: dict[str, int] = {}
    total_balance = 0
    for nid, slots in involved:
        expected = int(f32(per_weight * f32(weights.get(nid, 1.0))))
        balance[nid] = len(slots) - expected
        total_balance += balance[nid]
        plan.needed |= _over_threshold(len(slots), expected, threshold)
    if not plan.needed:
        return plan
    while total_balance > 0:  # rounding: make givers and takers match
        for nid, _ in involved:
            if balance[nid] <= 0 and total_balance > 0:
                balance[nid] -= 1
                total_balance -= 1
    plan.balances = dict(balance)
    order = sorted((nid for nid, _ in involved), key=lambda nid: balance[nid])
    owned = {nid: set(slots) for nid, slots in involved}
    dst_idx, src_idx = 0, len(order) - 1
    while dst_idx < src_idx:
        dst, src = order[dst_idx], order[src_idx]
        count = min(abs(balance[dst]), abs(balance[src]))
        if count > 0:
            step = plan_reshard([(src, owned[src])], dst, count)
            for move in step:
                owned[src].discard(move.slot)
                owned[dst].add(move.slot)
            plan.moves.extend(step)
            plan.steps.append((src, dst, count))
        balance[dst] += count
        balance[src] -= count
        if balance[dst] == 0:
            dst_idx += 1
        if balance[src] == 0:
            src_idx -= 1
    return plan


def _over_threshold(owned: int, expected: int, threshold: float) -> bool:
    if threshold <= 0:
        return False
    if owned > 0:
        return abs(100 - (100.0 * expected / owned)) > threshold
    return expected > 1


def parse_weights(items: Sequence[str]) -> list[tuple[str, float]]:
    """``node=w`` items (redis-cli's --cluster-weight)."""
    parsed = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"weight {item!r} is not node=weight")
        parsed.append((name, float(value)))
    return parsed
