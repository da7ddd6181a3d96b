"""REPLICAOF/SLAVEOF, ROLE, WAIT, REPLCONF, PSYNC/SYNC: the command side of replication.

Decisions only (Redis 7.0.15's ``replicaofCommand``, ``roleCommand``, ``waitCommand``,
``replconfCommand``, ``syncCommand``); the state changes are ``node.replication``'s and the
I/O the drivers'. PSYNC/SYNC answer in one go, the snapshot taken inside the handler so that
it matches the offset in the reply exactly; the connection then receives the stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from node import replication
from node.blocking import blocking_allowed
from node.protocol.errors import RespError, syntax_error
from node.protocol.resp import OK, Raw, SimpleString
from node.replication.info import role_reply
from node.types.common import parse_int

if TYPE_CHECKING:
    from node.session import Session

NO_REPLY = Raw(b"")  # REPLCONF ACK/GETACK answer nothing, as in Redis

REPLICAOF_CLUSTER = "ERR REPLICAOF not allowed in cluster mode."
REPLICAOF_FROM_REPLICA = "ERR Command is not valid when client is a replica."
INVALID_MASTER_PORT = "ERR Invalid master port"
ALREADY_CONNECTED = SimpleString(b"OK Already connected to specified master")
WAIT_ON_REPLICA = (
    "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 "
    "if a replica is configured to be writable (which is not the default) writes to replicas "
    "are just local and are not propagated."
)
TIMEOUT_NOT_INTEGER = "ERR timeout is not an integer or out of range"
TIMEOUT_NEGATIVE = "ERR timeout is negative"
NOMASTERLINK = "NOMASTERLINK Can't SYNC while not connected with my master"


def replicaof_command(ctx: Session, argv: list[bytes]) -> object:
    """REPLICAOF host port | NO ONE (Redis's replicaofCommand)."""
    node = ctx.node
    if node.cluster_enabled:
        raise RespError(REPLICAOF_CLUSTER)
    repl = node.repl
    if argv[1].lower() == b"no" and argv[2].lower() == b"one":
        if repl.role == "slave":
            replication.promote(node)
        return OK
    if ctx.id in repl.replicas:
        raise RespError(REPLICAOF_FROM_REPLICA)
    port = parse_int(argv[2], INVALID_MASTER_PORT)
    if not 0 <= port <= 65535:
        raise RespError(INVALID_MASTER_PORT)
    host = argv[1].decode("utf-8", "surrogateescape")
    if (
        repl.role == "slave"
        and (repl.master_host or "").lower() == host.lower()
        and repl.master_port == port
    ):
        return ALREADY_CONNECTED
    replication.follow(node, host, port)
    return OK


def role_command(ctx: Session, argv: list[bytes]) -> object:
    return role_reply(ctx.node)


def wait_command(ctx: Session, argv: list[bytes]) -> object:
    """WAIT numreplicas timeout-ms: blocks until enough replicas acked this client's last
    write (``node.replication.wait``); answers at once inside MULTI."""
    node = ctx.node
    if node.repl.role == "slave":
        raise RespError(WAIT_ON_REPLICA)
    numreplicas = parse_int(argv[1])
    timeout = parse_int(argv[2], TIMEOUT_NOT_INTEGER)
    if timeout < 0:
        raise RespError(TIMEOUT_NEGATIVE)
    return replication.wait(ctx, numreplicas, timeout, not blocking_allowed(ctx))


def replconf_command(ctx: Session, argv: list[bytes]) -> object:
    """REPLCONF option value ... (Redis's replconfCommand): a replica's handshake settings,
    its ACKs (no reply) and GETACK (no reply)."""
    if len(argv) % 2 == 0:
        raise syntax_error()
    node = ctx.node
    repl = node.repl
    settings = None
    for j in range(1, len(argv), 2):
        option = argv[j].lower()
        value = argv[j + 1]
        if option == b"listening-port":
            port = parse_int(value)
            settings = settings or repl.handshakes.setdefault(ctx.id, {})
            settings["port"] = port
        elif option == b"ip-address":
            if len(value) >= 256:  # NET_HOST_STR_LEN
                raise RespError(
                    "ERR REPLCONF ip-address provided by replica instance is too long: "
                    "%d bytes" % len(value)
                )
            settings = settings or repl.handshakes.setdefault(ctx.id, {})
            settings["ip"] = value.decode("utf-8", "replace")
        elif option == b"capa":
            settings = settings or repl.handshakes.setdefault(ctx.id, {})
            settings.setdefault("capa", set()).add(value.lower())
        elif option == b"ack":
            if ctx.id in repl.replicas:
                try:
                    offset = parse_int(value)
                except RespError:
                    return NO_REPLY
                replication.process_ack(node, ctx.id, offset)
            return NO_REPLY
        elif option == b"getack":
            return NO_REPLY  # answered by apply_stream when it comes from our master
        elif option == b"rdb-only":
            flag = parse_int(value)
            if not 0 <= flag <= 1:
                raise RespError("ERR value is out of range, value must between 0 and 1")
        else:
            raise RespError(
                "ERR Unrecognized REPLCONF option: %s" % argv[j].decode("utf-8", "replace")
            )
    return OK


def _sync_refusal(ctx: Session) -> RespError | None:
    repl = ctx.node.repl
    if repl.role == "slave" and repl.state != "connected":
        return RespError(NOMASTERLINK)
    return None


def _snapshot(ctx: Session) -> bytes:
    from node.rdb_file import save_rdb

    return save_rdb(ctx.node)


def _full_resync(ctx: Session, psync: bool) -> object:
    """Redis's syncCommand full path: register the replica (the first one creates the
    backlog and a new replid), force a SELECT before the next streamed command, snapshot."""
    node = ctx.node
    repl = node.repl
    repl.stat_sync_full += 1
    replication.flush(node)
    replication.add_replica(node, ctx, "online")
    if repl.backlog is None:
        replication.ensure_backlog(node, new_history=True)
    replication.refresh_flags(node)
    repl.stream_db = -1
    rdb = _snapshot(ctx)
    head = (
        b"+FULLRESYNC %s %d\r\n" % (repl.replid.encode(), repl.master_repl_offset) if psync else b""
    )
    return Raw(head + b"$%d\r\n" % len(rdb) + rdb)


def psync_command(ctx: Session, argv: list[bytes]) -> object:
    """PSYNC replid offset: ``+CONTINUE [<replid>]`` and the backlog from ``offset`` when
    the history matches, else ``+FULLRESYNC <replid> <offset>`` and the RDB."""
    node = ctx.node
    repl = node.repl
    if ctx.id in repl.replicas:
        return NO_REPLY
    refusal = _sync_refusal(ctx)
    if refusal is not None:
        raise refusal
    offset = parse_int(argv[2])
    replid = argv[1].decode("utf-8", "replace")
    ok, data = replication.psync_decision(node, replid, offset)
    if not ok:
        if replid != "?":
            repl.stat_sync_partial_err += 1
        return _full_resync(ctx, psync=True)
    repl.stat_sync_partial_ok += 1
    replica = replication.add_replica(node, ctx, "online")
    replication.refresh_flags(node)
    line = (
        b"+CONTINUE %s\r\n" % repl.replid.encode()
        if b"psync2" in replica.capa
        else b"+CONTINUE\r\n"
    )
    return Raw(line + data)


def sync_command(ctx: Session, argv: list[bytes]) -> object:
    """SYNC (pre-PSYNC replicas, ``redis-cli --replica``): the RDB then the stream."""
    if ctx.id in ctx.node.repl.replicas:
        return NO_REPLY
    refusal = _sync_refusal(ctx)
    if refusal is not None:
        raise refusal
    return _full_resync(ctx, psync=False)


HANDLERS = {
    "replicaof": replicaof_command,
    "slaveof": replicaof_command,
    "role": role_command,
    "wait": wait_command,
    "replconf": replconf_command,
    "psync": psync_command,
    "sync": sync_command,
}
