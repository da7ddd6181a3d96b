"""Connection commands: PING, ECHO, QUIT, HELLO, AUTH, SELECT, RESET (Redis 7.0.15).

rcsim models one user, ``default``, whose password is ``requirepass`` (``nopass`` when it is
empty), which is exactly Redis's behaviour without ACL rules. Authentication state lives on the
session: ``authenticated`` gates commands in the dispatcher and ``parser_auth_pending`` makes the
parser apply Redis's small limits to unauthenticated clients.
"""

from __future__ import annotations

from node.protocol.errors import (
    DB_INDEX_OUT_OF_RANGE,
    NoAuthError,
    NoProtoError,
    RespError,
    WrongPassError,
    syntax_error,
    wrong_arity,
)
from node.protocol.resp import OK, PONG, Map, SimpleString
from node.session import Session
from node.state import REDIS_VERSION
from node.types.common import parse_int

INT_MIN, INT_MAX = -(2**31), 2**31 - 1

_HELLO_NOAUTH = (
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
    "HELLO AUTH <user> <pass> option can be used to authenticate the client and select the "
    "RESP protocol version at the same time"
)
_AUTH_WITHOUT_PASSWORD = (
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?"
)
_PROTOCOL_NOT_INTEGER = "ERR Protocol version is not an integer or out of range"
_BAD_CLIENT_NAME = "ERR Client names cannot contain spaces, newlines or special characters."
_INT_RANGE = f"ERR value is out of range, value must between {INT_MIN} and {INT_MAX}"
_SELECT_IN_CLUSTER = "ERR SELECT is not allowed in cluster mode"


# Subscription sets the pub/sub layer may keep on the session, under Redis's ``client`` names.
PUBSUB_ATTRS = tuple(
    name
    for name in ("pubsub_channels", "pubsub_patterns", "pubsub_shard_channels")
    if name in Session.__slots__
)


def in_pubsub_mode(ctx: Session) -> bool:
    """Redis's CLIENT_PUBSUB flag: ``P`` in ``session.flags`` or any subscription."""
    return "P" in ctx.flags or any(getattr(ctx, name) for name in PUBSUB_ATTRS)


def ping_command(ctx: Session, argv: list[bytes]) -> object:
    """Redis's pingCommand: a RESP2 subscriber gets ``["pong", arg-or-""]`` instead."""
    if len(argv) > 2:
        raise wrong_arity("ping")
    if not ctx.resp3 and in_pubsub_mode(ctx):
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    if len(argv) == 2:
        return argv[1]
    return PONG


def echo_command(ctx: Session, argv: list[bytes]) -> object:
    return argv[1]


def quit_command(ctx: Session, argv: list[bytes]) -> object:
    """OK, then the driver closes the connection (any arguments are ignored, as in Redis)."""
    ctx.close_after_reply = True
    return OK


def check_password(ctx: Session, username: bytes, password: bytes) -> bool:
    """The default user only (ACL users are not modelled): its password is ``requirepass``."""
    node = ctx.node
    if username != b"default":
        return False
    if not node.requirepass:
        return True  # the default user is "nopass": any password is accepted
    return password == node.requirepass.encode()


def _authenticate(ctx: Session, username: bytes) -> None:
    ctx.authenticated = True
    ctx.parser_auth_pending = False
    ctx.user = username


def auth_command(ctx: Session, argv: list[bytes]) -> object:
    """Redis's authCommand. A failed attempt leaves an authenticated client authenticated."""
    if len(argv) > 3:
        raise syntax_error()
    if len(argv) == 2:
        if not ctx.node.requirepass:
            raise RespError(_AUTH_WITHOUT_PASSWORD)
        username, password = b"default", argv[1]
    else:
        username, password = argv[1], argv[2]
    if not check_password(ctx, username, password):
        raise WrongPassError()
    _authenticate(ctx, username)
    return OK


def _apply_hello_options(ctx: Session, argv: list[bytes]) -> None:
    """``[AUTH user pass] [SETNAME name]`` in any order, each applied as soon as it is read:
    Redis 7.0's helloCommand authenticates or names the client inside its parsing loop, so a
    later bad option (or the NOAUTH check) does not undo an earlier AUTH or SETNAME."""
    i = 2
    while i < len(argv):
        more = len(argv) - 1 - i
        option = argv[i].lower()
        if option == b"auth" and more >= 2:
            if not check_password(ctx, argv[i + 1], argv[i + 2]):
                raise WrongPassError()
            _authenticate(ctx, argv[i + 1])
            i += 3
        elif option == b"setname" and more >= 1:
            validate_client_name(argv[i + 1])
            ctx.name = argv[i + 1]
            i += 2
        else:
            raise RespError(
                "ERR Syntax error in HELLO option '"
                + argv[i].decode("utf-8", "surrogateescape")
                + "'"
            )


def hello_command(ctx: Session, argv: list[bytes]) -> object:
    """HELLO [protover [AUTH user pass] [SETNAME name]]: authenticate, name, switch protocol,
    then describe the server; the reply already uses the new protocol."""
    version = 0
    if len(argv) >= 2:
        version = parse_int(argv[1], _PROTOCOL_NOT_INTEGER)
        if version < 2 or version > 3:
            raise NoProtoError()
    _apply_hello_options(ctx, argv)
    if not ctx.authenticated:
        raise NoAuthError(_HELLO_NOAUTH)
    if version:
        ctx.resp3 = version == 3
    node = ctx.node
    return Map(
        [
            (b"server", b"redis"),
            (b"version", REDIS_VERSION.encode()),
            (b"proto", 3 if ctx.resp3 else 2),
            (b"id", ctx.id),
            (b"mode", b"cluster" if node.cluster_enabled else b"standalone"),
            (b"role", b"replica" if node.repl.role == "slave" else b"master"),
            (b"modules", []),
        ]
    )


def validate_client_name(name: bytes) -> None:
    """Redis's clientSetNameOrReply: printable ASCII without spaces ('!'..'~'); an empty name
    is allowed and means "no name"."""
    for c in name:
        if c < 33 or c > 126:
            raise RespError(_BAD_CLIENT_NAME)


def select_command(ctx: Session, argv: list[bytes]) -> object:
    """Redis's selectCommand: the index must fit a C int before the cluster and range checks."""
    index = parse_int(argv[1])
    if not INT_MIN <= index <= INT_MAX:
        raise RespError(_INT_RANGE)
    node = ctx.node
    if node.cluster_enabled and index != 0:
        raise RespError(_SELECT_IN_CLUSTER)
    if not 0 <= index < len(node.dbs):
        raise RespError(DB_INDEX_OUT_OF_RANGE)
    ctx.select(index)
    return OK


def reset_command(ctx: Session, argv: list[bytes]) -> object:
    """Back to a fresh connection's state, as Redis 7.0's ``clearClientConnectionState``:
    transaction, WATCHes and subscriptions dropped (unannounced), db 0, RESP2, no name, MONITOR
    off, ASKING/READONLY and CLIENT REPLY OFF cleared, default user (unauthenticated again
    under requirepass).
    CLIENT NO-EVICT survives, as it does in 7.0."""
    ctx.multi = None
    ctx.multi_error = False
    ctx.unwatch_all()
    ctx.unsubscribe_all()
    ctx.select(0)
    ctx.resp3 = False
    ctx.name = b""
    ctx.asking = False
    ctx.readonly = False
    # CLIENT REPLY OFF ends, but a SKIP in force still swallows RESET's own reply: Redis
    # clears CLIENT_REPLY_OFF and CLIENT_REPLY_SKIP_NEXT, not CLIENT_REPLY_SKIP.
    ctx.reply_mode = b"on"
    if ctx.monitor:
        ctx.monitor = False
        ctx.node.remove_monitor(ctx)
    ctx.user = b"default"
    if ctx.node.requirepass:
        ctx.authenticated = False
        ctx.parser_auth_pending = True
    return SimpleString(b"RESET")


HANDLERS = {
    "ping": ping_command,
    "echo": echo_command,
    "quit": quit_command,
    "auth": auth_command,
    "hello": hello_command,
    "select": select_command,
    "reset": reset_command,
}
