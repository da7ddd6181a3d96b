"""The ``rcsim`` command line."""

from __future__ import annotations

import sys

import click


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
