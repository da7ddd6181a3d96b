"""Handlers for every command rcsim serves, joined to Redis's metadata into one table.

Each module of this package exports ``HANDLERS``: a mapping from a lowercase command name (or
``container|subcommand``) to a function ``(ctx, argv) -> reply``. ``build_table`` joins them
with the rows of ``node.protocol.command_table`` (Redis's metadata and rcsim's overlay: arity,
flags, key specs), so dispatch, arity errors, ``COMMAND`` output and routing all read the same row.
A handler without a row, or a served container without its subcommand rows, is a programming
error caught when the table is built (and by ``tests/unit/test_command_table.py``).
"""

from __future__ import annotations

from importlib import import_module

from node.protocol.command_table import Command, Handler, build_command_table

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
    "node.commands.pubsub",
    "node.commands.scripting",
)


def collect_handlers() -> dict[str, Handler]:
    handlers: dict[str, Handler] = {}
    for module_name in HANDLER_MODULES:
        module = import_module(module_name)
        for name, handler in module.HANDLERS.items():
            if name in handlers:
                raise RuntimeError(f"command {name!r} has two handlers")
            handlers[name] = handler
    return handlers


def build_table() -> dict[bytes, Command]:
    """A fresh command table for one node: Redis's rows, rcsim's overlay, these handlers."""
    return build_command_table(collect_handlers())
