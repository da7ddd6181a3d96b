"""CLUSTER subcommands (Redis 7.0's clusterCommand), thin over the pure core ``gossip``.

Every handler first needs the node's ``ClusterGlue`` (``node.cluster_glue``): a node started without
``cluster-enabled yes`` has none and answers "This instance has cluster support disabled", like
Redis before it looks at the subcommand (arity errors come first, from the dispatcher). The core
checks and raises ``ClusterCommandError`` with Redis's texts; argument parsing that Redis does
in clusterCommand itself (ports, integers, RESET's mode) is done here. A handler that changed the
core ``poke``s the bus driver so the outbox (MEET links, nodes.conf saves) is carried out at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from gossip import ClusterCommandError
from gossip.nodesconf import nodes_text
from gossip.slots import CLUSTER_SLOTS
from gossip.views import (
    cluster_info_text,
    cluster_links,
    cluster_shards,
    cluster_slots,
    replica_lines,
)
from node.protocol.errors import CLUSTER_DISABLED, RespError, help_reply, syntax_error, wrong_arity
from node.protocol.keyslot import key_slot
from node.protocol.resp import OK, Map, SimpleString, Verbatim
from node.session import Session
from node.types.common import parse_int

if TYPE_CHECKING:
    from node.cluster_glue import ClusterGlue

INVALID_SLOT = "ERR Invalid slot"
INVALID_SLOT_OR_COUNT = "ERR Invalid slot or number of keys"

_HELP = (
    "ADDSLOTS <slot> [<slot> ...]",
    "    Assign slots to current node.",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Assign slots which are between <start-slot> and <end-slot> to current node.",
    "BUMPEPOCH",
    "    Advance the cluster config epoch.",
    "COUNT-FAILURE-REPORTS <node-id>",
    "    Return number of failure reports for <node-id>.",
    "COUNTKEYSINSLOT <slot>",
    "    Return the number of keys in <slot>.",
    "DELSLOTS <slot> [<slot> ...]",
    "    Delete slots information from current node.",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
    "FAILOVER [FORCE|TAKEOVER]",
    "    Promote current replica node to being a master.",
    "FORGET <node-id>",
    "    Remove a node from the cluster.",
    "GETKEYSINSLOT <slot> <count>",
    "    Return key names stored by current node in a slot.",
    "FLUSHSLOTS",
    "    Delete current node own slots information.",
    "INFO",
    "    Return information about the cluster.",
    "KEYSLOT <key>",
    "    Return the hash slot for <key>.",
    "MEET <ip> <port> [<bus-port>]",
    "    Connect nodes into a working cluster.",
    "MYID",
    "    Return the node id.",
    "NODES",
    "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
    "REPLICATE <node-id>",
    "    Configure current node as replica to <node-id>.",
    "RESET [HARD|SOFT]",
    "    Reset current node (default: soft).",
    "SET-CONFIG-EPOCH <epoch>",
    "    Set config epoch of current node.",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
    "    Set slot state.",
    "REPLICAS <node-id>",
    "    Return <node-id> replicas.",
    "SAVECONFIG",
    "    Force saving cluster configuration on disk.",
    "SLOTS",
    "    Return information about slots range mappings. Each range is made of:",
    "    start, end, master and replicas IP addresses, ports and ids",
    "SHARDS",
    "    Return information about slot range mappings and the nodes associated with them.",
    "LINKS",
    "    Return information about all network links between this node and its peers.",
    "    Output format is an array where each array element is a map containing attributes of a link",
)


# -- helpers ----------------------------------------------------------------------------------


def _cluster(ctx: Session) -> ClusterGlue:
    cluster = ctx.node.cluster_glue
    if cluster is None:
        raise RespError(CLUSTER_DISABLED)
    return cluster


def _change(ctx: Session, action: Callable[[ClusterGlue], Any]) -> Any:
    """Run a core command: its refusal becomes the reply error; success pokes the driver."""
    cluster = _cluster(ctx)
    try:
        result = action(cluster)
    except ClusterCommandError as error:
        raise RespError(str(error)) from None
    cluster.poke()
    return result


def _subcommand_syntax(argv: list[bytes]) -> RespError:
    """addReplySubcommandSyntaxError: the subcommand as typed."""
    sub = argv[1].decode("utf-8", "replace")
    return RespError(
        f"ERR unknown subcommand or wrong number of arguments for '{sub}'. Try CLUSTER HELP."
    )


def _db0_empty(ctx: Session) -> bool:
    return len(ctx.node.dbs[0]) == 0


def _reply(value: Any) -> Any:
    """gossip.views structures to reply values: dicts become RESP maps."""
    if isinstance(value, dict):
        return Map([(k, _reply(v)) for k, v in value.items()])
    if isinstance(value, list):
        return [_reply(v) for v in value]
    return value


def _pairs(args: list[bytes]) -> Iterator[tuple[bytes, bytes]]:
    return zip(args[0::2], args[1::2], strict=True)


# -- read-only subcommands ----------------------------------------------------------------------


def cluster_help_command(ctx: Session, argv: list[bytes]) -> object:
    _cluster(ctx)
    return help_reply("CLUSTER", _HELP)


def cluster_info_command(ctx: Session, argv: list[bytes]) -> object:
    return Verbatim(cluster_info_text(_cluster(ctx).state).encode())


def cluster_nodes_command(ctx: Session, argv: list[bytes]) -> object:
    return Verbatim(nodes_text(_cluster(ctx).state).encode())


def cluster_myid_command(ctx: Session, argv: list[bytes]) -> object:
    return _cluster(ctx).state.my_id.encode()


def cluster_slots_command(ctx: Session, argv: list[bytes]) -> object:
    """Replicas are listed once synced: their gossiped replication offset is > 0."""
    cluster = _cluster(ctx)
    return _reply(cluster_slots(cluster.state, cluster.my_repl_offset(ctx.node)))


def cluster_shards_command(ctx: Session, argv: list[bytes]) -> object:
    cluster = _cluster(ctx)
    return _reply(cluster_shards(cluster.state, cluster.my_repl_offset(ctx.node)))


def cluster_links_command(ctx: Session, argv: list[bytes]) -> object:
    return _reply(cluster_links(_cluster(ctx).state))


def cluster_replicas_command(ctx: Session, argv: list[bytes]) -> object:
    state = _cluster(ctx).state
    try:
        return [line.encode() for line in replica_lines(state, argv[2])]
    except ClusterCommandError as error:
        raise RespError(str(error)) from None


def cluster_keyslot_command(ctx: Session, argv: list[bytes]) -> object:
    _cluster(ctx)
    return key_slot(argv[2])


def cluster_countkeysinslot_command(ctx: Session, argv: list[bytes]) -> object:
    _cluster(ctx)
    slot = parse_int(argv[2])
    if not 0 <= slot < CLUSTER_SLOTS:
        raise RespError(INVALID_SLOT)
    return ctx.node.dbs[0].count_keys_in_slot(slot)


def cluster_getkeysinslot_command(ctx: Session, argv: list[bytes]) -> object:
    _cluster(ctx)
    slot = parse_int(argv[2])
    count = parse_int(argv[3])
    if count < 0 or not 0 <= slot < CLUSTER_SLOTS:
        raise RespError(INVALID_SLOT_OR_COUNT)
    keys = ctx.node.dbs[0].keys_in_slot(slot)
    out = []
    for key in keys:
        if len(out) >= count:
            break
        out.append(key)
    return out


def cluster_count_failure_reports_command(ctx: Session, argv: list[bytes]) -> object:
    state = _cluster(ctx).state
    try:
        return state.count_failure_reports(argv[2], ctx.node.now_ms)
    except ClusterCommandError as error:
        raise RespError(str(error)) from None


# -- subcommands that change the cluster ------------------------------------------------------


def cluster_meet_command(ctx: Session, argv: list[bytes]) -> object:
    """CLUSTER MEET ip port [cport]: ports parsed as Redis's getLongLongFromObject, the address
    error quotes the arguments as typed."""
    _cluster(ctx)
    if len(argv) not in (4, 5):
        raise _subcommand_syntax(argv)
    port = parse_int(
        argv[3], f"ERR Invalid TCP base port specified: {argv[3].decode('utf-8', 'replace')}"
    )
    if len(argv) == 5:
        cport = parse_int(
            argv[4], f"ERR Invalid TCP bus port specified: {argv[4].decode('utf-8', 'replace')}"
        )
    else:
        cport = port + 10000
    ip = argv[2].decode("utf-8", "replace")
    try:
        return _change(ctx, lambda c: (c.state.meet(ip, port, cport, ctx.node.now_ms), OK)[1])
    except RespError:
        raise RespError(
            f"ERR Invalid node address specified: {ip}:{argv[3].decode('utf-8', 'replace')}"
        ) from None


def cluster_addslots_command(ctx: Session, argv: list[bytes]) -> object:
    return _change(ctx, lambda c: (c.state.add_slots(argv[2:], ctx.node.now_ms), OK)[1])


def cluster_delslots_command(ctx: Session, argv: list[bytes]) -> object:
    return _change(ctx, lambda c: (c.state.del_slots(argv[2:], ctx.node.now_ms), OK)[1])


def cluster_addslotsrange_command(ctx: Session, argv: list[bytes]) -> object:
    _cluster(ctx)
    if len(argv) % 2 == 1:
        raise wrong_arity("cluster|addslotsrange")
    return _change(
        ctx, lambda c: (c.state.add_slot_ranges(_pairs(argv[2:]), ctx.node.now_ms), OK)[1]
    )


def cluster_delslotsrange_command(ctx: Session, argv: list[bytes]) -> object:
    _cluster(ctx)
    if len(argv) % 2 == 1:
        raise wrong_arity("cluster|delslotsrange")
    return _change(
        ctx, lambda c: (c.state.del_slot_ranges(_pairs(argv[2:]), ctx.node.now_ms), OK)[1]
    )


def cluster_flushslots_command(ctx: Session, argv: list[bytes]) -> object:
    empty = _db0_empty(ctx)
    return _change(ctx, lambda c: (c.state.flush_slots(empty, ctx.node.now_ms), OK)[1])


def cluster_setslot_command(ctx: Session, argv: list[bytes]) -> object:
    counter = ctx.node.dbs[0].count_keys_in_slot
    return _change(ctx, lambda c: (c.state.setslot(argv[2:], counter, ctx.node.now_ms), OK)[1])


def cluster_forget_command(ctx: Session, argv: list[bytes]) -> object:
    return _change(ctx, lambda c: (c.state.forget(argv[2], ctx.node.now_ms), OK)[1])


def cluster_reset_command(ctx: Session, argv: list[bytes]) -> object:
    """CLUSTER RESET [HARD|SOFT] (soft by default)."""
    _cluster(ctx)
    if len(argv) > 3:
        raise _subcommand_syntax(argv)
    hard = False
    if len(argv) == 3:
        mode = argv[2].lower()
        if mode == b"hard":
            hard = True
        elif mode != b"soft":
            raise syntax_error()
    empty = _db0_empty(ctx)
    return _change(ctx, lambda c: (c.state.reset(hard, ctx.node.now_ms, empty), OK)[1])


def cluster_set_config_epoch_command(ctx: Session, argv: list[bytes]) -> object:
    _cluster(ctx)
    epoch = parse_int(argv[2])
    return _change(ctx, lambda c: (c.state.set_config_epoch(epoch, ctx.node.now_ms), OK)[1])


def cluster_bumpepoch_command(ctx: Session, argv: list[bytes]) -> object:
    word, epoch = _change(ctx, lambda c: c.state.bump_epoch(ctx.node.now_ms))
    return SimpleString(f"{word} {epoch}".encode())


def cluster_saveconfig_command(ctx: Session, argv: list[bytes]) -> object:
    return _change(ctx, lambda c: (c.state.save_config(ctx.node.now_ms), OK)[1])


def cluster_replicate_command(ctx: Session, argv: list[bytes]) -> object:
    """CLUSTER REPLICATE <node-id>: Redis's checks and texts (gossip.admin.replicate), then
    clusterSetMaster: the core emits MyMasterChanged and the glue starts replicating."""
    empty = _db0_empty(ctx)
    return _change(ctx, lambda c: (c.state.replicate(argv[2], empty, ctx.node.now_ms), OK)[1])


def cluster_failover_command(ctx: Session, argv: list[bytes]) -> object:
    """CLUSTER FAILOVER [FORCE|TAKEOVER] (gossip.manual_failover): Redis accepts 2 or 3
    arguments (else the subcommand syntax error), then FORCE/TAKEOVER or a syntax error, then
    the role checks."""
    cluster = _cluster(ctx)
    if len(argv) > 3:
        raise _subcommand_syntax(argv)
    mode = ""
    if len(argv) == 3:
        option = argv[2].lower()
        if option not in (b"force", b"takeover"):
            raise syntax_error()
        mode = option.decode()
    cluster.feed_replication(ctx.node)
    return _change(ctx, lambda c: (c.state.start_failover(mode, ctx.node.now_ms), OK)[1])


HANDLERS = {
    "cluster|help": cluster_help_command,
    "cluster|info": cluster_info_command,
    "cluster|nodes": cluster_nodes_command,
    "cluster|myid": cluster_myid_command,
    "cluster|slots": cluster_slots_command,
    "cluster|shards": cluster_shards_command,
    "cluster|links": cluster_links_command,
    "cluster|replicas": cluster_replicas_command,
    "cluster|slaves": cluster_replicas_command,
    "cluster|keyslot": cluster_keyslot_command,
    "cluster|countkeysinslot": cluster_countkeysinslot_command,
    "cluster|getkeysinslot": cluster_getkeysinslot_command,
    "cluster|count-failure-reports": cluster_count_failure_reports_command,
    "cluster|meet": cluster_meet_command,
    "cluster|addslots": cluster_addslots_command,
    "cluster|delslots": cluster_delslots_command,
    "cluster|addslotsrange": cluster_addslotsrange_command,
    "cluster|delslotsrange": cluster_delslotsrange_command,
    "cluster|flushslots": cluster_flushslots_command,
    "cluster|setslot": cluster_setslot_command,
    "cluster|forget": cluster_forget_command,
    "cluster|reset": cluster_reset_command,
    "cluster|set-config-epoch": cluster_set_config_epoch_command,
    "cluster|bumpepoch": cluster_bumpepoch_command,
    "cluster|saveconfig": cluster_saveconfig_command,
    "cluster|replicate": cluster_replicate_command,
    "cluster|failover": cluster_failover_command,
}
