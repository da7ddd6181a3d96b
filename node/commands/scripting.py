"""Scripting commands: EVAL/EVALSHA (and _RO), SCRIPT, FCALL (and _RO), FUNCTION.

The Lua engine and its bridge to the node live in ``node.scripting``; these handlers are
Redis's ``eval.c``/``functions.c`` command layer: argument checks in Redis's order, the script
cache, script flags (``#!lua flags=...``) and ``scriptPrepareForRun``'s refusals.
"""

from __future__ import annotations

import hashlib

from node.monitor import feed_monitors
from node.protocol.errors import CrossSlotError, RespError, help_reply
from node.protocol.keyslot import key_slot
from node.protocol.resp import OK, Map, SetReply, SimpleString, parse_long_long, split_inline_args
from node.scripting import functions as fn_lib
from node.scripting.model import SCRIPT_FLAGS, Function, RunContext, Script
from node.scripting.state import ScriptingState, scripting
from node.session import Session

NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."
TOO_MANY_KEYS = "ERR Number of keys can't be greater than number of args"
NEGATIVE_KEYS = "ERR Number of keys can't be negative"
WRITE_FLAG_RO = "ERR Can not execute a script with write flag using *_ro command."
NO_CLUSTER = "ERR Can not run script on cluster, 'no-cluster' flag is set."

SCRIPT_HELP = (
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
)

FUNCTION_HELP = (
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
)


# -- EVAL ------------------------------------------------------------------------------------


def eval_command(ctx: Session, argv: list[bytes]) -> object:
    return _eval(ctx, argv, by_sha=False, read_only=False)


def eval_ro_command(ctx: Session, argv: list[bytes]) -> object:
    return _eval(ctx, argv, by_sha=False, read_only=True)


def evalsha_command(ctx: Session, argv: list[bytes]) -> object:
    return _eval(ctx, argv, by_sha=True, read_only=False)


def evalsha_ro_command(ctx: Session, argv: list[bytes]) -> object:
    return _eval(ctx, argv, by_sha=True, read_only=True)


def _eval(ctx: Session, argv: list[bytes], by_sha: bool, read_only: bool) -> object:
    """``evalGenericCommand``. EVAL is ``skip_monitor``: Redis feeds MONITOR here, before the
    commands the script runs."""
    node = ctx.node
    if node.monitors:
        feed_monitors(ctx, argv)
    if by_sha and len(argv[1]) != 40:
        raise RespError(NOSCRIPT)
    keys, args = _split_keys(argv, "ERR value is not an integer or out of range")
    state = scripting(node)
    if by_sha:
        sha = argv[1].lower()
        script = state.scripts.get(sha)
        if script is None:
            raise RespError(NOSCRIPT)
    else:
        sha, script = create_script(state, argv[1])
    _check_cluster_keys(ctx, keys)
    run = _prepare(state, ctx, script.flags, script.compat, read_only, sha.decode(), True, argv)
    return state.eval_engine.run(script.fn, run, keys, args)


def _split_keys(argv: list[bytes], bad_number: str) -> tuple[list[bytes], list[bytes]]:
    numkeys = parse_long_long(argv[2])
    if numkeys is None:
        raise RespError(bad_number)
    if numkeys > len(argv) - 3:
        raise RespError(TOO_MANY_KEYS)
    if numkeys < 0:
        raise RespError(NEGATIVE_KEYS)
    return argv[3 : 3 + numkeys], argv[3 + numkeys :]


def _check_cluster_keys(ctx: Session, keys: list[bytes]) -> None:
    """In cluster mode the declared keys of a script must all hash to one slot."""
    if ctx.node.cluster_enabled and len({key_slot(k) for k in keys}) > 1:
        raise CrossSlotError()


def parse_shebang(body: bytes) -> tuple[frozenset[bytes], bool, bytes]:
    """``evalExtractShebangFlags``: (flags, compat mode, code without the shebang line)."""
    if not body.startswith(b"#!"):
        return frozenset(), True, body
    end = body.find(b"\n")
    if end < 0:
        raise RespError("ERR Invalid script shebang")
    parts = split_inline_args(body[:end])
    if not parts:
        raise RespError("ERR Invalid engine in script shebang")
    if parts[0] != b"#!lua":
        raise RespError("ERR Unexpected engine in script shebang: " + _text(_cstr(parts[0])))
    flags: set[bytes] = set()
    for part in parts[1:]:
        if not part.startswith(b"flags="):
            raise RespError("ERR Unknown lua shebang option: " + _text(_cstr(part)))
        value = part[6:]
        for flag in value.split(b",") if value else ():
            if flag not in SCRIPT_FLAGS:
                raise RespError("ERR Unexpected flag in script shebang: " + _text(_cstr(flag)))
            flags.add(flag)
    return frozenset(flags), False, body[end:]


def create_script(state: ScriptingState, body: bytes) -> tuple[bytes, Script]:
    """``luaCreateFunction``: the cached script for ``body``, compiled on first sight."""
    sha = hashlib.sha1(body).hexdigest().encode()
    script = state.scripts.get(sha)
    if script is not None:
        return sha, script
    flags, compat, code = parse_shebang(body)
    fn, message = state.eval_engine.compile(code, b"@user_script")
    if fn is None:
        text = "ERR Error compiling script (new function): " + _text(message)
        raise RespError(text.rstrip("\r\n"))
    script = state.scripts[sha] = Script(fn, frozenset(f.decode() for f in flags), compat, body)
    return sha, script


def _prepare(
    state: ScriptingState,
    ctx: Session,
    flags: frozenset[str] | set[str],
    compat: bool,
    read_only_command: bool,
    name: str,
    is_eval: bool,
    argv: list[bytes],
) -> RunContext:
    """``scriptPrepareForRun``: refuse what the script's flags forbid, then set up the run."""
    if not compat:
        if "no-cluster" in flags and ctx.node.cluster_enabled:
            raise RespError(NO_CLUSTER)
        if "no-writes" not in flags and read_only_command:
            raise RespError(WRITE_FLAG_RO)
    read_only = read_only_command or (not compat and "no-writes" in flags)
    return state.new_run(ctx, name, is_eval, read_only, argv)


# -- SCRIPT ----------------------------------------------------------------------------------


def script_load_command(ctx: Session, argv: list[bytes]) -> object:
    sha, _ = create_script(scripting(ctx.node), argv[2])
    return sha


def script_exists_command(ctx: Session, argv: list[bytes]) -> object:
    scripts = scripting(ctx.node).scripts
    return [1 if sha.lower() in scripts else 0 for sha in argv[2:]]


def script_flush_command(ctx: Session, argv: list[bytes]) -> object:
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"sync", b"async")):
        raise RespError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    scripting(ctx.node).reset_eval()
    return OK


def script_kill_command(ctx: Session, argv: list[bytes]) -> object:
    scripting(ctx.node).kill(eval_kill=True)
    return OK


def script_debug_command(ctx: Session, argv: list[bytes]) -> object:
    """The Lua debugger (LDB) is not implemented: only turning it off is accepted."""
    mode = argv[2].lower()
    if mode == b"no":
        return OK
    if mode in (b"yes", b"sync"):
        raise RespError("ERR SCRIPT DEBUG (the Lua debugger) is not supported by rcsim")
    raise RespError("ERR Use SCRIPT DEBUG YES/SYNC/NO")


def script_help_command(ctx: Session, argv: list[bytes]) -> object:
    return help_reply("SCRIPT", SCRIPT_HELP)


# -- FCALL -----------------------------------------------------------------------------------


def fcall_command(ctx: Session, argv: list[bytes]) -> object:
    return _fcall(ctx, argv, read_only=False)


def fcall_ro_command(ctx: Session, argv: list[bytes]) -> object:
    return _fcall(ctx, argv, read_only=True)


def _fcall(ctx: Session, argv: list[bytes], read_only: bool) -> object:
    """``fcallCommandGeneric``."""
    node = ctx.node
    if node.monitors:
        feed_monitors(ctx, argv)
    state = scripting(node)
    function = state.functions.get(argv[1].lower())
    if function is None:
        raise RespError("ERR Function not found")
    keys, args = _split_keys(argv, "ERR Bad number of keys provided")
    _check_cluster_keys(ctx, keys)
    flags = {f.decode() for f in function.flags}
    run = _prepare(state, ctx, flags, False, read_only, _text(function.name), False, argv)
    return state.function_engine.run(function.callback, run, keys, args)


# -- FUNCTION --------------------------------------------------------------------------------


def function_load_command(ctx: Session, argv: list[bytes]) -> object:
    replace = False
    position = 2
    while position < len(argv) - 1:
        option = argv[position]
        position += 1
        if option.lower() == b"replace":
            replace = True
            continue
        raise RespError("ERR Unknown option given: " + _text(_cstr(option)))
    state = scripting(ctx.node)
    library = fn_lib.create_library(
        state, argv[position], replace, state.libraries, state.functions
    )
    return library.name


def function_delete_command(ctx: Session, argv: list[bytes]) -> object:
    state = scripting(ctx.node)
    library = state.libraries.get(argv[2])
    if library is None:
        raise RespError("ERR Library not found")
    fn_lib.unlink(library, state.libraries, state.functions)
    return OK


def function_list_command(ctx: Session, argv: list[bytes]) -> object:
    from node.glob import glob_match

    with_code = False
    pattern = None
    position = 2
    while position < len(argv):
        arg = argv[position]
        lowered = arg.lower()
        if not with_code and lowered == b"withcode":
            with_code = True
        elif pattern is None and lowered == b"libraryname":
            if position >= len(argv) - 1:
                raise RespError("ERR library name argument was not given")
            position += 1
            pattern = argv[position]
        else:
            raise RespError("ERR Unknown argument " + _text(_cstr(arg)))
        position += 1
    reply = []
    for library in scripting(ctx.node).libraries.values():
        if pattern is not None and not glob_match(pattern, library.name, nocase=True):
            continue
        items: list = [
            (b"library_name", library.name),
            (b"engine", b"LUA"),
            (b"functions", [_function_info(f) for f in library.functions.values()]),
        ]
        if with_code:
            items.append((b"library_code", library.code))
        reply.append(Map(items))
    return reply


def _function_info(function: Function) -> Map:
    flags = [f for f in SCRIPT_FLAGS if f in function.flags]
    return Map(
        [
            (b"name", function.name),
            (b"description", function.description),
            (b"flags", SetReply([SimpleString(f) for f in flags])),
        ]
    )


def function_stats_command(ctx: Session, argv: list[bytes]) -> object:
    state = scripting(ctx.node)
    run = state.running
    if run is not None and run.is_eval:
        raise state.busy_error()
    running = None
    if run is not None:
        duration_ms = (ctx.node.monotonic_ns() - run.start_ns) // 1_000_000
        running = Map(
            [
                (b"name", run.name.encode()),
                (b"command", list(run.argv)),
                (b"duration_ms", duration_ms),
            ]
        )
    engine = Map(
        [
            (b"libraries_count", len(state.libraries)),
            (b"functions_count", len(state.functions)),
        ]
    )
    return Map([(b"running_script", running), (b"engines", Map([(b"LUA", engine)]))])


def function_dump_command(ctx: Session, argv: list[bytes]) -> object:
    node = ctx.node
    return fn_lib.dump(scripting(node), node.config.get_bool("rdbcompression"))


def function_restore_command(ctx: Session, argv: list[bytes]) -> object:
    if len(argv) > 4:
        raise RespError(
            "ERR unknown subcommand or wrong number of arguments for '"
            + _text(argv[1][:128])
            + "'. Try FUNCTION HELP."
        )
    policy = b"append"
    if len(argv) == 4:
        policy = argv[3].lower()
        if policy not in (b"append", b"replace", b"flush"):
            raise RespError(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE."
            )
    fn_lib.restore(scripting(ctx.node), argv[2], policy)
    return OK


def function_flush_command(ctx: Session, argv: list[bytes]) -> object:
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"sync", b"async")):
        raise RespError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    scripting(ctx.node).reset_functions()
    return OK


def function_kill_command(ctx: Session, argv: list[bytes]) -> object:
    scripting(ctx.node).kill(eval_kill=False)
    return OK


def function_help_command(ctx: Session, argv: list[bytes]) -> object:
    return help_reply("FUNCTION", FUNCTION_HELP)


def _cstr(raw: bytes) -> bytes:
    zero = raw.find(b"\x00")
    return raw if zero < 0 else raw[:zero]


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


HANDLERS = {
    "eval": eval_command,
    "eval_ro": eval_ro_command,
    "evalsha": evalsha_command,
    "evalsha_ro": evalsha_ro_command,
    "script|load": script_load_command,
    "script|exists": script_exists_command,
    "script|flush": script_flush_command,
    "script|kill": script_kill_command,
    "script|debug": script_debug_command,
    "script|help": script_help_command,
    "fcall": fcall_command,
    "fcall_ro": fcall_ro_command,
    "function|load": function_load_command,
    "function|delete": function_delete_command,
    "function|list": function_list_command,
    "function|stats": function_stats_command,
    "function|dump": function_dump_command,
    "function|restore": function_restore_command,
    "function|flush": function_flush_command,
    "function|kill": function_kill_command,
    "function|help": function_help_command,
}
