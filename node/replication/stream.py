"""The replication stream: what a master writes to its backlog and replicas, and how.

Theory of operation (Redis 7.0's ``call`` / ``alsoPropagate`` / ``propagatePendingCommands``)
-------------------------------------------------------------------------------------------
Every write a command performs is *fed* (``feed``) as one or more deterministic commands into
``repl.pending`` (Redis's ``server.also_propagate``): relative expiries become absolute
(``SET .. PXAT``, ``PEXPIREAT``), SPOP becomes SREM, INCRBYFLOAT a ``SET .. KEEPTTL``, a
blocking pop the equivalent non-blocking pop, keys found expired a ``DEL``; commands that
changed nothing are not fed. When the outermost command ends (``core.execute`` returns, a
blocked client was served, an active-expiry cycle ran) ``flush`` writes the pending commands to
the stream: one alone as is, several (EXEC, a script's effects) wrapped in MULTI/EXEC, each
preceded by a ``SELECT`` when its database differs from the stream's. Writing advances
``master_repl_offset`` by the exact byte count, appends to the backlog and hands the bytes to
each replica connection.

Nothing here runs unless ``node.repl_feed`` is set (a master with a backlog, i.e. once a
replica has connected, as Redis creates its backlog then).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from node.blocking import Block
from node.hooks import CALL_FAILED, CALL_NESTED, CALL_RETRY
from node.protocol.resp import encode_command

if TYPE_CHECKING:
    from node.protocol.command_table import Command
    from node.session import Session
    from node.state import NodeState

    from .state import ReplicaInfo


def _default_send(replica: ReplicaInfo, data: bytes) -> None:
    session = replica.session
    if session is not None:
        session.push_out_of_band(data)


def write_stream(node: NodeState, data: bytes) -> None:
    """Append ``data`` to the stream: offset, backlog, every replica (Redis's
    ``replicationFeedSlaves`` once the command is encoded)."""
    repl = node.repl
    repl.master_repl_offset += len(data)
    repl.getack_sent = False
    backlog = repl.backlog
    if backlog is not None:
        backlog.append(data)
    if repl.replicas:
        send = repl.send_to_replica or _default_send
        for replica in repl.replicas.values():
            send(replica, data)


def _select(db: int) -> bytes:
    index = b"%d" % db
    return b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n" % (len(index), index)


def _encode_op(repl, out: list[bytes], db: int, argv: list[bytes]) -> None:
    if db >= 0 and db != repl.stream_db:
        out.append(_select(db))
        repl.stream_db = db
    out.append(encode_command(argv))


def flush(node: NodeState, session: Session | None = None) -> None:
    """Write the commands fed during the call that just ended (``propagatePendingCommands``):
    several are wrapped in MULTI/EXEC, MULTI taking the first one's db and EXEC the last's so
    no SELECT comes between them and their commands. ``session``'s last-write offset (WAIT's
    ``c->woff``) becomes the new stream offset."""
    repl = node.repl
    ops = repl.pending
    if not ops:
        return
    if len(ops) == 1:  # the common case, kept short
        db, argv = ops[0]
        data = encode_command(argv)
        if db != repl.stream_db and db >= 0:
            data = _select(db) + data
            repl.stream_db = db
    else:
        out: list[bytes] = []
        _encode_op(repl, out, ops[0][0], [b"MULTI"])
        for db, argv in ops:
            _encode_op(repl, out, db, argv)
        _encode_op(repl, out, ops[-1][0], [b"EXEC"])
        data = b"".join(out)
    ops.clear()  # the same list object: NodeState.repl_pending aliases it
    write_stream(node, data)
    if session is not None:
        woff = repl.client_woff
        woff[session.id] = repl.master_repl_offset
        if len(woff) > 2 * len(node.clients) + 64:  # forget clients that went away
            live = node.clients
            repl.client_woff = {cid: off for cid, off in woff.items() if cid in live}


def after_write(session: Session, command: Command, argv: list[bytes], reply: object) -> None:
    """The batch loop's fast path ran a write on a feeding master: feed it and write the
    stream now (with any DEL of a key its lookups found expired, in one MULTI/EXEC). A plain
    write (no rewrite, nothing queued) is encoded and written directly."""
    node = session.node
    repl = node.repl
    name = command.name
    if repl.pending or (name in _NEEDS_FEED and (name != "set" or len(argv) != 3)):
        feed(session, command, argv, reply)
        flush(node, session)
        return
    data = encode_command(argv)
    db = session.db.id
    if db != repl.stream_db:
        data = _select(db) + data
        repl.stream_db = db
    write_stream(node, data)
    repl.client_woff[session.id] = repl.master_repl_offset


def replication_hook(
    session: Session, command: Command, argv: list[bytes], reply: object, flags: int
) -> None:
    """The invocation function's after hook while this master feeds a stream (enabled by
    ``NodeState.refresh_replication_flags``): queue what the command propagates, and write it
    at the end of the outermost command (Redis's ``propagatePendingCommands`` after ``call``).
    Inside EXEC or a script (``CALL_NESTED``) the effects wait for the outer command, which
    wraps several in MULTI/EXEC; a blocked client served again propagates its served form."""
    if flags & CALL_FAILED:
        # The handler raised: nothing of its own to propagate, but what it queued before
        # failing (MIGRATE's DEL of the keys the target took) still goes out.
        if not flags & CALL_NESTED and session.node.repl_pending:
            flush(session.node, session)
        return
    if flags & CALL_NESTED:
        feed(session, command, argv, reply)
    elif flags & CALL_RETRY:
        if type(reply) is not Block:  # served: replicas get the plain pop
            feed(session, command, argv, reply, served=True)
            flush(session.node, session)
    elif command.is_write:
        after_write(session, command, argv, reply)
    else:  # script effects, PUBLISH, or the DEL of a key a read found expired
        feed(session, command, argv, reply)
        flush(session.node, session)


def key_expired(node: NodeState, db_index: int, key: bytes) -> None:
    """A key expired on this master (lazily or by the active cycle): replicas get a DEL
    (Redis's ``deleteExpiredKeyAndPropagate`` / ``propagateDeletion``)."""
    if node.repl_feed:
        node.repl.pending.append((db_index, [node.repl_expire_del, key]))


# -- feeding executed commands ----------------------------------------------------------------


def feed(
    session: Session, command: Command, argv: list[bytes], reply: object, served: bool = False
) -> None:
    """Queue what a successfully executed command must propagate (see the module docstring).
    Called by ``core.call`` for every command while ``node.repl_feed`` is set, and with
    ``served`` for a blocked client served later (``client_conn.retry_blocked``)."""
    name = command.name
    rewrite = (served and _SERVED_REWRITES.get(name)) or _REWRITES.get(name)
    if rewrite is not None:
        ops = rewrite(session, argv, reply)
        if ops:
            pending = session.node.repl.pending
            db = session.db.id
            for op in ops:
                pending.append((db, op))
        return
    if not command.is_write and name not in _ALSO_PROPAGATED:
        return
    if type(reply) is Block:
        return
    if name in _ZERO_IS_NOOP and reply == 0:
        return
    if name in _NONE_IS_NOOP and (
        reply is None or reply == [] or (type(reply) is not list and _is_null(reply))
    ):
        return
    session.node.repl.pending.append((session.db.id, argv))


def _is_null(reply: object) -> bool:
    from node.protocol.resp import NULL_ARRAY

    return reply is NULL_ARRAY


# Writes whose integer reply 0 means nothing changed (Redis propagates only when ``dirty``
# moved, and these leave it alone then). Not HSET/ZADD/GEOADD: 0 there may mean "updated".
_ZERO_IS_NOOP = frozenset(
    (
        "del",
        "unlink",
        "hdel",
        "srem",
        "zrem",
        "lrem",
        "persist",
        "setnx",
        "hsetnx",
        "msetnx",
        "smove",
        "renamenx",
        "lpushx",
        "rpushx",
        "copy",
        "move",
        "zremrangebyscore",
        "zremrangebyrank",
        "zremrangebylex",
        "pfadd",
        "sadd",
    )
)

# Writes whose null/empty reply means nothing changed (a pop from a missing key...).
_NONE_IS_NOOP = frozenset(
    (
        "lpop",
        "rpop",
        "rpoplpush",
        "lmove",
        "zpopmin",
        "zpopmax",
    )
)

# Not flagged ``write`` but propagated (Redis's ``forceCommandPropagation``).
_ALSO_PROPAGATED = frozenset(("publish",))


def _abs_expire(session: Session, key: bytes) -> bytes | None:
    when = session.db.expires.get(key)
    return None if when is None else b"%d" % when


def _rewrite_set(session: Session, argv: list[bytes], reply: object) -> list[list[bytes]] | None:
    """Redis 7.0's setGenericCommand: propagated only if the key was set; with EX/PX/EXAT
    (also SETEX/PSETEX) as ``SET key value PXAT <unix ms>``."""
    name = argv[0].lower()
    key = argv[1]
    if name == b"set":
        value = argv[2]
        options = {a.lower() for a in argv[3:]}
        if b"nx" in options:  # with GET, a null reply means the key was absent: it was set
            done = (reply is None) if b"get" in options else (reply is not None)
        elif b"xx" in options:
            done = reply is not None
        else:
            done = True
        if not done:
            return None
        if not options & {b"ex", b"px", b"exat", b"pxat"}:
            if b"get" in options:  # Redis drops GET (every one of them) when there is no expiry
                return [argv[:3] + [a for a in argv[3:] if a.lower() != b"get"]]
            return [argv]
        if b"pxat" in options:
            return [argv]
    else:  # SETEX / PSETEX key ttl value
        value = argv[3]
    when = _abs_expire(session, key)
    if when is None:
        return [argv]
    return [[b"SET", key, value, b"PXAT", when]]


def _rewrite_getset(session: Session, argv: list[bytes], reply: object) -> list[list[bytes]]:
    """GETSET propagates as ``SET key value`` (Redis 7.0's getsetCommand)."""
    return [[b"SET", argv[1], argv[2]]]


def _rewrite_getex(session: Session, argv: list[bytes], reply: object) -> list[list[bytes]] | None:
    """Redis 7.0.15's getexCommand: any expiry option as ``PEXPIREAT key <unix ms>`` (PXAT
    too), PERSIST as ``PERSIST key``, an already-past time as ``DEL``; nothing without an
    option or when the key is missing."""
    if reply is None or len(argv) < 3:
        return None
    key = argv[1]
    if key not in session.db.data:
        return [[session.node.repl_expire_del, key]]
    if argv[2].lower() == b"persist":
        return [[b"PERSIST", key]]
    when = _abs_expire(session, key)
    return [[b"PEXPIREAT", key, when]] if when is not None else None


def _rewrite_getdel(session: Session, argv: list[bytes], reply: object) -> list[list[bytes]] | None:
    """GETDEL propagates as ``DEL key`` when it deleted something (Redis's getdelCommand)."""
    return None if reply is None else [[b"DEL", argv[1]]]


def _rewrite_expire(session: Session, argv: list[bytes], reply: object) -> list[list[bytes]] | None:
    """Redis 7.0's expireGenericCommand: ``PEXPIREAT key <unix ms> [options]``, or ``DEL`` when
    the time was already past (the key is gone)."""
    if reply != 1:
        return None
    key = argv[1]
    if key not in session.db.data:
        return [[session.node.repl_expire_del, key]]
    when = _abs_expire(session, key)
    if when is None:
        return [argv]
    return [[b"PEXPIREAT", key, when, *argv[3:]]]


def _rewrite_spop(session: Session, argv: list[bytes], reply: object) -> list[list[bytes]] | None:
    """Redis 7.0's spopCommand: ``SREM key member``; with a count, ``DEL key`` when the whole
    set was taken, else SREMs of up to 1024 members each."""
    if reply is None or reply == [] or reply == b"":
        return None
    key = argv[1]
    if len(argv) == 2:
        return [[b"SREM", key, reply]]  # type: ignore[list-item]
    if key not in session.db.data:
        return [[b"DEL", key]]
    # Redis 7.0.15's spopWithCountCommand: one SREM per popped member (wrapped in MULTI/EXEC
    # by the flush when there are several).
    members = getattr(reply, "items", reply)  # a SetReply in RESP3 terms
    return [[b"SREM", key, member] for member in members]  # type: ignore[union-attr]


def _rewrite_incrbyfloat(session: Session, argv: list[bytes], reply: object) -> list[list[bytes]]:
    """Redis 7.0's incrbyfloatCommand: ``SET key <new value> KEEPTTL``."""
    return [[b"SET", argv[1], bytes(reply), b"KEEPTTL"]]  # type: ignore[call-overload]


def _rewrite_hincrbyfloat(session: Session, argv: list[bytes], reply: object) -> list[list[bytes]]:
    """Redis 7.0's hincrbyfloatCommand: ``HSET key field <new value>``."""
    return [[b"HSET", argv[1], argv[2], bytes(reply)]]  # type: ignore[call-overload]


def _rewrite_blocking_list_pop(session: Session, argv: list[bytes], reply: object):
    """BLPOP/BRPOP (served at once or later) as ``LPOP key`` / ``RPOP key``."""
    if type(reply) is not list or not reply:
        return None
    pop = b"LPOP" if argv[0].lower() == b"blpop" else b"RPOP"
    return [[pop, reply[0]]]


def _rewrite_brpoplpush(session: Session, argv: list[bytes], reply: object):
    if reply is None or type(reply) is Block or type(reply) is not bytes:
        return None
    return [[b"RPOPLPUSH", argv[1], argv[2]]]


def _rewrite_blmove(session: Session, argv: list[bytes], reply: object):
    if reply is None or type(reply) is Block or type(reply) is not bytes:
        return None
    return [[b"LMOVE", *argv[1:5]]]


def _rewrite_served_blmove(session: Session, argv: list[bytes], reply: object):
    """A blocked BLMOVE served later: ``LMOVE src dst <wherefrom> <whereto>`` with Redis's
    lowercase shared words (serveClientBlockedOnList); BRPOPLPUSH: ``RPOPLPUSH src dst``."""
    if type(reply) is not bytes:
        return None
    if argv[0].lower() == b"brpoplpush":
        return [[b"RPOPLPUSH", argv[1], argv[2]]]
    return [[b"LMOVE", argv[1], argv[2], argv[3].lower(), argv[4].lower()]]


def _rewrite_bzpop(session: Session, argv: list[bytes], reply: object):
    """BZPOPMIN/BZPOPMAX as ``ZPOPMIN key`` / ``ZPOPMAX key``."""
    if type(reply) is not list or not reply:
        return None
    pop = b"ZPOPMIN" if argv[0].lower() == b"bzpopmin" else b"ZPOPMAX"
    return [[pop, reply[0]]]


def _rewrite_mpop(session: Session, argv: list[bytes], reply: object):
    """LMPOP/ZMPOP and BLMPOP/BZMPOP as the popped key's ``LPOP/RPOP/ZPOPMIN/ZPOPMAX key
    <count popped>`` (Redis 7.0's mpopGenericCommand / serveClientBlockedOnList)."""
    if type(reply) is not list or not reply:
        return None
    key, items = reply[0], reply[1]
    first = 2 if argv[0].lower() in (b"lmpop", b"zmpop") else 3  # BLMPOP has a timeout first
    direction = argv[first + int(argv[first - 1])].lower()
    pop = {b"left": b"LPOP", b"right": b"RPOP", b"min": b"ZPOPMIN", b"max": b"ZPOPMAX"}[direction]
    return [[pop, key, b"%d" % len(items)]]


def _rewrite_restore(session: Session, argv: list[bytes], reply: object):
    """Redis 7.0's restoreCommand: a relative TTL goes out absolute, with ABSTTL appended; a
    TTL already past creates nothing (a REPLACE that dropped the old key: DEL)."""
    key = argv[1]
    options = [a.lower() for a in argv[4:]]
    if key not in session.db.data:
        return [[b"DEL", key]] if b"replace" in options else None
    if argv[2] == b"0" or b"absttl" in options:
        return [argv]
    when = _abs_expire(session, key)
    if when is None:
        return [argv]
    return [[argv[0], key, when, *argv[3:], b"ABSTTL"]]


def _rewrite_migrate(session: Session, argv: list[bytes], reply: object):
    """MIGRATE itself never goes to replicas: the handler (node.commands.migrate) queues a
    ``DEL`` of the keys the target acknowledged, also when it then answers an error, as Redis's
    migrateCommand rewrites its argv to ``DEL k...`` whatever the reply."""
    return None


def _rewrite_publish(session: Session, argv: list[bytes], reply: object):
    """PUBLISH reaches replicas' subscribers outside cluster mode (Redis's publishCommand)."""
    if session.node.cluster_enabled:
        return None
    return [argv]


_SERVED_REWRITES: dict = {
    "blmove": _rewrite_served_blmove,
    "brpoplpush": _rewrite_served_blmove,
}

_REWRITES = {
    "set": _rewrite_set,
    "setex": _rewrite_set,
    "psetex": _rewrite_set,
    "getset": _rewrite_getset,
    "getex": _rewrite_getex,
    "getdel": _rewrite_getdel,
    "expire": _rewrite_expire,
    "pexpire": _rewrite_expire,
    "expireat": _rewrite_expire,
    "pexpireat": _rewrite_expire,
    "spop": _rewrite_spop,
    "incrbyfloat": _rewrite_incrbyfloat,
    "hincrbyfloat": _rewrite_hincrbyfloat,
    "blpop": _rewrite_blocking_list_pop,
    "brpop": _rewrite_blocking_list_pop,
    "brpoplpush": _rewrite_brpoplpush,
    "blmove": _rewrite_blmove,
    "bzpopmin": _rewrite_bzpop,
    "bzpopmax": _rewrite_bzpop,
    "blmpop": _rewrite_mpop,
    "bzmpop": _rewrite_mpop,
    "lmpop": _rewrite_mpop,
    "zmpop": _rewrite_mpop,
    "restore": _rewrite_restore,
    "restore-asking": _rewrite_restore,
    "migrate": _rewrite_migrate,
    "publish": _rewrite_publish,
}

# Writes ``after_write`` cannot pass on verbatim (a bare ``SET k v`` excepted).
_NEEDS_FEED = frozenset(_REWRITES) | _ZERO_IS_NOOP | _NONE_IS_NOOP
