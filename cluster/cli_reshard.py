"""``rcsim reshard | rebalance | add-node | del-node | fix | migrate-slot``: the admin tools.

Each command finds the cluster through ``--cluster HOST:PORT`` (any node; real Redis works
too) or, by default, the first running node of the run directory (``--dir``). ``<node>`` is a
port, an address or a node-id prefix. Reshard and rebalance print their plan first;
``--dry-run`` stops there. Interrupted (Ctrl-C, a killed node), they leave at most one slot
open, which ``rcsim check`` reports and ``rcsim fix`` repairs. ``cluster.cli`` adds
``COMMANDS`` to its ``main`` group.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from cluster.manager import AdminError, Cluster
from cluster.migration import DEFAULT_PIPELINE, DEFAULT_TIMEOUT_MS, MoveOptions
from cluster.progress import Progress

INTERRUPTED = (
    "Interrupted: the slot being moved may be left open (MIGRATING/IMPORTING); "
    "`rcsim check` reports it and `rcsim fix` repairs it."
)


def _entry(cluster: str | None, run_dir: str) -> str:
    if cluster:
        return cluster
    from cluster.supervisor import node_dirs

    for nd in node_dirs(Path(run_dir)):
        if nd.pid() is not None:
            return f"127.0.0.1:{nd.port}"
    raise click.ClickException(f"no running node in {run_dir}: pass --cluster HOST:PORT")


def _target_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--cluster",
        "cluster_addr",
        metavar="HOST:PORT",
        help="Any node of the cluster (default: the first running node of --dir).",
    )(f)
    return click.option(
        "--dir",
        "run_dir",
        default=".rcsim",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Run directory of `rcsim up`, used when --cluster is not given.",
    )(f)


def _move_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--pipeline",
        default=DEFAULT_PIPELINE,
        show_default=True,
        type=click.IntRange(1),
        help="Keys per CLUSTER GETKEYSINSLOT / MIGRATE batch.",
    )(f)
    return click.option(
        "--timeout",
        "timeout_ms",
        default=DEFAULT_TIMEOUT_MS,
        show_default=True,
        type=click.IntRange(1),
        help="MIGRATE timeout in milliseconds.",
    )(f)


def _load(cluster_addr: str | None, run_dir: str) -> Cluster:
    try:
        cluster = Cluster.load(_entry(cluster_addr, run_dir))
    except AdminError as error:
        raise click.ClickException(str(error))
    for warning in cluster.warnings:
        click.echo(warning, err=True)
    return cluster


def _refuse_if_broken(cluster: Cluster, what: str) -> None:
    errors = cluster.errors()
    if errors:
        for line in errors:
            click.echo(line, err=True)
        raise click.ClickException(f"Please fix your cluster problems before {what} (rcsim fix)")


def _run_moves(cluster: Cluster, moves: Sequence, opts: MoveOptions, quiet: bool) -> None:
    from cluster.reshard import execute

    progress = Progress(len(moves), quiet=quiet)
    opts.on_keys = progress.on_keys
    try:
        execute(cluster, moves, opts, progress.on_slot)
    except KeyboardInterrupt:
        progress.finish()
        click.echo(INTERRUPTED, err=True)
        sys.exit(130)
    except (AdminError, OSError, ConnectionError) as error:
        progress.finish()
        click.echo(str(error), err=True)
        raise click.ClickException(f"slot move failed. {INTERRUPTED.split(': ', 1)[1]}")
    click.echo(progress.finish())


def _split(values: Sequence[str]) -> list[str]:
    return [v for item in values for v in item.split(",") if v]


@click.command()
@_target_options
@_move_options
@click.option("--from", "from_nodes", multiple=True, help="Source node(s), or 'all' (default).")
@click.option("--to", "to_node", required=True, help="The node receiving the slots.")
@click.option("--slots", required=True, type=click.IntRange(1, 16384), help="Slots to move.")
@click.option("--replace", is_flag=True, help="Overwrite keys the target already has.")
@click.option("--dry-run", is_flag=True, help="Print the plan and stop.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def reshard(
    cluster_addr: str | None,
    run_dir: str,
    pipeline: int,
    timeout_ms: int,
    from_nodes: tuple[str, ...],
    to_node: str,
    slots: int,
    replace: bool,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Move --slots slots from --from to --to, slot by slot (like redis-cli --cluster reshard)."""
    from cluster.reshard import describe_plan, plan_for, reshard_sources

    with _load(cluster_addr, run_dir) as cluster:
        _refuse_if_broken(cluster, "resharding")
        try:
            target = cluster.resolve(to_node)
            sources = reshard_sources(cluster, target, _split(from_nodes))
        except AdminError as error:
            raise click.ClickException(str(error))
        if not sources:
            raise click.ClickException("*** No source nodes given, operation aborted.")
        moves = plan_for(cluster, target, sources, slots)
        click.echo(f"Ready to move {len(moves)} slots.")
        click.echo("  Source nodes:")
        for n in sources:
            click.echo(f"    {n.short()} {len(n.slots)} slots")
        click.echo(f"  Destination node:\n    {target.short()} {len(target.slots)} slots")
        click.echo("  Resharding plan:")
        for line in describe_plan(moves, cluster):
            click.echo(line)
        if dry_run:
            return
        opts = MoveOptions(pipeline, timeout_ms, replace, log=lambda m: click.echo(m, err=True))
        _run_moves(cluster, moves, opts, quiet)


def _parse_weights(cluster: Cluster, items: Sequence[str]) -> dict[str, float]:
    from cluster.rebalance import parse_weights

    try:
        return {cluster.resolve(n).node_id: w for n, w in parse_weights(_split(items))}
    except (ValueError, AdminError) as error:
        raise click.ClickException(str(error))


@click.command()
@_target_options
@_move_options
@click.option("--weight", "weights", multiple=True, metavar="NODE=W", help="A master's weight.")
@click.option("--use-empty-masters", is_flag=True, help="Give slots to masters without any.")
@click.option("--threshold", default=2.0, show_default=True, help="Percent off before moving.")
@click.option("--dry-run", "--simulate", "dry_run", is_flag=True, help="Print the plan only.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def rebalance(
    cluster_addr: str | None,
    run_dir: str,
    pipeline: int,
    timeout_ms: int,
    weights: tuple[str, ...],
    use_empty_masters: bool,
    threshold: float,
    dry_run: bool,
    quiet: bool,
) -> None:
    """Even out slots across masters by weight (like redis-cli --cluster rebalance)."""
    from cluster.rebalance import plan_rebalance

    with _load(cluster_addr, run_dir) as cluster:
        _refuse_if_broken(cluster, "rebalancing")
        plan = plan_rebalance(
            [(n.node_id, n.slots) for n in cluster.masters],
            _parse_weights(cluster, weights),
            threshold,
            use_empty_masters,
        )
        if not plan.needed:
            click.echo(
                f"*** No rebalancing needed! All nodes are within the {threshold:.2f}% threshold."
            )
            return
        involved = len(plan.balances)
        click.echo(
            f">>> Rebalancing across {involved} nodes. Total weight = {plan.total_weight:.2f}"
        )
        for source, target, count in plan.steps:
            src, dst = cluster.by_id(source), cluster.by_id(target)
            click.echo(
                f"Moving {count} slots from {src.addr if src else source} "
                f"to {dst.addr if dst else target}"
            )
        if dry_run:
            return
        opts = MoveOptions(pipeline, timeout_ms, log=lambda m: click.echo(m, err=True))
        _run_moves(cluster, plan.moves, opts, quiet)


@click.command("add-node")
@_target_options
@click.argument("new_node", metavar="HOST:PORT")
@click.option("--replica-of", help="Make the new node a replica of this master.")
@click.option("--replica", is_flag=True, help="A replica of the master with fewest replicas.")
def add_node(
    cluster_addr: str | None, run_dir: str, new_node: str, replica_of: str | None, replica: bool
) -> None:
    """Join an empty cluster-enabled node, as a master or a replica (redis-cli add-node)."""
    from cluster.membership import add_node as join

    with _load(cluster_addr, run_dir) as cluster:
        try:
            join(cluster, new_node, replica_of, click.echo, as_replica=replica)
        except AdminError as error:
            raise click.ClickException(str(error))


@click.command("del-node")
@_target_options
@click.argument("node_spec", metavar="NODE")
def del_node(cluster_addr: str | None, run_dir: str, node_spec: str) -> None:
    """Remove a node that owns no slots: FORGET everywhere, then RESET SOFT (redis-cli)."""
    from cluster.membership import del_node as remove

    with _load(cluster_addr, run_dir) as cluster:
        try:
            remove(cluster, node_spec, click.echo)
        except AdminError as error:
            raise click.ClickException(str(error))


@click.command()
@_target_options
@click.option("--seed", type=int, help="Seed for picking owners of keyless uncovered slots.")
def fix(cluster_addr: str | None, run_dir: str, seed: int | None) -> None:
    """Close open slots, move misplaced keys, cover unowned slots (redis-cli --cluster fix)."""
    import random

    from cluster.fix import check_lines
    from cluster.fix import fix as repair

    with _load(cluster_addr, run_dir) as cluster:
        for line in check_lines(cluster):
            click.echo(line)
        try:
            repair(cluster, MoveOptions(log=click.echo), click.echo, random.Random(seed))
        except (AdminError, OSError) as error:
            raise click.ClickException(str(error))
    click.echo("[OK] fix done")


@click.command("migrate-slot")
@_target_options
@_move_options
@click.argument("slot", type=click.IntRange(0, 16383))
@click.option("--to", "to_node", help="The node receiving the slot.")
@click.option("--pause-at", help="Stop after 'half' or a fraction of the keys, slot left open.")
@click.option("--resume", is_flag=True, help="Finish a paused migration of SLOT.")
@click.option("--abort", "abort_", is_flag=True, help="Roll a paused migration of SLOT back.")
def migrate_slot(
    cluster_addr: str | None,
    run_dir: str,
    pipeline: int,
    timeout_ms: int,
    slot: int,
    to_node: str | None,
    pause_at: str | None,
    resume: bool,
    abort_: bool,
) -> None:
    """Move one slot, optionally pausing half way so clients meet ASK and TRYAGAIN."""
    from cluster import migration

    if sum((bool(to_node), resume, abort_)) != 1:
        raise click.UsageError("give exactly one of --to NODE, --resume, --abort")
    if pause_at is not None and not to_node:
        raise click.UsageError("--pause-at goes with --to")
    opts = MoveOptions(pipeline, timeout_ms, log=lambda m: click.echo(m, err=True))
    with _load(cluster_addr, run_dir) as cluster:
        try:
            if resume:
                state = migration.resume(cluster, slot, opts)
            elif abort_:
                state = migration.abort(cluster, slot, opts)
            else:
                target = cluster.resolve(to_node or "")
                state = migration.migrate_slot(cluster, slot, target, opts, pause_at)
        except AdminError as error:
            raise click.ClickException(str(error))
    click.echo(
        f"slot {state.slot} {state.source} -> {state.target}: {state.state}, "
        f"{state.keys_moved} keys moved, {state.keys_left} left on the source"
    )


COMMANDS: tuple[click.Command, ...] = (reshard, rebalance, add_node, del_node, fix, migrate_slot)
