"""Build a node's core for unit tests: deterministic parts unless a test passes its own."""

from __future__ import annotations

import random
from collections.abc import Callable

from node.assembly import new_node
from node.config import Config
from node.host import Host
from node.runtime.host import real_host
from node.state import NodeState


def make_node(
    config: Config | None = None,
    *,
    rng: random.Random | None = None,
    now_ms: int = 0,
    monotonic_ns: Callable[[], int] | None = None,
    host: Host | None = None,
) -> NodeState:
    """``node.assembly.new_node`` as the unit tests have always built nodes: an unseeded random
    source (two nodes get different ids), this process's host facts and a clock that stands
    still, unless the test passes its own."""
    return new_node(
        config if config is not None else Config(),
        rng=rng if rng is not None else random.Random(),
        host=host if host is not None else real_host(),
        monotonic_ns=monotonic_ns if monotonic_ns is not None else (lambda: 0),
        now_ms=now_ms,
    )
