"""The dispatcher: ``execute(session, argv)`` -> reply value, in Redis's ``processCommand`` order.

Order of checks (Redis 7.0 ``processCommand``): unknown command or subcommand, arity,
authentication, commands refused inside MULTI, cluster routing, replication (READONLY,
NOREPLICAS), commands a RESP2 subscriber may not run, MASTERDOWN, then queueing inside MULTI,
then the call through the one invocation function (``node.invoke.invoke``). A rejection while a
transaction is open flags it, so EXEC answers EXECABORT.

Which commands are special here (run at once inside MULTI, allowed to a subscriber, shard
channels, one-key routing) is read from the command table's rows (``node.protocol.overlay``),
never from a list of names.
"""

from __future__ import annotations

from node import routing
from node.invoke import count_error, invoke
from node.protocol.command_table import Command
from node.protocol.errors import (
    EXEC_ABORTED_BECAUSE,
    MASTERDOWN,
    NOREPLICAS,
    NOT_IN_TRANSACTION,
    READONLY,
    ExecAbortError,
    NoAuthError,
    RespError,
    pubsub_context_error,
    unknown_command,
    unknown_subcommand,
    wrong_arity,
)
from node.protocol.keyslot import key_slot
from node.protocol.resp import QUEUED
from node.session import Session


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

    The general path: ``ClientConnection._run`` sends the common case (a known command with
    the right arity, an authenticated client outside MULTI and not subscribed, and in cluster
    mode a request ``served_here`` says needs no redirect) straight to ``invoke`` and comes here
    for the rest.
    """
    reply = _execute(session, argv)
    if session.asking and session.multi is None and argv[0].lower() != b"asking":
        # ASKING is one-shot (Redis's resetClient): cleared after the next command, unless
        # inside MULTI (it then lasts until EXEC) or that command is ASKING itself.
        session.asking = False
    node = session.node
    if node.repl_pending:  # queued outside the replication hook's sight: write it now
        node.flush_propagation(session)
    return reply


def _execute(session: Session, argv: list[bytes]) -> object:
    node = session.node
    command = node.commands.get(argv[0])
    if command is None or not command.min_args <= len(argv) <= command.max_args:
        command, error = lookup(session, argv)
        if error is not None:
            return _reject(session, error, argv, command)
    assert command is not None
    # not authenticated, in MULTI, subscribed, cluster mode, a replica or a replication master
    if session.gate or node.cluster_enabled or node.repl_gate:
        if not session.authenticated and not command.no_auth:
            return _reject(session, NoAuthError(), argv, command)
        if session.multi is not None and command.no_multi:
            return _reject(session, RespError(NOT_IN_TRANSACTION), argv, command)
        if node.cluster_enabled:  # Redis routes right after the auth and MULTI checks
            redirect = _route(session, command, argv)
            if redirect is not None:
                return _reject_redirect(session, redirect, command)
        if node.repl_gate:
            refusal = replica_refusal(session, command, False)
            if refusal is not None:
                return _reject(session, refusal, argv, command)
        if session.subscribed and not session.resp3 and not command.pubsub_context:
            return _reject(session, pubsub_context_error(command.name), argv, command)
        if node.repl_gate and node.repl.role == "slave":
            refusal = replica_refusal(session, command, True)
            if refusal is not None:
                return _reject(session, refusal, argv, command)
        if session.multi is not None and not command.multi_immediate:
            session.multi.append((command, argv))
            return QUEUED
    return invoke(session, command, argv)


def replica_refusal(session: Session, command: Command, stale_phase: bool) -> RespError | None:
    """Redis's processCommand replication checks: on a master with min-replicas-to-write,
    writes while too few replicas are good (``NOREPLICAS``); on a replica, writes from
    clients other than the master on a read-only replica (``READONLY``, before the pub/sub
    context check), and commands without the ``stale`` flag while the link is down with
    replica-serve-stale-data no (``MASTERDOWN``, after it). EXEC counts as the commands it
    queued."""
    node = session.node
    repl = node.repl
    if repl.applying or session is repl.master_session:
        return None
    queued = session.multi if command.name == "exec" else None
    if repl.role != "slave":
        if stale_phase or not node.repl_min_replicas:
            return None
        is_write = command.is_write or (queued is not None and any(c.is_write for c, _ in queued))
        good = repl.good_replica_count(node.now_ms // 1000, node.repl_max_lag_s)
        if is_write and good < node.repl_min_replicas:
            return RespError(NOREPLICAS)
        return None
    if not stale_phase:
        if node.repl_read_only and (
            command.is_write or (queued is not None and any(c.is_write for c, _ in queued))
        ):
            return RespError(READONLY)
        return None
    if repl.link_status != "up" and not node.repl_serve_stale:
        flags = command.spec.flags
        if "stale" not in flags or (
            queued is not None and any("stale" not in c.spec.flags for c, _ in queued)
        ):
            return RespError(MASTERDOWN)
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
    if command.single_key:
        if len(argv) < 2:
            return False
        slot = key_slot(argv[1])
        return (
            cluster.slots[slot] == cluster.myself.node_id
            and cluster.state_ok
            and slot not in cluster.migrating_to
            and slot not in cluster.importing_from
        )
    return not command.needs_routing


def _route(session: Session, command: Command, argv: list[bytes]) -> RespError | None:
    """Cluster routing (``node.routing``) for a keyed command or EXEC; None to serve here.

    Most cluster traffic is a one-key command (GET, SET, INCR...) for a slot this node owns:
    that case is answered here from the slot table, without the general key extraction;
    ``routing.route`` would reach the same verdict (owner is me, no migration, cluster ok).
    So is a one-key write with ASKING into a slot this node imports: the RESTORE-ASKINGs
    that MIGRATE pipelines, several per slot during a reshard."""
    cluster = session.node.cluster
    if cluster is None:
        return None
    if command.single_key and len(argv) > 1:
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
    if not command.needs_routing:
        return None
    repl = session.node.repl
    if repl.applying or session is repl.master_session:
        return None  # the master's stream is obeyed, never redirected (Redis's mustObeyClient)
    return routing.route(session, command, argv, cluster)


def _reject_redirect(session: Session, error: RespError, command: Command) -> RespError:
    """Redis's processCommand on a redirect: EXEC discards the transaction and answers the
    redirect itself; any other command flags an open transaction (EXEC then EXECABORTs)."""
    if command.name == "exec":
        session.discard_transaction()
    return _reject(session, error, None, command)


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
        error = exec_abort(session, error)
    count_error(session.node, error)
    return error


def reject(
    session: Session, error: RespError, argv: list[bytes], command: Command | None
) -> RespError:
    """Refuse a request before it runs, with Redis's bookkeeping (a busy script's refusals)."""
    return _reject(session, error, argv, command)


def exec_abort(session: Session, error: RespError) -> RespError:
    """Redis's ``execCommandAbort``: EXEC itself was refused (wrong arity, NOAUTH...), in MULTI
    or not; the transaction is discarded and the reason is given after an EXECABORT."""
    session.discard_transaction()
    reason = error.text[4:] if error.text.startswith("ERR ") else error.text
    return ExecAbortError(EXEC_ABORTED_BECAUSE + reason)
