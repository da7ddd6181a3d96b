"""CLIENT subcommands, and READONLY / READWRITE / ASKING, as Redis 7.0.15's ``clientCommand``.

Theory of operation
-------------------
Handlers only read and change ``Session`` objects (``ctx.node.clients``: id -> Session, in
connection order like Redis's ``server.clients`` list). Whatever needs the driver is left for it:

* CLIENT KILL of *another* client marks its session ``killed`` and appends ``CloseClient(id)`` to
  ``ctx.node.events``; the driver closes the socket after this batch. Killed sessions are no
  longer listed or matched, as Redis frees them at once. Killing *yourself* sets
  ``close_after_reply`` so the reply still goes out first (Redis's ``CLIENT_CLOSE_AFTER_REPLY``).
* CLIENT REPLY sets ``reply_mode`` / ``reply_skip``, which the driver reads after every command:
  ``reply_skip`` counts replies still to drop, so SKIP sets 2 (its own, which Redis never
  sends, and the next command's).
* CLIENT PAUSE sets ``node.paused_until_ms`` / ``node.pause_writes_only``; the driver holds
  batches while the pause lasts.

The client line (CLIENT LIST / INFO) has Redis 7.0's fields in Redis's order. Memory and buffer
figures (qbuf, argv-mem, rbs, tot-mem...) and ``fd`` are plausible stand-ins: rcsim does not
manage buffers the way Redis does.
"""

from __future__ import annotations

from node.commands.connection import PUBSUB_ATTRS, validate_client_name
from node.protocol.errors import CLUSTER_DISABLED, RespError, syntax_error
from node.protocol.resp import OK, Map, SetReply, SimpleString, Verbatim
from node.session import Session
from node.state import CloseClient
from node.types.common import LLONG_MAX, parse_int

NO_SUCH_CLIENT = "ERR No such client"
INVALID_CLIENT_ID = "ERR Invalid client ID"
CLIENT_ID_NOT_POSITIVE = "ERR client-id should be greater than 0"
PAUSE_MODE = "ERR CLIENT PAUSE mode must be WRITE or ALL"
TIMEOUT_NOT_INTEGER = "ERR timeout is not an integer or out of range"
TIMEOUT_NEGATIVE = "ERR timeout is negative"

# Redis's getClientTypeByName: "slave" and "replica" are the same type.
_CLIENT_TYPES = {
    b"normal": "normal",
    b"slave": "replica",
    b"replica": "replica",
    b"pubsub": "pubsub",
    b"master": "master",
}
# Flag letters in the order catClientInfoString prints them.
_FLAG_ORDER = "OSMPxbtRBdcuAUre"
# Redis's query buffer starts as a 20474-byte-free sds once a command was read into it.
_QUERY_BUFFER_SIZE = 20474
_CLIENT_BASE_MEMORY = 21274

_HELP = [
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
]
_HELP_REPLY = [SimpleString(line.encode()) for line in _HELP]


# -- the client line ---------------------------------------------------------------------


def _pubsub_counts(session: Session) -> tuple[int, int, int]:
    """Channels, patterns and shard channels, if the pub/sub layer keeps them on the session
    under Redis's ``client`` struct names."""
    counts = [0, 0, 0]
    for name in PUBSUB_ATTRS:
        index = ("pubsub_channels", "pubsub_patterns", "pubsub_shard_channels").index(name)
        counts[index] = len(getattr(session, name) or ())
    return counts[0], counts[1], counts[2]


def _flag_set(session: Session) -> set[str]:
    """Redis's client flags as letters; ``session.flags`` carries letters other layers set
    (``P`` pub/sub, ``b`` blocked, ``S``/``M`` replication links...)."""
    flags = set(session.flags)
    if session.monitor:
        flags.add("O")
    if session.multi is not None:
        flags.add("x")
    if session.watch_dirty:
        flags.add("d")
    if session.close_after_reply:
        flags.add("c")
    if session.killed:
        flags.add("A")
    if session.readonly:
        flags.add("r")
    if session.no_evict:
        flags.add("e")
    if session.node.blocking.is_blocked(session):
        flags.add("b")
    if any(_pubsub_counts(session)):
        flags.add("P")
    return flags


def client_type(session: Session) -> str:
    """Redis's getClientType: MONITOR clients count as normal, not as replicas."""
    flags = _flag_set(session)
    if "M" in flags:
        return "master"
    if "S" in flags:
        return "replica"
    if "P" in flags:
        return "pubsub"
    return "normal"


def _multi_mem(session: Session) -> int:
    """Redis's ``mstate.argv_len_sums``: argument bytes plus one pointer per argument."""
    if not session.multi:
        return 0
    return sum(sum(len(a) for a in argv) + 8 * len(argv) for _command, argv in session.multi)


def client_info_line(
    session: Session, fd: int, current_argv: list[bytes] | None, now_ms: int
) -> bytes:
    """One CLIENT LIST line (without the newline), Redis 7.0's catClientInfoString.

    ``current_argv`` is the command being executed when ``session`` is the caller: Redis shows it
    in ``cmd``, ``qbuf`` and ``argv-mem`` for that client."""
    flags = _flag_set(session)
    letters = "".join(f for f in _FLAG_ORDER if f in flags) or "N"
    sub, psub, ssub = _pubsub_counts(session)
    now_s = now_ms // 1000
    if current_argv is not None:
        qbuf = sum(len(a) + len(str(len(a))) + 5 for a in current_argv)
        qbuf += len(str(len(current_argv))) + 3
        argv_mem = sum(len(a) for a in current_argv)
        cmd = session.node.commands.get(current_argv[0].lower())
        if cmd is not None and cmd.subcommands and len(current_argv) > 1:
            cmd = cmd.subcommands.get(current_argv[1].lower(), cmd)
        cmd_name = cmd.name_bytes if cmd is not None else session.last_command
        idle = 0
        rbs = rbp = 16384
    else:
        qbuf = argv_mem = 0
        cmd_name = session.last_command
        idle = now_s - session.last_interaction_ms // 1000
        rbs, rbp = 1024, 0
    multi_mem = _multi_mem(session)
    fields = (
        b"id=%d" % session.id,
        b"addr=" + session.addr.encode(),
        b"laddr=" + session.laddr.encode(),
        b"fd=%d" % fd,
        b"name=" + session.name,
        b"age=%d" % (now_s - session.created_ms // 1000),
        b"idle=%d" % idle,
        b"flags=" + letters.encode(),
        b"db=%d" % session.db_index,
        b"sub=%d psub=%d ssub=%d" % (sub, psub, ssub),
        b"multi=%d" % (len(session.multi) if session.multi is not None else -1),
        b"qbuf=%d" % qbuf,
        b"qbuf-free=%d" % (_QUERY_BUFFER_SIZE - qbuf if qbuf else 0),
        b"argv-mem=%d" % argv_mem,
        b"multi-mem=%d" % multi_mem,
        b"rbs=%d rbp=%d" % (rbs, rbp),
        b"obl=0 oll=0 omem=0",
        b"tot-mem=%d" % (_CLIENT_BASE_MEMORY + rbs + argv_mem + multi_mem),
        b"events=r",
        b"cmd=" + cmd_name,
        b"user=" + session.user,
        b"redir=-1",
        b"resp=%d" % (3 if session.resp3 else 2),
    )
    return b" ".join(fields)


def _live_clients(ctx: Session) -> list[tuple[int, Session]]:
    """(stand-in fd, session) for every connected client not already killed, in connection
    order. The fd is the lowest-free-descriptor pattern Redis shows (first client: 8)."""
    out = []
    for position, session in enumerate(ctx.node.clients.values()):
        if not session.killed:  # type: ignore[attr-defined]
            out.append((8 + position, session))
    return out  # type: ignore[return-value]


def _lines(ctx: Session, argv: list[bytes], sessions: list[tuple[int, Session]]) -> bytes:
    now = ctx.node.now_ms
    return b"".join(
        client_info_line(s, fd, argv if s is ctx else None, now) + b"\n" for fd, s in sessions
    )


# -- handlers ----------------------------------------------------------------------------


def client_id_command(ctx: Session, argv: list[bytes]) -> object:
    return ctx.id


def client_info_command(ctx: Session, argv: list[bytes]) -> object:
    mine = [(fd, s) for fd, s in _live_clients(ctx) if s is ctx] or [(8, ctx)]
    return Verbatim(_lines(ctx, argv, mine))


def _parse_client_type(raw: bytes) -> str:
    kind = _CLIENT_TYPES.get(raw.lower())
    if kind is None:
        raise RespError("ERR Unknown client type '" + raw.decode("utf-8", "surrogateescape") + "'")
    return kind


def client_list_command(ctx: Session, argv: list[bytes]) -> object:
    """CLIENT LIST [TYPE type] | [ID id ...]: the two forms do not combine (Redis 7.0)."""
    sessions = _live_clients(ctx)
    if len(argv) == 4 and argv[2].lower() == b"type":
        kind = _parse_client_type(argv[3])
        sessions = [(fd, s) for fd, s in sessions if client_type(s) == kind]
    elif len(argv) > 3 and argv[2].lower() == b"id":
        wanted = [parse_int(raw, INVALID_CLIENT_ID) for raw in argv[3:]]
        by_id = {s.id: (fd, s) for fd, s in sessions}
        sessions = [by_id[i] for i in wanted if i in by_id]
    elif len(argv) != 2:
        raise syntax_error()
    return Verbatim(_lines(ctx, argv, sessions))


def client_setname_command(ctx: Session, argv: list[bytes]) -> object:
    """An empty name removes the name (Redis's clientSetNameOrReply)."""
    validate_client_name(argv[2])
    ctx.name = argv[2]
    return OK


def client_getname_command(ctx: Session, argv: list[bytes]) -> object:
    return ctx.name or None


def _parse_kill_filters(argv: list[bytes]) -> dict:
    """The ``<option> <value>`` pairs of the new CLIENT KILL form, Redis 7.0's order of checks."""
    filters: dict = {"skipme": True}
    i = 2
    while i < len(argv):
        option = argv[i].lower()
        if i + 1 >= len(argv):
            raise syntax_error()
        value = argv[i + 1]
        if option == b"id":
            client_id = parse_int(value, CLIENT_ID_NOT_POSITIVE)
            if client_id < 1:
                raise RespError(CLIENT_ID_NOT_POSITIVE)
            filters["id"] = client_id
        elif option == b"type":
            filters["type"] = _parse_client_type(value)
        elif option == b"addr":
            filters["addr"] = value
        elif option == b"laddr":
            filters["laddr"] = value
        elif option == b"user":
            if value != b"default":  # the only user rcsim models
                raise RespError(
                    "ERR No such user '" + value.decode("utf-8", "surrogateescape") + "'"
                )
            filters["user"] = value
        elif option == b"skipme":
            lowered = value.lower()
            if lowered not in (b"yes", b"no"):
                raise syntax_error()
            filters["skipme"] = lowered == b"yes"
        else:
            raise syntax_error()
        i += 2
    return filters


def _kill_matches(ctx: Session, session: Session, filters: dict) -> bool:
    if "addr" in filters and session.addr.encode() != filters["addr"]:
        return False
    if "laddr" in filters and session.laddr.encode() != filters["laddr"]:
        return False
    if "type" in filters and client_type(session) != filters["type"]:
        return False
    if "id" in filters and session.id != filters["id"]:
        return False
    if "user" in filters and session.user != filters["user"]:
        return False
    return not (session is ctx and filters["skipme"])


def client_kill_command(ctx: Session, argv: list[bytes]) -> object:
    """CLIENT KILL ip:port -> OK | "No such client"; the filter form -> number killed.

    The old form may kill the caller (it skips nobody); the caller is closed after its reply."""
    if len(argv) == 3:
        filters = {"addr": argv[2], "skipme": False}
    else:
        filters = _parse_kill_filters(argv)
    killed = 0
    node = ctx.node
    for _fd, session in _live_clients(ctx):
        if not _kill_matches(ctx, session, filters):
            continue
        killed += 1
        if session is ctx:
            ctx.close_after_reply = True
        else:
            session.killed = True
            node.events.append(CloseClient(session.id))
    if len(argv) == 3:
        if not killed:
            raise RespError(NO_SUCH_CLIENT)
        return OK
    return killed


def client_reply_command(ctx: Session, argv: list[bytes]) -> object:
    """ON replies OK; OFF and SKIP reply nothing. SKIP while OFF is ignored (Redis 7.0)."""
    mode = argv[2].lower()
    if mode == b"on":
        ctx.reply_mode = b"on"
        ctx.reply_skip = 0
        return OK
    if mode == b"off":
        ctx.reply_mode = b"off"
        ctx.reply_skip = 0
        return OK  # dropped by the driver: the mode is already off
    if mode == b"skip":
        if ctx.reply_mode == b"on":
            ctx.reply_skip = 2  # this command's reply and the next command's
        return OK  # dropped by the driver (skip count or mode off)
    raise syntax_error()


def _subcommand_syntax_error(argv: list[bytes]) -> RespError:
    """Redis's addReplySubcommandSyntaxError, for argument counts the table's arity allows."""
    return RespError(
        "ERR unknown subcommand or wrong number of arguments for '"
        + argv[1].decode("utf-8", "surrogateescape")
        + "'. Try CLIENT HELP."
    )


def client_pause_command(ctx: Session, argv: list[bytes]) -> object:
    """CLIENT PAUSE timeout [WRITE|ALL]: the mode is checked before the timeout, and a new pause
    never shortens or weakens one in force (Redis's pauseClients keeps the max of both)."""
    if len(argv) > 4:
        raise _subcommand_syntax_error(argv)
    writes_only = False
    if len(argv) == 4:
        mode = argv[3].lower()
        if mode not in (b"write", b"all"):
            raise RespError(PAUSE_MODE)
        writes_only = mode == b"write"
    timeout = parse_int(argv[2], TIMEOUT_NOT_INTEGER)
    if timeout < 0:
        raise RespError(TIMEOUT_NEGATIVE)
    node = ctx.node
    end = 0
    if timeout > 0:
        end = node.now_ms + timeout
        if end > LLONG_MAX:  # Redis's mstime_t addition wraps: such a pause ends in the past
            end -= 2**64
    if node.paused_until_ms > node.now_ms:
        node.pause_writes_only = node.pause_writes_only and writes_only
        node.paused_until_ms = max(node.paused_until_ms, end)
    else:
        node.pause_writes_only = writes_only
        node.paused_until_ms = max(end, 0)
    return OK


def client_unpause_command(ctx: Session, argv: list[bytes]) -> object:
    node = ctx.node
    node.paused_until_ms = 0
    node.pause_writes_only = False
    return OK


def client_no_evict_command(ctx: Session, argv: list[bytes]) -> object:
    mode = argv[2].lower()
    if mode == b"on":
        ctx.no_evict = True
    elif mode == b"off":
        ctx.no_evict = False
    else:
        raise syntax_error()
    return OK


def client_unblock_command(ctx: Session, argv: list[bytes]) -> object:
    """CLIENT UNBLOCK id [TIMEOUT|ERROR] (Redis 7.0's clientCommand): 1 if it was blocked."""
    if len(argv) > 4:
        raise syntax_error()
    as_error = False
    if len(argv) == 4:
        reason = argv[3].lower()
        if reason == b"error":
            as_error = True
        elif reason != b"timeout":
            raise RespError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    client_id = parse_int(argv[2])
    target = ctx.node.clients.get(client_id)
    if target is None:
        return 0
    reply = RespError("UNBLOCKED client unblocked via CLIENT UNBLOCK") if as_error else None
    return 1 if ctx.node.blocking.unblock(target, reply) else 0  # type: ignore[arg-type]


def client_getredir_command(ctx: Session, argv: list[bytes]) -> object:
    """Client-side caching is not modelled: tracking is always off, so -1."""
    return -1


def client_trackinginfo_command(ctx: Session, argv: list[bytes]) -> object:
    """Tracking is always off (Redis's reply for a client that never enabled it)."""
    return Map([(b"flags", SetReply([b"off"])), (b"redirect", -1), (b"prefixes", [])])


def client_help_command(ctx: Session, argv: list[bytes]) -> object:
    return _HELP_REPLY


# -- cluster client flags ----------------------------------------------------------------


def readonly_command(ctx: Session, argv: list[bytes]) -> object:
    """Allow reads from a replica for this connection (cluster mode only)."""
    if not ctx.node.cluster_enabled:
        raise RespError(CLUSTER_DISABLED)
    ctx.readonly = True
    return OK


def readwrite_command(ctx: Session, argv: list[bytes]) -> object:
    if not ctx.node.cluster_enabled:
        raise RespError(CLUSTER_DISABLED)
    ctx.readonly = False
    return OK


def asking_command(ctx: Session, argv: list[bytes]) -> object:
    """Let the next command reach an IMPORTING slot (cluster mode only)."""
    if not ctx.node.cluster_enabled:
        raise RespError(CLUSTER_DISABLED)
    ctx.asking = True
    return OK


HANDLERS = {
    "client|id": client_id_command,
    "client|info": client_info_command,
    "client|list": client_list_command,
    "client|setname": client_setname_command,
    "client|getname": client_getname_command,
    "client|kill": client_kill_command,
    "client|reply": client_reply_command,
    "client|pause": client_pause_command,
    "client|unpause": client_unpause_command,
    "client|no-evict": client_no_evict_command,
    "client|getredir": client_getredir_command,
    "client|unblock": client_unblock_command,
    "client|trackinginfo": client_trackinginfo_command,
    "client|help": client_help_command,
    "readonly": readonly_command,
    "readwrite": readwrite_command,
    "asking": asking_command,
}
