"""The served command table: Redis's metadata, rcsim's overlay and the handlers, joined once.

``build_command_table(handlers)`` is called by the node's assembly (``node.assembly``) with the
handler map the command modules export; the table is built outside ``NodeState`` and handed to it.
Each ``Command`` carries what dispatch reads on every request as plain slots (arity bounds,
write/auth/MULTI flags, rcsim's overlay facts, routing shape), so no module keeps a list of command
names of its own: a fact about a command is a row here or an overlay flag
(``node.protocol.overlay``).

A handler without a row, or a served container without its subcommand rows, is a programming error
caught when the table is built (and by ``tests/unit/test_command_table.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache

from node.protocol import overlay
from node.protocol.commands import CommandSpec, KeySpec, redis_command_specs
from node.protocol.errors import RespError
from node.protocol.keys import command_has_keys, keys_with_flags
from node.protocol.resp import Map, SetReply, SimpleString

Handler = Callable[..., object]


class Command:
    """A served command: its row, its handler, and its INFO commandstats counters."""

    __slots__ = (
        "arity",
        "handler",
        "is_write",
        "max_args",
        "may_replicate",
        "min_args",
        "multi_immediate",
        "name",
        "name_bytes",
        "needs_routing",
        "no_auth",
        "no_multi",
        "parent",
        "pubsub_context",
        "shard_channels",
        "single_key",
        "skip_monitor",
        "skip_slowlog",
        "spec",
        "stats",
        "subcommands",
    )

    def __init__(self, spec: CommandSpec, handler: Handler | None, parent: Command | None = None):
        self.spec = spec
        self.handler = handler
        self.name = spec.name
        self.name_bytes = spec.name.encode()
        self.parent = parent
        self.subcommands: dict[bytes, Command] = {}
        self.arity = spec.arity
        # Argument counts the dispatcher's fast path accepts: min_args <= argc <= max_args.
        # A container never takes the fast path (its subcommand decides), hence 1 > 0.
        self.min_args = -spec.arity if spec.arity < 0 else spec.arity
        self.max_args = spec.arity if spec.arity >= 0 else 1 << 30
        flags = spec.flags
        if overlay.NO_FAST_PATH in flags:
            self.min_args, self.max_args = 1, 0
        self.is_write = "write" in flags
        self.no_auth = "no_auth" in flags
        self.no_multi = "no_multi" in flags
        # Redis never shows admin commands (CONFIG, DEBUG...) to MONITOR clients.
        self.skip_monitor = "skip_monitor" in flags or "admin" in flags
        self.skip_slowlog = "skip_slowlog" in flags
        self.multi_immediate = overlay.MULTI_IMMEDIATE in flags
        self.pubsub_context = overlay.PUBSUB_CONTEXT in flags
        self.may_replicate = overlay.MAY_REPLICATE in flags
        # Sharded Pub/Sub: 1 when argv[1] is a shard channel, 2 when all of argv[1:] are.
        self.shard_channels = (
            1 if overlay.SHARD_CHANNEL in flags else 2 if overlay.SHARD_CHANNELS in flags else 0
        )
        # Redis's processCommand test for cluster routing: keys, movable keys, EXEC or shard
        # channels.
        self.needs_routing = (
            spec.name == "exec"
            or bool(self.shard_channels)
            or bool(spec.key_specs)
            or command_has_keys(spec)
        )
        # The one shape the cluster fast path decides from the slot table alone: the only key
        # is argv[1] (one key spec: index 1, a range of one).
        specs = spec.key_specs
        self.single_key = (
            len(specs) == 1
            and specs[0].begin_search == "index"
            and specs[0].index == 1
            and specs[0].find_keys == "range"
            and specs[0].last_key == 0
            and not spec.movable_keys
            and not self.shard_channels
            and spec.name != "exec"
        )
        # calls, nanoseconds, rejected_calls, failed_calls (INFO commandstats shows usec)
        self.stats = [0, 0, 0, 0]

    def request_keys(self, argv: list[bytes]) -> list[bytes]:
        """The keys (or shard channels) of one request, as Redis's cluster routing finds them
        (getKeysFromCommandWithSpecs; shard channels for sharded Pub/Sub). Arguments a key
        spec cannot parse name no key: the handler reports the error."""
        shard = self.shard_channels
        if shard:
            return argv[1:2] if shard == 1 else argv[1:]
        try:
            return [argv[pos] for pos, _flags in keys_with_flags(self.spec, argv)]
        except (RespError, ValueError, IndexError):
            return []


@cache
def command_specs() -> dict[str, CommandSpec]:
    """Redis's rows with rcsim's overlay flags merged in, plus rcsim-only rows (by name);
    built once per process, read-only."""
    specs = dict(redis_command_specs())
    merged: dict[str, CommandSpec] = {}
    for name, spec in specs.items():
        merged[name] = _with_overlay(spec)
    for row in overlay.RCSIM_COMMANDS:
        if row.name in merged:
            raise RuntimeError(f"rcsim command {row.name!r} shadows a Redis command")
        merged[row.name] = rcsim_spec(row)
    return merged


def _with_overlay(spec: CommandSpec) -> CommandSpec:
    extra = overlay.OVERLAY_FLAGS.get(spec.name)
    subs = {name: _with_overlay(sub) for name, sub in spec.subcommands.items()}
    if extra is None and all(subs[n] is spec.subcommands[n] for n in subs):
        return spec
    return CommandSpec(
        name=spec.name,
        arity=spec.arity,
        flags=spec.flags | extra if extra else spec.flags,
        first_key=spec.first_key,
        last_key=spec.last_key,
        key_step=spec.key_step,
        acl_categories=spec.acl_categories,
        key_specs=spec.key_specs,
        info_reply=spec.info_reply,  # COMMAND shows Redis's own flags, never rcsim's
        docs_reply=spec.docs_reply,
        subcommands=subs,
    )


def rcsim_spec(row: overlay.RcsimCommand) -> CommandSpec:
    """A ``CommandSpec`` for an rcsim-only row, with COMMAND INFO/DOCS replies in Redis's shape."""
    key_specs = [
        KeySpec(
            flags=frozenset(ks.flags),
            begin_search="index",
            index=ks.index,
            find_keys="range",
            last_key=ks.last_key,
            key_step=ks.key_step,
        )
        for ks in row.key_specs
    ]
    first = key_specs[0].index if key_specs else 0
    last = (
        (first + key_specs[0].last_key if key_specs[0].last_key >= 0 else key_specs[0].last_key)
        if key_specs
        else 0
    )
    step = key_specs[0].key_step if key_specs else 0
    subcommands = {sub.name.split("|", 1)[1]: rcsim_spec(sub) for sub in row.subcommands}
    acl = tuple(row.acl_categories)
    info = [
        row.name.encode(),
        row.arity,
        SetReply([SimpleString(f.encode()) for f in row.flags]),
        first,
        last,
        step,
        SetReply([SimpleString(("@" + c).encode()) for c in acl]),
        SetReply([]),
        SetReply([_key_spec_reply(ks) for ks in row.key_specs]),
        SetReply([subcommands[n].info_reply for n in sorted(subcommands)]),
    ]
    docs_items: list[tuple[bytes, object]] = [
        (b"summary", row.summary.encode()),
        (b"since", row.since.encode()),
        (b"group", row.group.encode()),
    ]
    if subcommands:
        docs_items.append(
            (
                b"subcommands",
                Map(
                    [
                        (subcommands[n].name.encode(), subcommands[n].docs_reply)
                        for n in sorted(subcommands)
                    ]
                ),
            )
        )
    return CommandSpec(
        name=row.name,
        arity=row.arity,
        flags=frozenset(row.flags),
        first_key=first,
        last_key=last,
        key_step=step,
        acl_categories=acl,
        key_specs=key_specs,
        info_reply=info,
        docs_reply=Map(docs_items),
        subcommands=subcommands,
    )


def _key_spec_reply(ks: overlay.RcsimKeySpec) -> Map:
    return Map(
        [
            (b"flags", SetReply([SimpleString(f.encode()) for f in ks.flags])),
            (b"begin_search", Map([(b"type", b"index"), (b"spec", Map([(b"index", ks.index)]))])),
            (
                b"find_keys",
                Map(
                    [
                        (b"type", b"range"),
                        (
                            b"spec",
                            Map(
                                [
                                    (b"lastkey", ks.last_key),
                                    (b"keystep", ks.key_step),
                                    (b"limit", 0),
                                ]
                            ),
                        ),
                    ]
                ),
            ),
        ]
    )


def build_command_table(
    handlers: Mapping[str, Handler], specs: Mapping[str, CommandSpec] | None = None
) -> dict[bytes, Command]:
    """Name (lowercase and uppercase bytes) -> Command, for every command with a handler.

    Built once per node (each node counts its own commandstats), outside ``NodeState``."""
    if specs is None:
        specs = command_specs()
    table: dict[str, Command] = {}
    for name in sorted(handlers, key=lambda n: n.count("|")):
        parent_name, _, sub_name = name.partition("|")
        parent_spec = specs.get(parent_name)
        if parent_spec is None:
            raise RuntimeError(f"handler for {name!r} but there is no such command")
        if not sub_name:
            # A container may also run bare (COMMAND with no arguments), as in Redis.
            table[name] = command = Command(parent_spec, handlers[name])
            if parent_spec.subcommands:
                command.min_args, command.max_args = 1, 0
            continue
        sub_spec = parent_spec.subcommands.get(sub_name)
        if sub_spec is None:
            raise RuntimeError(f"handler for {name!r} but there is no such subcommand")
        parent = table.get(parent_name)
        if parent is None:
            parent = table[parent_name] = Command(parent_spec, None)
        parent.subcommands[sub_name.encode()] = Command(sub_spec, handlers[name], parent)
        parent.min_args, parent.max_args = 1, 0  # containers always take the general path
    out: dict[bytes, Command] = {}
    for name, command in table.items():
        out[name.encode()] = command
        out[name.upper().encode()] = command
    return out


def served_commands(table: Mapping[bytes, Command]) -> list[Command]:
    """Each served top-level command once, in name order (for COMMAND and INFO commandstats)."""
    unique = {id(c): c for c in table.values()}
    return sorted(unique.values(), key=lambda c: c.name)
