"""The one invocation function: every command that runs, runs through ``invoke`` (Redis's ``call``).

Whatever brought a command (a client read on the batch loop's fast path, the dispatcher's general
path, EXEC, a script's ``redis.call``, a blocked client served again, the master's replication
stream), its handler is called here and nowhere else, with the same bookkeeping: the write
counter, INFO commandstats, SLOWLOG and LATENCY samples, and the hooks of ``node.hooks`` around
it (fault injection before; replication feed and MONITOR after). An empty hook list costs one
branch, so the fast path pays nothing for hooks it does not use.

Handler errors are ``RespError`` exceptions, answered as the reply; any other exception is a bug
in rcsim: it is logged once and answered with an error, and the connection and the node carry on.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from node.hooks import CALL_FAILED, CALL_RETRY
from node.latency import add_sample_if_needed
from node.protocol.errors import RespError
from node.state import SlowlogEntry

if TYPE_CHECKING:
    from node.protocol.command_table import Command
    from node.session import Session
    from node.state import NodeState

log = logging.getLogger("rcsim.node")


def invoke(
    session: Session, command: Command, argv: list[bytes], flags: int = 0, started: int = 0
) -> object:
    """Run a resolved, admitted command and return its reply value.

    This is the pipelined hot path. With no hook enabled and no flag it costs one branch more
    than calling the handler inline (``node.hooked``, kept by ``Hooks``). ``started`` lets the
    batch loop time back-to-back commands with one clock read each: it passes the previous
    command's end (``node.call_end_ns``) as this one's start; 0 reads the clock here."""
    node = session.node
    if node.hooked or flags:
        return _invoke_hooked(session, command, argv, flags, started)
    clock = node.monotonic_ns
    if not started:
        started = clock()
    try:
        reply = command.handler(session, argv)  # type: ignore[misc]
    except RespError as error:
        reply = handler_failed(node, command, error)
    except Exception as error:  # a bug in rcsim: never let it take the node down
        reply = handler_crashed(command, argv, error)
    else:
        if command.is_write:
            node.dirty += 1
    node.call_end_ns = ended = clock()
    duration = ended - started
    stats = command.stats
    stats[0] += 1
    stats[1] += duration
    session.last_command = command.name_bytes
    if duration >= node.slow_threshold_ns:  # the smaller of the SLOWLOG and LATENCY thresholds
        record_slow(session, command, argv, duration)
    return reply


def _invoke_hooked(
    session: Session, command: Command, argv: list[bytes], flags: int, started: int
) -> object:
    """``invoke`` with its hooks and flags: the same steps as the hookless body above, plus
    the before hooks (which may answer instead of the handler), the after hooks, and no call
    counted for a blocked client served again (``CALL_RETRY``)."""
    node = session.node
    hooks = node.hooks
    clock = node.monotonic_ns
    if not started:
        started = clock()
    reply = None
    for hook in hooks.before:
        reply = hook(session, command, argv, flags)
        if reply is not None:  # answered instead of the handler (an injected fault)
            if isinstance(reply, RespError):
                reply = handler_failed(node, command, reply)
            flags |= CALL_FAILED
            break
    if reply is None:
        try:
            reply = command.handler(session, argv)  # type: ignore[misc]
        except RespError as error:
            reply = handler_failed(node, command, error)
            flags |= CALL_FAILED
        except Exception as error:  # a bug in rcsim: never let it take the node down
            reply = handler_crashed(command, argv, error)
            flags |= CALL_FAILED
        else:
            if command.is_write:
                node.dirty += 1
    for hook in hooks.after:
        hook(session, command, argv, reply, flags)
    node.call_end_ns = ended = clock()
    if flags & CALL_RETRY:
        return reply  # a blocked client served in place is not another call (Redis 7.0)
    duration = ended - started
    stats = command.stats
    stats[0] += 1
    stats[1] += duration
    session.last_command = command.name_bytes
    if duration >= node.slow_threshold_ns:
        record_slow(session, command, argv, duration)
    return reply


def handler_failed(node: NodeState, command: Command, error: RespError) -> RespError:
    """Bookkeeping for a handler that answered with an error (failed_calls, errorstats)."""
    command.stats[3] += 1
    count_error(node, error)
    return error


def handler_crashed(command: Command, argv: list[bytes], error: Exception) -> RespError:
    """A bug in rcsim: logged once, answered as an error; the connection and node carry on."""
    command.stats[3] += 1
    log.exception("internal error running %r", argv[:1])
    return RespError(f"ERR internal error in rcsim: {type(error).__name__}: {error}")


def count_error(node: NodeState, error: RespError) -> None:
    """INFO stats/errorstats for an error reply (Redis's afterErrorReply)."""
    stats = node.stats
    stats.total_error_replies += 1
    prefix = error.text.split(" ", 1)[0]
    stats.errors[prefix] = stats.errors.get(prefix, 0) + 1


def record_slow(session: Session, command: Command, argv: list[bytes], duration: int) -> None:
    """SLOWLOG and LATENCY samples for a command slower than either threshold."""
    node = session.node
    if duration > node.slowlog_threshold_ns >= 0 and not command.skip_slowlog:
        _slowlog_push(session, argv, duration // 1000)
    if duration >= node.latency_threshold_ns:
        event = "fast-command" if "fast" in command.spec.flags else "command"
        add_sample_if_needed(
            node.latency_events,
            node.latency_threshold_ms,
            event,
            duration // 1_000_000,
            node.now_ms // 1000,
        )


def _slowlog_push(session: Session, argv: list[bytes], duration_us: int) -> None:
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
