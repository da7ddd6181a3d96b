"""Generic key commands (Redis's db.c, expire.c, object.c and the DUMP/RESTORE half of cluster.c).

Lookups follow Redis's flags: read commands count keyspace hits/misses and record the access
(``lookupKeyRead``); TYPE, EXISTS, the TTL family and OBJECT do not record it
(``LOOKUP_NOTOUCH``, here ``Database.peek``); write commands record it without statistics
(``lookupKeyWrite``). Every write goes through ``Database`` so slots, memory figures and WATCH
stay right. Values other than strings are objects with a ``type_name`` (``b"list"``...), an
optional ``encoding`` (bytes, str, or a method returning one) for OBJECT ENCODING and a ``copy()``
method for COPY.
"""

from __future__ import annotations

from node import rdb
from node.glob import glob_matcher
from node.keyspace import Database
from node.protocol.errors import (
    DB_INDEX_OUT_OF_RANGE,
    INVALID_EXPIRE,
    NO_SUCH_KEY,
    BusyKeyError,
    RespError,
    syntax_error,
)
from node.protocol.keyslot import SLOT_COUNT
from node.protocol.resp import OK, SimpleString
from node.session import Session
from node.types.common import LLONG_MAX, parse_int, parse_scan_cursor

SAME_OBJECT = "ERR source and destination objects are the same"
INT_OUT_OF_RANGE = "ERR value is out of range, value must between -2147483648 and 2147483647"
LFU_NOT_SELECTED = (
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that"
    " when switching between policies at runtime LRU and LFU data will take some time to adjust."
)
LFU_SELECTED = (
    "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when"
    " switching between policies at runtime LRU and LFU data will take some time to adjust."
)
BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
BAD_DATA_FORMAT = "ERR Bad data format"
INVALID_TTL = "ERR Invalid TTL value, must be >= 0"
INVALID_IDLETIME = "ERR Invalid IDLETIME value, must be >= 0"
INVALID_FREQ = "ERR Invalid FREQ value, must be >= 0 and <= 255"

# Redis's LRU clock: 24 bits of seconds (LRU_CLOCK_MAX), wrapping about every 194 days.
LRU_CLOCK_MAX = (1 << 24) - 1
# LFU_INIT_VAL: the counter of a new key under an LFU policy.
LFU_INIT_VAL = 5
# OBJ_SHARED_INTEGERS: 0..9999 are shared objects whose refcount reads INT_MAX.
OBJ_SHARED_INTEGERS = 10000
OBJ_SHARED_REFCOUNT = 2**31 - 1
OBJ_ENCODING_EMBSTR_SIZE_LIMIT = 44
SCAN_DEFAULT_COUNT = 10
# C truncates LLONG_MIN / 1000 towards zero; Python's // would floor.
_LLONG_MIN_S = -(2**63 // 1000)
_LLONG_MAX_S = LLONG_MAX // 1000

OBJECT_HELP = [
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
]


# -- lookups and small parsers -----------------------------------------------------------------


def _count(ctx: Session, value: object | None) -> object | None:
    stats = ctx.node.stats
    if value is None:
        stats.keyspace_misses += 1
    else:
        stats.keyspace_hits += 1
    return value


def _read(ctx: Session, key: bytes) -> object | None:
    """``lookupKeyRead``: expire if due, record the access, count a hit or a miss."""
    return _count(ctx, ctx.db.lookup(key, ctx.node.now_ms))


def _read_notouch(ctx: Session, key: bytes) -> object | None:
    """``lookupKeyReadWithFlags(LOOKUP_NOTOUCH)``: as ``_read`` but the access is not recorded."""
    return _count(ctx, ctx.db.peek(key, ctx.node.now_ms))


def _parse_int32(raw: bytes, error: str | None = None) -> int:
    """``getIntFromObjectOrReply``: a strict integer that fits a C ``int``."""
    value = parse_int(raw, error)
    if not -(2**31) <= value < 2**31:
        raise RespError(error or INT_OUT_OF_RANGE)
    return value


def _select_other_db(ctx: Session, raw: bytes) -> Database:
    """The database a MOVE/COPY ``db`` argument names (``selectDb``'s range check)."""
    index = _parse_int32(raw)
    if not 0 <= index < len(ctx.node.dbs):
        raise RespError(DB_INDEX_OUT_OF_RANGE)
    return ctx.node.dbs[index]


def type_name(value: object) -> bytes:
    """The name TYPE and SCAN TYPE report for a value."""
    if type(value) is bytes or type(value) is bytearray:
        return b"string"
    name = value.type_name  # type: ignore[attr-defined]
    return name if isinstance(name, bytes) else name.encode()


def _copy_value(value: object) -> object:
    """A deep copy for COPY; immutable ``bytes`` can be shared."""
    if type(value) is bytes:
        return value
    if type(value) is bytearray:
        return bytearray(value)
    copy = getattr(value, "copy", None)
    if copy is None:
        raise RespError("ERR unknown type object")
    return copy()


def _is_shared_int(value: bytes, ctx: Session) -> bool:
    """Whether Redis would hold this string as one of its shared integers 0..9999."""
    if not value or len(value) > 4 or not value.isdigit() or (value[0] == 48 and len(value) > 1):
        return False
    config = ctx.node.config
    policy = config.get("maxmemory-policy")
    return config.get_int("maxmemory") == 0 or not ("lru" in policy or "lfu" in policy)


def string_encoding(value: bytes | bytearray) -> bytes:
    """OBJECT ENCODING of a string, as Redis's ``tryObjectEncoding`` would have chosen it."""
    if type(value) is bytearray:
        return b"raw"
    if len(value) <= 20 and rdb.canonical_int(value) is not None:
        return b"int"
    return b"embstr" if len(value) <= OBJ_ENCODING_EMBSTR_SIZE_LIMIT else b"raw"


# -- DEL, UNLINK, EXISTS, TYPE, TOUCH, RANDOMKEY, KEYS -------------------------------------------


def del_command(ctx: Session, argv: list[bytes]) -> object:
    """DEL/UNLINK: expire each key if due (``expireIfNeeded``), then delete it."""
    db, now = ctx.db, ctx.node.now_ms
    deleted = 0
    for key in argv[1:]:
        if db.peek(key, now) is not None and db.delete(key):
            deleted += 1
    return deleted


def exists_command(ctx: Session, argv: list[bytes]) -> object:
    """EXISTS counts a key once per time it is named."""
    return sum(1 for key in argv[1:] if _read_notouch(ctx, key) is not None)


def type_command(ctx: Session, argv: list[bytes]) -> object:
    value = _read_notouch(ctx, argv[1])
    return SimpleString(b"none" if value is None else type_name(value))


def touch_command(ctx: Session, argv: list[bytes]) -> object:
    return sum(1 for key in argv[1:] if _read(ctx, key) is not None)


def randomkey_command(ctx: Session, argv: list[bytes]) -> object:
    return ctx.db.random_key(ctx.node.rng, ctx.node.now_ms)


def keys_command(ctx: Session, argv: list[bytes]) -> object:
    """KEYS: every live key matching the glob; like Redis it skips, but does not delete,
    logically expired keys."""
    db, now, pattern = ctx.db, ctx.node.now_ms, argv[1]
    keys = list(db.data) if pattern == b"*" else list(filter(glob_matcher(pattern), db.data))
    expires = db.expires
    if expires:
        keys = [k for k in keys if expires.get(k, now + 1) > now]
    return keys


# -- SCAN ------------------------------------------------------------------------------------


def scan_command(ctx: Session, argv: list[bytes]) -> object:
    """SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] (Redis's ``scanGenericCommand``).

    The cursor is a cluster slot (``Database.scan``): each call returns whole slots, so a key
    present for the whole iteration is always returned. Cursors past the last slot end the
    iteration."""
    cursor = parse_scan_cursor(argv[1])
    count, pattern, wanted_type = SCAN_DEFAULT_COUNT, None, None
    i = 2
    while i < len(argv):
        option = argv[i].lower()
        if i + 1 >= len(argv):
            raise syntax_error()
        if option == b"count":
            count = parse_int(argv[i + 1])
            if count < 1:
                raise syntax_error()
        elif option == b"match":
            pattern = argv[i + 1]
        elif option == b"type":
            wanted_type = argv[i + 1].lower()
        else:
            raise syntax_error()
        i += 2
    db, now = ctx.db, ctx.node.now_ms
    if cursor >= SLOT_COUNT:
        return [b"0", []]
    next_cursor, keys = db.scan(cursor, count)
    if pattern is not None and pattern != b"*":
        keys = list(filter(glob_matcher(pattern), keys))
    out = []
    for key in keys:
        value = db.peek(key, now)  # expires it if due, as Redis's filter step does
        if value is None:
            continue
        if wanted_type is not None and type_name(value) != wanted_type:
            continue
        out.append(key)
    return [b"%d" % next_cursor, out]


# -- expiry ----------------------------------------------------------------------------------

_EXPIRE_FLAGS = {b"nx": 1, b"xx": 2, b"gt": 4, b"lt": 8}
NX, XX, GT, LT = 1, 2, 4, 8


def _parse_expire_flags(argv: list[bytes]) -> int:
    """``parseExtendedExpireArgumentsOrReply``."""
    flags = 0
    for arg in argv[3:]:
        flag = _EXPIRE_FLAGS.get(arg.lower())
        if flag is None:
            raise RespError("ERR Unsupported option " + arg.decode("utf-8", "surrogateescape"))
        flags |= flag
    if flags & NX and flags & (XX | GT | LT):
        raise RespError("ERR NX and XX, GT or LT options at the same time are not compatible")
    if flags & GT and flags & LT:
        raise RespError("ERR GT and LT options at the same time are not compatible")
    return flags


def _expire_generic(ctx: Session, argv: list[bytes], relative: bool, seconds: bool) -> int:
    """Redis's ``expireGenericCommand``: options, then the time (with overflow checks), then
    the key; a time already past deletes the key and still answers 1."""
    flags = _parse_expire_flags(argv)
    when = parse_int(argv[2])
    name = argv[0].decode("latin-1").lower()
    if seconds:
        if when > _LLONG_MAX_S or when < _LLONG_MIN_S:
            raise RespError(INVALID_EXPIRE.format(name))
        when *= 1000
    now = ctx.node.now_ms
    base = now if relative else 0
    if when > LLONG_MAX - base:
        raise RespError(INVALID_EXPIRE.format(name))
    when += base
    db = ctx.db
    if db.lookup(argv[1], now) is None:
        return 0
    if flags:
        current = db.expires.get(argv[1])
        if flags & NX and current is not None:
            return 0
        if flags & XX and current is None:
            return 0
        if flags & GT and (current is None or when <= current):
            return 0
        if flags & LT and current is not None and when >= current:
            return 0
    if when <= now:
        db.delete(argv[1])
    else:
        db.set_expire(argv[1], when)
    return 1


def expire_command(ctx: Session, argv: list[bytes]) -> object:
    return _expire_generic(ctx, argv, relative=True, seconds=True)


def pexpire_command(ctx: Session, argv: list[bytes]) -> object:
    return _expire_generic(ctx, argv, relative=True, seconds=False)


def expireat_command(ctx: Session, argv: list[bytes]) -> object:
    return _expire_generic(ctx, argv, relative=False, seconds=True)


def pexpireat_command(ctx: Session, argv: list[bytes]) -> object:
    return _expire_generic(ctx, argv, relative=False, seconds=False)


def _ttl_generic(ctx: Session, key: bytes, in_ms: bool, absolute: bool) -> int:
    """Redis's ``ttlGenericCommand``: -2 missing, -1 no TTL; seconds are rounded half up."""
    if _read_notouch(ctx, key) is None:
        return -2
    when = ctx.db.expires.get(key)
    if when is None:
        return -1
    ttl = max(when if absolute else when - ctx.node.now_ms, 0)
    return ttl if in_ms else (ttl + 500) // 1000


def ttl_command(ctx: Session, argv: list[bytes]) -> object:
    return _ttl_generic(ctx, argv[1], in_ms=False, absolute=False)


def pttl_command(ctx: Session, argv: list[bytes]) -> object:
    return _ttl_generic(ctx, argv[1], in_ms=True, absolute=False)


def expiretime_command(ctx: Session, argv: list[bytes]) -> object:
    return _ttl_generic(ctx, argv[1], in_ms=False, absolute=True)


def pexpiretime_command(ctx: Session, argv: list[bytes]) -> object:
    return _ttl_generic(ctx, argv[1], in_ms=True, absolute=True)


def persist_command(ctx: Session, argv: list[bytes]) -> object:
    db = ctx.db
    if db.lookup(argv[1], ctx.node.now_ms) is None:
        return 0
    return int(db.persist(argv[1]))


# -- RENAME, COPY, MOVE, SWAPDB --------------------------------------------------------------


def _rename(ctx: Session, argv: list[bytes], nx: bool) -> object:
    """Redis's ``renameGenericCommand``: the value object moves, with its TTL."""
    db, now = ctx.db, ctx.node.now_ms
    source, target = argv[1], argv[2]
    value = db.lookup(source, now)
    if value is None:
        raise RespError(NO_SUCH_KEY)
    if source == target:
        return 0 if nx else OK
    when = db.expires.get(source)
    if db.lookup(target, now) is not None:
        if nx:
            return 0
        db.delete(target)
    db.delete(source)
    db.set(target, value)
    if when is not None:
        db.set_expire(target, when)
    return 1 if nx else OK


def rename_command(ctx: Session, argv: list[bytes]) -> object:
    return _rename(ctx, argv, nx=False)


def renamenx_command(ctx: Session, argv: list[bytes]) -> object:
    return _rename(ctx, argv, nx=True)


def copy_command(ctx: Session, argv: list[bytes]) -> object:
    """COPY source destination [DB n] [REPLACE] (Redis's ``copyCommand``)."""
    source_db = target_db = ctx.db
    replace = False
    i = 3
    while i < len(argv):
        option = argv[i].lower()
        if option == b"replace":
            replace = True
        elif option == b"db" and i + 1 < len(argv):
            target_db = _select_other_db(ctx, argv[i + 1])
            i += 1
        else:
            raise syntax_error()
        i += 1
    if ctx.node.cluster_enabled and (source_db.id != 0 or target_db.id != 0):
        raise RespError("ERR Copying to another database is not allowed in cluster mode")
    source, target = argv[1], argv[2]
    if source_db is target_db and source == target:
        raise RespError(SAME_OBJECT)
    value = _read(ctx, source)
    if value is None:
        return 0
    when = source_db.expires.get(source)
    now = ctx.node.now_ms
    if target_db.lookup(target, now) is not None:
        if not replace:
            return 0
        target_db.delete(target)
    target_db.set(target, _copy_value(value))
    if when is not None:
        target_db.set_expire(target, when)
    return 1


def move_command(ctx: Session, argv: list[bytes]) -> object:
    """MOVE key db (Redis's ``moveCommand``): the same-db check comes before the key lookup."""
    if ctx.node.cluster_enabled:
        raise RespError("ERR MOVE is not allowed in cluster mode")
    source_db = ctx.db
    target_db = _select_other_db(ctx, argv[2])
    if target_db is source_db:
        raise RespError(SAME_OBJECT)
    key, now = argv[1], ctx.node.now_ms
    value = source_db.lookup(key, now)
    if value is None:
        return 0
    when = source_db.expires.get(key)
    if target_db.lookup(key, now) is not None:
        return 0
    target_db.set(key, value)
    if when is not None:
        target_db.set_expire(key, when)
    source_db.delete(key)
    return 1


def swapdb_command(ctx: Session, argv: list[bytes]) -> object:
    """SWAPDB a b: contents swap, clients stay on their db number, and WATCHes on keys that
    exist on either side are invalidated (``dbSwapDatabases``/``touchAllWatchedKeysInDb``)."""
    if ctx.node.cluster_enabled:
        raise RespError("ERR SWAPDB is not allowed in cluster mode")
    first = _parse_int32(argv[1], "ERR invalid first DB index")
    second = _parse_int32(argv[2], "ERR invalid second DB index")
    dbs = ctx.node.dbs
    if not (0 <= first < len(dbs) and 0 <= second < len(dbs)):
        raise RespError(DB_INDEX_OUT_OF_RANGE)
    if first != second:
        dbs[first].swap_contents(dbs[second], ctx.node.now_ms)
    return OK


# -- OBJECT ----------------------------------------------------------------------------------


def _lfu_policy(ctx: Session) -> bool:
    return "lfu" in ctx.node.config.get("maxmemory-policy")


def object_encoding_command(ctx: Session, argv: list[bytes]) -> object:
    value = _read_notouch(ctx, argv[2])
    if value is None:
        return None
    if type(value) is bytes or type(value) is bytearray:
        return string_encoding(value)
    encoding = getattr(value, "encoding", b"unknown")
    if callable(encoding):
        encoding = encoding()
    return encoding if isinstance(encoding, bytes) else encoding.encode()


def object_refcount_command(ctx: Session, argv: list[bytes]) -> object:
    value = _read_notouch(ctx, argv[2])
    if value is None:
        return None
    if type(value) is bytes and _is_shared_int(value, ctx):
        return OBJ_SHARED_REFCOUNT
    return 1


def object_freq_command(ctx: Session, argv: list[bytes]) -> object:
    """OBJECT FREQ. rcsim keeps no LFU counters, so under an LFU policy every key reports
    LFU_INIT_VAL, the counter of a key that was just written."""
    if _read_notouch(ctx, argv[2]) is None:
        return None
    if not _lfu_policy(ctx):
        raise RespError(LFU_NOT_SELECTED)
    return LFU_INIT_VAL


def idle_seconds(db: Database, key: bytes, now_ms: int) -> int:
    """``estimateObjectIdleTime``/1000 on Redis's 24-bit LRU clock (in seconds)."""
    clock = (now_ms // 1000) & LRU_CLOCK_MAX
    last = db.last_access_s(key, now_ms) & LRU_CLOCK_MAX
    return clock - last if clock >= last else clock + (LRU_CLOCK_MAX - last)


def object_idletime_command(ctx: Session, argv: list[bytes]) -> object:
    if _read_notouch(ctx, argv[2]) is None:
        return None
    if _lfu_policy(ctx):
        raise RespError(LFU_SELECTED)
    return idle_seconds(ctx.db, argv[2], ctx.node.now_ms)


def object_help_command(ctx: Session, argv: list[bytes]) -> object:
    return [SimpleString(line.encode()) for line in OBJECT_HELP]


# -- DUMP, RESTORE ---------------------------------------------------------------------------


def dump_command(ctx: Session, argv: list[bytes]) -> object:
    value = _read(ctx, argv[1])
    if value is None:
        return None
    compress = ctx.node.config.get_bool("rdbcompression")
    try:
        return rdb.dump_payload(value, compress)
    except rdb.UnsupportedTypeError as error:
        raise RespError(f"ERR DUMP is not supported for values of type {error.type_name}")


def _parse_restore_options(argv: list[bytes]) -> tuple[bool, bool, int]:
    """REPLACE, ABSTTL, IDLETIME s, FREQ f; IDLETIME and FREQ exclude each other. Returns
    (replace, absttl, idle seconds or -1)."""
    replace = absttl = False
    idle = freq = -1
    i = 4
    while i < len(argv):
        option = argv[i].lower()
        more = i + 1 < len(argv)
        if option == b"replace":
            replace = True
        elif option == b"absttl":
            absttl = True
        elif option == b"idletime" and more and freq == -1:
            idle = parse_int(argv[i + 1])
            if idle < 0:
                raise RespError(INVALID_IDLETIME)
            i += 1
        elif option == b"freq" and more and idle == -1:
            freq = parse_int(argv[i + 1])
            if not 0 <= freq <= 255:
                raise RespError(INVALID_FREQ)
            i += 1
        else:
            raise syntax_error()
        i += 1
    return replace, absttl, idle


def restore_command(ctx: Session, argv: list[bytes]) -> object:
    """RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f] (Redis's
    ``restoreCommand``): options, BUSYKEY, the TTL, the payload's footer, then its body. A TTL
    already past answers OK without creating the key (but REPLACE still deletes the old one)."""
    replace, absttl, idle = _parse_restore_options(argv)
    db, key, now = ctx.db, argv[1], ctx.node.now_ms
    if not replace and db.lookup(key, now) is not None:
        raise BusyKeyError()
    ttl = parse_int(argv[2])
    if ttl < 0:
        raise RespError(INVALID_TTL)
    payload = argv[3]
    if not rdb.verify_payload(payload):
        raise RespError(BAD_PAYLOAD)
    try:
        value = rdb.load_payload(payload, ctx.node.config)
    except rdb.UnsupportedTypeError as error:
        raise RespError(f"ERR RESTORE is not supported for payloads of type {error.type_name}")
    except rdb.RdbError:
        raise RespError(BAD_DATA_FORMAT)
    if replace:
        db.delete(key)
    if ttl and not absttl:
        ttl += now
    if ttl and ttl <= now:
        return OK
    db.set(key, value)
    if ttl:
        db.set_expire(key, ttl)
    if idle >= 0 and not _lfu_policy(ctx):
        _set_idle(db, key, now, idle)
    return OK


def _set_idle(db: Database, key: bytes, now_ms: int, idle: int) -> None:
    """RESTORE ... IDLETIME: move the key's LRU clock back ``idle`` seconds, as observed on
    redis-server 7.0.15 (``objectSetLRUOrLFU``): ``idle * 1000`` wraps like a C long long, and
    an idle time beyond the 24-bit clock's current value wraps the clock one step further."""
    scaled = (idle * 1000) & (2**64 - 1)
    if scaled >= 2**63:
        scaled -= 2**64
    idle = scaled // 1000 if scaled >= 0 else -(-scaled // 1000)
    now_s = now_ms // 1000
    clock = now_s & LRU_CLOCK_MAX
    last = clock - idle if clock >= idle else (clock - idle - 1) % (LRU_CLOCK_MAX + 1)
    db.access[key] = now_s - clock + last


HANDLERS = {
    "del": del_command,
    "unlink": del_command,
    "exists": exists_command,
    "type": type_command,
    "touch": touch_command,
    "randomkey": randomkey_command,
    "keys": keys_command,
    "scan": scan_command,
    "expire": expire_command,
    "pexpire": pexpire_command,
    "expireat": expireat_command,
    "pexpireat": pexpireat_command,
    "ttl": ttl_command,
    "pttl": pttl_command,
    "expiretime": expiretime_command,
    "pexpiretime": pexpiretime_command,
    "persist": persist_command,
    "rename": rename_command,
    "renamenx": renamenx_command,
    "copy": copy_command,
    "move": move_command,
    "swapdb": swapdb_command,
    "object|encoding": object_encoding_command,
    "object|refcount": object_refcount_command,
    "object|freq": object_freq_command,
    "object|idletime": object_idletime_command,
    "object|help": object_help_command,
    "dump": dump_command,
    "restore": restore_command,
    "restore-asking": restore_command,
}

__all__ = ["HANDLERS", "idle_seconds", "string_encoding", "type_name"]
