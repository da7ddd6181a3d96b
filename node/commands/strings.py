"""String commands, mirroring Redis 7.0.15's ``t_string.c`` reply for reply.

Values are ``bytes``; APPEND and SETRANGE turn them into a ``bytearray`` they then grow in place
(Redis's ``dbUnshareStringValue`` makes the same switch to a ``raw`` sds). A stored bytearray may
change after a handler returns (a later command of the same EXEC), so handlers that reply with a
value still stored in the keyspace reply with an immutable copy (``_frozen``).

Lookups follow Redis: read commands go through ``read_string`` (``lookupKeyRead``: keyspace
hits/misses), writes through ``Database.lookup`` (``lookupKeyWrite``: no statistics). Both expire
a due key first, which is why even plain SET looks a key up when it has a TTL.
"""

from __future__ import annotations

from node import long_double
from node.protocol.errors import (
    INVALID_EXPIRE,
    OFFSET_OUT_OF_RANGE,
    OVERFLOW,
    STRING_TOO_LONG,
    RespError,
    WrongTypeError,
    not_float,
    not_integer,
    syntax_error,
    wrong_arity,
)
from node.protocol.resp import OK, Map, parse_long_long
from node.session import Session
from node.types.common import LLONG_MAX, LLONG_MIN, parse_int, read_string

NAN_OR_INFINITY = "ERR increment would produce NaN or Infinity"
DECREMENT_OVERFLOW = "ERR decrement would overflow"
LCS_WRONG_TYPE = "ERR The specified keys must contain string values"
LCS_LEN_AND_IDX = "ERR If you want both the length and indexes, please just use IDX."
LCS_STRING_TOO_LONG = "ERR String too long for LCS"
LCS_TOO_MUCH_MEMORY = "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
UINT32_MAX = 2**32 - 1

# Option flags of SET and GETEX (Redis's OBJ_SET_NX, OBJ_EX, ...).
NX, XX, GET, KEEPTTL, PERSIST = 1, 2, 4, 8, 16
EX, PX, EXAT, PXAT = 32, 64, 128, 256
EXPIRY = EX | PX | EXAT | PXAT
IN_SECONDS = EX | EXAT
RELATIVE = EX | PX

# name -> (flag, flags it cannot follow, takes a value); as parseExtendedStringArgumentsOrReply.
_SET_OPTIONS = {
    b"NX": (NX, XX, False),
    b"XX": (XX, NX, False),
    b"GET": (GET, 0, False),
    b"KEEPTTL": (KEEPTTL, EXPIRY, False),
    b"EX": (EX, KEEPTTL | (EXPIRY & ~EX), True),
    b"PX": (PX, KEEPTTL | (EXPIRY & ~PX), True),
    b"EXAT": (EXAT, KEEPTTL | (EXPIRY & ~EXAT), True),
    b"PXAT": (PXAT, KEEPTTL | (EXPIRY & ~PXAT), True),
}
_GETEX_OPTIONS = {
    b"PERSIST": (PERSIST, EXPIRY, False),
    b"EX": (EX, PERSIST | (EXPIRY & ~EX), True),
    b"PX": (PX, PERSIST | (EXPIRY & ~PX), True),
    b"EXAT": (EXAT, PERSIST | (EXPIRY & ~EXAT), True),
    b"PXAT": (PXAT, PERSIST | (EXPIRY & ~PXAT), True),
}


def _option_name(arg: bytes) -> bytes:
    """Redis compares options as C strings, case-insensitively: ``NX\\0junk`` is ``NX``."""
    if b"\0" in arg:
        arg = arg[: arg.index(b"\0")]
    return arg.upper()


def _frozen(value: bytes | bytearray | None) -> bytes | None:
    """A reply that cannot change under the client's feet if the stored bytearray is mutated."""
    return bytes(value) if type(value) is bytearray else value  # type: ignore[return-value]


def _string_for_write(ctx: Session, key: bytes) -> bytes | bytearray | None:
    """``lookupKeyWrite`` + ``checkType``: the string at ``key``, None, or WRONGTYPE."""
    value = ctx.db.lookup(key, ctx.node.now_ms)
    if value is None:
        return None
    t = type(value)
    if t is bytes or t is bytearray:
        return value  # type: ignore[return-value]
    raise WrongTypeError()


# -- GET / SET family ----------------------------------------------------------------------------


def get_command(ctx: Session, argv: list[bytes]) -> object:
    """GET: ``read_string`` and ``Database.lookup`` inlined, as the hottest command."""
    key = argv[1]
    db = ctx.db
    node = ctx.node
    if db.expires and key in db.expires:
        value = db.lookup(key, node.now_ms)
    else:
        value = db.data.get(key)
        if value is not None:  # record the access for OBJECT IDLETIME, as lookup does
            if node.now_ms is not db.access_clock_ms:
                db.tick_access_clock(node.now_ms)
            db.access[key] = db.access_clock_s
    if value is None:
        node.stats.keyspace_misses += 1
        return None
    node.stats.keyspace_hits += 1
    t = type(value)
    if t is bytes:
        return value
    if t is bytearray:
        return bytes(value)  # a copy: EXEC encodes after later commands may mutate it
    raise WrongTypeError()


def set_command(ctx: Session, argv: list[bytes]) -> object:
    """SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL] (Redis's setCommand)."""
    if len(argv) == 3:
        db = ctx.db
        key = argv[1]
        if db.expires and key in db.expires:
            db.lookup(key, ctx.node.now_ms)  # setKey's lookupKeyWrite expires a due key
        db.set(key, argv[2])
        return OK
    flags, expire = _parse_options(argv, 3, _SET_OPTIONS)
    return _set_generic(ctx, argv[1], argv[2], flags, expire, "set", OK, None)


def setnx_command(ctx: Session, argv: list[bytes]) -> object:
    return _set_generic(ctx, argv[1], argv[2], NX, None, "setnx", 1, 0)


def setex_command(ctx: Session, argv: list[bytes]) -> object:
    return _set_generic(ctx, argv[1], argv[3], EX, argv[2], "setex", OK, None)


def psetex_command(ctx: Session, argv: list[bytes]) -> object:
    return _set_generic(ctx, argv[1], argv[3], PX, argv[2], "psetex", OK, None)


def _parse_options(
    argv: list[bytes], start: int, table: dict[bytes, tuple[int, int, bool]]
) -> tuple[int, bytes | None]:
    """Redis's ``parseExtendedStringArgumentsOrReply``: flags and the expire argument.

    An option is a syntax error when unknown to this command, when it conflicts with one given
    before it, or when it needs a value and is last. Repeating an option is allowed (the last
    expire value wins)."""
    flags = 0
    expire = None
    i, n = start, len(argv)
    while i < n:
        option = table.get(_option_name(argv[i]))
        if option is None:
            raise syntax_error()
        flag, conflicts, takes_value = option
        if flags & conflicts:
            raise syntax_error()
        if takes_value:
            if i + 1 >= n:
                raise syntax_error()
            i += 1
            expire = argv[i]
        flags |= flag
        i += 1
    return flags, expire


def _expire_at_ms(ctx: Session, raw: bytes, flags: int, command_name: str) -> int:
    """Redis's ``getExpireMillisecondsOrReply``: an absolute unix time in ms.

    Non-positive values, and values whose conversion to absolute ms would overflow a signed
    64-bit integer, are "invalid expire time"."""
    when = parse_int(raw)
    in_seconds = flags & IN_SECONDS
    if when <= 0 or (in_seconds and when > LLONG_MAX // 1000):
        raise RespError(INVALID_EXPIRE.format(command_name))
    if in_seconds:
        when *= 1000
    if flags & RELATIVE:
        when += ctx.node.now_ms
        if when > LLONG_MAX:
            raise RespError(INVALID_EXPIRE.format(command_name))
    return when


def _set_generic(
    ctx: Session,
    key: bytes,
    value: bytes,
    flags: int,
    expire: bytes | None,
    command_name: str,
    ok_reply: object,
    abort_reply: object,
) -> object:
    """Redis's ``setGenericCommand``: expire checked first, then GET, then NX/XX.

    An expire time already in the past is stored as is (the key is gone at its next lookup),
    as Redis 7.0 does; with GET the reply is the old value even when NX/XX aborted the write."""
    when_ms = _expire_at_ms(ctx, expire, flags, command_name) if expire is not None else None
    old = read_string(ctx, key) if flags & GET else None
    db = ctx.db
    if flags & (NX | XX):
        found = db.lookup(key, ctx.node.now_ms) is not None
        if (flags & NX and found) or (flags & XX and not found):
            return _frozen(old) if flags & GET else abort_reply
    elif db.expires and key in db.expires:
        db.lookup(key, ctx.node.now_ms)
    db.set(key, value, keep_ttl=bool(flags & KEEPTTL))
    if when_ms is not None:
        db.set_expire(key, when_ms)
    return old if flags & GET else ok_reply


def getset_command(ctx: Session, argv: list[bytes]) -> object:
    old = read_string(ctx, argv[1])
    ctx.db.set(argv[1], argv[2])
    return old


def getdel_command(ctx: Session, argv: list[bytes]) -> object:
    value = read_string(ctx, argv[1])
    if value is not None:
        ctx.db.delete(argv[1])
    return value


def getex_command(ctx: Session, argv: list[bytes]) -> object:
    """GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST] (Redis's getexCommand).

    Options are checked first; the expire value only once the key is known to be a string. An
    absolute time already past deletes the key (a DEL, not an expiry)."""
    flags, expire = _parse_options(argv, 2, _GETEX_OPTIONS)
    key = argv[1]
    value = read_string(ctx, key)
    if value is None:
        return None
    db = ctx.db
    if expire is not None:
        when_ms = _expire_at_ms(ctx, expire, flags, "getex")
        if flags & (EXAT | PXAT) and when_ms <= ctx.node.now_ms:
            db.delete(key)
            return value
        db.set_expire(key, when_ms)
    elif flags & PERSIST:
        db.persist(key)
    return _frozen(value)


def mget_command(ctx: Session, argv: list[bytes]) -> object:
    """Non-strings read as nil, as Redis's mgetCommand; every key counts as a hit or a miss."""
    db = ctx.db
    now = ctx.node.now_ms
    stats = ctx.node.stats
    out: list[object] = []
    append = out.append
    hits = 0
    for i in range(1, len(argv)):
        value = db.lookup(argv[i], now)
        if value is None:
            append(None)
            continue
        hits += 1
        t = type(value)
        if t is bytes:
            append(value)
        elif t is bytearray:
            append(bytes(value))  # type: ignore[arg-type]
        else:
            append(None)
    stats.keyspace_hits += hits
    stats.keyspace_misses += len(argv) - 1 - hits
    return out


def mset_command(ctx: Session, argv: list[bytes]) -> object:
    n = len(argv)
    if n % 2 == 0:
        raise wrong_arity("mset")
    ctx.db.set_many(argv, ctx.node.now_ms)
    return OK


def msetnx_command(ctx: Session, argv: list[bytes]) -> object:
    """All or nothing: 0 as soon as one key exists (Redis stops looking at the first)."""
    n = len(argv)
    if n % 2 == 0:
        raise wrong_arity("msetnx")
    db = ctx.db
    now = ctx.node.now_ms
    for i in range(1, n, 2):
        if db.lookup(argv[i], now) is not None:
            return 0
    for i in range(1, n, 2):
        db.set(argv[i], argv[i + 1])
    return 1


# -- in-place edits --------------------------------------------------------------------------------


def _grow_in_place(ctx: Session, key: bytes, value: bytearray, added: int) -> None:
    """Record that the stored bytearray at ``key`` grew by ``added`` bytes.

    ``replace_value`` invalidates WATCH, but sees the same object before and after, so the
    memory estimate is adjusted here."""
    db = ctx.db
    db.replace_value(key, value)
    db.used_bytes += added


def _check_length(ctx: Session, size: int) -> None:
    """Redis's ``checkStringLength``."""
    if size > ctx.node.proto_max_bulk_len:
        raise RespError(STRING_TOO_LONG)


def append_command(ctx: Session, argv: list[bytes]) -> object:
    """A new key stores the argument as is; an existing one becomes a bytearray grown in place,
    so repeated APPENDs cost O(appended bytes)."""
    key, extra = argv[1], argv[2]
    value = _string_for_write(ctx, key)
    if value is None:
        ctx.db.set(key, extra)
        return len(extra)
    total = len(value) + len(extra)
    _check_length(ctx, total)
    if type(value) is bytearray:
        value += extra
        _grow_in_place(ctx, key, value, len(extra))
    else:
        ctx.db.replace_value(key, bytearray(value) + extra)
    return total


def setrange_command(ctx: Session, argv: list[bytes]) -> object:
    key, patch = argv[1], argv[3]
    offset = parse_int(argv[2])
    if offset < 0:
        raise RespError(OFFSET_OUT_OF_RANGE)
    value = _string_for_write(ctx, key)
    if value is None:
        if not patch:
            return 0
        _check_length(ctx, offset + len(patch))
        created = bytearray(offset)
        created += patch
        ctx.db.set(key, created)
        return len(created)
    if not patch:
        return len(value)
    end = offset + len(patch)
    _check_length(ctx, end)
    if type(value) is bytes:
        value = bytearray(value)
        ctx.db.replace_value(key, value)
    before = len(value)
    if offset > before:
        value.extend(bytes(offset - before))
    value[offset:end] = patch
    _grow_in_place(ctx, key, value, len(value) - before)  # type: ignore[arg-type]
    return len(value)


def getrange_command(ctx: Session, argv: list[bytes]) -> object:
    """GETRANGE (and SUBSTR): Redis's index clamping, an empty bulk when nothing is in range."""
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    value = read_string(ctx, argv[1])
    if value is None:
        return b""
    size = len(value)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start = max(size + start, 0)
    if end < 0:
        end = max(size + end, 0)
    if end >= size:
        end = size - 1
    if start > end or size == 0:
        return b""
    return bytes(value[start : end + 1])


def strlen_command(ctx: Session, argv: list[bytes]) -> object:
    value = read_string(ctx, argv[1])
    return 0 if value is None else len(value)


# -- counters ---------------------------------------------------------------------------------------


def _incr_by(ctx: Session, key: bytes, delta: int) -> int:
    """Redis's ``incrDecrCommand``: the stored value must be a strict 64-bit decimal."""
    db = ctx.db
    if db.expires and key in db.expires:
        value = db.lookup(key, ctx.node.now_ms)
    else:
        value = db.data.get(key)  # lookup inlined (INCR is a benchmark staple); access below
    if value is None:
        db.set(key, b"%d" % delta)
        return delta
    t = type(value)
    if t is not bytes and t is not bytearray:
        raise WrongTypeError()
    raw: bytes = value  # type: ignore[assignment]
    # Up to 18 plain digits without a leading zero always fit: skip string2ll's slow checks.
    if raw.isdigit() and len(raw) < 19 and (raw[0] != 48 or len(raw) == 1):
        current = int(raw)
    else:
        parsed = parse_long_long(raw)
        if parsed is None:
            raise not_integer()
        current = parsed
    result = current + delta
    if result > LLONG_MAX or result < LLONG_MIN:
        raise RespError(OVERFLOW)
    new = b"%d" % result
    now = ctx.node.now_ms
    if now is not db.access_clock_ms:  # the access lookup() would have recorded
        db.tick_access_clock(now)
    db.access[key] = db.access_clock_s
    if t is bytes and not db.watchers:  # replace_value inlined for the common case
        db.used_bytes += len(new) - len(raw)
        db.data[key] = new
    else:
        db.replace_value(key, new)
    return result


def incr_command(ctx: Session, argv: list[bytes]) -> object:
    return _incr_by(ctx, argv[1], 1)


def decr_command(ctx: Session, argv: list[bytes]) -> object:
    return _incr_by(ctx, argv[1], -1)


def incrby_command(ctx: Session, argv: list[bytes]) -> object:
    return _incr_by(ctx, argv[1], parse_int(argv[2]))


def decrby_command(ctx: Session, argv: list[bytes]) -> object:
    delta = parse_int(argv[2])
    if delta == LLONG_MIN:
        raise RespError(DECREMENT_OVERFLOW)
    return _incr_by(ctx, argv[1], -delta)


def incrbyfloat_command(ctx: Session, argv: list[bytes]) -> object:
    """Redis's ``incrbyfloatCommand``: long double sum, printed ``%.17Lf`` minus trailing zeros.

    See ``node.long_double`` for why this is not Python float arithmetic."""
    key = argv[1]
    value = _string_for_write(ctx, key)
    current = long_double.ZERO if value is None else long_double.parse(value)
    if current is None:
        raise not_float()
    increment = long_double.parse(argv[2])
    if increment is None:
        raise not_float()
    total = long_double.add(current, increment)
    if total is None:
        raise RespError(NAN_OR_INFINITY)
    text = long_double.format_human(total)
    if value is None:
        ctx.db.set(key, text)
    else:
        ctx.db.replace_value(key, text)
    return text


# -- LCS ------------------------------------------------------------------------------------------


def lcs_command(ctx: Session, argv: list[bytes]) -> object:
    """LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN] (Redis's lcsCommand).

    Both keys are read (and counted) before the type check, and options are parsed after it."""
    db = ctx.db
    now = ctx.node.now_ms
    stats = ctx.node.stats
    values = []
    for key in (argv[1], argv[2]):
        value = db.lookup(key, now)
        if value is None:
            stats.keyspace_misses += 1
            values.append(b"")
        else:
            stats.keyspace_hits += 1
            values.append(value)
    a, b = values
    if not (type(a) in (bytes, bytearray) and type(b) in (bytes, bytearray)):
        raise RespError(LCS_WRONG_TYPE)
    get_len = get_idx = with_match_len = False
    min_match_len = 0
    i, n = 3, len(argv)
    while i < n:
        option = _option_name(argv[i])
        if option == b"IDX":
            get_idx = True
        elif option == b"LEN":
            get_len = True
        elif option == b"WITHMATCHLEN":
            with_match_len = True
        elif option == b"MINMATCHLEN" and i + 1 < n:
            min_match_len = max(parse_int(argv[i + 1]), 0)
            i += 1
        else:
            raise syntax_error()
        i += 1
    if get_idx and get_len:
        raise RespError(LCS_LEN_AND_IDX)
    if len(a) >= UINT32_MAX - 1 or len(b) >= UINT32_MAX - 1:
        raise RespError(LCS_STRING_TOO_LONG)
    if (len(a) + 1) * (len(b) + 1) * 4 > ctx.node.proto_max_bulk_len:
        raise RespError(LCS_TOO_MUCH_MEMORY)
    rows = _lcs_rows(a, b)  # type: ignore[arg-type]
    if get_len and not get_idx:
        return _lcs_at(rows, len(a), len(b))
    return _lcs_walk(a, b, rows, get_idx, min_match_len, with_match_len)  # type: ignore[arg-type]


def _lcs_rows(a: bytes | bytearray, b: bytes | bytearray) -> list[int]:
    """The LCS table of Redis, one bit-vector per row (Hyyro's bit-parallel algorithm).

    Bit j of row i is 0 exactly when LCS(a[:i], b[:j+1]) = LCS(a[:i], b[:j]) + 1, so
    LCS(i, j) is j minus the number of ones among the low j bits of row i."""
    mask = (1 << len(b)) - 1
    matches: dict[int, int] = {}
    if b:
        reversed_b = bytes(b[::-1])
        for char in set(b):
            table = bytes(49 if c == char else 48 for c in range(256))
            matches[char] = int(reversed_b.translate(table), 2)
    row = mask
    rows = [row]
    for char in a:
        found = row & matches.get(char, 0)
        row = ((row + found) | (row - found)) & mask
        rows.append(row)
    return rows


def _lcs_at(rows: list[int], i: int, j: int) -> int:
    return j - (rows[i] & ((1 << j) - 1)).bit_count()


def _lcs_walk(
    a: bytes | bytearray,
    b: bytes | bytearray,
    rows: list[int],
    get_idx: bool,
    min_match_len: int,
    with_match_len: bool,
) -> object:
    """Walk the table back from the end as Redis does, collecting the string and the ranges
    (last match first)."""
    alen, blen = len(a), len(b)
    length = _lcs_at(rows, alen, blen)
    result = bytearray(length)
    idx = length
    matches: list[list[object]] = []
    a_start = alen  # alen: no range open
    a_end = b_start = b_end = 0
    i, j = alen, blen
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result[idx - 1] = a[i - 1]
            if a_start == alen:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            elif a_start == i and b_start == j:
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            idx -= 1
            i -= 1
            j -= 1
        else:
            if _lcs_at(rows, i - 1, j) > _lcs_at(rows, i, j - 1):
                i -= 1
            else:
                j -= 1
            if a_start != alen:
                emit = True
        if emit:
            match_len = a_end - a_start + 1
            if get_idx and (min_match_len == 0 or match_len >= min_match_len):
                entry: list[object] = [[a_start, a_end], [b_start, b_end]]
                if with_match_len:
                    entry.append(match_len)
                matches.append(entry)
            a_start = alen
    if get_idx:
        return Map([(b"matches", matches), (b"len", length)])
    return bytes(result)


HANDLERS = {
    "get": get_command,
    "set": set_command,
    "setnx": setnx_command,
    "setex": setex_command,
    "psetex": psetex_command,
    "getset": getset_command,
    "getdel": getdel_command,
    "getex": getex_command,
    "mget": mget_command,
    "mset": mset_command,
    "msetnx": msetnx_command,
    "append": append_command,
    "strlen": strlen_command,
    "incr": incr_command,
    "decr": decr_command,
    "incrby": incrby_command,
    "decrby": decrby_command,
    "incrbyfloat": incrbyfloat_command,
    "getrange": getrange_command,
    "substr": getrange_command,
    "setrange": setrange_command,
    "lcs": lcs_command,
}
