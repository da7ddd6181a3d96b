"""MIGRATE: move keys to another instance, as Redis 7.0.15's ``migrateCommand`` (cluster.c).

Theory of operation
-------------------
The handler stays pure and synchronous: it talks to the target through
``NodeState.migrate_transport`` (a ``MigrateTransport``; the real one, with blocking sockets, is
the driver module ``node.drivers.migrate_link``; unit tests use a fake). Like Redis, the whole node waits
while MIGRATE runs: no other client is served between the moment a key is sent and the moment it
is deleted here, which is what makes MIGRATE atomic per key (a key exists on exactly one side at
every moment a client can observe).

One attempt, as Redis does it:

1. look the keys up (``lookupKeyRead``); none alive: ``+NOKEY``;
2. take the cached link to ``host:port`` (a connect failure is
   ``-IOERR error or timeout connecting to the client``);
3. write ``[AUTH ...]``, ``SELECT db`` (only when the link's last db differs), then one
   ``RESTORE-ASKING key ttl payload [REPLACE]`` per key still alive (``RESTORE`` outside cluster
   mode), all pipelined in one write;
4. read the AUTH and SELECT replies, then one reply per key: the first error from the target
   becomes ``-ERR Target instance replied with error: <error>``; each acknowledged key is deleted
   here (unless COPY).

A socket error before anything was acknowledged closes the link and retries once (not after a
timeout); otherwise it is ``-IOERR error or timeout writing|reading to target instance``.
Without COPY, the keys the target acknowledged are deleted here and replicas get ``DEL k...`` for
them (Redis rewrites MIGRATE's argv so), even when the reply is an error; the list of the last
call's deleted keys stays in ``NodeState.migrate_deleted`` while no replica stream is fed.
"""

from __future__ import annotations

from typing import Protocol

from node import rdb
from node.protocol.errors import RespError, syntax_error
from node.protocol.resp import OK, SimpleString
from node.session import Session
from node.types.common import parse_int

NOKEY = SimpleString(b"NOKEY")
KEYS_NEED_EMPTY_KEY = (
    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
)
CONNECT_ERROR = "IOERR error or timeout connecting to the client"
IO_ERROR = "IOERR error or timeout {} to target instance"
TARGET_ERROR = "ERR Target instance replied with error: "
DEFAULT_TIMEOUT_MS = 1000  # a timeout <= 0 means one second, as in Redis


class MigrateLink(Protocol):
    """One cached connection to a target (Redis's ``migrateCachedSocket``)."""

    last_dbid: int  # the db selected on the target, -1 when unknown (SELECT is sent again)
    timed_out: bool  # the last failed write or read failed by timeout (Redis's ETIMEDOUT)

    def write(self, data: bytes, timeout_ms: int) -> bool:
        """Send everything within ``timeout_ms``; False on error or timeout."""

    def read_line(self, timeout_ms: int) -> bytes | None:
        """One reply line without its CRLF (``connSyncReadLine``), or None on error/timeout."""


class MigrateTransport(Protocol):
    """The cache of links to targets (Redis's ``server.migrate_cached_sockets``)."""

    def get(self, host: bytes, port: bytes, timeout_ms: int) -> MigrateLink | None:
        """The cached link to ``host:port``, connecting if needed; None if that fails."""

    def close(self, host: bytes, port: bytes) -> None:
        """Drop the cached link (after a socket error, so the next use reconnects)."""


class _Options:
    __slots__ = ("copy", "first_key", "password", "replace", "username")

    def __init__(self) -> None:
        self.copy = self.replace = False
        self.username: bytes | None = None
        self.password: bytes | None = None
        self.first_key = 3


def _parse_options(argv: list[bytes]) -> _Options:
    """COPY, REPLACE, AUTH pw, AUTH2 user pw, KEYS k... (everything after KEYS is a key)."""
    opts = _Options()
    j = 6
    argc = len(argv)
    while j < argc:
        option = argv[j].lower()
        more = argc - 1 - j
        if option == b"copy":
            opts.copy = True
        elif option == b"replace":
            opts.replace = True
        elif option == b"auth":
            if not more:
                raise syntax_error()
            j += 1
            opts.password = argv[j]
        elif option == b"auth2":
            if more < 2:
                raise syntax_error()
            opts.username, opts.password = argv[j + 1], argv[j + 2]
            j += 2
        elif option == b"keys":
            if argv[3]:
                raise RespError(KEYS_NEED_EMPTY_KEY)
            opts.first_key = j + 1
            return opts
        else:
            raise syntax_error()
        j += 1
    return opts


def _command(*args: bytes) -> bytes:
    """RESP multibulk for one command (what Redis's rioWriteBulk* produce)."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


class _Attempt:
    """The outcome of one try: a reply, or a socket error (and whether to retry)."""

    __slots__ = ("close_link", "error", "retry", "socket_error", "write_error")

    def __init__(self) -> None:
        self.error: str | None = None  # the target's error, as the client's reply
        self.close_link = False  # a socket error happened: drop the cached link
        self.socket_error = False  # ... and no target error to report: IOERR (or retry)
        self.write_error = False
        self.retry = False


def migrate_command(ctx: Session, argv: list[bytes]) -> object:
    """MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw] [AUTH2 user pw] [KEYS k...]."""
    opts = _parse_options(argv)
    timeout = parse_int(argv[5])
    dbid = parse_int(argv[4])
    if timeout <= 0:
        timeout = DEFAULT_TIMEOUT_MS
    db, now = ctx.db, ctx.node.now_ms
    stats = ctx.node.stats
    found: list[tuple[bytes, object]] = []
    for key in argv[opts.first_key :] if opts.first_key != 3 else argv[3:4]:
        value = db.lookup(key, now)
        if value is None:
            stats.keyspace_misses += 1
        else:
            stats.keyspace_hits += 1
            found.append((key, value))
    ctx.node.migrate_deleted = []  # type: ignore[attr-defined]
    if not found:
        return NOKEY
    host, port = argv[1], argv[2]
    transport: MigrateTransport | None = getattr(ctx.node, "migrate_transport", None)
    may_retry = True
    while True:
        link = transport.get(host, port, timeout) if transport is not None else None
        if link is None:
            raise RespError(CONNECT_ERROR)
        attempt = _attempt(ctx, link, found, dbid, timeout, opts)
        _propagate_deletes(ctx)
        if attempt.close_link:
            transport.close(host, port)  # type: ignore[union-attr]
        if attempt.error is not None:
            raise RespError(attempt.error)
        if not attempt.socket_error:
            return OK
        if attempt.retry and may_retry:
            may_retry = False
            continue
        raise RespError(IO_ERROR.format("writing" if attempt.write_error else "reading"))


def _propagate_deletes(ctx: Session) -> None:
    """Replicas delete what the target acknowledged (Redis rewrites MIGRATE as ``DEL k...``
    whatever the reply; ``node.replication.stream`` never propagates MIGRATE itself)."""
    node = ctx.node
    deleted = node.migrate_deleted  # type: ignore[attr-defined]
    if deleted and node.repl_feed:  # type: ignore[attr-defined]
        node.repl.pending.append((ctx.db.id, [b"DEL", *deleted]))  # type: ignore[attr-defined]
        node.migrate_deleted = []  # type: ignore[attr-defined]


def _payloads(
    ctx: Session, found: list[tuple[bytes, object]], opts: _Options
) -> tuple[list[bytes], bytearray]:
    """The keys still alive and their pipelined RESTORE(-ASKING) commands. A key that expired
    since the lookup is skipped; a TTL under 1 ms is sent as 1 (0 would mean no TTL)."""
    node = ctx.node
    name = b"RESTORE-ASKING" if node.cluster_enabled else b"RESTORE"
    compress = node.config.get_bool("rdbcompression")
    expires = ctx.db.expires
    now = node.now_ms
    keys: list[bytes] = []
    out = bytearray()
    for key, value in found:
        ttl = 0
        expire_at = expires.get(key)
        if expire_at is not None:
            ttl = expire_at - now
            if ttl < 0:
                continue
            ttl = max(ttl, 1)
        keys.append(key)
        payload = rdb.dump_payload(value, compress)
        if opts.replace:
            out += _command(name, key, b"%d" % ttl, payload, b"REPLACE")
        else:
            out += _command(name, key, b"%d" % ttl, payload)
    return keys, out


def _attempt(
    ctx: Session,
    link: MigrateLink,
    found: list[tuple[bytes, object]],
    dbid: int,
    timeout: int,
    opts: _Options,
) -> _Attempt:
    result = _Attempt()
    out = bytearray()
    if opts.password is not None:
        if opts.username is not None:
            out += _command(b"AUTH", opts.username, opts.password)
        else:
            out += _command(b"AUTH", opts.password)
    select = link.last_dbid != dbid
    if select:
        out += _command(b"SELECT", b"%d" % dbid)
    keys, restores = _payloads(ctx, found, opts)
    out += restores
    if not link.write(bytes(out), timeout):
        result.socket_error = result.write_error = result.close_link = True
        result.retry = not link.timed_out
        return result
    auth_reply = select_reply = b""
    if opts.password is not None:
        auth_reply = link.read_line(timeout)  # type: ignore[assignment]
        if auth_reply is None:
            return _read_failed(result, link)
    if select:
        select_reply = link.read_line(timeout)  # type: ignore[assignment]
        if select_reply is None:
            return _read_failed(result, link)
    return _read_restores(ctx, link, keys, auth_reply, select_reply, dbid, timeout, opts, result)


def _read_failed(result: _Attempt, link: MigrateLink) -> _Attempt:
    result.socket_error = result.close_link = True
    result.retry = not link.timed_out
    return result


def _read_restores(
    ctx: Session,
    link: MigrateLink,
    keys: list[bytes],
    auth_reply: bytes,
    select_reply: bytes,
    dbid: int,
    timeout: int,
    opts: _Options,
    result: _Attempt,
) -> _Attempt:
    """One reply per RESTORE: delete each acknowledged key (unless COPY); the first error of
    the target (AUTH's, SELECT's, then the RESTOREs') is the client's reply."""
    db = ctx.db
    deleted: list[bytes] = ctx.node.migrate_deleted  # type: ignore[attr-defined]
    target_error: bytes | None = None
    read = 0
    for key in keys:
        line = link.read_line(timeout)
        if line is None:
            result.socket_error = result.close_link = True
            break
        read += 1
        if auth_reply[:1] == b"-" or select_reply[:1] == b"-" or line[:1] == b"-":
            if target_error is None:
                link.last_dbid = -1
                if auth_reply[:1] == b"-":
                    target_error = auth_reply
                elif select_reply[:1] == b"-":
                    target_error = select_reply
                else:
                    target_error = line
        elif not opts.copy:
            db.delete(key)
            deleted.append(key)
    if target_error is not None:
        result.socket_error = False  # the target's error wins (the link is still dropped)
        result.error = TARGET_ERROR + target_error[1:].decode("utf-8", "surrogateescape")
        return result
    if result.socket_error:
        # Retried only when nothing was read (so nothing was deleted) and not on a timeout.
        result.retry = read == 0 and not link.timed_out
        return result
    link.last_dbid = dbid
    return result


HANDLERS = {"migrate": migrate_command}
