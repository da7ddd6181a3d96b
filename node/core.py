"""The dispatcher: ``execute(session, argv)`` -> reply value, in Redis's ``processCommand`` order.

Order of checks (Redis 7.0 ``processCommand``): unknown command or subcommand, arity,
authentication, commands refused inside MULTI, commands a RESP2 subscriber may not run, then
queueing inside MULTI, then the call. A rejection while a transaction is open flags it, so EXEC
answers EXECABORT. Handler errors are ``RespError`` exceptions; any other exception is a bug in
rcsim: it is logged once and answered with an error, and the connection and the node carry on.
"""

from __future__ import annotations

import logging

from node import replication, routing
from node.commands import Command
from node.commands.transactions import discard_transaction, exec_abort
from node.protocol.errors import (
    NoAuthError,
    RespError,
    unknown_command,
    unknown_subcommand,
    wrong_arity,
)
from node.protocol.keyslot import key_slot
from node.protocol.resp import QUEUED
from node.session import Session

log = logging.getLogger("rcsim.node")

_MULTI_PASSTHROUGH = frozenset((b"exec", b"discard", b"multi", b"watch", b"quit", b"reset"))

# What a RESP2 client may run while subscribed (Redis's processCommand, CLIENT_PUBSUB check).
_PUBSUB_CONTEXT = frozenset(
    (
        "ping",
        "subscribe",
        "ssubscribe",
        "unsubscribe",
        "sunsubscribe",
        "psubscribe",
        "punsubscribe",
        "quit",
        "reset",
    )
)


def _pubsub_context_error(name: str) -> RespError:
    """Redis names the command by its lowercase full name (``client|list``)."""
    return RespError(
        f"ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT "
        "/ RESET are allowed in this context"
    )


def lookup(session: Session, argv: list[bytes]) -> tuple[Command | None, RespError | None]:
    """Resolve ``argv`` to a command (or subcommand) and check its arity.

    Returns ``(command, None)``, or an error with the command when it was found but called
    with the wrong arity (Redis then counts a rejected call against it), else ``(None, error)``.
    """
    commands = session.node.commands
    command = commands.get(argv[0])
    if command is None:
        command = commands.get(argv[0].lower())
        if command is None:
            return None, unknown_command(argv[0], argv[1:])
    if command.subcommands and len(argv) > 1:
        sub = command.subcommands.get(argv[1].lower())
        if sub is None:
            return None, unknown_subcommand(argv[1], command.name)
        command = sub
    elif command.handler is None:
        return command, wrong_arity(command.name)  # a bare container with no behaviour of its own
    arity = command.arity
    if (len(argv) != arity) if arity >= 0 else (len(argv) < -arity):
        return command, wrong_arity(command.name)
    return command, None


def execute(session: Session, argv: list[bytes]) -> object:
    """Run one request and return its reply value (see ``node.protocol.resp.encode``).

    The general path: ``ClientConnection._run`` inlines the common case (a known command with
    the right arity, an authenticated client outside MULTI and not subscribed, and in cluster
    mode a request ``served_here`` says needs no redirect) and comes here for the rest.
    """
    if not session.asking:
        reply = _execute(session, argv)
    else:
        reply = _execute(session, argv)
        # ASKING is one-shot (Redis's resetClient): cleared after the next command, unless
        # inside MULTI (it then lasts until EXEC) or that command is ASKING itself.
        if session.multi is None and argv[0].lower() != b"asking":
            session.asking = False
    if session.node.repl_pending:  # the call fed the replication stream: write it now
        replication.flush(session.node, session)
    return reply


def _execute(session: Session, argv: list[bytes]) -> object:
    node = session.node
    command = node.commands.get(argv[0])
    if command is None or not command.min_args <= len(argv) <= command.max_args:
        command, error = lookup(session, argv)
        if error is not None:
            return _reject(session, error, argv, command)
    # not authenticated, in MULTI, subscribed, cluster mode, a replica or a replication master
    if session.gate or node.cluster_enabled or node.repl_gate:
        if not session.authenticated and not command.no_auth:  # type: ignore[union-attr]
            return _reject(session, NoAuthError(), argv, command)
        if session.multi is not None and command.no_multi:  # type: ignore[union-attr]
            return _reject(
                session, RespError("ERR Command not allowed inside a transaction"), argv, command
            )
        if node.cluster_enabled:  # Redis routes right after the auth and MULTI checks
            redirect = _route(session, command, argv)  # type: ignore[arg-type]
            if redirect is not None:
                return _reject_redirect(session, redirect, command)  # type: ignore[arg-type]
        if node.repl_gate:
            refusal = replica_refusal(session, command, False)  # type: ignore[arg-type]
            if refusal is not None:
                return _reject(session, refusal, argv, command)
        if (
            session.subscribed and not session.resp3 and command.name not in _PUBSUB_CONTEXT  # type: ignore[union-attr]
        ):
            return _reject(session, _pubsub_context_error(command.name), argv, command)  # type: ignore[union-attr]
        if node.repl_gate and node.repl.role == "slave":
            refusal = replica_refusal(session, command, True)  # type: ignore[arg-type]
            if refusal is not None:
                return _reject(session, refusal, argv, command)
        if session.multi is not None and argv[0].lower() not in _MULTI_PASSTHROUGH:
            session.multi.append((command, argv))
            return QUEUED
    return call(session, command, argv)  # type: ignore[arg-type]


READONLY_ERROR = "READONLY You can't write against a read only replica."
NOREPLICAS_ERROR = "NOREPLICAS Not enough good replicas to write."
MASTERDOWN_ERROR = (
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
)


def replica_refusal(session: Session, command: Command, stale_phase: bool) -> RespError | None:
    """Redis's processCommand replication checks: on a master with min-replicas-to-write,
    writes while too few replicas are good (``NOREPLICAS``); on a replica, writes from
    clients other than the master on a read-only replica (``READONLY``, before the pub/sub
    context check), and commands
    without the ``stale`` flag while the link is down with replica-serve-stale-data no
    (``MASTERDOWN``, after it). EXEC counts as the commands it queued."""
    node = session.node
    repl = node.repl
    if repl.applying or session is repl.master_session:
        return None
    queued = session.multi if command.name == "exec" else None
    if repl.role != "slave":
        if stale_phase or not node.repl_min_replicas:
            return None
        is_write = command.is_write or (queued is not None and any(c.is_write for c, _ in queued))
        if is_write and replication.good_replicas(node) < node.repl_min_replicas:
            return RespError(NOREPLICAS_ERROR)
        return None
    if not stale_phase:
        if node.repl_read_only and (
            command.is_write or (queued is not None and any(c.is_write for c, _ in queued))
        ):
            return RespError(READONLY_ERROR)
        return None
    if repl.link_status != "up" and not node.repl_serve_stale:
        flags = command.spec.flags
        if "stale" not in flags or (
            queued is not None and any("stale" not in c.spec.flags for c, _ in queued)
        ):
            return RespError(MASTERDOWN_ERROR)
    return None


def served_here(session: Session, command: Command, argv: list[bytes]) -> bool:
    """Cluster mode's fast verdict for the batch loop: True when this request certainly runs
    here without a redirect (no ASKING pending, keyless, or one key in a slot this node owns
    with no migration, cluster ok). False sends it through ``execute``'s full routing."""
    if session.asking:
        return False  # ASKING is one-shot: execute() must clear it
    cluster = session.node.cluster
    if cluster is None:
        return True
    if _is_single_key(command):
        if len(argv) < 2:
            return False
        slot = key_slot(argv[1])
        return (
            cluster.slots[slot] == cluster.myself.node_id
            and cluster.state_ok
            and slot not in cluster.migrating_to
            and slot not in cluster.importing_from
        )
    return not routing.needs_routing(command)


def _route(session: Session, command: Command, argv: list[bytes]) -> RespError | None:
    """Cluster routing (``node.routing``) for a keyed command or EXEC; None to serve here.

    Most cluster traffic is a one-key command (GET, SET, INCR...) for a slot this node owns:
    that case is answered here from the slot table, without the general key extraction;
    ``routing.route`` would reach the same verdict (owner is me, no migration, cluster ok).
    So is a one-key write with ASKING into a slot this node imports: the RESTORE-ASKINGs
    that MIGRATE pipelines, several per slot during a reshard."""
    cluster = getattr(session.node, "cluster", None)
    if cluster is None:
        return None
    if _is_single_key(command) and len(argv) > 1:
        slot = key_slot(argv[1])
        if cluster.state_ok and slot not in cluster.migrating_to:
            owner_id = cluster.slots[slot]
            if owner_id == cluster.myself.node_id and slot not in cluster.importing_from:
                return None
            if (
                owner_id is not None
                and slot in cluster.importing_from
                and (session.asking or "asking" in command.spec.flags)
            ):
                return None
    if not routing.needs_routing(command):
        return None
    repl = session.node.repl
    if repl.applying or session is repl.master_session:
        return None  # the master's stream is obeyed, never redirected (Redis's mustObeyClient)
    return routing.route(session, command, argv, cluster)


_single_key_cache: dict[str, bool] = {}


def _is_single_key(command: Command) -> bool:
    """A command whose only key is argv[1] (one key spec: index 1, range of one)."""
    name = command.spec.name
    cached = _single_key_cache.get(name)
    if cached is None:
        spec = command.spec
        specs = spec.key_specs
        cached = (
            len(specs) == 1
            and specs[0].begin_search == "index"
            and specs[0].index == 1
            and specs[0].find_keys == "range"
            and specs[0].last_key == 0
            and not spec.movable_keys
            and name not in ("exec", "spublish", "ssubscribe", "sunsubscribe")
        )
        _single_key_cache[name] = cached
    return cached


def _reject_redirect(session: Session, error: RespError, command: Command) -> RespError:
    """Redis's processCommand on a redirect: EXEC discards the transaction and answers the
    redirect itself; any other command flags an open transaction (EXEC then EXECABORTs)."""
    if command.name == "exec":
        discard_transaction(session)
    return _reject(session, error, None, command)


def call(session: Session, command: Command, argv: list[bytes]) -> object:
    """Invoke a resolved command with statistics, SLOWLOG and MONITOR bookkeeping (Redis's
    ``call``); used by ``execute`` and by EXEC for queued commands. Keep in step with the
    inlined copy in ``ClientConnection._run``."""
    node = session.node
    if command.is_write and node.repl_gate and session.in_script:
        refusal = replica_refusal(session, command, False)  # READONLY/NOREPLICAS in a script
        if refusal is not None:
            return handler_failed(node, command, refusal)
    clock = node.monotonic_ns
    started = clock()
    try:
        reply = command.handler(session, argv)
    except RespError as error:
        reply = handler_failed(node, command, error)
    except Exception as error:  # a bug in rcsim: never let it take the node down
        reply = handler_crashed(command, argv, error)
    else:
        if command.is_write:
            node.dirty += 1
        if node.repl_feed:  # a master with a backlog: queue the write for the stream
            replication.feed(session, command, argv, reply)
    duration = clock() - started
    stats = command.stats
    stats[0] += 1
    stats[1] += duration
    session.last_command = command.name_bytes
    if duration >= node.slow_threshold_ns:  # the smaller of the SLOWLOG and LATENCY thresholds
        record_slow(session, command, argv, duration)
    # MONITOR sees a command once it ran (Redis 7's call()), so EXEC follows its commands.
    if node.monitors and not command.skip_monitor:
        _feed_monitors(session, argv)
    return reply


def _latency_sample(node, command: Command, duration_ns: int) -> None:
    """The latency monitor's sample for a slow call, "fast-command" or "command" (Redis's call())."""
    from node.latency import add_sample_if_needed

    event = "fast-command" if "fast" in command.spec.flags else "command"
    add_sample_if_needed(
        node.latency_events,
        node.latency_threshold_ms,
        event,
        duration_ns // 1_000_000,
        node.now_ms // 1000,
    )


def handler_failed(node, command: Command, error: RespError) -> RespError:
    """Bookkeeping for a handler that answered with an error (failed_calls, errorstats)."""
    command.stats[3] += 1
    _count_error(node, error)
    return error


def handler_crashed(command: Command, argv: list[bytes], error: Exception) -> RespError:
    """A bug in rcsim: logged once, answered as an error; the connection and node carry on."""
    command.stats[3] += 1
    return _internal_error(argv, error)


def record_slow(session: Session, command: Command, argv: list[bytes], duration: int) -> None:
    """SLOWLOG and LATENCY samples for a command slower than either threshold."""
    node = session.node
    if duration > node.slowlog_threshold_ns >= 0 and not command.skip_slowlog:
        _slowlog_push(session, argv, duration // 1000)
    if duration >= node.latency_threshold_ns:
        _latency_sample(node, command, duration)


def _internal_error(argv: list[bytes], error: Exception) -> RespError:
    log.exception("internal error running %r", argv[:1])
    return RespError(f"ERR internal error in rcsim: {type(error).__name__}: {error}")


def _reject(
    session: Session,
    error: RespError,
    argv: list[bytes] | None = None,
    command: Command | None = None,
) -> RespError:
    """Redis's ``rejectCommand``: flag an open transaction, count a rejected call."""
    if command is not None:
        command.stats[2] += 1
    if session.multi is not None:
        session.multi_error = True
    if argv is not None and argv[0].lower() == b"exec":
        error = exec_abort(session, error)  # Redis's execCommandAbort
    _count_error(session.node, error)
    return error


def _count_error(node, error: RespError) -> None:
    stats = node.stats
    stats.total_error_replies += 1
    prefix = error.text.split(" ", 1)[0]
    stats.errors[prefix] = stats.errors.get(prefix, 0) + 1


def _slowlog_push(session: Session, argv: list[bytes], duration_us: int) -> None:
    from node.state import SlowlogEntry

    node = session.node
    if node.slowlog_max_len <= 0:
        return
    # Redis keeps at most 32 arguments and 128 bytes per argument in a slowlog entry.
    shown = [
        a if len(a) <= 128 else a[:128] + b"... (%d more bytes)" % (len(a) - 128) for a in argv[:32]
    ]
    if len(argv) > 32:
        shown[31] = b"... (%d more arguments)" % (len(argv) - 31)
    node.slowlog.appendleft(
        SlowlogEntry(
            node.slowlog_next_id,
            node.now_ms // 1000,
            duration_us,
            shown,
            session.addr,
            session.name,
        )
    )
    node.slowlog_next_id += 1
    while len(node.slowlog) > node.slowlog_max_len:
        node.slowlog.pop()


def _feed_monitors(session: Session, argv: list[bytes]) -> None:
    """MONITOR line: ``+<unix.micro> [<db> <addr>] "arg" "arg"`` with C-style escapes."""
    node = session.node
    now = node.now_ms
    quoted = " ".join(_repr_arg(a) for a in _redact(argv))
    line = b"+%d.%06d [%d %s] %s\r\n" % (
        now // 1000,
        (now % 1000) * 1000,
        session.db_index,
        session.addr.encode(),
        quoted.encode("latin-1"),
    )
    for monitor in list(node.monitors):
        monitor.push_out_of_band(line)  # a monitor sees its own commands too, as in Redis


_REDACTED = b"(redacted)"


def _redact(argv: list[bytes]) -> list[bytes]:
    """Secrets never reach MONITOR (Redis's ``redactClientCommandArgument``): AUTH's arguments,
    HELLO's ``AUTH user pass``, MIGRATE's ``AUTH pass`` / ``AUTH2 user pass``."""
    name = argv[0].lower()
    if name == b"auth" and len(argv) <= 3:  # a syntax error comes before the redaction
        return [argv[0]] + [_REDACTED] * (len(argv) - 1)
    if name not in (b"hello", b"migrate"):
        return argv
    shown = list(argv)
    i = 2 if name == b"hello" else 6  # options start after the version / after MIGRATE's timeout
    while i < len(shown):
        option = shown[i].lower()
        count = 2 if option == b"auth2" or (option == b"auth" and name == b"hello") else 1
        if option in (b"auth", b"auth2") and i + count < len(shown):
            shown[i + 1 : i + 1 + count] = [_REDACTED] * count
            i += count
        i += 1
    return shown


def _repr_arg(arg: bytes) -> str:
    """Redis's ``sdscatrepr``: printable bytes as is, escapes for the rest."""
    out = ['"']
    for c in arg:
        if c in (34, 92):
            out.append("\\" + chr(c))
        elif c == 10:
            out.append("\\n")
        elif c == 13:
            out.append("\\r")
        elif c == 9:
            out.append("\\t")
        elif c == 7:
            out.append("\\a")
        elif c == 8:
            out.append("\\b")
        elif 32 <= c < 127:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    out.append('"')
    return "".join(out)
