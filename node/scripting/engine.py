"""One Lua interpreter for scripts, and the bridge between it and the node.

Theory of operation
-------------------
Redis 7.0 keeps two Lua states: one for EVAL scripts and one for FUNCTION libraries. A
``LuaEngine`` is one of them: a lupa ``LuaRuntime`` (stock Lua 5.1) set up by the sandbox chunk
(``lua/sandbox.lua``, see ``node.scripting.lua_sources``), which rebuilds Redis's script
environment and returns the entry points used here (run a script, compile, load a library).

A script runs inside one command execution, which is what makes it atomic. While it runs,
``ScriptingState.running`` holds its ``RunContext`` (Redis's ``scriptRunCtx``): the Lua side
calls back into Python for ``redis.call``/``redis.pcall`` (``_call``, Redis's ``scriptCall``),
which executes the command through the dispatcher on a private script session (Redis's Lua
client: the caller's database, RESP2 unless the script calls ``redis.setresp(3)``, blocking
denied) and hands the reply back as RESP for the Lua side to turn into Lua values.

Long scripts: with ``busy-reply-threshold`` (alias ``lua-time-limit``) above 0, a Lua count hook
calls ``_interrupt`` every 100,000 instructions. Once the threshold has passed, the node is
"busy": each hook call runs the driver's ``node.serve_while_busy`` (Redis's
``processEventsWhileBlocked``), which answers other clients ``-BUSY`` except for SCRIPT KILL,
FUNCTION KILL and SHUTDOWN NOSAVE. A kill sets ``RunContext.killed``; the hook then raises
"Script killed by user with SCRIPT KILL..." on every line, so ``pcall`` cannot swallow it.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from lupa import lua51

from node import core
from node.blocking import Block
from node.hooks import CALL_NESTED, CALL_SCRIPT
from node.invoke import handler_failed, invoke
from node.protocol.errors import RespError
from node.protocol.resp import Raw, encode
from node.scripting import libs, lua_sources
from node.scripting.model import SCRIPT_FLAGS, RunContext, valid_name
from node.state import REDIS_VERSION, Shutdown

if TYPE_CHECKING:
    from node.scripting.state import ScriptingState

log = logging.getLogger("rcsim.node")

INTERNAL_CHUNK = b"=[rcsim]"
COUNT_HOOK_INSTRUCTIONS = 100_000
FUNCTION_LOAD_TIMEOUT_NS = 500 * 1_000_000  # Redis's LOAD_TIMEOUT_MS

UNKNOWN_COMMAND = b"Unknown Redis command called from script"
WRONG_ARITY = b"Wrong number of args calling Redis command from script"
NOT_ALLOWED = b"This Redis command is not allowed from script"
WRITE_IN_READ_ONLY = b"Write commands are not allowed from read-only scripts."
NOT_IN_SCRIPT = b"redis.call/pcall can only be called inside a script invocation"


def _version_num(version: str) -> int:
    major, minor, patch = (int(part) for part in version.split("."))
    return (major << 16) | (minor << 8) | patch


class LuaEngine:
    """A Lua state in eval or function mode (see the module docstring)."""

    def __init__(self, state: ScriptingState, mode: str) -> None:
        self.state = state
        self.mode = mode
        self.lua = lua51.LuaRuntime(
            encoding=None,
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
        )
        globals_ = self.lua.globals()
        loadstring = globals_[b"loadstring"]

        def table(mapping: dict):
            return self.lua.table_from({k.encode(): v for k, v in mapping.items()})

        bridge = table(
            {
                "call": self._call,
                "sha1hex": _sha1hex,
                "log": self._log,
                "lrand48": state.rand48.next,
                "srand48": state.rand48.seed,
                "interrupt": self._interrupt,
                "load_timed_out": self._load_timed_out,
                "command_exists": self._command_exists,
                "register_function": self._register_function,
                "version": REDIS_VERSION.encode(),
                "version_num": _version_num(REDIS_VERSION),
                "bit": table({k: libs.guarded(f) for k, f in libs.BIT_FUNCTIONS.items()}),
                "struct": table({k: libs.guarded(f) for k, f in libs.STRUCT_FUNCTIONS.items()}),
                "msgpack": table(
                    {
                        "encode_number": libs.msgpack_number,
                        "decode_number": libs.msgpack_decode_number,
                    }
                ),
                "build_cjson": _compile(loadstring, lua_sources.cjson()),
                "build_cmsgpack": _compile(loadstring, lua_sources.cmsgpack()),
            }
        )
        sandbox = _compile(loadstring, lua_sources.sandbox())
        self.api = sandbox(bridge, mode.encode())
        self._run = self.api[b"run_eval" if mode == "eval" else b"run_function"]
        self._compile = self.api[b"compile"]
        self._load_library = self.api[b"load_library"]
        self._clear_hook = self.api[b"sethook"]  # a C function: runs no Lua line
        # Function mode: the library being loaded collects its functions here.
        self.loading: list | None = None
        self.load_started_ns = 0

    # -- compiling and running ------------------------------------------------------------------

    def compile(self, code: bytes, chunkname: bytes) -> tuple[object | None, bytes]:
        """``luaL_loadbuffer``: (function, b"") or (None, Lua's error message)."""
        result = self._compile(code, chunkname)
        if isinstance(result, tuple):
            fn, message = result[0], result[1] if len(result) > 1 else b""
            return fn, message or b""
        return result, b""

    def run(self, fn: object, run: RunContext, keys: list[bytes], args: list[bytes]) -> object:
        """Run a compiled script or function; returns its reply or raises its error reply."""
        state = self.state
        caller = run.caller
        state.running = run
        caller.in_script = True
        hook = run.threshold_ms > 0
        try:
            result = self._run(fn, len(keys), caller.resp3, hook, *keys, *args)
        except lua51.LuaError as error:  # a failure outside the protected call (out of memory)
            result = (b"x", b"ERR " + str(error).encode("utf-8", "surrogateescape"), None, None)
        finally:
            if hook:
                self._clear_hook()
            state.running = None
            caller.in_script = False
        if run.shutdown:
            # SHUTDOWN NOSAVE while busy: the caller's connection closes without a reply.
            caller.reply_skip += 1
            caller.close_after_reply = True
        return self._reply(result, run.name)

    @staticmethod
    def _reply(result: tuple, name: str) -> object:
        kind = result[0]
        if kind == b"r":
            return Raw(result[1])
        if kind == b"e":
            raise RespError(_error_text(result[1]))
        message, source, line = (list(result[1:]) + [None, None, None])[:3]
        text = b"-" + _c_string(message if message is not None else b"ERR unknown error")
        if source is not None and line is not None:
            text += b" script: %s, on %s:%s." % (name.encode(), _c_string(source), line)
        raise RespError(_error_text(text))

    # -- FUNCTION LOAD ----------------------------------------------------------------------------

    def load_library(self, fn: object) -> tuple[list | None, bytes]:
        """Run a library's code in the load environment (Redis's ``luaEngineCreate``).

        Returns ``([(key, name, description, flags, callback), ...], b"")``, or ``(None,
        message)`` when the code failed."""
        self.loading = []
        self.load_started_ns = self.state.node.monotonic_ns()
        try:
            result = self._load_library(fn)
        finally:
            collected, self.loading = self.loading, None
        if isinstance(result, tuple):
            return None, result[1] if len(result) > 1 else b"ERR unknown error"
        callbacks = [result[i + 1][2] for i in range(len(collected))]
        return [(*meta, callback) for meta, callback in zip(collected, callbacks, strict=True)], b""

    def _register_function(self, name: bytes, description: bytes | None, *flags: bytes):
        """``functionLibCreateFunction``: validate one ``redis.register_function`` call; the
        Lua side keeps the callback. Returns an error message or None."""
        loading = self.loading
        if loading is None:
            return b"redis.register_function can only be called on FUNCTION LOAD command"
        parsed = []
        for flag in flags:
            lowered = flag.lower()
            if lowered not in SCRIPT_FLAGS:
                return b"unknown flag given"
            if lowered not in parsed:
                parsed.append(lowered)
        if not valid_name(name):
            return (
                b"Library names can only contain letters, numbers, or underscores(_) and must "
                b"be at least one character long"
            )
        if any(existing[0] == name.lower() for existing in loading):
            return b"Function already exists in the library"
        loading.append((name.lower(), name, description, parsed))
        return None

    def _load_timed_out(self) -> bool:
        node = self.state.node
        return node.monotonic_ns() - self.load_started_ns > FUNCTION_LOAD_TIMEOUT_NS

    # -- callbacks from Lua -------------------------------------------------------------------------

    def _call(self, resp3: bool, *argv: bytes) -> tuple:
        """``scriptCall``: check and run one command for ``redis.call``/``redis.pcall``.

        Returns ``(0, value)`` for a reply that is a plain Lua value, ``(1, resp)`` for one the
        Lua side parses, ``(2, message)`` for a refusal (Lua makes it an ``{err=...}``)."""
        run = self.state.running
        if run is None:
            return 2, NOT_IN_SCRIPT
        node = self.state.node
        commands = node.commands
        command = commands.get(argv[0]) or commands.get(argv[0].lower())
        if command is not None and command.subcommands and len(argv) > 1:
            command = command.subcommands.get(argv[1].lower())
        if command is None:
            return 2, UNKNOWN_COMMAND
        arity = command.arity
        if (arity > 0 and arity != len(argv)) or len(argv) < -arity:
            return 2, WRONG_ARITY
        flags = command.spec.flags
        if "noscript" in flags:
            return 2, NOT_ALLOWED
        if run.read_only and (command.is_write or command.may_replicate):  # CMD_MAY_REPLICATE
            return 2, WRITE_IN_READ_ONLY
        if command.is_write:
            run.write_dirty = True
        session = run.script_session
        session.resp3 = bool(resp3)
        refusal = None
        if command.is_write and node.repl_gate:  # READONLY/NOREPLICAS inside a script
            refusal = core.replica_refusal(session, command, False)
        if refusal is not None:
            reply = handler_failed(node, command, refusal)
        else:
            reply = invoke(session, command, list(argv), CALL_NESTED | CALL_SCRIPT)
        if type(reply) is Block:
            reply = reply.timeout_reply
        kind = type(reply)
        if kind is bytes:
            return 0, reply
        if kind is int:
            return 0, reply
        if kind is bytearray:
            return 0, bytes(reply)
        if reply is None:
            return 0, (None if resp3 else False)
        return 1, encode(reply, bool(resp3))

    def _command_exists(self, *argv: bytes) -> bool:
        commands = self.state.node.commands
        command = commands.get(argv[0]) or commands.get(argv[0].lower())
        if command is not None and command.subcommands and len(argv) > 1:
            command = command.subcommands.get(argv[1].lower())
        return command is not None

    def _log(self, level: int, message: bytes) -> None:
        """``redis.log``: through the node's logger, filtered by ``loglevel`` as Redis does."""
        verbosity = {"debug": 0, "verbose": 1, "notice": 2, "warning": 3}.get(
            self.state.node.config.get("loglevel"), 4
        )
        if level < verbosity:
            return
        text = message.decode("utf-8", "surrogateescape")
        if level == 3:
            log.warning("%s", text)
        elif level == 2:
            log.info("%s", text)
        elif level == 1:
            log.info("%s", text, extra={"notice": False})
        else:
            log.debug("%s", text)

    def _interrupt(self) -> bool:
        """Count hook: once the script is past the threshold, serve other clients (BUSY) and
        report whether SCRIPT KILL / FUNCTION KILL / SHUTDOWN NOSAVE stopped it."""
        state = self.state
        run = state.running
        if run is None:
            return False
        node = state.node
        if not run.timed_out:
            elapsed_ms = (node.monotonic_ns() - run.start_ns) // 1_000_000
            if elapsed_ms < run.threshold_ms:
                return False
            log.warning(
                "Slow script detected: still in execution after %d milliseconds. You can try "
                "killing the script using the %s command. Script name is: %s.",
                elapsed_ms,
                "SCRIPT KILL" if run.is_eval else "FUNCTION KILL",
                run.name,
            )
            run.timed_out = True
        state.process_events_while_busy()
        if any(type(event) is Shutdown for event in node.events):
            run.shutdown = True
            run.killed = True
        if run.killed:
            log.warning("Lua script killed by user with SCRIPT KILL.")
        return run.killed


def _compile(loadstring, source: str):
    fn = loadstring(source.encode(), INTERNAL_CHUNK)
    if isinstance(fn, tuple):
        raise RuntimeError(f"rcsim's Lua sandbox does not compile: {fn[1]!r}")
    return fn


def _sha1hex(data: bytes) -> bytes:
    return hashlib.sha1(data).hexdigest().encode()


def _c_string(raw: bytes) -> bytes:
    """C string semantics of Redis's ``%s`` formatting: cut at the first NUL."""
    zero = raw.find(b"\x00")
    return raw if zero < 0 else raw[:zero]


def _error_text(line: bytes) -> str:
    """An error line as Redis would send it (leading ``-`` = the caller gave the code), as the
    text of a ``RespError``."""
    body = line[1:] if line.startswith(b"-") else b"ERR " + line
    return body.decode("utf-8", "surrogateescape")
