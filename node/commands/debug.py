"""DEBUG and its subcommands, as Redis 7.0.15's ``debugCommand`` answers them.

DEBUG is one command in Redis's table (not a container), so subcommands and their argument
counts are checked here, with Redis's "unknown subcommand or wrong number of arguments" error.
It is refused unless ``enable-debug-command`` is ``yes`` (or ``local`` for loopback clients).
DEBUG SLEEP blocks the whole node through a ``BlockFor`` event, as it blocks Redis's event loop.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable

from node import latency
from node.protocol.errors import NO_SUCH_KEY, RespError, help_reply
from node.protocol.resp import OK, Raw, SimpleString, Verbatim
from node.session import Session
from node.state import BlockFor
from node.types.common import is_string, lookup_write

log = logging.getLogger("rcsim.node")

DEBUG_NOT_ALLOWED = (
    'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you '
    "can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server."
)
NOT_POSITIVE = "ERR value is out of range, must be positive"
POPULATE_KEY_MAX = 127
LRU_CLOCK_MAX = (1 << 24) - 1  # Redis formats "prefix:N" into a 128-byte buffer

_DEBUG_HELP = (
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
)


def is_local_client(ctx: Session) -> bool:
    """``islocalClient``: loopback TCP peers (and unix sockets, which have no address)."""
    host = ctx.addr.rsplit(":", 1)[0].strip("[]")
    return not host or host.startswith("127.") or host == "::1"


# -- digests (debug.c) ------------------------------------------------------------------------

_TYPE_CODES = {"string": 0, "list": 1, "set": 2, "zset": 3, "hash": 4, "module": 5, "stream": 6}


def _xor_digest(digest: bytearray, data: bytes) -> None:
    """``xorDigest``: digest ^= SHA1(data); order-independent, for unordered collections."""
    for i, b in enumerate(hashlib.sha1(data).digest()):
        digest[i] ^= b


def _mix_digest(digest: bytearray, data: bytes) -> None:
    """``mixDigest``: digest = SHA1(digest ^ SHA1(data)); order-dependent."""
    _xor_digest(digest, data)
    digest[:] = hashlib.sha1(digest).digest()


def _score_text(score: float) -> bytes:
    return b"%.17g" % score


def value_digest(value: object, has_ttl: bool, digest: bytearray | None = None) -> bytearray:
    """``xorObjectDigest`` for one value, continuing ``digest`` (zeros by default). Collections
    are read through small protocols the data types provide: lists and sets iterate their
    elements, hashes ``items()`` gives (field, value), sorted sets ``items()`` (member, score)."""
    digest = bytearray(20) if digest is None else digest
    type_name = "string" if is_string(value) else getattr(value, "type_name", "module")
    if isinstance(type_name, bytes):  # value classes name their type in bytes (b"zset")
        type_name = type_name.decode()
    _mix_digest(digest, _TYPE_CODES.get(type_name, 5).to_bytes(4, "big"))
    if type_name == "string":
        _mix_digest(digest, bytes(value))  # type: ignore[arg-type]
    elif type_name == "list":
        for element in value:  # type: ignore[attr-defined]
            _mix_digest(digest, bytes(element))
    elif type_name == "set":
        for member in value:  # type: ignore[attr-defined]
            _xor_digest(digest, bytes(member))
    elif type_name in ("hash", "zset"):
        for first, second in value.items():  # type: ignore[attr-defined]
            element = bytearray(20)
            _mix_digest(element, bytes(first))
            _mix_digest(element, _score_text(second) if type_name == "zset" else bytes(second))
            _xor_digest(digest, bytes(element))
    if has_ttl:
        _xor_digest(digest, b"!!expire!!")
    return digest


def dataset_digest(ctx: Session) -> bytes:
    """``computeDatasetDigest``: every database, keyed by its number, unordered within."""
    final = bytearray(20)
    for db in ctx.node.dbs:
        if not db.data:
            continue
        _mix_digest(final, db.id.to_bytes(4, "big"))
        for key, value in db.data.items():
            digest = bytearray(20)
            _mix_digest(digest, key)
            value_digest(value, key in db.expires, digest)
            _xor_digest(final, bytes(digest))
    return bytes(final)


# -- subcommands ------------------------------------------------------------------------------

_STRTOD = re.compile(rb"\s*[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf(?:inity)?|nan)", re.I)


def _strtod(raw: bytes) -> float:
    """C ``strtod`` on a prefix: ``0.5s`` is 0.5 and garbage is 0."""
    match = _STRTOD.match(raw)
    return float(match.group()) if match else 0.0


def _positive_long(raw: bytes) -> int:
    """``getPositiveLongFromObjectOrReply``."""
    from node.protocol.resp import parse_long_long

    value = parse_long_long(raw)
    if value is None or value < 0:
        raise RespError(NOT_POSITIVE)
    return value


def _sleep(ctx: Session, argv: list[bytes]) -> object:
    """The driver blocks the node after this batch; the latency monitor sees the pause now."""
    seconds = _strtod(argv[2])
    ms = int(seconds * 1000) if seconds > 0 else 0
    if ms:
        node = ctx.node
        node.events.append(BlockFor(ms))
        latency.add_sample_if_needed(
            node.latency_events, node.latency_threshold_ms, "command", ms, node.now_ms // 1000
        )
    return OK


def _populate(ctx: Session, argv: list[bytes]) -> object:
    """``DEBUG POPULATE count [prefix] [size]``: ``prefix:N`` -> ``value:N`` (zero-padded or cut
    to ``size``), skipping keys that exist; slots are not checked, as in Redis."""
    count = _positive_long(argv[2])
    size = _positive_long(argv[4]) if len(argv) == 5 else 0
    prefix = argv[3] if len(argv) >= 4 else b"key"
    db = ctx.db
    for j in range(count):
        key = (b"%s:%d" % (prefix, j))[:POPULATE_KEY_MAX]
        if lookup_write(ctx, key) is not None:
            continue
        value = b"value:%d" % j
        if size:
            value = value[:size].ljust(size, b"\x00")
        db.set(key, value)
    return OK


def _set_active_expire(ctx: Session, argv: list[bytes]) -> object:
    match = re.match(rb"\s*[-+]?\d+", argv[2])  # atoi
    ctx.node.active_expire_enabled = bool(match and int(match.group()))
    return OK


def _string_encoding(value: bytes | bytearray) -> str:
    if type(value) is bytearray:
        return "raw"
    from node.protocol.resp import parse_long_long

    if len(value) <= 20 and parse_long_long(value) is not None:
        return "int"
    return "embstr" if len(value) <= 44 else "raw"


def _serialized_length(value: object) -> int:
    """``rdbSavedObjectLen`` for strings (without LZF compression); a rough size otherwise."""
    if not is_string(value):
        from node.keyspace import value_size

        return value_size(value)
    from node.protocol.resp import parse_long_long

    number = parse_long_long(value) if len(value) <= 11 else None  # type: ignore[arg-type]
    if number is not None:
        if -(2**7) <= number < 2**7:
            return 2
        if -(2**15) <= number < 2**15:
            return 3
        if -(2**31) <= number < 2**31:
            return 5
    n = len(value)  # type: ignore[arg-type]
    return n + (1 if n < 64 else 2 if n < 16384 else 5)


def _object(ctx: Session, argv: list[bytes]) -> object:
    """``DEBUG OBJECT key``: Redis's status line (the address is the Python object's id)."""
    value = ctx.db.data.get(argv[2])
    if value is None:
        raise RespError(NO_SUCH_KEY)
    if is_string(value):
        encoding = _string_encoding(value)  # type: ignore[arg-type]
    else:
        encoding = getattr(value, "encoding", "unknown")
    now_ms = ctx.node.now_ms
    accessed_s = ctx.db.last_access_s(argv[2], now_ms)
    return SimpleString(
        b"Value at:0x%x refcount:1 encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d"
        % (
            id(value),
            str(encoding).encode(),
            _serialized_length(value),
            accessed_s & LRU_CLOCK_MAX,
            max(0, now_ms // 1000 - accessed_s),
        )
    )


def _digest(ctx: Session, argv: list[bytes]) -> object:
    return SimpleString(dataset_digest(ctx).hex().encode())


def _digest_value(ctx: Session, argv: list[bytes]) -> object:
    """One 40-hex digest per key (zeros for a missing key); equal values give equal digests."""
    out = []
    db = ctx.db
    now_ms = ctx.node.now_ms
    for key in argv[2:]:
        value = db.peek(key, now_ms)
        digest = bytes(20) if value is None else bytes(value_digest(value, key in db.expires))
        out.append(SimpleString(digest.hex().encode()))
    return out


def _change_repl_id(ctx: Session, argv: list[bytes]) -> object:
    node = ctx.node
    node.master_replid = "%040x" % node.rng.getrandbits(160)
    node.master_replid2 = "0" * 40
    log.info("Changing replication IDs after receiving DEBUG change-repl-id")
    return OK


def _error(ctx: Session, argv: list[bytes]) -> object:
    raise RespError(argv[2].decode("utf-8", "surrogateescape"))


def _log(ctx: Session, argv: list[bytes]) -> object:
    log.warning("DEBUG LOG: %s", argv[2].decode("utf-8", "replace"))
    return OK


_PROTOCOL_TYPES = "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"
_ATTRIBUTE = b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n"
_ATTRIBUTED = b"$39\r\nSome real reply following the attribute\r\n"
_PUSHED = (
    b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n$40\r\nSome real reply following the push reply\r\n"
)


def _protocol(ctx: Session, argv: list[bytes]) -> object:
    """``DEBUG PROTOCOL <type>``: one sample reply of each RESP type, for client test suites."""
    from node.protocol.resp import Bool, Double, Map, SetReply

    name = argv[2].lower()
    resp3 = ctx.resp3
    if name == b"string":
        return b"Hello World"
    if name == b"integer":
        return 12345
    if name == b"double":
        return Double(3.141)
    if name == b"bignum":
        big = b"1234567999999999999999999999999999999"
        return Raw(b"(%s\r\n" % big) if resp3 else big
    if name == b"null":
        return None
    if name == b"array":
        return [0, 1, 2]
    if name == b"set":
        return SetReply([0, 1, 2])
    if name == b"map":
        return Map([(0, Bool(False)), (1, Bool(True)), (2, Bool(False))])
    if name == b"attrib":
        return Raw(_ATTRIBUTE + _ATTRIBUTED) if resp3 else Raw(_ATTRIBUTED)
    if name == b"push":
        if not resp3:
            raise RespError("ERR RESP2 is not supported by this command")
        return Raw(_PUSHED)
    if name == b"verbatim":
        return Verbatim(b"This is a verbatim\nstring")
    if name in (b"true", b"false"):
        return Bool(name == b"true")
    raise RespError(
        "ERR Wrong protocol type name. Please use one of the following: " + _PROTOCOL_TYPES
    )


def _help(ctx: Session, argv: list[bytes]) -> object:
    return help_reply("DEBUG", _DEBUG_HELP)


# name -> (min argc, max argc, handler); argc counts DEBUG and the subcommand.
_SUBCOMMANDS: dict[bytes, tuple[int, int, Callable[[Session, list[bytes]], object]]] = {
    b"help": (2, 2, _help),
    b"sleep": (3, 3, _sleep),
    b"populate": (3, 5, _populate),
    b"set-active-expire": (3, 3, _set_active_expire),
    b"object": (3, 3, _object),
    b"digest": (2, 2, _digest),
    b"digest-value": (2, 1 << 30, _digest_value),
    b"change-repl-id": (2, 2, _change_repl_id),
    b"error": (3, 3, _error),
    b"log": (3, 3, _log),
    b"protocol": (3, 3, _protocol),
}


def debug_command(ctx: Session, argv: list[bytes]) -> object:
    setting = ctx.node.config.get("enable-debug-command")
    if not (setting == "yes" or (setting == "local" and is_local_client(ctx))):
        raise RespError(DEBUG_NOT_ALLOWED)
    entry = _SUBCOMMANDS.get(argv[1].lower())
    if entry is None or not entry[0] <= len(argv) <= entry[1]:
        raise RespError(
            "ERR unknown subcommand or wrong number of arguments for "
            f"'{argv[1].decode('utf-8', 'surrogateescape')}'. Try DEBUG HELP."
        )
    return entry[2](ctx, argv)


HANDLERS = {"debug": debug_command}

# Cluster bus fault injection (DEBUG BUS-ISOLATE / BUS-HEAL, rcsim only): node/commands/busfault.py.
from node.commands.busfault import DEBUG_SUBCOMMANDS as _BUS_SUBCOMMANDS  # noqa: E402

_SUBCOMMANDS.update(_BUS_SUBCOMMANDS)
