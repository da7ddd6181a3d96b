"""``rcsim kill | restart | failover | drill``: break a running cluster on purpose and watch it
heal. ``cluster.cli`` adds ``COMMANDS`` to its ``main`` group.

``<node>`` is a port (``7001``), an address (``127.0.0.1:7001``) or a node-id prefix (resolved
through a running node's CLUSTER NODES, so a dead node's id works too).
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from cluster import supervisor
from cluster.cli_options import run_dir_option
from cluster.respclient import ReplyError, RespClient
from cluster.topology import NodeLine, parse_nodes, resolve_node

HOST = "127.0.0.1"


def resolve(run_dir: Path, spec: str) -> supervisor.NodeDir:
    """The node directory ``spec`` names (see the module docstring), by the same rule as the
    resharding commands (``cluster.topology.resolve_node``). Ids come from a running node's
    CLUSTER NODES, so a dead node's id works too; with every node down, ports still do."""
    dirs = {nd.port: nd for nd in supervisor.node_dirs(run_dir)}
    if not dirs:
        raise click.ClickException(f"no nodes in {run_dir}")
    lines = _cluster_lines(dirs.values()) or [
        NodeLine("", f"{HOST}:{port}", set(), "-", 0, "") for port in dirs
    ]
    try:
        port = int(resolve_node(lines, spec).addr.rsplit(":", 1)[1])
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    if port not in dirs:
        raise click.ClickException(f"node {spec!r} (port {port}) is not part of {run_dir}")
    return dirs[port]


def _cluster_lines(node_dirs) -> list[NodeLine]:  # type: ignore[no-untyped-def]
    """CLUSTER NODES of the first running node that answers ([] if none does)."""
    for nd in node_dirs:
        if nd.pid() is None:
            continue
        try:
            with RespClient(HOST, nd.port, timeout=2.0) as client:
                return parse_nodes(client.text("CLUSTER", "NODES"))
        except (OSError, ConnectionError, ReplyError):
            continue
    return []


@click.command()
@click.argument("node")
@run_dir_option
def kill(node: str, run_dir: str) -> None:
    """SIGKILL one node (a crash: it saves nothing and says goodbye to no one)."""
    nd = resolve(Path(run_dir), node)
    pid = supervisor.kill(nd)
    if pid is None:
        raise click.ClickException(f"the node on port {nd.port} is not running")
    click.echo(f"port {nd.port}: killed (pid {pid})")


@click.command()
@click.argument("node")
@run_dir_option
def restart(node: str, run_dir: str) -> None:
    """Start a stopped or killed node again: same port, directory and nodes.conf."""
    nd = resolve(Path(run_dir), node)
    try:
        pid = supervisor.restart(nd)
    except RuntimeError as error:
        raise click.ClickException(str(error))
    click.echo(f"port {nd.port}: started (pid {pid})")


@click.command()
@click.argument("node")
@click.option("--force", is_flag=True, help="Do not wait for the master (it may be down).")
@click.option("--takeover", is_flag=True, help="Do not even ask the masters for votes.")
@click.option("--wait", default=10.0, show_default=True, help="Seconds to wait for the switch.")
@run_dir_option
def failover(node: str, force: bool, takeover: bool, wait: float, run_dir: str) -> None:
    """CLUSTER FAILOVER [FORCE|TAKEOVER] on a replica, then wait until it is a master."""
    if force and takeover:
        raise click.ClickException("--force and --takeover exclude each other")
    nd = resolve(Path(run_dir), node)
    args = ["CLUSTER", "FAILOVER"] + (["FORCE"] if force else ["TAKEOVER"] if takeover else [])
    start = time.monotonic()
    try:
        with RespClient(HOST, nd.port) as client:
            reply = client.call(*args)
            if isinstance(reply, ReplyError):
                raise click.ClickException(f"port {nd.port}: {reply}")
            while time.monotonic() - start < wait:
                role = client.call("ROLE")
                if isinstance(role, list) and role and role[0] == b"master":
                    took = time.monotonic() - start
                    click.echo(f"port {nd.port}: now a master ({took:.2f}s)")
                    return
                time.sleep(0.05)
    except (OSError, ConnectionError) as error:
        raise click.ClickException(f"port {nd.port}: {error}")
    raise click.ClickException(f"port {nd.port} is not a master after {wait:.0f}s")


@click.group()
def drill() -> None:
    """Failover drills that time detection, election and recovery."""


@drill.command("kill-master")
@click.option("--runs", default=5, show_default=True, type=click.IntRange(1, 100))
@click.option("--shard", default="shard-0", show_default=True, help="Whose master to kill.")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds allowed per step.")
@run_dir_option
def kill_master(runs: int, shard: str, timeout: float, run_dir: str) -> None:
    """SIGKILL a shard's master, time detect / elect / recover, restart it as a replica;
    print each run and the medians."""
    from cluster.drill import kill_master_drill

    try:
        kill_master_drill(Path(run_dir), runs, shard, timeout, click.echo)
    except (RuntimeError, TimeoutError, OSError) as error:
        raise click.ClickException(str(error))


COMMANDS: tuple[click.Command, ...] = (kill, restart, failover, drill)
