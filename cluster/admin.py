"""The Python API of the admin tools: what ``rcsim reshard``, ``rebalance``, ``add-node``,
``del-node``, ``fix`` and ``migrate-slot`` do, callable from tests and scripts.

Every function takes ``cluster_addr``, any node of the cluster (``"127.0.0.1:7000"`` or a port
number), loads the cluster from it the way redis-cli does, and talks RESP only, so the same calls
work on rcsim and on real Redis. ``plan_*`` functions return plans as data and change nothing.

    from cluster import admin
    admin.migrate_slot(7000, 42, to="7001", pause_at="half")   # slot open, half the keys moved
    admin.resume_migration(7000, 42)                            # or admin.abort_migration(...)
    admin.reshard(7000, from_nodes=["7000"], to="7002", slots=100)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence

from cluster import fix as fixing
from cluster import membership, migration
from cluster import rebalance as rebalancing
from cluster import reshard as resharding
from cluster.manager import AdminError, Cluster
from cluster.migration import DEFAULT_PIPELINE, DEFAULT_TIMEOUT_MS, MigrationState, MoveOptions
from cluster.progress import Progress
from cluster.rebalance import DEFAULT_THRESHOLD, RebalancePlan
from cluster.reshard import SlotMove

__all__ = [
    "AdminError",
    "MigrationState",
    "RebalancePlan",
    "SlotMove",
    "abort_migration",
    "add_node",
    "check",
    "del_node",
    "fix",
    "migrate_slot",
    "plan_rebalance",
    "plan_reshard",
    "rebalance",
    "reshard",
    "resume_migration",
]

Log = Callable[[str], None]


def _quiet(_line: str) -> None:
    pass


def load(cluster_addr: str | int) -> Cluster:
    return Cluster.load(str(cluster_addr))


def _opts(pipeline: int, timeout_ms: int, replace: bool, log: Log, progress: Progress | None):
    return MoveOptions(pipeline, timeout_ms, replace, progress.on_keys if progress else None, log)


def _refuse_if_broken(cluster: Cluster, what: str) -> None:
    """redis-cli refuses to reshard or rebalance a cluster with errors."""
    errors = cluster.errors()
    if errors:
        raise AdminError(
            "\n".join([*errors, f"*** Please fix your cluster problems before {what}"])
        )


def plan_reshard(
    cluster_addr: str | int, to: str, slots: int, from_nodes: Sequence[str] = ("all",)
) -> list[SlotMove]:
    with load(cluster_addr) as cluster:
        target = cluster.resolve(to)
        sources = resharding.reshard_sources(cluster, target, from_nodes)
        return resharding.plan_for(cluster, target, sources, slots)


def reshard(
    cluster_addr: str | int,
    to: str,
    slots: int,
    from_nodes: Sequence[str] = ("all",),
    pipeline: int = DEFAULT_PIPELINE,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    replace: bool = False,
    log: Log = _quiet,
    progress: Progress | None = None,
) -> int:
    """Move ``slots`` slots to ``to``; returns the number of keys moved."""
    with load(cluster_addr) as cluster:
        _refuse_if_broken(cluster, "resharding")
        target = cluster.resolve(to)
        sources = resharding.reshard_sources(cluster, target, from_nodes)
        moves = resharding.plan_for(cluster, target, sources, slots)
        opts = _opts(pipeline, timeout_ms, replace, log, progress)
        return resharding.execute(
            cluster, moves, opts, progress.on_slot if progress is not None else None
        )


def _weights(cluster: Cluster, weights: Mapping[str, float] | None) -> dict[str, float]:
    return {cluster.resolve(spec).node_id: w for spec, w in (weights or {}).items()}


def plan_rebalance(
    cluster_addr: str | int,
    weights: Mapping[str, float] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    use_empty_masters: bool = False,
) -> RebalancePlan:
    with load(cluster_addr) as cluster:
        return rebalancing.plan_rebalance(
            [(n.node_id, n.slots) for n in cluster.masters],
            _weights(cluster, weights),
            threshold,
            use_empty_masters,
        )


def rebalance(
    cluster_addr: str | int,
    weights: Mapping[str, float] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    use_empty_masters: bool = False,
    pipeline: int = DEFAULT_PIPELINE,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    log: Log = _quiet,
    progress: Progress | None = None,
) -> RebalancePlan:
    with load(cluster_addr) as cluster:
        _refuse_if_broken(cluster, "rebalancing")
        plan = rebalancing.plan_rebalance(
            [(n.node_id, n.slots) for n in cluster.masters],
            _weights(cluster, weights),
            threshold,
            use_empty_masters,
        )
        if plan.moves:
            opts = _opts(pipeline, timeout_ms, False, log, progress)
            resharding.execute(
                cluster, plan.moves, opts, progress.on_slot if progress is not None else None
            )
        return plan


def migrate_slot(
    cluster_addr: str | int,
    slot: int,
    to: str,
    pause_at: str | float | None = None,
    pipeline: int = DEFAULT_PIPELINE,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
    log: Log = _quiet,
) -> MigrationState:
    """Move one slot to ``to``; ``pause_at="half"`` (or a fraction) stops with the slot open."""
    with load(cluster_addr) as cluster:
        target = cluster.resolve(to)
        opts = MoveOptions(pipeline, timeout_ms, False, None, log)
        return migration.migrate_slot(cluster, slot, target, opts, pause_at)


def resume_migration(
    cluster_addr: str | int, slot: int, pipeline: int = DEFAULT_PIPELINE, log: Log = _quiet
) -> MigrationState:
    with load(cluster_addr) as cluster:
        return migration.resume(cluster, slot, MoveOptions(pipeline, log=log))


def abort_migration(
    cluster_addr: str | int, slot: int, pipeline: int = DEFAULT_PIPELINE, log: Log = _quiet
) -> MigrationState:
    with load(cluster_addr) as cluster:
        return migration.abort(cluster, slot, MoveOptions(pipeline, log=log))


def check(cluster_addr: str | int) -> list[str]:
    """Problems as redis-cli's check words them (open slots, keys on non-owners, disagreement,
    coverage); an empty list when the cluster is healthy."""
    with load(cluster_addr) as cluster:
        problems = [e for e in cluster.errors() if "slots in" not in e]
        return cluster.warnings + problems + fixing.check_lines(cluster)


def fix(cluster_addr: str | int, log: Log = _quiet, seed: int | None = None) -> list[str]:
    """Repair open slots, misplaced keys and uncovered slots; returns what check then says."""
    with load(cluster_addr) as cluster:
        fixing.fix(cluster, MoveOptions(log=log), log, random.Random(seed))
    return check(cluster_addr)


def add_node(
    cluster_addr: str | int,
    new_addr: str | int,
    replica_of: str | None = None,
    as_replica: bool = False,
    log: Log = _quiet,
) -> str:
    with load(cluster_addr) as cluster:
        return membership.add_node(cluster, str(new_addr), replica_of, log, as_replica)


def del_node(cluster_addr: str | int, node: str, log: Log = _quiet) -> None:
    with load(cluster_addr) as cluster:
        membership.del_node(cluster, str(node), log)
