"""Connection commands: PING, ECHO, QUIT, HELLO, AUTH, SELECT, RESET."""

from __future__ import annotations

from node.commands.common import parse_int
from node.protocol.errors import (
    DB_INDEX_OUT_OF_RANGE,
    NoAuthError,
    NoProtoError,
    RespError,
    WrongPassError,
    syntax_error,
)
from node.protocol.resp import OK, PONG, Map, Raw, SimpleString
from node.session import Session
from node.state import REDIS_VERSION

_HELLO_NOAUTH = (
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
    "HELLO AUTH <user> <pass> option can be used to authenticate the client and select the "
    "RESP protocol version at the same time"
)
_AUTH_WITHOUT_PASSWORD = (
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?"
)


def ping_command(ctx: Session, argv: list[bytes]) -> object:
    if len(argv) > 2:
        raise RespError("ERR wrong number of arguments for 'ping' command")
    if len(argv) == 2:
        return argv[1]
    return PONG


def echo_command(ctx: Session, argv: list[bytes]) -> object:
    return argv[1]


def quit_command(ctx: Session, argv: list[bytes]) -> object:
    ctx.close_after_reply = True
    return OK


def check_password(ctx: Session, username: bytes, password: bytes) -> bool:
    """The default user only (ACL users are not modelled): its password is ``requirepass``."""
    node = ctx.node
    if username != b"default":
        return False
    if not node.requirepass:
        return True  # the default user is "nopass"
    return password == node.requirepass.encode()


def _authenticate(ctx: Session) -> None:
    ctx.authenticated = True
    ctx.parser_auth_pending = False


def auth_command(ctx: Session, argv: list[bytes]) -> object:
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
    _authenticate(ctx)
    return OK


def hello_command(ctx: Session, argv: list[bytes]) -> object:
    version = 0
    if len(argv) >= 2:
        try:
            version = parse_int(argv[1])
        except RespError:
            raise RespError("ERR Protocol version is not an integer or out of range") from None
        if version < 2 or version > 3:
            raise NoProtoError()
    username = password = name = None
    i = 2
    while i < len(argv):
        more = len(argv) - 1 - i
        option = argv[i].lower()
        if option == b"auth" and more >= 2:
            username, password = argv[i + 1], argv[i + 2]
            i += 3
        elif option == b"setname" and more >= 1:
            name = argv[i + 1]
            i += 2
        else:
            raise RespError(
                "ERR Syntax error in HELLO option '"
                + argv[i].decode("utf-8", "surrogateescape")
                + "'"
            )
    if username is not None:
        if not check_password(ctx, username, password):  # type: ignore[arg-type]
            raise WrongPassError()
        _authenticate(ctx)
    if not ctx.authenticated:
        raise NoAuthError(_HELLO_NOAUTH)
    if name is not None:
        validate_client_name(name)
        ctx.name = name
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
            (b"role", b"master"),
            (b"modules", []),
        ]
    )


def validate_client_name(name: bytes) -> None:
    """Redis allows names of printable ASCII without spaces (``clientSetNameOrReply``)."""
    for c in name:
        if c < 33 or c > 126:
            raise RespError(
                "ERR Client names cannot contain spaces, newlines or special characters."
            )


def select_command(ctx: Session, argv: list[bytes]) -> object:
    index = parse_int(argv[1])
    node = ctx.node
    if node.cluster_enabled and index != 0:
        raise RespError("ERR SELECT is not allowed in cluster mode")
    if not 0 <= index < len(node.dbs):
        raise RespError(DB_INDEX_OUT_OF_RANGE)
    ctx.select(index)
    return OK


def reset_command(ctx: Session, argv: list[bytes]) -> object:
    """Back to a fresh connection's state (Redis's ``clearClientConnectionState``)."""
    ctx.multi = None
    ctx.multi_error = False
    ctx.unwatch_all()
    ctx.select(0)
    ctx.resp3 = False
    ctx.name = b""
    ctx.asking = False
    ctx.readonly = False
    ctx.reply_mode = b"on"
    ctx.reply_skip = 0
    ctx.no_evict = False
    if ctx.monitor:
        ctx.monitor = False
        ctx.node.monitors.discard(ctx)
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

__all__ = ["HANDLERS", "Raw"]
