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

from node.commands import Command, served_commands
from node.glob import glob_match
from node.protocol.commands import CommandSpec, KeySpec
from node.protocol.errors import RespError, syntax_error
from node.protocol.resp import Map, SetReply, SimpleString
from node.session import Session

INVALID_COMMAND = "ERR Invalid command specified"
NO_KEY_ARGUMENTS = "ERR The command has no key arguments"
INVALID_ARGUMENT_COUNT = "ERR Invalid number of arguments specified for command"
INVALID_ARGUMENTS = "ERR Invalid arguments specified for command"

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

KeyRef = tuple[int, frozenset[str]]  # (position in argv, key-spec flags)

_NO_FLAGS: frozenset[str] = frozenset()
_RO_ACCESS = frozenset(("RO", "access"))
_RW_ACCESS_UPDATE = frozenset(("RW", "access", "update"))
_OW_UPDATE = frozenset(("OW", "update"))
_RW_ACCESS_DELETE = frozenset(("RW", "access", "delete"))


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


def help_reply(name: bytes, lines: tuple[str, ...]) -> list:
    """Redis's ``addReplyHelp``: a header naming the command as typed (upper-cased), the
    lines, then HELP, all as status replies."""
    header = b"%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:" % name.upper()
    out = [SimpleString(header)]
    out.extend(SimpleString(line.encode()) for line in lines)
    out.append(SimpleString(b"HELP"))
    out.append(SimpleString(b"    Prints this help."))
    return out


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
    return request_keys(command.spec, target)


def request_keys(spec: CommandSpec, target: list[bytes]) -> list[KeyRef]:
    """The keys of the request ``target`` (name first) for COMMAND GETKEYS, or its error."""
    if not command_has_keys(spec):
        raise RespError(NO_KEY_ARGUMENTS)
    if not spec.arity_ok(len(target)):
        raise RespError(INVALID_ARGUMENT_COUNT)
    keys = keys_with_flags(spec, target)
    if not keys and "no_mandatory_keys" not in spec.flags:
        raise RespError(INVALID_ARGUMENTS)
    return keys


# -- key extraction -----------------------------------------------------------------------


def command_has_keys(spec: CommandSpec) -> bool:
    """Redis's ``doesCommandHaveKeys``: a getkeys procedure, or a key spec that is a real key."""
    return spec.name in GETKEYS_PROCS or any("not_key" not in ks.flags for ks in spec.key_specs)


def keys_with_flags(spec: CommandSpec, argv: list[bytes]) -> list[KeyRef]:
    """Redis's ``getKeysFromCommandWithSpecs``: ``argv`` starts with the command name."""
    has_keyspec = any("not_key" not in ks.flags for ks in spec.key_specs)
    has_varflags = any("variable_flags" in ks.flags for ks in spec.key_specs)
    if has_keyspec and not has_varflags:
        keys = keys_from_specs(spec, argv)
        if keys is not None:
            return keys
    proc = GETKEYS_PROCS.get(spec.name)
    return proc(argv) if proc is not None else []


def keys_from_specs(spec: CommandSpec, argv: list[bytes]) -> list[KeyRef] | None:
    """Redis's ``getKeysUsingKeySpecs``; None when a spec is unknown, incomplete or does not
    fit the arguments (Redis's ``invalid_spec``)."""
    argc = len(argv)
    keys: list[KeyRef] = []
    for ks in spec.key_specs:
        if "not_key" in ks.flags:
            continue
        bounds = _spec_bounds(ks, argv)
        if bounds is None:
            return None
        first, last, step = bounds
        if first == 0:
            continue  # keyword not found: this spec names no key
        if last >= argc or last < first or first >= argc:
            return None
        keys.extend((i, ks.flags) for i in range(first, last + 1, step))
        if "incomplete" in ks.flags:
            return None
    return keys


def _spec_bounds(ks: KeySpec, argv: list[bytes]) -> tuple[int, int, int] | None:
    """(first, last, step) of one key spec; first 0 when its keyword is absent; None if invalid."""
    argc = len(argv)
    if ks.begin_search == "index":
        first = ks.index
    elif ks.begin_search == "keyword":
        first = _keyword_position(ks, argv)
        if first == 0:
            return 0, 0, 1
    else:
        return None
    if ks.find_keys == "range":
        if ks.last_key >= 0:
            last = first + ks.last_key
        elif not ks.limit:
            last = argc + ks.last_key
        else:
            last = first + ((argc - first) // ks.limit + ks.last_key)
        return first, last, ks.key_step
    if ks.find_keys == "keynum":
        if ks.keynum_index >= argc or first + ks.keynum_index >= argc:
            return None
        numkeys = _strict_int(argv[first + ks.keynum_index])
        if numkeys is None or numkeys < 0:
            return None
        first += ks.first_key
        return first, first + numkeys - 1, ks.key_step
    return None


def _keyword_position(ks: KeySpec, argv: list[bytes]) -> int:
    """Index after the keyword, searching from ``startfrom`` (negative: backwards from the end)."""
    argc = len(argv)
    keyword = ks.keyword.lower()
    if ks.start_from > 0:
        start, end = ks.start_from, argc - 1
    else:
        start, end = argc + ks.start_from, 1
    step = 1 if start <= end else -1
    i = start
    while i != end:
        if i >= argc or i < 1:
            break
        if argv[i].lower() == keyword:
            return i + 1
        i += step
    return 0


def _strict_int(raw: bytes) -> int | None:
    """``string2ll``: optional minus, digits, no leading zeros or spaces, 64-bit range."""
    if not raw or len(raw) > 20:
        return None
    digits = raw[1:] if raw[:1] == b"-" else raw
    if not digits.isdigit() or (digits[:1] == b"0" and len(raw) > 1):
        return None
    value = int(raw)
    return value if -(2**63) <= value < 2**63 else None


def _atoi(raw: bytes) -> int:
    """C's ``atoi``: leading spaces, a sign, then as many digits as there are (0 if none)."""
    text = raw.lstrip(b" \t\n\r\v\f")
    sign = 1
    if text[:1] in (b"-", b"+"):
        sign = -1 if text[:1] == b"-" else 1
        text = text[1:]
    n = 0
    for c in text:
        if not 48 <= c <= 57:
            break
        n = n * 10 + c - 48
    # glibc's atoi is (int)strtol(): saturate to a 64-bit long, then keep the low 32 bits.
    n = max(-(2**63), min(n * sign, 2**63 - 1)) & 0xFFFFFFFF
    return n - (1 << 32) if n >= 1 << 31 else n


# -- getkeys procedures (src/db.c), used when the key specs cannot answer ---------------------


def _generic(store: int, count_at: int, first: int) -> Callable[[list[bytes]], list[KeyRef]]:
    """Redis's ``genericGetKeys`` (key step 1): numkeys parsed with atoi, flags left empty."""

    def proc(argv: list[bytes]) -> list[KeyRef]:
        num = _atoi(argv[count_at])
        if num < 1 or num > len(argv) - first:
            return []
        keys = [(first + i, _NO_FLAGS) for i in range(num)]
        if store:
            keys.append((store, _NO_FLAGS))
        return keys

    return proc


def _sort_ro_keys(argv: list[bytes]) -> list[KeyRef]:
    return [(1, _RO_ACCESS)]


def _sort_keys(argv: list[bytes]) -> list[KeyRef]:
    """``sortGetKeys``: the sorted key, and the last STORE target (options skipped by arity)."""
    keys: list[KeyRef] = [(1, _RO_ACCESS)]
    store = 0
    skips = {b"limit": 2, b"get": 1, b"by": 1}
    argc = len(argv)
    i = 2
    while i < argc:
        arg = argv[i].lower()
        if arg in skips:
            i += skips[arg]
        elif arg == b"store" and i + 1 < argc:
            store = i + 1
        i += 1
    if store:
        keys.append((store, _OW_UPDATE))
    return keys


def _migrate_keys(argv: list[bytes]) -> list[KeyRef]:
    """``migrateGetKeys``: the key argument, or the KEYS list when the key argument is empty."""
    argc = len(argv)
    first, num = 3, 1
    skips = {b"copy": 0, b"replace": 0, b"auth": 1, b"auth2": 2}
    i = 6
    while i < argc:
        arg = argv[i].lower()
        if arg == b"keys":
            if argv[3]:
                num = 0
            else:
                first, num = i + 1, argc - i - 1
            break
        i += skips.get(arg, 0) + 1
    return [(first + j, _RW_ACCESS_DELETE) for j in range(num)]


def _georadius_keys(argv: list[bytes]) -> list[KeyRef]:
    """``georadiusGetKeys``: the key and the last STORE/STOREDIST target."""
    stored = -1
    i = 5
    while i < len(argv):
        if argv[i].lower() in (b"store", b"storedist") and i + 1 < len(argv):
            stored = i + 1
            i += 1
        i += 1
    keys: list[KeyRef] = [(1, _NO_FLAGS)]
    if stored != -1:
        keys.append((stored, _NO_FLAGS))
    return keys


def _xread_keys(argv: list[bytes]) -> list[KeyRef]:
    """``xreadGetKeys``: the first half of the arguments after STREAMS."""
    argc = len(argv)
    streams = -1
    i = 1
    while i < argc:
        arg = argv[i].lower()
        if arg in (b"block", b"count"):
            i += 1
        elif arg == b"group":
            i += 2
        elif arg == b"noack":
            pass
        elif arg == b"streams":
            streams = i
            break
        else:
            break
        i += 1
    num = argc - streams - 1 if streams != -1 else 0
    if streams == -1 or num == 0 or num % 2:
        return []
    return [(streams + 1 + j, _NO_FLAGS) for j in range(num // 2)]


def _set_keys(argv: list[bytes]) -> list[KeyRef]:
    """``setGetKeys``: the key is read too when GET is given."""
    if any(arg.lower() == b"get" for arg in argv[3:]):
        return [(1, _RW_ACCESS_UPDATE)]
    return [(1, _OW_UPDATE)]


def _bitfield_keys(argv: list[bytes]) -> list[KeyRef]:
    """``bitfieldGetKeys``: read-only unless a SET/INCRBY (or a syntax error) comes first."""
    readonly = True
    argc = len(argv)
    i = 2
    while i < argc:
        remaining = argc - i - 1
        arg = argv[i].lower()
        if arg == b"get" and remaining >= 2:
            i += 2
        elif arg in (b"set", b"incrby") and remaining >= 3:
            readonly = False
            break
        elif arg == b"overflow" and remaining >= 1:
            i += 1
        else:
            readonly = False
            break
        i += 1
    return [(1, _RO_ACCESS if readonly else _RW_ACCESS_UPDATE)]


GETKEYS_PROCS: dict[str, Callable[[list[bytes]], list[KeyRef]]] = {
    "zunionstore": _generic(1, 2, 3),
    "zinterstore": _generic(1, 2, 3),
    "zdiffstore": _generic(1, 2, 3),
    "zunion": _generic(0, 1, 2),
    "zinter": _generic(0, 1, 2),
    "zdiff": _generic(0, 1, 2),
    "zintercard": _generic(0, 1, 2),
    "sintercard": _generic(0, 1, 2),
    "eval": _generic(0, 2, 3),
    "evalsha": _generic(0, 2, 3),
    "eval_ro": _generic(0, 2, 3),
    "evalsha_ro": _generic(0, 2, 3),
    "fcall": _generic(0, 2, 3),
    "fcall_ro": _generic(0, 2, 3),
    "lmpop": _generic(0, 1, 2),
    "blmpop": _generic(0, 2, 3),
    "zmpop": _generic(0, 1, 2),
    "bzmpop": _generic(0, 2, 3),
    "sort": _sort_keys,
    "sort_ro": _sort_ro_keys,
    "migrate": _migrate_keys,
    "georadius": _georadius_keys,
    "georadiusbymember": _georadius_keys,
    "xread": _xread_keys,
    "xreadgroup": _xread_keys,
    "set": _set_keys,
    "bitfield": _bitfield_keys,
}


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
