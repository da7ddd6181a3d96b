"""COMMAND and its subcommands: the served command table, described as Redis 7.0.15 describes it.

Every entry is Redis's own metadata (``CommandSpec.info_reply`` / ``docs_reply``, captured from
redis-server 7.0.15), restricted to what rcsim serves: Redis lists every command it has, rcsim
lists the commands with a handler, and a served container lists only its served subcommands.
Clients such as redis-py's cluster client route by this output, so it is a contract.

Redis iterates its command dict in hash order, which changes with every process (the hash seed
is random); rcsim answers in name order.

COMMAND GETKEYS follows ``getKeysFromCommandWithSpecs`` (src/db.c): key specs first, unless one
of them has VARIABLE_FLAGS, and the command's ``getkeys_proc`` when the specs are incomplete or
do not fit the arguments.
"""

from __future__ import annotations

from collections.abc import Callable

from node.glob import glob_match
from node.protocol.command_table import Command, served_commands
from node.protocol.errors import INVALID_COMMAND, RespError, help_reply, syntax_error
from node.protocol.keys import KeyRef, getkeys
from node.protocol.resp import Map, SetReply, SimpleString
from node.session import Session

COMMAND_HELP = (
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
)

# The order in which Redis prints key-spec flags (``addReplyFlagsForKeyArgs``).
KEY_FLAG_ORDER = (
    "RO",
    "RW",
    "OW",
    "RM",
    "access",
    "update",
    "insert",
    "delete",
    "not_key",
    "incomplete",
    "variable_flags",
)


# -- looking commands up ------------------------------------------------------------------


def _visible(ctx: Session, name: bytes) -> Command | None:
    """A top-level command COMMAND may show: Sentinel-only rows stay hidden, as in redis-server."""
    command = ctx.node.commands.get(name.lower())
    if command is None or "only_sentinel" in command.spec.flags:
        return None
    return command


def lookup_by_fullname(ctx: Session, name: bytes) -> Command | None:
    """A served command by ``name`` or ``container|sub`` (Redis's ``lookupCommandBySds``: strict,
    so ``get|x`` and ``config|get|x`` are unknown while ``config`` is the container itself)."""
    parts = name.split(b"|")
    if len(parts) > 2:
        return None
    command = _visible(ctx, parts[0])
    if command is None:
        return None
    if len(parts) == 1:
        return command
    return command.subcommands.get(parts[1].lower())


def lookup_by_argv(ctx: Session, argv: list[bytes]) -> Command | None:
    """A served command from a full request (Redis's ``lookupCommand``: a container followed by
    an argument resolves to its subcommand)."""
    command = _visible(ctx, argv[0])
    if command is None or not command.subcommands or len(argv) == 1:
        return command
    return command.subcommands.get(argv[1].lower())


# -- entries ------------------------------------------------------------------------------


def info_entry(command: Command) -> list:
    """Redis's ``addReplyCommandInfo`` entry, subcommands restricted to the served ones."""
    info = command.spec.info_reply
    if not command.subcommands:
        return info
    served = command.subcommands
    subs = [sub for sub in info[9] if sub[0].split(b"|", 1)[1] in served]
    return [*info[:9], subs]


def docs_entry(command: Command) -> object:
    """Redis's ``addReplyCommandDocs`` map, its ``subcommands`` restricted to the served ones."""
    docs = command.spec.docs_reply
    if not command.subcommands:
        return docs
    served = command.subcommands
    items = []
    for key, value in docs.items:  # type: ignore[attr-defined]
        if key == b"subcommands":
            value = Map([(n, d) for n, d in value.items if n.split(b"|", 1)[1] in served])
        items.append((key, value))
    return Map(items)


def _all_commands(ctx: Session) -> list[Command]:
    """Served commands as redis-server lists them: Sentinel-only rows stay hidden."""
    return [c for c in served_commands(ctx.node.commands) if "only_sentinel" not in c.spec.flags]


def _with_subcommands(ctx: Session) -> list[Command]:
    """Every served command, each container followed by its served subcommands."""
    out = []
    for command in _all_commands(ctx):
        out.append(command)
        out.extend(sorted(command.subcommands.values(), key=lambda c: c.name))
    return out


# -- handlers -----------------------------------------------------------------------------


def command_command(ctx: Session, argv: list[bytes]) -> object:
    """COMMAND: the INFO entry of every served top-level command."""
    return [info_entry(c) for c in _all_commands(ctx)]


def command_count_command(ctx: Session, argv: list[bytes]) -> object:
    return len(_all_commands(ctx))


def command_info_command(ctx: Session, argv: list[bytes]) -> object:
    """COMMAND INFO [name ...]: a null for each name rcsim does not serve."""
    if len(argv) == 2:
        return command_command(ctx, argv)
    out: list[object] = []
    for name in argv[2:]:
        command = lookup_by_fullname(ctx, name)
        out.append(None if command is None else info_entry(command))
    return out


def command_docs_command(ctx: Session, argv: list[bytes]) -> object:
    """COMMAND DOCS [name ...]: a map of name -> docs; unknown names are left out."""
    commands = _all_commands(ctx) if len(argv) == 2 else []
    for name in argv[2:]:
        command = lookup_by_fullname(ctx, name)
        if command is not None:
            commands.append(command)
    return Map([(c.name_bytes, docs_entry(c)) for c in commands])


def command_list_command(ctx: Session, argv: list[bytes]) -> object:
    """COMMAND LIST [FILTERBY MODULE m|ACLCAT c|PATTERN p] (Redis's ``commandListCommand``)."""
    keep: Callable[[Command], bool] | None = None
    i = 2
    while i < len(argv):
        if argv[i].lower() != b"filterby" or len(argv) - 1 - i != 2:
            raise syntax_error()
        kind, arg = argv[i + 1].lower(), argv[i + 2]
        if kind == b"module":
            keep = _no_command  # rcsim has no modules
        elif kind == b"aclcat":
            keep = _in_acl_category("@" + arg.decode("latin-1").lower())
        elif kind == b"pattern":
            keep = _matching(arg)
        else:
            raise syntax_error()
        i += 3
    commands = _with_subcommands(ctx)
    if keep is not None:
        commands = [c for c in commands if keep(c)]
    return [c.name_bytes for c in commands]


def _no_command(command: Command) -> bool:
    return False


def _in_acl_category(category: str) -> Callable[[Command], bool]:
    return lambda command: category in command.spec.acl_categories


def _matching(pattern: bytes) -> Callable[[Command], bool]:
    return lambda command: glob_match(pattern, command.name_bytes, nocase=True)


def command_help_command(ctx: Session, argv: list[bytes]) -> object:
    return help_reply(argv[0], COMMAND_HELP)


def command_getkeys_command(ctx: Session, argv: list[bytes]) -> object:
    return [argv[2 + pos] for pos, _flags in _getkeys(ctx, argv)]


def command_getkeysandflags_command(ctx: Session, argv: list[bytes]) -> object:
    return [[argv[2 + pos], key_flags_reply(flags)] for pos, flags in _getkeys(ctx, argv)]


def key_flags_reply(flags: frozenset[str]) -> SetReply:
    return SetReply([SimpleString(f.encode()) for f in KEY_FLAG_ORDER if f in flags])


def _getkeys(ctx: Session, argv: list[bytes]) -> list[KeyRef]:
    """Redis's ``getKeysSubcommandImpl``: checks in its order, then the keys."""
    target = argv[2:]
    command = lookup_by_argv(ctx, target)
    if command is None:
        raise RespError(INVALID_COMMAND)
    return getkeys(command.spec, target)


HANDLERS = {
    "command": command_command,
    "command|count": command_count_command,
    "command|docs": command_docs_command,
    "command|getkeys": command_getkeys_command,
    "command|getkeysandflags": command_getkeysandflags_command,
    "command|help": command_help_command,
    "command|info": command_info_command,
    "command|list": command_list_command,
}
