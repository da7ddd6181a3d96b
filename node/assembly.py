"""Assemble a node's pure core: the command table, the state and the hooks, wired once.

``new_node`` is how every node is built, by the process (``node.app``), the in-process tests and
the simulator alike. It is the one place that knows every layer of the node: it builds the
command table from the handler modules (``node.commands``), hands it to ``NodeState`` with the
runtime's random source, host facts and clock, and registers the hooks the upper layers plug
into the invocation function (replication feed, MONITOR), switched on when they are needed.
Nothing here does I/O: the runtime's parts come in as arguments.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from node.commands import build_table
from node.config import Config
from node.host import Host
from node.monitor import monitor_hook
from node.protocol.command_table import Command
from node.replication.stream import flush, replication_hook
from node.state import NodeState

# Order of the after hooks: the replication stream is fed before MONITOR sees the command,
# as in Redis's call() (propagation, then replicationFeedMonitors).
REPLICATION_HOOK_ORDER = 10
MONITOR_HOOK_ORDER = 20


def new_node(
    config: Config,
    *,
    rng: random.Random,
    host: Host,
    monotonic_ns: Callable[[], int],
    now_ms: int,
    commands: dict[bytes, Command] | None = None,
) -> NodeState:
    """A node's core state with its own command table (each node counts its own stats)."""
    node = NodeState(
        config,
        commands=commands if commands is not None else build_table(),
        rng=rng,
        host=host,
        monotonic_ns=monotonic_ns,
        now_ms=now_ms,
    )
    hooks = node.hooks
    hooks.register("replication", "after", replication_hook, order=REPLICATION_HOOK_ORDER)
    hooks.register("monitor", "after", monitor_hook, order=MONITOR_HOOK_ORDER)
    node.flush_propagation = lambda session=None: flush(node, session)
    node.refresh_replication_flags()
    return node
