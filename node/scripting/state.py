"""Per-node scripting state: the two Lua engines, the script cache, the function libraries.

``scripting(node)`` creates it on first use and keeps it on the ``NodeState``. Nothing here does
I/O: when a script is past ``busy-reply-threshold`` the engine calls
``process_events_while_busy``, which hands over to the driver's callback ``NodeState.serve_while_busy``
(see ``node.drivers.epoll_loop.EpollClientLoop.serve_while_busy``) when there is one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from node import core
from node.protocol.errors import BusyError, RespError
from node.scripting.engine import LuaEngine
from node.scripting.libs import Rand48
from node.scripting.model import Function, Library, RunContext, Script

if TYPE_CHECKING:
    from node.session import Session
    from node.state import NodeState

EVAL_BUSY = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
FUNCTION_BUSY = (
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
)
NOT_BUSY = "NOTBUSY No scripts in execution right now."
UNKILLABLE = (
    "UNKILLABLE Sorry the script already executed write commands against the dataset. You can "
    "either wait the script termination or kill the server in a hard way using the SHUTDOWN "
    "NOSAVE command."
)


class ScriptingState:
    def __init__(self, node: NodeState) -> None:
        self.node = node
        self.rand48 = Rand48()
        self.running: RunContext | None = None
        self.scripts: dict[bytes, Script] = {}  # lowercase hex SHA1 -> script
        self._eval_engine: LuaEngine | None = None
        self._function_engine: LuaEngine | None = None
        self.libraries: dict[bytes, Library] = {}  # name -> library (names are case-sensitive)
        self.functions: dict[bytes, Function] = {}  # lowercase function name -> function
        self._script_session: Session | None = None

    # -- engines -------------------------------------------------------------------------------

    @property
    def eval_engine(self) -> LuaEngine:
        if self._eval_engine is None:
            self._eval_engine = LuaEngine(self, "eval")
        return self._eval_engine

    @property
    def function_engine(self) -> LuaEngine:
        if self._function_engine is None:
            self._function_engine = LuaEngine(self, "function")
        return self._function_engine

    def reset_eval(self) -> None:
        """SCRIPT FLUSH: forget every script and start a fresh Lua state (``scriptingReset``)."""
        self.scripts.clear()
        self._eval_engine = None

    def reset_functions(self) -> None:
        """FUNCTION FLUSH: no libraries, a fresh Lua state for functions."""
        self.libraries.clear()
        self.functions.clear()
        self._function_engine = None

    # -- running ----------------------------------------------------------------------------

    def script_session(self, caller: Session) -> Session:
        """Redis's Lua client, prepared for one run: the caller's database, RESP2."""
        from node.session import Session

        session = self._script_session
        if session is None:
            session = self._script_session = Session(self.node, 0, addr="lua", laddr="lua")
            session.authenticated = True
        session.db = caller.db
        session.db_index = caller.db_index
        session.resp3 = False
        session.in_script = True
        session.user = caller.user
        return session

    def new_run(
        self,
        caller: Session,
        name: str,
        is_eval: bool,
        read_only: bool,
        argv: list[bytes],
    ) -> RunContext:
        node = self.node
        return RunContext(
            caller=caller,
            script_session=self.script_session(caller),
            name=name,
            is_eval=is_eval,
            read_only=read_only,
            start_ns=node.monotonic_ns(),
            threshold_ms=node.config.get_int("busy-reply-threshold"),
            argv=argv,
        )

    def busy_error(self) -> RespError:
        """The ``-BUSY`` reply other clients get while a script is past its time limit."""
        run = self.running
        return BusyError(EVAL_BUSY if run is None or run.is_eval else FUNCTION_BUSY)

    def is_busy(self) -> bool:
        run = self.running
        return run is not None and run.timed_out

    def process_events_while_busy(self) -> None:
        """Let the driver serve other clients while a script runs too long; the script keeps
        its frozen view of time."""
        node = self.node
        callback = node.serve_while_busy
        if callback is None:
            return
        saved = node.now_ms
        try:
            callback()
        finally:
            node.now_ms = saved

    def execute_while_busy(self, session: Session, argv: list[bytes]) -> object:
        """``processCommand`` for another client while a script is busy: the usual rejections
        (unknown command, arity, NOAUTH) first, then ``-BUSY`` for every command without the
        ``allow_busy`` flag (SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE, MULTI...). SHUTDOWN
        without NOSAVE is refused too, as ``shutdownCommand`` does while a script runs."""
        command, error = core.lookup(session, argv)
        if error is not None or (not session.authenticated and not command.no_auth):  # type: ignore[union-attr]
            return core.execute(session, argv)
        allowed = "allow_busy" in command.spec.flags  # type: ignore[union-attr]
        if allowed and command.name == "shutdown":  # type: ignore[union-attr]
            allowed = any(arg.lower() == b"nosave" for arg in argv[1:])
        if not allowed:
            return core.reject(session, self.busy_error(), argv, command)
        return core.execute(session, argv)

    def kill(self, eval_kill: bool) -> None:
        """SCRIPT KILL (``eval_kill``) or FUNCTION KILL (Redis's ``scriptKill``)."""
        run = self.running
        if run is None or run.caller is None:
            raise RespError(NOT_BUSY)
        if run.write_dirty:
            raise RespError(UNKILLABLE)
        if eval_kill and not run.is_eval:
            raise BusyError(FUNCTION_BUSY)
        if not eval_kill and run.is_eval:
            raise BusyError(EVAL_BUSY)
        run.killed = True


def scripting(node: NodeState) -> ScriptingState:
    """The node's scripting state, created on first use."""
    state = node.__dict__.get("scripting")
    if state is None:
        state = node.__dict__["scripting"] = ScriptingState(node)
    return state
