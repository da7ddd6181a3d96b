"""Handlers for every command rcsim serves, joined to Redis's metadata into one table.

Each module of this package exports ``HANDLERS``: a mapping from a lowercase command name (or
``container|subcommand``) to a function ``(ctx, argv) -> reply``. ``build_command_table`` joins
them with the rows of ``node.protocol.commands`` (arity, flags, key specs), so dispatch, arity
errors, ``COMMAND`` output and routing all read the same row. A handler without a Redis row, or a
served container without its subcommand rows, is a programming error caught at start-up (and by
``tests/unit/test_command_table.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from node.protocol.commands import CommandSpec, redis_command_specs

Handler = Callable[..., object]

# Modules holding handlers, one per family of commands.
HANDLER_MODULES = (
    "node.commands.connection",
    "node.commands.strings",
    "node.commands.keys",
    "node.commands.server",
    "node.commands.debug",
    "node.commands.clients",
    "node.commands.transactions",
    "node.commands.introspection",
    "node.commands.cluster",
    "node.commands.replication",
    "node.commands.migrate",
    "node.commands.sentinel",
    "node.types.hashes",
    "node.types.sets",
    "node.types.lists",
    "node.types.zsets",
    "node.types.geo",
    "node.types.hyperloglog",
    "node.types.bitmaps",
    "node.types.pubsub",
    "node.commands.scripting",
)


class Command:
    """A served command: Redis's row, our handler, and its INFO commandstats counters."""

    __slots__ = (
        "arity",
        "handler",
        "is_write",
        "max_args",
        "min_args",
        "name",
        "name_bytes",
        "no_auth",
        "no_multi",
        "parent",
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
        self.is_write = "write" in flags
        self.no_auth = "no_auth" in flags
        self.no_multi = "no_multi" in flags
        # Redis never shows admin commands (CONFIG, DEBUG...) to MONITOR clients.
        self.skip_monitor = "skip_monitor" in flags or "admin" in flags
        self.skip_slowlog = "skip_slowlog" in flags
        # calls, nanoseconds, rejected_calls, failed_calls (INFO commandstats shows usec)
        self.stats = [0, 0, 0, 0]


def collect_handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    for module_name in HANDLER_MODULES:
        module = import_module(module_name)
        for name, handler in module.HANDLERS.items():
            if name in handlers:
                raise RuntimeError(f"command {name!r} has two handlers")
            handlers[name] = handler
    return handlers


def build_command_table() -> dict[bytes, Command]:
    """Name (lowercase and uppercase bytes) -> Command, for every command with a handler."""
    specs = redis_command_specs()
    handlers = collect_handlers()
    table: dict[str, Command] = {}
    for name in sorted(handlers, key=lambda n: n.count("|")):
        parent_name, _, sub_name = name.partition("|")
        parent_spec = specs.get(parent_name)
        if parent_spec is None:
            raise RuntimeError(f"handler for {name!r} but Redis has no such command")
        if not sub_name:
            # A container may also run bare (COMMAND with no arguments), as in Redis.
            table[name] = command = Command(parent_spec, handlers[name])
            if parent_spec.subcommands:
                command.min_args, command.max_args = 1, 0
            continue
        sub_spec = parent_spec.subcommands.get(sub_name)
        if sub_spec is None:
            raise RuntimeError(f"handler for {name!r} but Redis has no such subcommand")
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


def served_commands(table: dict[bytes, Command]) -> list[Command]:
    """Each served top-level command once, in name order (for COMMAND and INFO commandstats)."""
    unique = {id(c): c for c in table.values()}
    return sorted(unique.values(), key=lambda c: c.name)
