"""Pure planning of reshard and rebalance, checked against plans redis-cli 7.0.15 printed for
the same clusters (``redis-cli --cluster reshard`` answered "no"; ``rebalance --cluster-simulate``).
"""

from __future__ import annotations

from collections import Counter

import pytest

from cluster.manager import AdminError, parse_open_slot
from cluster.migration import parse_fraction
from cluster.rebalance import parse_weights, plan_rebalance
from cluster.reshard import describe_plan, f32, plan_reshard
from cluster.topology import resolve_node

A, B, C, D = "a" * 40, "b" * 40, "c" * 40, "d" * 40
# The cluster redis-cli planned on: A owns 0-5460 but 3828, C owns 3828 and 10923-16383.
A_SLOTS = set(range(5461)) - {3828}
B_SLOTS = set(range(5461, 10923))
C_SLOTS = {3828} | set(range(10923, 16384))


@pytest.mark.parametrize(
    ("numslots", "from_c", "from_a"),
    [(1001, 501, 500), (3, 2, 1), (4097, 2049, 2048)],
)
def test_reshard_plan_matches_redis_cli(numslots: int, from_c: int, from_a: int) -> None:
    """The source with most slots gives ceil(share), the others floor(share), lowest slots
    first; redis-cli printed exactly these plans (to B, from all)."""
    moves = plan_reshard([(A, A_SLOTS), (C, C_SLOTS)], B, numslots)
    assert len(moves) == numslots
    assert Counter(m.source for m in moves) == {C: from_c, A: from_a}
    assert [m.slot for m in moves if m.source == C] == sorted(C_SLOTS)[:from_c]
    assert [m.slot for m in moves if m.source == A] == list(range(from_a))
    assert moves[0].slot == 3828 and moves[0].source == C  # biggest source first
    assert all(m.target == B for m in moves)


def test_reshard_plan_single_source_and_limits() -> None:
    moves = plan_reshard([(A, range(0, 5461))], B, 4096)
    assert [m.slot for m in moves] == list(range(4096))
    assert plan_reshard([(A, [])], B, 10) == []
    assert plan_reshard([(A, [1, 2])], B, 0) == []
    assert len(plan_reshard([(A, [1, 2])], B, 5)) == 2  # cannot move more than exists


def test_reshard_plan_ties_keep_cluster_order() -> None:
    moves = plan_reshard([(A, range(0, 10)), (B, range(10, 20))], C, 3)
    assert [(m.slot, m.source) for m in moves] == [(0, A), (1, A), (10, B)]


def test_f32_rounds_like_a_c_float() -> None:
    assert f32(0.1) != 0.1
    assert f32(0.5) == 0.5
    assert f32(16384 / 3) == pytest.approx(5461.3335, abs=1e-4)


def test_describe_plan_groups_runs() -> None:
    moves = plan_reshard([(A, [1, 2, 3, 7])], B, 4)
    assert describe_plan(moves) == [f"    Moving slots 1-3 from {A}", f"    Moving slot 7 from {A}"]


def test_rebalance_weights_match_redis_cli() -> None:
    """redis-cli: --cluster-weight A=1 B=2 C=3 on 5460/5462/5462 slots."""
    plan = plan_rebalance([(A, A_SLOTS), (C, C_SLOTS), (B, B_SLOTS)], {A: 1, B: 2, C: 3})
    assert plan.needed and plan.total_weight == 6.0
    assert plan.steps == [(A, C, 2730), (B, C, 1)]
    assert len(plan.moves) == 2731
    assert [m.slot for m in plan.moves[:3]] == [0, 1, 2]


def test_rebalance_use_empty_masters_matches_redis_cli() -> None:
    masters = [(A, A_SLOTS), (C, C_SLOTS), (D, set()), (B, B_SLOTS)]
    assert not plan_rebalance(masters).needed  # the empty master does not take part
    plan = plan_rebalance(masters, use_empty_masters=True)
    assert plan.steps == [(B, D, 1366), (C, D, 1366), (A, D, 1364)]
    assert plan.balances == {A: 1364, C: 1366, D: -4096, B: 1366}
    moved_to_d = {m.slot for m in plan.moves}
    assert len(moved_to_d) == 4096 and all(m.target == D for m in plan.moves)


def test_rebalance_weight_zero_drains_a_master() -> None:
    """redis-cli after the rebalance above, with --cluster-weight D=0."""
    quarters = [set(range(i * 4096, (i + 1) * 4096)) for i in range(4)]
    masters = [(A, quarters[0]), (C, quarters[1]), (D, quarters[2]), (B, quarters[3])]
    plan = plan_rebalance(masters, {D: 0})
    assert plan.total_weight == 3.0
    assert plan.steps == [(D, A, 1366), (D, C, 1365), (D, B, 1365)]
    assert {m.slot for m in plan.moves} == quarters[2]


def test_rebalance_threshold() -> None:
    even = [(A, range(0, 5461)), (B, range(5461, 10923)), (C, range(10923, 16384))]
    assert not plan_rebalance(even).needed
    skewed = [(A, range(0, 6000)), (B, range(6000, 10923)), (C, range(10923, 16384))]
    assert plan_rebalance(skewed).needed  # B is 10.9% under (5461 expected, 4923 owned)
    assert not plan_rebalance(skewed, threshold=11).needed
    assert not plan_rebalance(skewed, threshold=0).needed  # 0 disables, as in redis-cli
    plan = plan_rebalance(skewed)
    assert sum(count for _, _, count in plan.steps) == 6000 - 5461


def test_parse_helpers() -> None:
    assert parse_weights(["abc=2", "7001=0.5"]) == [("abc", 2.0), ("7001", 0.5)]
    with pytest.raises(ValueError):
        parse_weights(["abc"])
    assert parse_open_slot(f"[12->-{A}]") == (12, "migrating", A)
    assert parse_open_slot(f"[12-<-{B}]") == (12, "importing", B)
    assert parse_fraction("half") == 0.5 and parse_fraction("0.25") == 0.25
    assert parse_fraction(None) is None
    with pytest.raises(AdminError):
        parse_fraction("most")
    with pytest.raises(AdminError):
        parse_fraction(1.5)


class _N:
    def __init__(self, node_id: str, addr: str) -> None:
        self.node_id, self.addr = node_id, addr


def test_resolve_node_by_port_address_or_id_prefix() -> None:
    nodes = [_N("abcd" + "0" * 36, "127.0.0.1:7000"), _N("abcd" + "1" * 36, "127.0.0.1:7001")]
    assert resolve_node(nodes, "7001") is nodes[1]
    assert resolve_node(nodes, "127.0.0.1:7000") is nodes[0]
    assert resolve_node(nodes, "localhost:7001") is nodes[1]
    assert resolve_node(nodes, "abcd0") is nodes[0]
    assert resolve_node(nodes, nodes[1].node_id) is nodes[1]
    with pytest.raises(LookupError, match="ambiguous"):
        resolve_node(nodes, "abcd")
    for unknown in ("7002", "abce", "abc"):  # a prefix needs 4 characters
        with pytest.raises(LookupError, match="not known"):
            resolve_node(nodes, unknown)
