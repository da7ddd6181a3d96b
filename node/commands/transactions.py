"""MULTI, EXEC, DISCARD, WATCH, UNWATCH with Redis 7.0's queue-time and EXEC-time semantics.

Theory of operation (Redis's src/multi.c):

* Queueing happens in ``node.core.execute``, as in Redis's ``processCommand``: inside MULTI every
  command but EXEC, DISCARD, MULTI, WATCH, QUIT and RESET answers ``+QUEUED``. A command rejected
  while queueing (unknown, wrong arity, NOAUTH, ``no_multi``) sets ``multi_error``
  (``CLIENT_DIRTY_EXEC``) and EXEC answers EXECABORT. Errors raised by MULTI or WATCH themselves
  do not abort the transaction.
* WATCH records ``(db, key, expired_now)``. Any write to the key (``Database.touch``), a flush or
  a SWAPDB that changes it sets ``watch_dirty`` (``CLIENT_DIRTY_CAS``); see
  ``Session.watched_key_changed`` for the already-expired exceptions. EXEC also fails when a
  watched key expired after WATCH, even if nothing deleted it yet (``isWatchedKeyExpired``).
  The flag survives until EXEC, DISCARD, UNWATCH or RESET, even outside MULTI.
* EXEC runs the queue through ``node.invoke.invoke`` (statistics, SLOWLOG, hooks), embeds each
  command's error in the reply array, and answers a null array when a WATCH failed. While the
  queue runs the client is still in MULTI (``ctx.multi`` is set, as CLIENT LIST's ``flags=x``
  shows in Redis): blocking commands must answer at once instead of blocking.
* EXEC refused by the dispatcher itself (wrong arity, NOAUTH) discards the transaction and
  answers ``EXECABORT Transaction discarded because of: <reason>`` (``node.core.exec_abort``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from node.hooks import CALL_NESTED
from node.invoke import invoke
from node.protocol.errors import ExecAbortError, RespError
from node.protocol.resp import NULL_ARRAY, OK, Raw, encode
from node.session import Session

if TYPE_CHECKING:
    from node.keyspace import Database

MULTI_NESTED = "ERR MULTI calls can not be nested"
EXEC_WITHOUT_MULTI = "ERR EXEC without MULTI"
DISCARD_WITHOUT_MULTI = "ERR DISCARD without MULTI"
WATCH_INSIDE_MULTI = "ERR WATCH inside MULTI is not allowed"


def multi_command(ctx: Session, argv: list[bytes]) -> object:
    if ctx.multi is not None:
        raise RespError(MULTI_NESTED)
    ctx.multi = []
    ctx.multi_error = False
    return OK


def key_is_expired(db: Database, key: bytes, now_ms: int) -> bool:
    """Redis's ``keyIsExpired``: the key has a TTL and the current time is past it."""
    when = db.expires.get(key)
    return when is not None and now_ms > when


def watched_key_expired(ctx: Session) -> bool:
    """Redis's ``isWatchedKeyExpired``: a key that was live at WATCH time has expired since."""
    now = ctx.node.now_ms
    for db, key, expired_at_watch in ctx.watched:
        if not expired_at_watch and key_is_expired(db, key, now):
            return True
    return False


def exec_command(ctx: Session, argv: list[bytes]) -> object:
    if ctx.multi is None:
        raise RespError(EXEC_WITHOUT_MULTI)
    queued = ctx.multi
    if ctx.multi_error:
        ctx.discard_transaction()
        raise ExecAbortError()
    if ctx.watch_dirty or watched_key_expired(ctx):
        ctx.discard_transaction()
        return NULL_ARRAY
    # Unwatch before running, as Redis does; the client stays in MULTI while the queue runs
    # (CLIENT LIST shows flags=x, and blocking commands must not block).
    ctx.unwatch_all()
    try:
        return _run_queue(ctx, queued)
    finally:
        ctx.discard_transaction()


def _run_queue(ctx: Session, queued: list[tuple]) -> object:
    """Run the queued commands. Each reply is encoded in the protocol in force right after its
    command ran, as Redis writes it then: a HELLO inside the transaction switches the rest."""
    replies = []
    protocols = []
    for command, args in queued:
        replies.append(invoke(ctx, command, args, CALL_NESTED))
        protocols.append(ctx.resp3)
    if all(p is ctx.resp3 for p in protocols):
        return replies
    body = b"".join([encode(r, p) for r, p in zip(replies, protocols, strict=True)])
    return Raw(b"*%d\r\n%s" % (len(replies), body))


def discard_command(ctx: Session, argv: list[bytes]) -> object:
    if ctx.multi is None:
        raise RespError(DISCARD_WITHOUT_MULTI)
    ctx.discard_transaction()
    return OK


def watch_command(ctx: Session, argv: list[bytes]) -> object:
    if ctx.multi is not None:
        raise RespError(WATCH_INSIDE_MULTI)
    if ctx.watch_dirty:
        return OK  # the transaction will fail anyway: no point in watching more keys
    db = ctx.db
    now = ctx.node.now_ms
    watched = ctx.watched
    for key in argv[1:]:
        if any(w_db is db and w_key == key for w_db, w_key, _ in watched):
            continue
        watched.append((db, key, key_is_expired(db, key, now)))
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
