"""Every error text a client can see, defined once.

Redis clients parse the first word of an error (``MOVED``, ``ASK``, ``WRONGTYPE``...), and several
match the whole text, so these strings mirror Redis 7.0.15 byte for byte. Handlers raise these
exceptions; the dispatcher turns them into ``-<text>\\r\\n`` replies. ``parse_error`` maps a text
back to the same classes for the smart client.
"""

from __future__ import annotations

from collections.abc import Iterable

from node.protocol.resp import SimpleString


class RespError(Exception):
    """An error reply. ``text`` is the full line without the leading ``-`` and trailing CRLF."""

    prefix = "ERR"

    def __init__(self, text: str | None = None) -> None:
        self.text = text if text is not None else self.default_text()
        super().__init__(self.text)

    @classmethod
    def default_text(cls) -> str:
        return cls.prefix

    def encode(self) -> bytes:
        # Redis replaces CR/LF inside error messages with spaces (addReplyErrorLength).
        text = self.text.replace("\r", " ").replace("\n", " ")
        return b"-" + text.encode("utf-8", "surrogateescape") + b"\r\n"


def err(message: str) -> RespError:
    """A generic ``ERR <message>`` error."""
    return RespError("ERR " + message)


class WrongTypeError(RespError):
    prefix = "WRONGTYPE"

    @classmethod
    def default_text(cls) -> str:
        return "WRONGTYPE Operation against a key holding the wrong kind of value"


class NoAuthError(RespError):
    prefix = "NOAUTH"

    @classmethod
    def default_text(cls) -> str:
        return "NOAUTH Authentication required."


class ExecAbortError(RespError):
    prefix = "EXECABORT"

    @classmethod
    def default_text(cls) -> str:
        return "EXECABORT Transaction discarded because of previous errors."


class BusyKeyError(RespError):
    prefix = "BUSYKEY"

    @classmethod
    def default_text(cls) -> str:
        return "BUSYKEY Target key name already exists."


class NoProtoError(RespError):
    prefix = "NOPROTO"

    @classmethod
    def default_text(cls) -> str:
        return "NOPROTO unsupported protocol version"


class WrongPassError(RespError):
    prefix = "WRONGPASS"

    @classmethod
    def default_text(cls) -> str:
        return "WRONGPASS invalid username-password pair or user is disabled."


class MovedError(RespError):
    prefix = "MOVED"

    def __init__(self, slot: int, address: str) -> None:
        self.slot = slot
        self.address = address
        super().__init__(f"MOVED {slot} {address}")


class AskError(RespError):
    prefix = "ASK"

    def __init__(self, slot: int, address: str) -> None:
        self.slot = slot
        self.address = address
        super().__init__(f"ASK {slot} {address}")


class TryAgainError(RespError):
    prefix = "TRYAGAIN"

    @classmethod
    def default_text(cls) -> str:
        return "TRYAGAIN Multiple keys request during rehashing of slot"


class CrossSlotError(RespError):
    prefix = "CROSSSLOT"

    @classmethod
    def default_text(cls) -> str:
        return "CROSSSLOT Keys in request don't hash to the same slot"


class ClusterDownError(RespError):
    prefix = "CLUSTERDOWN"

    @classmethod
    def default_text(cls) -> str:
        return "CLUSTERDOWN The cluster is down"


class ReadOnlyError(RespError):
    prefix = "READONLY"

    @classmethod
    def default_text(cls) -> str:
        return "READONLY You can't write against a read only replica."


class LoadingError(RespError):
    prefix = "LOADING"

    @classmethod
    def default_text(cls) -> str:
        return "LOADING Redis is loading the dataset in memory"


class BusyError(RespError):
    prefix = "BUSY"

    @classmethod
    def default_text(cls) -> str:
        return (
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
        )


# Frequently raised texts, named so handlers never spell them twice.
SYNTAX_ERROR = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
INVALID_EXPIRE = "ERR invalid expire time in '{}' command"
INDEX_OUT_OF_RANGE = "ERR index out of range"
NO_SUCH_KEY = "ERR no such key"
DB_INDEX_OUT_OF_RANGE = "ERR DB index is out of range"
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
OFFSET_OUT_OF_RANGE = "ERR offset is out of range"
CLUSTER_DISABLED = "ERR This instance has cluster support disabled"
INVALID_CURSOR = "ERR invalid cursor"

# Cluster routing (Redis's getNodeByQuery / clusterRedirectClient).
CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot"
TRYAGAIN = "TRYAGAIN Multiple keys request during rehashing of slot"
CLUSTER_DOWN = "CLUSTERDOWN The cluster is down"
CLUSTER_DOWN_READ_ONLY = "CLUSTERDOWN The cluster is down and only accepts read commands"
CLUSTER_DOWN_UNBOUND = "CLUSTERDOWN Hash slot not served"

# Replication checks in processCommand.
READONLY = "READONLY You can't write against a read only replica."
NOREPLICAS = "NOREPLICAS Not enough good replicas to write."
MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."

# Dispatch (processCommand).
NOT_IN_TRANSACTION = "ERR Command not allowed inside a transaction"
EXEC_ABORTED_BECAUSE = "EXECABORT Transaction discarded because of: "

# COMMAND GETKEYS (getKeysSubcommandImpl).
INVALID_COMMAND = "ERR Invalid command specified"
NO_KEY_ARGUMENTS = "ERR The command has no key arguments"
INVALID_ARGUMENT_COUNT = "ERR Invalid number of arguments specified for command"
INVALID_ARGUMENTS = "ERR Invalid arguments specified for command"


def syntax_error() -> RespError:
    return RespError(SYNTAX_ERROR)


def not_integer() -> RespError:
    return RespError(NOT_INTEGER)


def not_float() -> RespError:
    return RespError(NOT_FLOAT)


def wrong_arity(command_name: str) -> RespError:
    return RespError(f"ERR wrong number of arguments for '{command_name}' command")


def unknown_command(name: bytes, args: list[bytes]) -> RespError:
    """Redis 7 quotes arguments while the listing is under 128 bytes (``processCommand``)."""
    shown = ""
    for arg in args:
        if len(shown) >= 128:
            break
        shown += "'" + _printable(arg[: 128 - len(shown)]) + "' "
    return RespError(
        f"ERR unknown command '{_printable(name[:128])}', with args beginning with: {shown}"
    )


def unknown_subcommand(sub: bytes, container: str) -> RespError:
    return RespError(
        f"ERR unknown subcommand '{_printable(sub[:128])}'. Try {container.upper()} HELP."
    )


def pubsub_context_error(name: str) -> RespError:
    """A RESP2 subscriber ran something else; Redis names it by its lowercase full name."""
    return RespError(
        f"ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT "
        "/ RESET are allowed in this context"
    )


def help_reply(name: str | bytes, lines: Iterable[str]) -> list[SimpleString]:
    """Redis's ``addReplyHelp``: a header naming the command as typed, upper-cased, the lines,
    then HELP's own two lines, all as status replies."""
    if isinstance(name, bytes):
        name = _printable(name)
    header = f"{name.upper()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    body = [header, *lines, "HELP", "    Prints this help."]
    return [SimpleString(line.encode("utf-8", "surrogateescape")) for line in body]


def _printable(raw: bytes) -> str:
    # surrogateescape round-trips arbitrary bytes back to the client unchanged.
    return raw.decode("utf-8", errors="surrogateescape")


_BY_PREFIX: dict[str, type[RespError]] = {
    cls.prefix: cls
    for cls in (
        WrongTypeError,
        NoAuthError,
        ExecAbortError,
        BusyKeyError,
        NoProtoError,
        WrongPassError,
        TryAgainError,
        CrossSlotError,
        ClusterDownError,
        ReadOnlyError,
        LoadingError,
        BusyError,
    )
}


def parse_error(text: str) -> RespError:
    """Map an error line (without ``-``) back to its class, so the smart client can branch on type."""
    head, _, rest = text.partition(" ")
    if head in ("MOVED", "ASK"):
        slot, _, address = rest.partition(" ")
        redirect = MovedError if head == "MOVED" else AskError
        return redirect(int(slot), address)
    error_class = _BY_PREFIX.get(head, RespError)
    return error_class(text)
