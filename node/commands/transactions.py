"""MULTI, EXEC, DISCARD, WATCH, UNWATCH with Redis's queue-time and EXEC-time semantics.

Queueing itself happens in ``node.core.execute`` (as in Redis's ``processCommand``): a command
rejected while queueing (unknown, wrong arity, NOAUTH...) flags the transaction, and EXEC then
answers EXECABORT. WATCH records each key with whether it was already expired; a write to the key
(``Database.touch``), or its expiry after WATCH, makes EXEC return a null array.
"""

from __future__ import annotations

from node.protocol.errors import ExecAbortError, RespError
from node.protocol.resp import NULL_ARRAY, OK
from node.session import Session


def multi_command(ctx: Session, argv: list[bytes]) -> object:
    if ctx.multi is not None:
        raise RespError("ERR MULTI calls can not be nested")
    ctx.multi = []
    ctx.multi_error = False
    return OK


def _watched_key_expired(ctx: Session) -> bool:
    now = ctx.node.now_ms
    for db, key, expired_at_watch in ctx.watched:
        if expired_at_watch:
            continue
        when = db.expires.get(key)
        if when is not None and when <= now:
            return True
    return False


def exec_command(ctx: Session, argv: list[bytes]) -> object:
    from node.core import call

    if ctx.multi is None:
        raise RespError("ERR EXEC without MULTI")
    queued, failed = ctx.multi, ctx.multi_error
    ctx.multi = None
    ctx.multi_error = False
    if failed:
        ctx.unwatch_all()
        raise ExecAbortError()
    if ctx.watch_dirty or _watched_key_expired(ctx):
        ctx.unwatch_all()
        return NULL_ARRAY
    ctx.unwatch_all()
    return [call(ctx, command, args) for command, args in queued]


def discard_command(ctx: Session, argv: list[bytes]) -> object:
    if ctx.multi is None:
        raise RespError("ERR DISCARD without MULTI")
    ctx.multi = None
    ctx.multi_error = False
    ctx.unwatch_all()
    return OK


def watch_command(ctx: Session, argv: list[bytes]) -> object:
    if ctx.multi is not None:
        raise RespError("ERR WATCH inside MULTI is not allowed")
    db = ctx.db
    now = ctx.node.now_ms
    for key in argv[1:]:
        if any(w_db is db and w_key == key for w_db, w_key, _ in ctx.watched):
            continue
        when = db.expires.get(key)
        expired = when is not None and when <= now
        ctx.watched.append((db, key, expired))
        db.watchers.setdefault(key, set()).add(ctx)
    return OK


def unwatch_command(ctx: Session, argv: list[bytes]) -> object:
    ctx.unwatch_all()
    return OK


HANDLERS = {
    "multi": multi_command,
    "exec": exec_command,
    "discard": discard_command,
    "watch": watch_command,
    "unwatch": unwatch_command,
}
