"""rcsim's overlay on Redis's command metadata: facts Redis keeps in code, and rcsim-only rows.

Redis decides a few things about commands by comparing ``c->cmd->proc`` in ``processCommand``
rather than by a flag in COMMAND INFO (which commands run at once inside MULTI, which a RESP2
subscriber may call, which name shard channels instead of keys). rcsim writes those facts here, as
data, and ``node.protocol.command_table`` merges them into the table when it is built: no module
keeps a list of command names of its own.

``RCSIM_COMMANDS`` holds rows for commands Redis does not have (the fault-injection family and
other rcsim-only commands): each row is written in Redis's own COMMAND INFO/DOCS shape, so the
command shows up in COMMAND, COMMAND INFO and COMMAND DOCS under its own name, with its own arity,
flags and key specs, exactly like a Redis command.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Flags rcsim adds to Redis's rows (by full lowercase name, ``container|sub`` for subcommands).
MULTI_IMMEDIATE = "rcsim_multi_immediate"  # runs at once inside MULTI (not queued)
PUBSUB_CONTEXT = "rcsim_pubsub_context"  # allowed to a RESP2 client in subscribed state
SHARD_CHANNEL = "rcsim_shard_channel"  # argv[1] is a shard channel, routed like a key
SHARD_CHANNELS = "rcsim_shard_channels"  # argv[1:] are shard channels, routed like keys
NO_FAST_PATH = "rcsim_no_fast_path"  # always takes the dispatcher's general path
MAY_REPLICATE = "rcsim_may_replicate"  # Redis's CMD_MAY_REPLICATE (not shown by COMMAND INFO)

OVERLAY_FLAGS: dict[str, frozenset[str]] = {
    # processCommand: inside MULTI everything is queued except these.
    "exec": frozenset((MULTI_IMMEDIATE,)),
    "discard": frozenset((MULTI_IMMEDIATE,)),
    "multi": frozenset((MULTI_IMMEDIATE,)),
    "watch": frozenset((MULTI_IMMEDIATE,)),
    "quit": frozenset((MULTI_IMMEDIATE, PUBSUB_CONTEXT)),
    "reset": frozenset((MULTI_IMMEDIATE, PUBSUB_CONTEXT)),
    # processCommand: what a RESP2 client may run while subscribed.
    "ping": frozenset((PUBSUB_CONTEXT,)),
    "subscribe": frozenset((PUBSUB_CONTEXT,)),
    "unsubscribe": frozenset((PUBSUB_CONTEXT,)),
    "psubscribe": frozenset((PUBSUB_CONTEXT,)),
    "punsubscribe": frozenset((PUBSUB_CONTEXT,)),
    "ssubscribe": frozenset((PUBSUB_CONTEXT, SHARD_CHANNELS)),
    "sunsubscribe": frozenset((PUBSUB_CONTEXT, SHARD_CHANNELS)),
    # Sharded Pub/Sub: routed like keys but never looked up (Redis's is_pubsubshard); and, with
    # PUBLISH and PFCOUNT, Redis's CMD_MAY_REPLICATE: a read-only script refuses them as writes.
    "spublish": frozenset((SHARD_CHANNEL, MAY_REPLICATE)),
    "publish": frozenset((MAY_REPLICATE,)),
    "pfcount": frozenset((MAY_REPLICATE,)),
}


@dataclass(frozen=True, slots=True)
class RcsimKeySpec:
    """One key spec of an rcsim-only row, as Redis 7 writes them (index or keyword + range)."""

    flags: tuple[str, ...]
    index: int = 1
    last_key: int = 0
    key_step: int = 1


@dataclass(frozen=True, slots=True)
class RcsimCommand:
    """An rcsim-only command row, in the vocabulary of Redis's ``src/commands/*.json``."""

    name: str  # lowercase; ``container|sub`` for a subcommand
    arity: int
    flags: tuple[str, ...]
    summary: str
    group: str = "server"
    since: str = "0.1.0"
    acl_categories: tuple[str, ...] = ()
    key_specs: tuple[RcsimKeySpec, ...] = ()
    subcommands: tuple[RcsimCommand, ...] = field(default=())


# The rcsim-only commands this version serves (the fault family registers its rows here).
RCSIM_COMMANDS: tuple[RcsimCommand, ...] = ()
