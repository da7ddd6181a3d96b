"""DEBUG BUS-ISOLATE / DEBUG BUS-HEAL: cluster bus fault injection for drills and tests
(rcsim only; real Redis has DEBUG DROP-CLUSTER-PACKET-FILTER for a similar purpose).

``DEBUG BUS-ISOLATE <node-id> [<node-id> ...]`` makes this node drop all node-to-node traffic
with those nodes until ``DEBUG BUS-HEAL``, as a network partition would: bus links are closed,
reconnects fail, messages are dropped (``node.drivers.bus``), and replication links between them are cut
and refused too (``node.drivers.client_server``'s tick: a replica's link to an isolated master, a master's
replica connections from isolated nodes). Client connections are not affected. Naming this node's own id cuts it off from every node, so one command
on one node partitions it away. The ids are added to the set (repeated calls accumulate);
unknown ids are accepted (they may be known later). ``BUS-HEAL`` clears the whole set. Both
reply ``+OK``; outside cluster mode they fail like any CLUSTER command.

Registered as DEBUG subcommands through ``node.commands.debug`` (``DEBUG_SUBCOMMANDS``: name ->
(min argc, max argc, handler), argc counting DEBUG and the subcommand).
"""

from __future__ import annotations

from collections.abc import Callable

from node.protocol.errors import CLUSTER_DISABLED, RespError
from node.protocol.resp import OK
from node.session import Session


def _glue(ctx: Session):  # type: ignore[no-untyped-def]
    glue = ctx.node.cluster_glue
    if glue is None:
        raise RespError(CLUSTER_DISABLED)
    return glue


def bus_isolate(ctx: Session, argv: list[bytes]) -> object:
    glue = _glue(ctx)
    glue.isolated.update(arg.decode("utf-8", "surrogateescape") for arg in argv[2:])
    glue.poke()  # the driver closes the links at once
    return OK


def bus_heal(ctx: Session, argv: list[bytes]) -> object:
    glue = _glue(ctx)
    glue.isolated.clear()
    glue.poke()
    return OK


DEBUG_SUBCOMMANDS: dict[bytes, tuple[int, int, Callable[[Session, list[bytes]], object]]] = {
    b"bus-isolate": (3, 1 << 30, bus_isolate),
    b"bus-heal": (2, 2, bus_heal),
}
