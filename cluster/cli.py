"""The ``rcsim`` command line: the ``main`` group, the node and cluster lifecycle commands
(node, up, down, status, check), and the commands of ``cluster.cli_ops`` (kill, restart,
failover, drill) and ``cluster.cli_reshard`` (reshard, rebalance, add-node, del-node, fix,
migrate-slot), added from their ``COMMANDS``."""

from __future__ import annotations

import sys

import click

from cluster import cli_ops, cli_reshard
from cluster.cli_options import run_dir_option


@click.group()
@click.version_option(package_name="rcsim")
def main() -> None:
    """rcsim: a Redis-Cluster-compatible cluster you can break on purpose."""


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def node(args: tuple[str, ...]) -> None:
    """Run one node in the foreground, configured like redis-server:
    ``rcsim node [redis.conf] [--port 7000 --requirepass pw ...]``."""
    from node.app import main as node_main

    sys.exit(node_main(list(args)))


@main.command()
@click.option("--masters", default=3, show_default=True, type=click.IntRange(1, 100))
@click.option(
    "--replicas",
    default=1,
    show_default=True,
    type=click.IntRange(0, 10),
    help="Replicas per master (attached with CLUSTER REPLICATE, as redis-cli --cluster create).",
)
@click.option("--port", default=7000, show_default=True, type=click.IntRange(1, 55535))
@run_dir_option
@click.option("--node-timeout", default=2000, show_default=True, type=click.IntRange(1))
@click.option(
    "--wait", default=30.0, show_default=True, help="Seconds to wait for cluster_state:ok."
)
def up(
    masters: int, replicas: int, port: int, run_dir: str, node_timeout: int, wait: float
) -> None:
    """Start a cluster: one detached node process per master and replica, assembled, the
    replicas attached and synced, and every node agreeing."""
    from pathlib import Path

    from cluster.assemble import up as start_cluster
    from cluster.report import status_lines

    try:
        views = start_cluster(Path(run_dir), masters, port, node_timeout, wait, replicas)
    except (RuntimeError, TimeoutError, OSError) as error:
        raise click.ClickException(str(error))
    for line in status_lines(views, []):
        click.echo(line)
    click.echo(f"cluster ready; connect with: redis-cli -c -p {port}")


@main.command()
@run_dir_option
@click.option("--timeout", default=10.0, show_default=True, help="Seconds before SIGKILL.")
def down(run_dir: str, timeout: float) -> None:
    """Stop every node of the run directory (SIGTERM, then SIGKILL after --timeout)."""
    from pathlib import Path

    from cluster.supervisor import node_dirs, stop

    dirs = node_dirs(Path(run_dir))
    if not dirs:
        click.echo(f"no nodes in {run_dir}")
    for nd in dirs:
        click.echo(f"port {nd.port}: {stop(nd, timeout)}")


def _views(run_dir: str) -> tuple[list, list[int]]:
    from pathlib import Path

    from cluster.supervisor import node_dirs
    from cluster.topology import query

    views, unreachable = [], []
    for nd in node_dirs(Path(run_dir)):
        if nd.pid() is None:
            unreachable.append(nd.port)
            continue
        try:
            views.append(query("127.0.0.1", nd.port))
        except (OSError, ConnectionError, StopIteration):
            unreachable.append(nd.port)
    return views, unreachable


@main.command()
@run_dir_option
def status(run_dir: str) -> None:
    """Each node's id, address, role, slots, keys, epochs and links; whether all agree."""
    from cluster.report import status_lines

    views, unreachable = _views(run_dir)
    for line in status_lines(views, unreachable):
        click.echo(line)
    if unreachable or not views:
        sys.exit(1)


@main.command()
@run_dir_option
def check(run_dir: str) -> None:
    """Slot coverage and agreement, like ``redis-cli --cluster check``."""
    from cluster.report import check as check_cluster

    views, unreachable = _views(run_dir)
    for port in unreachable:
        click.echo(f"[ERR] Node 127.0.0.1:{port} is not reachable.")
    ok = check_cluster(views, click.echo)
    sys.exit(0 if ok and not unreachable else 1)


# Subcommands defined in their own modules; they never import this one.
for _command in (*cli_ops.COMMANDS, *cli_reshard.COMMANDS):
    main.add_command(_command)
